"""Errors the pipeline distinguishes, and how they cross Temporal."""

from __future__ import annotations

from temporalio.exceptions import ApplicationError

BAD_INPUT = "BadInput"
STALE_BATCH = "StaleBatch"


class BadInput(Exception):
    """A table or the checkpoint is unreadable or inconsistent: retrying cannot help."""


class StaleBatch(Exception):
    """The batch was computed from a checkpoint that has since moved (another run committed)."""


def as_application_error(exc: Exception) -> ApplicationError:
    """Non-retryable for the workflow, with the one-line message users see."""
    kind = BAD_INPUT if isinstance(exc, BadInput) else STALE_BATCH
    return ApplicationError(str(exc), type=kind, non_retryable=True)

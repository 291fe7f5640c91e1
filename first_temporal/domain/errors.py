"""The two ways a batch can be refused, in the domain's own terms (no Temporal here)."""

from __future__ import annotations


class BadInput(Exception):
    """A table or the checkpoint is unreadable or inconsistent: retrying cannot help."""


class StaleBatch(Exception):
    """The batch was computed from a checkpoint that has since moved (another run committed)."""

"""How the domain's refusals cross Temporal: typed, non-retryable, one line each."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from temporalio.exceptions import ApplicationError

from first_temporal.domain.errors import BadInput, StaleBatch

BAD_INPUT = "BadInput"
STALE_BATCH = "StaleBatch"


@contextmanager
def terminal() -> Iterator[None]:
    """Turn BadInput and StaleBatch into non-retryable ApplicationErrors; everything
    else (an I/O hiccup, a lost connection) stays retryable."""
    try:
        yield
    except BadInput as exc:
        raise ApplicationError(str(exc), type=BAD_INPUT, non_retryable=True) from None
    except StaleBatch as exc:
        raise ApplicationError(str(exc), type=STALE_BATCH, non_retryable=True) from None

"""How the domain's refusals cross Temporal: typed, non-retryable, one line each."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from temporalio.exceptions import ApplicationError

from first_temporal.domain.errors import OPERATOR_FIXES, BadInput, StaleBatch

BAD_INPUT = "BadInput"
STALE_BATCH = "StaleBatch"
NOT_WRITABLE = "NotWritable"


def not_writable(exc: OSError) -> ApplicationError | None:
    """The one-line, non-retryable failure for a write the storage refused, else None.
    Bytes it left past the committed ends are cut by the next attempt."""
    fix = OPERATOR_FIXES.get(exc.errno or 0)
    if fix is None:
        return None
    where = exc.filename if exc.filename is not None else "the data directory"
    return ApplicationError(
        f"{where}: {exc.strerror} — {fix} (committed batches are untouched)",
        type=NOT_WRITABLE,
        non_retryable=True,
    )


@contextmanager
def terminal() -> Iterator[None]:
    """Turn BadInput, StaleBatch and refused writes into non-retryable ApplicationErrors;
    everything else (an I/O hiccup, a lost connection) stays retryable."""
    try:
        yield
    except BadInput as exc:
        raise ApplicationError(str(exc), type=BAD_INPUT, non_retryable=True) from None
    except StaleBatch as exc:
        raise ApplicationError(str(exc), type=STALE_BATCH, non_retryable=True) from None
    except OSError as exc:
        refused = not_writable(exc)
        if refused is None:
            raise
        raise refused from None

"""How the domain's refusals cross Temporal: typed, non-retryable, one line each."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from temporalio.exceptions import ApplicationError

from first_temporal.domain.errors import OPERATOR_FIXES, BadInput, StaleBatch
from first_temporal.storage.base import StagedPartLost

BAD_INPUT = "BadInput"
STALE_BATCH = "StaleBatch"
NOT_WRITABLE = "NotWritable"
STAGED_PART_LOST = "StagedPartLost"


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
    """Turn BadInput, StaleBatch, a lost staged part and refused writes into non-retryable
    ApplicationErrors; everything else (an I/O hiccup, a lost connection) stays retryable.
    A lost part is the batch workflow's to handle: it stages the parts again."""
    try:
        yield
    except BadInput as exc:
        raise ApplicationError(str(exc), type=BAD_INPUT, non_retryable=True) from None
    except StaleBatch as exc:
        raise ApplicationError(str(exc), type=STALE_BATCH, non_retryable=True) from None
    except StagedPartLost as exc:
        raise ApplicationError(str(exc), type=STAGED_PART_LOST, non_retryable=True) from None
    except OSError as exc:
        refused = not_writable(exc)
        if refused is None:
            raise
        raise refused from None

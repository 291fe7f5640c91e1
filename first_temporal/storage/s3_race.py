"""Writers racing for one S3 prefix: whose commit a batch is, and what a loser leaves.

The checkpoint's compare-and-swap decides which commit wins; these rules keep the loser
from being counted, and from leaving rows behind:

- The same batch from two clusters has the same bytes, so a batch found committed is
  this commit's own only if the same writer (its batch workflow's run id, kept in the
  checkpoint's metadata) put it; otherwise StaleBatch.
- A loser of another shape (a single day against a span of the same days: `--runs 3`
  and `--runs 30` have different batch workflow ids, so Temporal does not serialise
  them) wrote objects named by its own last batch, keys no committed commit has. Once
  the checkpoint passed that number, readers would take them for committed rows, so
  the loser deletes them, unless a committed commit ends at that very number (then the
  keys are that commit's; only a writer with other inputs could differ, see s3.py).
Left open: a loser that crashes between its writes and its compare-and-swap, and is
never retried, leaves its objects (see the README's reliability notes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from first_temporal.domain import ledger
from first_temporal.domain.checkpoint import Checkpoint
from first_temporal.domain.errors import StaleBatch
from first_temporal.storage.base import Manifest, settled

if TYPE_CHECKING:
    from first_temporal.storage.s3 import S3Storage


def ours(
    current: Checkpoint, writer: str, expected: Checkpoint, manifest: Manifest
) -> Checkpoint | None:
    """settled(), where a batch already committed is this commit's only if this writer
    committed it: the same batch from another cluster has the same bytes, and a retry
    cannot tell it from its own but by the writer. Unrecorded writers count as ours."""
    done = settled(current, expected, manifest)
    if done is not None and writer and manifest.writer and writer != manifest.writer:
        raise StaleBatch(
            f"batch {manifest.batch_number} ({manifest.batch_date}) was committed by"
            f" another writer ({writer}) meanwhile"
        )
    return done


def forget(storage: S3Storage, written: list[str], end: int, current: Checkpoint) -> None:
    """Delete a losing commit's objects (named by its last batch, `end`), unless a
    committed commit ends at `end` too (its keys are the same)."""
    if not written or _commit_ends_at(storage, end, current):
        return
    storage._delete(written)


def _commit_ends_at(storage: S3Storage, end: int, current: Checkpoint) -> bool:
    """Whether a commit up to `current` ends at batch `end`: walks the ledger back, one
    commit object at a time (a race is lost to a commit or two, so a GET or two)."""
    number = current.batch_number
    while number > end:
        found = storage._get(storage.ledger_key(number))
        if found is None:
            return True  # the ledger does not say: keep them, as before
        number = ledger.parse(found[0].split(b"\n", 1)[0] + b"\n", 0).batch_number - 1
    return number == end

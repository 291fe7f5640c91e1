"""Rewind on S3: back to the end of a committed batch, by moving the checkpoint first.

Readers already ignore every object of a batch above the checkpoint's (a commit's
leftovers look the same), so the checkpoint's conditional put is the one step that
decides; the objects and ledger lines of the later batches are deleted after it, and a
retry deletes what a crash left. A commit's objects are named by its last batch, and a
span's objects mix its days within each partition, so S3 rewinds to the end of a commit
only: the ledger says where commits end.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from first_temporal.domain import ledger
from first_temporal.domain.checkpoint import Checkpoint
from first_temporal.domain.errors import BadInput
from first_temporal.storage import s3_checks, s3_ledger
from first_temporal.storage.s3_objects import BATCH_KEY

if TYPE_CHECKING:
    from first_temporal.storage.s3 import S3Storage

LEDGER_KEY = re.compile(r"/batch-(\d{6})\.csv$")


class CheckpointMoved(RuntimeError):
    """Another writer moved the checkpoint meanwhile: retryable, the retry reads again."""


def rewind(storage: S3Storage, seed: int, batch: int) -> tuple[Checkpoint, Checkpoint]:
    current, etag, _ = s3_checks.current(storage, seed)
    ledger.check_committed(batch, current, storage.location)
    if current.batch_number == 0:
        return current, current
    target = Checkpoint.initial(seed) if batch == 0 else _checkpoint_after(storage, seed, batch)
    if target != current:
        try:
            storage._put(storage.checkpoint_key, target.to_csv(), IfMatch=str(etag))
        except ClientError as exc:
            raise CheckpointMoved(f"{storage.url(storage.checkpoint_key)}: {exc}") from None
    later = [key for key in _keys(storage, storage.root) if _batch_of(key) > batch]
    later += _keys(storage, f"{storage.root}_staging/")  # staged parts of batches now gone
    storage._delete(later)
    return current, target


def _checkpoint_after(storage: S3Storage, seed: int, batch: int) -> Checkpoint:
    found = storage._get(storage.ledger_key(batch))
    if found is None:
        ends = sorted(_batch_of(k) for k in _keys(storage, f"{storage.root}_ledger/"))
        inside = next((n for n in ends if n > batch), None)
        hint = (
            f"it was committed inside the span that ends at batch {inside}: rewind to the end"
            " of a commit"
            if inside is not None
            else "the ledger does not reach back to it"
        )
        raise BadInput(f"batch {batch} cannot be restored on {storage.location}: {hint}")
    return ledger.parse(s3_ledger.last_line(found[0]), 0).checkpoint(seed, window_offset=0)


def _keys(storage: S3Storage, prefix: str) -> list[str]:
    pages = storage.client.get_paginator("list_objects_v2").paginate(
        Bucket=storage.bucket, Prefix=prefix
    )
    return [str(obj["Key"]) for page in pages for obj in page.get("Contents", [])]


def _batch_of(key: str) -> int:
    """The batch a table or ledger object belongs to; -1 for the rest (product, checkpoint,
    staging), which a rewind keeps."""
    if "/_staging/" in key or key.startswith("_staging/"):
        return -1
    match = BATCH_KEY.search(key) or (LEDGER_KEY.search(key) if "_ledger/" in key else None)
    return int(match.groups()[-1]) if match else -1

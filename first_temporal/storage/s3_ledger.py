"""The load ledger on S3: one object per commit under _ledger/, its ledger lines (see
domain/ledger.py), the first chained to the last line of the commit before. A table's
`end` there is its row count, like the checkpoint's."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from first_temporal.domain import ledger, schema
from first_temporal.domain.checkpoint import Checkpoint
from first_temporal.storage.base import Manifest
from first_temporal.storage.files import runs_of

if TYPE_CHECKING:
    from first_temporal.storage.s3 import S3Storage

LEDGER_DIR = "_ledger"


def key(storage: S3Storage, batch_number: int) -> str:
    return f"{storage.root}{LEDGER_DIR}/batch-{batch_number:06d}.csv"


def commit_object(
    storage: S3Storage, current: Checkpoint, manifest: Manifest, staged: dict[str, bytes]
) -> bytes:
    """The commit's ledger lines (a span's: one per day), chained to the committed
    batch's object (none: the ledger starts here)."""
    found = storage._get(key(storage, current.batch_number)) if current.batch_number else None
    previous = last_line(found[0]) if found else ledger.HEADER
    runs = {}
    for table in schema.BATCH_TABLES:
        counts = manifest.day_rows[table]
        ends = itertools.accumulate(counts, initial=current.rows[table])
        digests = [hashed for _, hashed in runs_of(staged[table], counts)]
        runs[table] = list(zip(list(ends)[1:], digests, strict=True))
    return b"".join(ledger.commit_lines(current, manifest.dates, manifest.day_rows, runs, previous))


def last_line(body: bytes) -> bytes:
    """A commit object's last ledger line: the batch it commits up to."""
    return body.rstrip(b"\n").rsplit(b"\n", 1)[-1] + b"\n"


def tail(storage: S3Storage, checkpoint: Checkpoint, count: int) -> tuple[list[bytes], bytes]:
    """Walks back one commit object at a time: a GET per commit shown."""
    lines: list[bytes] = []
    end = checkpoint.batch_number
    while end > 0 and len(lines) <= count:
        found = storage._get(key(storage, end))
        if found is None:  # the ledger starts after this batch
            break
        lines = [x + b"\n" for x in found[0].rstrip(b"\n").split(b"\n")] + lines
        end = ledger.parse(lines[0], 0).batch_number - 1
    return ledger.last_lines(lines, count)

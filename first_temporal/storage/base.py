"""The one small interface every storage backend (local CSV, S3) implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from hashlib import sha256
from typing import Protocol

import polars as pl

from first_temporal.domain import schema
from first_temporal.domain.checkpoint import Checkpoint
from first_temporal.domain.errors import StaleBatch


class StagedPartLost(FileNotFoundError):
    """A part staged for an uncommitted batch is gone (`_staging` emptied by hand, or
    staged on a disk the worker that reads it cannot see): no retry of the step that
    reads it brings it back, staging the batch's parts again does."""


@dataclass(frozen=True)
class Manifest:
    """What a commit appends (staged parts, per table, in order) and what the checkpoint
    advances to. References and counts only: it crosses Temporal."""

    batch_number: int  # the last batch it commits (a span commits several)
    batch_date: str  # that batch's date
    last_customer_id: int
    last_transaction_id: int
    rows: dict[str, int]  # rows it adds, per table
    staged: dict[str, list[str]] = field(default_factory=dict)
    dates: list[str] = field(default_factory=list)  # every batch date it commits
    day_rows: dict[str, list[int]] = field(default_factory=dict)  # rows per date, per table
    # Who commits (the batch workflow's run id): a batch found already committed is this
    # commit's own retry only if the same writer committed it ("": not known).
    writer: str = ""


def staging_folder(identity: str, checkpoint: Checkpoint) -> str:
    """Where the parts of the batch after `checkpoint` are staged: named by the batch and
    a digest of everything their bytes depend on, so a part found there, left by any
    earlier attempt, holds exactly the bytes this attempt would write."""
    digest = sha256(identity.encode() + checkpoint.to_csv()).hexdigest()[:12]
    return f"{staging_prefix(checkpoint.batch_number + 1)}{digest}"


def staging_prefix(batch_number: int) -> str:
    """What every staging folder of one batch starts with (drop_staged's match)."""
    return f"batch-{batch_number:06d}-"


def staged_name(folder: str, table: str, part: str, extension: str = "csv") -> str:
    return f"{folder}/{table}-{part}.{extension}"


class Storage(Protocol):
    """Where the tables live. Implementations keep the exactly-once load protocol."""

    location: str

    def read_checkpoint(self, seed: int) -> Checkpoint:
        """The committed checkpoint (Checkpoint.initial for a new pipeline), verified
        against the tables. Never writes. Raises BadInput."""
        ...

    def read_window(
        self, checkpoint: Checkpoint, since: date, columns: tuple[str, ...]
    ) -> pl.DataFrame:
        """`columns` of the committed purchases with purchase_date >= since: never older
        history (a daily batch's cost does not grow with the tables)."""
        ...

    def stage(self, name: str, table: str, frame: pl.DataFrame) -> None:
        """Keep a part of an uncommitted batch where every worker can reach it (whole or
        not at all; the same bytes on every attempt)."""
        ...

    def hand_over(self, name: str, frame: pl.DataFrame) -> None:
        """Keep columns one step gives the next, beside the staged parts (Arrow IPC: read
        back without parsing; never appended to a table)."""
        ...

    def take_over(self, name: str) -> pl.DataFrame:
        """What hand_over kept under `name` (StagedPartLost when it is gone)."""
        ...

    def drop_staged(self, batch_number: int) -> None:
        """Forget the staged parts of committed batches up to `batch_number`: only those
        the checkpoint still holds (a rewind may have undone one, and its re-run stage it)."""
        ...

    def ledger_tail(self, checkpoint: Checkpoint, count: int) -> tuple[list[bytes], bytes]:
        """The ledger's last `count` lines up to the checkpoint's batch, oldest first, and
        the line the first of them chains to (the header where the ledger starts)."""
        ...

    def rewind(self, seed: int, batch: int) -> tuple[Checkpoint, Checkpoint]:
        """Put the tables, checkpoint and ledger back as they were right after `batch`
        (0: before the first); returns the checkpoints before and after. Idempotent.
        BadInput when `batch` is not a committed batch."""
        ...

    def commit(self, expected: Checkpoint, manifest: Manifest) -> tuple[Checkpoint, bool]:
        """Append the staged parts and advance the checkpoint, exactly once.

        Returns the committed checkpoint and whether this call wrote it (False when an
        earlier attempt already committed the batch). Raises StaleBatch when the
        checkpoint has moved past `expected` to a different batch.
        """
        ...


def settled(current: Checkpoint, expected: Checkpoint, manifest: Manifest) -> Checkpoint | None:
    """`current` if it already records this very batch (a retry: nothing to do), None if it
    is still `expected`, the checkpoint the batch was computed from (commit it);
    StaleBatch if another batch took its place or the batch was computed from another."""
    if current.batch_number < manifest.batch_number:
        if current != expected:
            raise StaleBatch(
                f"batch {manifest.batch_number} was computed from batch"
                f" {expected.batch_number}, but batch {current.batch_number} is committed"
            )
        return None
    if (
        current.batch_number == manifest.batch_number
        and current.previous_date == manifest.batch_date
        and current.last_transaction_id == manifest.last_transaction_id
    ):
        return current
    raise StaleBatch(
        f"batch {manifest.batch_number} ({manifest.batch_date}) conflicts with the"
        f" committed batch {current.batch_number} ({current.previous_date})"
    )


def key_column(table: str) -> int:
    """Index of the column that identifies the last row of a table."""
    return schema.COLUMNS[table].index(
        "customer_id" if table == schema.CUSTOMER else "transaction_id"
    )

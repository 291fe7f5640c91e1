"""The one small interface every storage backend (local CSV, S3) implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from hashlib import sha256
from typing import Any, Protocol

from first_temporal import schema
from first_temporal.activities.lifecycle import OpenPurchase
from first_temporal.checkpoint import Checkpoint
from first_temporal.errors import StaleBatch
from first_temporal.rows import Purchase, Rates


@dataclass(frozen=True)
class BatchPayload:
    """Encoded rows of one batch, per table, plus what the checkpoint advances to."""

    batch_number: int
    batch_date: str
    last_customer_id: int
    last_transaction_id: int
    window_offset: int
    data: dict[str, bytes]
    rows: dict[str, int]  # all rows of the batch per table, staged ones included
    # Staged parts (see Storage.stage) appended after `data`, in order, per table.
    staged: dict[str, list[str]] = field(default_factory=dict)
    # Tables whose staged parts were appended ahead (LocalStorage.pre_append): their end.
    preappended: dict[str, int] = field(default_factory=dict)


def staging_folder(seed: int, rates: Rates, checkpoint: Checkpoint) -> str:
    """Where the parts of the batch after `checkpoint` are staged: named by the batch and
    a digest of everything their bytes depend on, so a part found there, left by any
    earlier attempt, holds exactly the bytes this attempt would write."""
    identity = f"{seed}|{rates}|".encode() + checkpoint.to_csv()
    return f"{staging_prefix(checkpoint.batch_number + 1)}{sha256(identity).hexdigest()[:12]}"


def staging_prefix(batch_number: int) -> str:
    """What every staging folder of one batch starts with (drop_staged's match)."""
    return f"batch-{batch_number:06d}-"


def staged_name(folder: str, table: str, part: str) -> str:
    return f"{folder}/{table}-{part}.csv"


class Storage(Protocol):
    """Where the tables live. Implementations keep the exactly-once load protocol."""

    location: str

    def read_checkpoint(self, seed: int) -> Checkpoint:
        """The committed checkpoint (Checkpoint.initial for a new pipeline), verified
        against the tables. Never writes. Raises BadInput."""
        ...

    def read_window(self, checkpoint: Checkpoint, since: date) -> tuple[list[OpenPurchase], int]:
        """Committed purchases with purchase_date >= since, and the window's new offset."""
        ...

    def stage(self, name: str, data: bytes) -> None:
        """Keep a part of an uncommitted batch where every worker can reach it."""
        ...

    def has_staged(self, name: str) -> bool: ...

    def drop_staged(self, batch_number: int) -> None:
        """Forget the staged parts of a committed batch."""
        ...

    def commit(self, expected: Checkpoint, payload: BatchPayload) -> tuple[Checkpoint, bool]:
        """Append the batch and advance the checkpoint, exactly once.

        Returns the committed checkpoint and whether this call wrote it (False when an
        earlier attempt already committed the batch). Raises StaleBatch when the
        checkpoint has moved past `expected` to a different batch.
        """
        ...


def settled(current: Checkpoint, expected: Checkpoint, payload: BatchPayload) -> Checkpoint | None:
    """`current` if it already records this very batch (a retry: nothing to do), None if it
    is still `expected`, the checkpoint the batch was computed from (commit it);
    StaleBatch if another batch took its place or the batch was computed from another."""
    if current.batch_number < payload.batch_number:
        if current != expected:
            raise StaleBatch(
                f"batch {payload.batch_number} was computed from batch"
                f" {expected.batch_number}, but batch {current.batch_number} is committed"
            )
        return None
    if (
        current.batch_number == payload.batch_number
        and current.previous_date == payload.batch_date
        and current.last_transaction_id == payload.last_transaction_id
    ):
        return current
    raise StaleBatch(
        f"batch {payload.batch_number} ({payload.batch_date}) conflicts with the"
        f" committed batch {current.batch_number} ({current.previous_date})"
    )


def encode_rows(rows: list[Any]) -> bytes:
    """CSV lines for dataclass rows. Values never contain commas, quotes or newlines."""
    if not rows:
        return b""
    # vars() keeps field order and, unlike dataclasses.astuple, does not deep-copy.
    return ("\n".join(",".join(map(str, vars(r).values())) for r in rows) + "\n").encode()


def key_column(table: str) -> int:
    """Index of the column that identifies the last row of a table."""
    return schema.COLUMNS[table].index(
        "customer_id" if table == schema.CUSTOMER else "transaction_id"
    )


def open_purchase(fields: list[str]) -> OpenPurchase:
    return OpenPurchase(
        customer_id=int(fields[0]),
        transaction_id=int(fields[5]),
        product_id=int(fields[6]),
        purchase_date=date.fromisoformat(fields[7]),
        delivery_date=date.fromisoformat(fields[8]),
        refund_till=date.fromisoformat(fields[9]),
    )


def open_purchase_of(p: Purchase) -> OpenPurchase:
    return OpenPurchase(
        customer_id=p.customer_id,
        transaction_id=p.transaction_id,
        product_id=p.product_id,
        purchase_date=date.fromisoformat(p.purchase_date),
        delivery_date=date.fromisoformat(p.delivery_date),
        refund_till=date.fromisoformat(p.refund_till),
    )

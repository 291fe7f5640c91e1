"""The checkpoint of an S3 prefix, verified against its objects with a few small reads
(the last committed batch's purchase and customer objects, the catalogue): what every
batch does first, so damage is bad input naming the object, line and column."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from first_temporal.domain import schema
from first_temporal.domain.checkpoint import Checkpoint, parse_checkpoint
from first_temporal.domain.errors import BadInput
from first_temporal.storage.s3_objects import object_rows

if TYPE_CHECKING:
    from first_temporal.storage.s3 import S3Storage

WRITER = "writer"  # the checkpoint's user metadata: who committed it (x-amz-meta-writer)


def current(storage: S3Storage, seed: int) -> tuple[Checkpoint, str | None, str]:
    """The verified checkpoint, its ETag (None: no checkpoint object yet) and who
    committed it ("": not recorded)."""
    found = storage._fetch(storage.checkpoint_key) or _checkpoint_after_listing(storage)
    if found is None:
        return Checkpoint.initial(seed), None, ""
    raw, response = found
    etag, writer = str(response["ETag"]), str(response.get("Metadata", {}).get(WRITER, ""))
    name = storage.url(storage.checkpoint_key)
    cp = parse_checkpoint(raw, name)
    if cp.seed != seed:
        raise BadInput(
            f"{name}: these tables were built with seed {cp.seed}, not {seed}"
            f" — run with --seed {cp.seed} or use another prefix"
        )
    if cp.batch_number > 0:
        _verify_last_batch(storage, cp)
    return cp, etag, writer


def _checkpoint_after_listing(storage: S3Storage) -> tuple[bytes, Any] | None:
    """No checkpoint: a new pipeline, unless table objects exist. A writer creates
    checkpoint 0 before any object, so objects listed after our GET found none mean
    a racing writer created it in between (read it again), or it was lost."""
    listing = storage._call("list_objects_v2", Prefix=storage.root, Delimiter="/")
    folders = {p["Prefix"] for p in listing.get("CommonPrefixes", [])}
    for table in schema.BATCH_TABLES:
        if f"{storage.root}{table}/" in folders:
            if (found := storage._fetch(storage.checkpoint_key)) is not None:
                return found
            folder = storage.url(storage.root + table)
            raise BadInput(
                f"{storage.url(storage.checkpoint_key)}: missing while {folder}/ holds objects"
                " — restore the checkpoint (bucket versioning), or move the"
                " objects away to start over"
            )
    return None


def _verify_last_batch(storage: S3Storage, cp: Checkpoint) -> None:
    """A few small reads: the last committed batch's objects hold what cp claims."""
    cp_url = storage.url(storage.checkpoint_key)
    key = storage.key(schema.PURCHASE, cp.previous_date, cp.batch_number)
    found = storage._get(key)
    if found is None:
        raise BadInput(
            f"{storage.url(key)}: missing while {cp_url} says batch {cp.batch_number} is"
            " committed — restore it from a backup (bucket versioning)"
        )
    _expect_last(storage, key, found[0], schema.PURCHASE, 5, cp.last_transaction_id, cp_url)
    key = storage.key(schema.CUSTOMER, cp.previous_date, cp.batch_number)
    found = storage._get(key)
    if found is not None:  # a batch of repeat buyers only has no customer object
        _expect_last(storage, key, found[0], schema.CUSTOMER, 0, cp.last_customer_id, cp_url)
    if storage._get(storage.product_key) is None:
        raise BadInput(f"{storage.url(storage.product_key)}: missing — the tables are incomplete")


def _expect_last(
    storage: S3Storage, key: str, body: bytes, table: str, index: int, value: int, cp_url: str
) -> None:
    rows = object_rows(storage.url(key), body, table)
    if rows[-1][index] != str(value):
        column = schema.COLUMNS[table][index]
        raise BadInput(
            f"{storage.url(key)} line {len(rows) + 1} column {index + 1} ({column}): found"
            f" {rows[-1][index]!r}, but {cp_url} says {value} — the checkpoint claims data"
            " the objects do not hold"
        )

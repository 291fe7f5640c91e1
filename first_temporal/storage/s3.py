"""S3 tables, Hive-partitioned for Glue/Athena, with a conditional-write commit.

Layout under s3://bucket/prefix:
  <table>/<partition_column>=<YYYY-MM-DD>/batch-<batch_number:06d>.csv  (header + rows)
  product/product.csv                                                (written once)
  _ledger/batch-<batch_number:06d>.csv                               (the commit's ledger lines)
  _checkpoint/placeholder.csv                                        (the commit record)
Keys are deterministic, so a retried write puts the same bytes under the same key.

Commit of batch N (the checkpoint is the only object that decides anything):
  1. re-read and verify the checkpoint; if it already records batch N, stop (no-op);
  2. on a new pipeline, create checkpoint 0 with If-None-Match: * (rows never exist
     without a checkpoint) and the product catalogue;
  3. put one object per (table, partition value) of the batch, then its ledger object;
  4. put checkpoint N with If-Match: <ETag of the checkpoint read in 1>, and the
     writer (the batch workflow's run id) as its metadata. A 412 means another writer
     moved it: "already committed" if it now records this very batch and this writer
     put it (a retry whose first put took effect), else StaleBatch.
Readers ignore objects of a batch above the checkpoint's (an interrupted attempt); the
retry overwrites them with the same bytes. Athena sees such leftovers until then.
Limit: the If-Match guards the commit record, not the data objects. Two writers of one
batch number with different inputs (another Temporal cluster, another purchases
override) could leave the loser's rows in the winner's objects; the per-batch workflow
id excludes this within one cluster, and read_checkpoint's last-row check detects it.
Two clusters running the same pipeline compute the same bytes: the writer metadata
gives each batch to one of them, and the other learns it lost (StaleBatch), instead of
counting the batch as its own. A loser of another shape (a day against a span) deletes
the objects it wrote, which no commit has (s3_race.py).
A real S3 409 ConditionalRequestConflict is left to the activity retry.

Checkpoint columns with no byte meaning on S3: `<table>_bytes` holds the committed row
count (same as `<table>_rows`) and `window_offset` is 0. Checkpoint 0 keeps the values
of Checkpoint.initial, so a new pipeline starts from the same record on every backend.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import polars as pl
from botocore.exceptions import ClientError

from first_temporal.domain import schema
from first_temporal.domain.checkpoint import Checkpoint, parse_checkpoint
from first_temporal.domain.errors import BadInput, StaleBatch
from first_temporal.storage import csv, s3_checks, s3_client, s3_ledger, s3_race, s3_rewind
from first_temporal.storage.base import Manifest, StagedPartLost
from first_temporal.storage.s3_objects import BATCH_KEY, is_date, object_rows, split_rows

log = logging.getLogger(__name__)

CHECKPOINT_DIR = "_checkpoint"
CONFLICT = {"PreconditionFailed", "412", "NoSuchKey"}  # NoSuchKey: If-Match on a deleted key
MISSING = {"NoSuchKey", "404", "NotFound"}
READ_THREADS = 8
DELETE_BATCH = 1000  # DeleteObjects' limit
STAGED_FOLDER = re.compile(r"_staging/batch-(\d+)-")


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _bad_bucket(exc: ClientError, bucket: str) -> Exception:
    """A missing bucket is a configuration error no retry can fix; the rest stays as is."""
    if _code(exc) == "NoSuchBucket":
        return BadInput(f"s3://{bucket}: no such bucket — create it or fix ETL_STORAGE")
    same: Exception = exc
    return same


class S3Storage:
    def __init__(self, location: str) -> None:
        match = re.fullmatch(r"s3://([^/]+)/*(.*?)/*", location)
        if not match:
            raise BadInput(f"{location}: not an s3://bucket/prefix location")
        self.bucket, prefix = match.groups()
        self.root = f"{prefix}/" if prefix else ""
        self.location = f"s3://{self.bucket}/{prefix}".rstrip("/")
        self.client: Any = s3_client.client()

    # -- keys and objects ------------------------------------------------------------

    def key(self, table: str, value: str, batch_number: int) -> str:
        column = schema.PARTITION_COLUMN[table]
        return f"{self.root}{table}/{column}={value}/batch-{batch_number:06d}.csv"

    @property
    def checkpoint_key(self) -> str:
        return f"{self.root}{CHECKPOINT_DIR}/{schema.CHECKPOINT_FILE}"

    @property
    def product_key(self) -> str:
        return f"{self.root}{schema.PRODUCT}/{schema.PRODUCT}.csv"

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def _call(self, operation: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.client, operation)(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            raise _bad_bucket(exc, self.bucket) from None

    def _fetch(self, key: str) -> tuple[bytes, Any] | None:
        """Body and GetObject response, or None when the object does not exist."""
        try:
            return s3_client.read_object(lambda: self._call("get_object", Key=key), self.url(key))
        except ClientError as exc:
            if _code(exc) in MISSING:
                return None
            raise

    def _get(self, key: str) -> tuple[bytes, str] | None:
        """Body and ETag, or None when the object does not exist."""
        found = self._fetch(key)
        return None if found is None else (found[0], str(found[1]["ETag"]))

    def _put(self, key: str, body: bytes, **extra: Any) -> str:
        """extra: conditions (IfMatch, IfNoneMatch) and Metadata."""
        response = self._call("put_object", Key=key, Body=body, ContentType="text/csv", **extra)
        return str(response["ETag"])

    def _delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), DELETE_BATCH):
            chunk = [{"Key": key} for key in keys[start : start + DELETE_BATCH]]
            self._call("delete_objects", Delete={"Objects": chunk, "Quiet": True})

    # -- reading -------------------------------------------------------------------

    def read_checkpoint(self, seed: int) -> Checkpoint:
        return s3_checks.current(self, seed)[0]

    def _keys_after(self, start: str) -> Iterator[str]:
        """Keys of the table folder of `start` that sort after it, in order."""
        folder = start.rsplit("/", 1)[0] + "/"
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=folder, StartAfter=start
        )
        try:
            for page in pages:
                for obj in page.get("Contents", []):
                    yield str(obj["Key"])
        except ClientError as exc:
            raise _bad_bucket(exc, self.bucket) from None

    def read_window(
        self, checkpoint: Checkpoint, since: date, columns: tuple[str, ...]
    ) -> pl.DataFrame:
        """Lists purchase partitions from `since` on; never reads older history."""
        last = checkpoint.previous_date
        if not last or since.isoformat() > last:
            return csv.empty(schema.PURCHASE, columns)
        partitions = f"{self.root}{schema.PURCHASE}/{schema.PARTITION_COLUMN[schema.PURCHASE]}="
        wanted: list[str] = []
        for key in self._keys_after(f"{partitions}{since.isoformat()}"):
            match = BATCH_KEY.search(key)
            if not key.startswith(partitions) or not match or not is_date(match.group(1)):
                raise BadInput(f"{self.url(key)}: not a <column>=YYYY-MM-DD/batch-NNNNNN.csv key")
            if match.group(1) > last:
                break  # later dates belong to a batch that is not committed yet
            if int(match.group(2)) <= checkpoint.batch_number:
                wanted.append(key)
            else:
                log.info("%s: ignored, its batch is not committed", self.url(key))
        with ThreadPoolExecutor(max_workers=READ_THREADS) as pool:
            bodies = list(pool.map(self._get, wanted))
        frames = [csv.empty(schema.PURCHASE, columns)]
        for key, found in zip(wanted, bodies, strict=True):
            if found is None:
                raise BadInput(f"{self.url(key)}: vanished while it was being read")
            object_rows(self.url(key), found[0], schema.PURCHASE)  # the layout's own checks
            frames.append(csv.read(schema.PURCHASE, found[0], self.url(key), columns, True))
        return pl.concat(frames)

    # -- writing -------------------------------------------------------------------

    def staged_key(self, name: str) -> str:
        return f"{self.root}_staging/{name}"

    def stage(self, name: str, table: str, frame: pl.DataFrame) -> None:
        self._put(self.staged_key(name), csv.encode(table, frame))

    def hand_over(self, name: str, frame: pl.DataFrame) -> None:
        out = io.BytesIO()
        frame.write_ipc(out)
        self._put(self.staged_key(name), out.getvalue())

    def take_over(self, name: str) -> pl.DataFrame:
        return pl.read_ipc(io.BytesIO(self._staged(name)))

    def _staged(self, name: str) -> bytes:
        found = self._get(self.staged_key(name))
        if found is None:
            raise StagedPartLost(f"staged part missing: {self.url(self.staged_key(name))}")
        return found[0]

    def drop_staged(self, batch_number: int) -> None:
        """Every staged part of a committed batch up to `batch_number` (a span's folder is
        named by its first batch, a crashed attempt's by whatever batch it was computing):
        a rewind since the load may have made a batch uncommitted, and its re-run stages
        under the same names."""
        found = self._fetch(self.checkpoint_key)
        upto = min(batch_number, parse_checkpoint(found[0]).batch_number if found else 0)
        keys = [
            k
            for k in self._keys_after(self.staged_key(""))
            if (folder := STAGED_FOLDER.search(k)) and int(folder.group(1)) <= upto
        ]
        self._delete(keys)

    def ledger_tail(self, checkpoint: Checkpoint, count: int) -> tuple[list[bytes], bytes]:
        return s3_ledger.tail(self, checkpoint, count)

    def rewind(self, seed: int, batch: int) -> tuple[Checkpoint, Checkpoint]:
        return s3_rewind.rewind(self, seed, batch)

    def commit(self, expected: Checkpoint, manifest: Manifest) -> tuple[Checkpoint, bool]:
        current, etag, writer = s3_checks.current(self, expected.seed)
        if (done := s3_race.ours(current, writer, expected, manifest)) is not None:
            return done, False
        staged = self.staged_tables(manifest)
        objects = self.batch_objects(manifest, staged)  # refuses a bad batch before any write
        if etag is None:
            try:
                etag = self._put(self.checkpoint_key, current.to_csv(), IfNoneMatch="*")
            except ClientError as exc:
                if _code(exc) not in CONFLICT:
                    raise
                again, etag, _ = s3_checks.current(self, expected.seed)
                if again != expected or etag is None:  # not just the same checkpoint 0
                    return self._lost_race(expected, manifest)
            self._put(self.product_key, schema.catalogue_bytes())
        written = [key for key, _ in objects] + [self.ledger_key(manifest.batch_number)]
        for key, body in objects:
            self._put(key, body)
        self._put(written[-1], s3_ledger.commit_object(self, current, manifest, staged))
        rows = {t: current.rows[t] + manifest.rows.get(t, 0) for t in schema.BATCH_TABLES}
        committed = current.advanced(
            previous_date=manifest.batch_date,
            last_customer_id=manifest.last_customer_id,
            last_transaction_id=manifest.last_transaction_id,
            batch_number=manifest.batch_number,
            window_offset=0,
            rows=rows,
            ends=dict(rows),
        )
        try:
            self._put(
                self.checkpoint_key,
                committed.to_csv(),
                IfMatch=etag,
                Metadata={s3_checks.WRITER: manifest.writer} if manifest.writer else {},
            )
        except ClientError as exc:
            if _code(exc) not in CONFLICT:
                raise
            return self._lost_race(expected, manifest, written)
        return committed, True

    def _lost_race(
        self, expected: Checkpoint, manifest: Manifest, written: list[str] | None = None
    ) -> tuple[Checkpoint, bool]:
        """Another writer changed the checkpoint between our read and our write; a loser
        deletes the objects it `written` (see s3_race)."""
        current, _, writer = s3_checks.current(self, expected.seed)
        try:
            if (done := s3_race.ours(current, writer, expected, manifest)) is not None:
                return done, False
        except StaleBatch:
            pass  # the race message below says more
        s3_race.forget(self, written or [], manifest.batch_number, current)
        raise StaleBatch(
            f"batch {manifest.batch_number}: another writer moved {self.url(self.checkpoint_key)}"
            f" to batch {current.batch_number} ({current.previous_date or 'none'}) meanwhile"
        )

    def staged_tables(self, manifest: Manifest) -> dict[str, bytes]:
        """Each table's staged rows of the batch, its parts in order."""
        return {
            t: b"".join(self._staged(name) for name in manifest.staged.get(t, []))
            for t in schema.BATCH_TABLES
        }

    def ledger_key(self, batch_number: int) -> str:
        return s3_ledger.key(self, batch_number)

    def batch_objects(
        self, manifest: Manifest, staged: dict[str, bytes]
    ) -> list[tuple[str, bytes]]:
        """(key, body) per table and partition value of the batch (a span's objects are
        named by its last batch number)."""
        objects = []
        for table in schema.BATCH_TABLES:
            data = staged[table]
            where = f"{self.url(self.root + table)}/"
            for value, body in split_rows(table, manifest, data, where).items():
                objects.append((self.key(table, value, manifest.batch_number), body))
        return objects

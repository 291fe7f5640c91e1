"""S3Storage against a moto server over HTTP, driven through the real activities.

The S3 tables must hold exactly the rows LocalStorage holds for the same seed, only
partitioned; the commit must stay exactly-once under retries, stale writers and races.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import ActivityEnvironment

from first_temporal.activities.loader import Loader
from first_temporal.config import Pipeline, open_storage
from first_temporal.domain import ledger, schema
from first_temporal.domain.checkpoint import Checkpoint
from first_temporal.domain.errors import BadInput, StaleBatch
from first_temporal.jobs import BatchSummary
from first_temporal.settings import Tuning
from first_temporal.storage.base import Manifest
from first_temporal.storage.local import LocalStorage
from first_temporal.storage.s3 import S3Storage
from first_temporal.tests.s3_batches import (
    BUCKET,
    LOCATION,
    SEED,
    objects,
    run_batches,
    stage_batch,
    staged_manifest,
)

PURCHASE_COLUMNS = schema.COLUMNS[schema.PURCHASE]


def expected_objects(data_dir: Path, summaries: list[BatchSummary]) -> dict[str, bytes]:
    """The local tables cut into the S3 layout: rows go to their batch and partition."""
    counts = {
        schema.PURCHASE: [s.purchases for s in summaries],
        schema.CUSTOMER: [s.new_customers for s in summaries],
        schema.DISPUTE: [s.disputes for s in summaries],
        schema.DELIVERY: [s.deliveries for s in summaries],
    }
    out: dict[str, bytes] = {}
    for table, per_batch in counts.items():
        lines = (data_dir / f"{table}.csv").read_bytes().splitlines(keepends=True)[1:]
        column = schema.COLUMNS[table].index(schema.PARTITION_COLUMN[table])
        assert len(lines) == sum(per_batch)
        for number, count in enumerate(per_batch, start=1):
            batch, lines = lines[:count], lines[count:]
            for line in batch:
                value = line.decode().rstrip("\n").split(",")[column]
                key = f"etl/{table}/{schema.PARTITION_COLUMN[table]}={value}/batch-{number:06d}.csv"
                out[key] = out.get(key, schema.header_line(table)) + line
    out["etl/product/product.csv"] = schema.catalogue_bytes()
    return out | expected_ledger(data_dir)


def expected_ledger(data_dir: Path) -> dict[str, bytes]:
    """The local ledger's rows as S3 keeps them: an object per commit (here: per batch),
    each table's end counted in rows, the same digests, chained over these lines."""
    out, previous = {}, ledger.HEADER
    for line in ledger.lines_of((data_dir / ledger.LEDGER_FILE).read_bytes()):
        row = ledger.parse(line, 0)
        tables = {t: ledger.Appended(a.rows, a.rows, a.sha256) for t, a in row.tables.items()}
        row = replace(row, tables=tables, previous_sha256=ledger.digest(previous))
        previous = row.line()
        out[f"etl/_ledger/batch-{row.batch_number:06d}.csv"] = previous
    return out


def test_s3_tables_equal_local_tables_partitioned(s3: Any, tmp_path: Path) -> None:
    local = Pipeline(location=str(tmp_path / "data"), seed=SEED)
    remote = Pipeline(location=LOCATION, seed=SEED)
    summaries = run_batches(local, 6)
    assert run_batches(remote, 6) == summaries
    stored = objects(s3)
    checkpoint = stored.pop("etl/_checkpoint/placeholder.csv")
    assert stored == expected_objects(tmp_path / "data", summaries)  # nothing staged is left
    assert any(k.startswith("etl/delivery/") for k in stored)  # the run covers every table
    assert any(k.startswith("etl/dispute/") for k in stored)
    local_cp = LocalStorage(local.location).read_checkpoint(SEED)
    s3_cp = S3Storage(LOCATION).read_checkpoint(SEED)
    assert checkpoint == s3_cp.to_csv()
    assert s3_cp == replace(local_cp, window_offset=0, ends=local_cp.rows)
    heights = []
    for days in (0, 3, 90):
        since = date.fromisoformat(s3_cp.previous_date) - timedelta(days=days)
        window = S3Storage(LOCATION).read_window(s3_cp, since, PURCHASE_COLUMNS)
        expected = LocalStorage(local.location).read_window(local_cp, since, PURCHASE_COLUMNS)
        assert window.equals(expected)
        heights.append(window.height)
    assert 0 < heights[0] < heights[2] == local_cp.rows[schema.PURCHASE]


def test_a_bulk_day_on_s3_equals_the_local_one_and_leaves_nothing_staged(
    s3: Any, tmp_path: Path
) -> None:
    tuning = Tuning(bulk_threshold=1_000, part_rows=700)
    summaries = []
    for location in (str(tmp_path / "data"), LOCATION):
        pipeline = Pipeline(location=location, seed=SEED)
        job = stage_batch(pipeline, purchases=2_000, tuning=tuning)
        assert len(job.parts) == 6  # three parts, each staged by extract and by transform
        if location == LOCATION:
            staged = [key for key in objects(s3) if "/_staging/batch-000001-" in key]
            names = [n for part in job.parts for ns in part.files.values() for n in ns]
            handed = [n for part in job.parts for n in part.open_purchases]
            assert len(handed) == 3 and len(staged) == len(names) + len(handed)
        summaries += ActivityEnvironment().run(Loader(open_storage).load_batch, job)
    assert summaries[0] == summaries[1] and summaries[0].purchases == 2_000
    stored = objects(s3)
    stored.pop("etl/_checkpoint/placeholder.csv")
    assert stored == expected_objects(tmp_path / "data", summaries[:1])  # no staged part left


def test_retried_commit_is_a_no_op(s3: Any) -> None:
    pipeline = Pipeline(location=LOCATION, seed=SEED)
    run_batches(pipeline, 1)
    job, manifest = staged_manifest(pipeline)
    storage = S3Storage(LOCATION)
    committed, wrote = storage.commit(job.checkpoint, manifest)
    assert wrote and committed.batch_number == 2
    before = objects(s3)
    again, wrote = S3Storage(LOCATION).commit(job.checkpoint, manifest)
    assert (again, wrote) == (committed, False)
    assert objects(s3) == before


def test_leftovers_of_an_interrupted_commit_are_ignored_then_overwritten(s3: Any) -> None:
    pipeline = Pipeline(location=LOCATION, seed=SEED)
    run_batches(pipeline, 2)
    job, manifest = staged_manifest(pipeline)
    storage = S3Storage(LOCATION)
    window_before = storage.read_window(job.checkpoint, date(2020, 1, 1), PURCHASE_COLUMNS)
    assert window_before.height == job.checkpoint.rows[schema.PURCHASE]
    crashed = storage.batch_objects(manifest, storage.staged_tables(manifest))
    assert {key.split("/")[1] for key, _ in crashed} >= {schema.PURCHASE, schema.CUSTOMER}
    for key, body in crashed:  # the data of batch 3 without its checkpoint: a crash
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    assert storage.read_checkpoint(SEED) == job.checkpoint
    window = storage.read_window(job.checkpoint, date(2020, 1, 1), PURCHASE_COLUMNS)
    assert window.equals(window_before)
    assert stage_batch(pipeline) == job  # the retry computes the very same batch
    committed, wrote = storage.commit(job.checkpoint, manifest)
    assert wrote and committed.batch_number == 3
    stored = objects(s3)
    assert all(stored[key] == body for key, body in crashed)


def test_commit_from_a_stale_checkpoint_is_refused(s3: Any) -> None:
    pipeline = Pipeline(location=LOCATION, seed=SEED)
    run_batches(pipeline, 1)
    job, manifest = staged_manifest(pipeline)
    other, other_manifest = staged_manifest(pipeline, purchases=3)  # same number, other rows
    S3Storage(LOCATION).commit(job.checkpoint, manifest)
    before = objects(s3)
    with pytest.raises(StaleBatch, match="conflicts with the committed batch 2"):
        S3Storage(LOCATION).commit(other.checkpoint, other_manifest)
    older = Checkpoint.initial(SEED)
    later = replace(staged_manifest(pipeline)[1], batch_number=4)
    with pytest.raises(StaleBatch, match="computed from batch 0, but batch 2 is committed"):
        S3Storage(LOCATION).commit(older, later)
    after = objects(s3)
    staged = [key for key in after if key not in before]
    assert all("/_staging/batch-000003-" in key for key in staged)  # the staging of `later`
    assert {k: v for k, v in after.items() if k not in staged} == before


def test_only_the_staging_of_committed_batches_is_dropped(s3: Any) -> None:
    """A load's delete trails it: by then a rewind may have undone its batch, and a
    re-run staged it again under the same keys."""
    pipeline = Pipeline(location=LOCATION, seed=SEED)
    run_batches(pipeline, 2)
    job, manifest = staged_manifest(pipeline)
    storage = S3Storage(LOCATION)

    def staged() -> list[str]:
        return [key for key in objects(s3) if "/_staging/" in key]

    assert staged() and all("/_staging/batch-000003-" in key for key in staged())
    storage.drop_staged(3)  # batch 3 is not committed
    assert staged() and storage.read_checkpoint(SEED).batch_number == 2
    storage.commit(job.checkpoint, manifest)
    storage.drop_staged(3)
    assert staged() == []


class Interleaved(S3Storage):
    """Runs `meanwhile` right before its first conditional checkpoint write: a race."""

    def __init__(self, location: str, meanwhile: Any) -> None:
        super().__init__(location)
        self.meanwhile = meanwhile

    def _put(self, key: str, body: bytes, **conditions: str) -> str:
        if key == self.checkpoint_key and conditions and self.meanwhile:
            self.meanwhile, run = None, self.meanwhile
            run()
        return super()._put(key, body, **conditions)


@pytest.mark.parametrize("first_batch", [True, False])
def test_two_writers_racing_exactly_one_wins(s3: Any, first_batch: bool) -> None:
    pipeline = Pipeline(location=LOCATION, seed=SEED)
    if not first_batch:
        run_batches(pipeline, 1)
    winner_job, winner_manifest = staged_manifest(pipeline)
    loser_job, loser_manifest = staged_manifest(pipeline, purchases=3)
    results: list[tuple[Checkpoint, bool]] = []

    def winner() -> None:
        results.append(S3Storage(LOCATION).commit(winner_job.checkpoint, winner_manifest))

    loser = Interleaved(LOCATION, winner)
    with pytest.raises(StaleBatch, match="another writer moved"):
        loser.commit(loser_job.checkpoint, loser_manifest)
    [(committed, wrote)] = results
    assert wrote
    assert S3Storage(LOCATION).read_checkpoint(SEED) == committed
    assert committed.last_transaction_id == winner_manifest.last_transaction_id
    assert committed.last_transaction_id != loser_manifest.last_transaction_id

    # The same batch from two writers: one writes it, the other finds it done.
    twin_job, twin_manifest = staged_manifest(pipeline)
    twin_results: list[tuple[Checkpoint, bool]] = []
    twin = Interleaved(
        LOCATION,
        lambda: twin_results.append(S3Storage(LOCATION).commit(twin_job.checkpoint, twin_manifest)),
    )
    late = twin.commit(twin_job.checkpoint, twin_manifest)
    assert twin_results[0][1] is True
    assert late == (twin_results[0][0], False)


def test_a_writer_that_only_created_checkpoint_0_does_not_block(s3: Any) -> None:
    pipeline = Pipeline(location=LOCATION, seed=SEED)
    job, manifest = staged_manifest(pipeline)

    def stalled_writer() -> None:
        s3.put_object(
            Bucket=BUCKET, Key="etl/_checkpoint/placeholder.csv", Body=job.checkpoint.to_csv()
        )

    committed, wrote = Interleaved(LOCATION, stalled_writer).commit(job.checkpoint, manifest)
    assert wrote and committed.batch_number == 1
    assert S3Storage(LOCATION).read_checkpoint(SEED) == committed


def test_corrupt_checkpoint_names_the_key(s3: Any) -> None:
    run_batches(Pipeline(location=LOCATION, seed=SEED), 1)
    s3.put_object(Bucket=BUCKET, Key="etl/_checkpoint/placeholder.csv", Body=b"\xff\xfegarbage")
    with pytest.raises(
        BadInput, match=r"^s3://ft-s3-storage-test/etl/_checkpoint/placeholder\.csv"
    ):
        S3Storage(LOCATION).read_checkpoint(SEED)
    empty = Manifest(1, schema.FIRST_BATCH_DATE, 0, 0, {}, {})
    with pytest.raises(BadInput, match=r"placeholder\.csv line 1: not UTF-8"):
        S3Storage(LOCATION).commit(Checkpoint.initial(SEED), empty)


def test_missing_checkpoint_while_objects_exist(s3: Any) -> None:
    run_batches(Pipeline(location=LOCATION, seed=SEED), 2)
    s3.delete_object(Bucket=BUCKET, Key="etl/_checkpoint/placeholder.csv")
    with pytest.raises(BadInput, match=r"placeholder\.csv: missing while s3://.*/etl/purchase/"):
        S3Storage(LOCATION).read_checkpoint(SEED)


def test_checkpoint_ahead_of_the_objects_or_other_seed(s3: Any) -> None:
    run_batches(Pipeline(location=LOCATION, seed=SEED), 2)
    storage = S3Storage(LOCATION)
    with pytest.raises(BadInput, match=f"built with seed {SEED}, not 8"):
        storage.read_checkpoint(8)
    cp = storage.read_checkpoint(SEED)
    key = storage.key(schema.PURCHASE, cp.previous_date, cp.batch_number)
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    s3.put_object(Bucket=BUCKET, Key=key, Body=body.rsplit(b"\n", 2)[0] + b"\n")  # lose a row
    with pytest.raises(BadInput, match=rf"{key} line \d+ column 6 \(transaction_id\)"):
        storage.read_checkpoint(SEED)
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"customer_id,oops\n1,2\n")
    with pytest.raises(BadInput, match=rf"{key} line 1: expected the header"):
        storage.read_checkpoint(SEED)
    s3.delete_object(Bucket=BUCKET, Key=key)
    with pytest.raises(BadInput, match=rf"{key}: missing while .* says batch 2 is committed"):
        storage.read_checkpoint(SEED)


def test_location_forms(s3: Any) -> None:
    bare = S3Storage("s3://bucket-only/")
    assert (bare.location, bare.checkpoint_key) == (
        "s3://bucket-only",
        "_checkpoint/placeholder.csv",
    )
    nested = S3Storage("s3://b-k/a/b//")
    assert nested.location == "s3://b-k/a/b"
    assert nested.key(schema.DELIVERY, "2020-07-04", 2) == (
        "a/b/delivery/status_date=2020-07-04/batch-000002.csv"
    )
    with pytest.raises(BadInput, match="not an s3://bucket/prefix location"):
        S3Storage("s3:///x")


def test_new_pipeline_and_missing_bucket(s3: Any) -> None:
    assert S3Storage(LOCATION).read_checkpoint(SEED) == Checkpoint.initial(SEED)
    window = S3Storage(LOCATION).read_window(
        Checkpoint.initial(SEED), date(2020, 1, 1), PURCHASE_COLUMNS
    )
    assert (window.height, tuple(window.columns)) == (0, PURCHASE_COLUMNS)
    with pytest.raises(BadInput, match="s3://no-such-bucket-here: no such bucket"):
        S3Storage("s3://no-such-bucket-here/x").read_checkpoint(SEED)

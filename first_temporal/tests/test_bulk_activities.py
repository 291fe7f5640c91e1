"""A bulk day's activities on their own (no server): each part stages its own rows under
a name given by them, parts may run in any order, twice, or be lost before the load,
and the committed bytes are those of the same day as one part. (test_scale.py: the
same through the workflow, and a failing part failing the day.)"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from first_temporal.activities.errors import STAGED_PART_LOST
from first_temporal.activities.extractor import Extractor
from first_temporal.activities.loader import Loader
from first_temporal.activities.transformer import Transformer
from first_temporal.config import Pipeline, open_storage
from first_temporal.domain import schema
from first_temporal.domain.batch import BatchSpec
from first_temporal.domain.lifecycle import OPEN_COLUMNS
from first_temporal.domain.source import purchases
from first_temporal.jobs import BatchJob, LoadJob, PartJob, Staged, TransformJob
from first_temporal.settings import Tuning
from first_temporal.storage import csv
from first_temporal.storage.local import LocalStorage
from first_temporal.tests.batches import read_checkpoint, run_batch, run_batches, stage_batch
from first_temporal.tests.snapshots import tables
from first_temporal.workflow import part_bounds

TOTAL = 2_500
BULK = Tuning(bulk_threshold=1_000, part_rows=300)  # 9 parts


def before_bulk(root: Path) -> Pipeline:
    pipeline = Pipeline(location=str(root), seed=5)
    run_batches(pipeline, 3)  # repeat buyers, and a window of open purchases
    return pipeline


@pytest.fixture
def as_one_part(tmp_path: Path) -> dict[str, bytes]:
    """The same bulk day (and four days after it) committed as one part."""
    pipeline = before_bulk(tmp_path / "one-part")
    run_batch(pipeline, purchases=TOTAL)
    run_batches(pipeline, 4)
    return tables(tmp_path / "one-part")


def stage_part(pipeline: Pipeline, index: int, start: int, end: int | None) -> list[Staged]:
    """One part's extract and transform, as any worker would run them."""
    cp = read_checkpoint(pipeline)
    part = PartJob(pipeline, cp, 1, TOTAL, start, end)
    act = ActivityEnvironment()
    extracted = act.run(Extractor(open_storage).extract_purchases, part)
    job = TransformJob(part, extracted.open_purchases, with_window=index == 0)
    return [extracted, act.run(Transformer(open_storage).derive_lifecycle_events, job)]


def test_a_bulk_day_in_parts_equals_the_same_day_as_one_part(
    tmp_path: Path, as_one_part: dict[str, bytes]
):
    pipeline = before_bulk(tmp_path / "parts")
    [summary] = run_batch(pipeline, purchases=TOTAL, tuning=BULK)
    assert (summary.batch_number, summary.purchases) == (4, TOTAL)
    assert summary.new_customers + summary.repeat_purchases == TOTAL
    assert summary.disputes > 0 and summary.deliveries > 0
    assert not any((tmp_path / "parts" / "_staging").glob("batch-*"))  # dropped once loaded
    run_batches(pipeline, 4)  # their window holds the bulk day's purchases
    assert tables(tmp_path / "parts") == as_one_part


def test_each_part_stages_its_own_rows_under_a_name_given_by_them(tmp_path: Path):
    pipeline = before_bulk(tmp_path / "data")
    load = stage_batch(pipeline, purchases=TOTAL, tuning=BULK)
    extracted = load.parts[0::2]
    names = [s.files[schema.PURCHASE] for s in extracted]
    bounds = [(low, min(low + 300, TOTAL)) for low in range(0, TOTAL, 300)]
    assert len(names) == 9
    assert [n[0].rsplit("/", 1)[1] for n in names] == [
        f"purchase-rows-{low:010d}-{high:010d}.csv" for low, high in bounds
    ]
    assert [sum(s.rows[schema.PURCHASE]) for s in extracted] == [h - lo for lo, h in bounds]
    storage = LocalStorage(tmp_path / "data")
    staged = pl.concat(
        csv.read(schema.PURCHASE, str(storage.staged_path(n[0])), n[0]) for n in names
    )
    spec = BatchSpec(5, pipeline.rates, load.checkpoint, 1, TOTAL)
    whole = purchases(5, pipeline.rates, spec.plan()).select(schema.COLUMNS[schema.PURCHASE])
    assert staged.equals(whole)
    handed = pl.concat(storage.take_over(n) for s in extracted for n in s.open_purchases)
    assert handed.equals(whole.select(OPEN_COLUMNS))  # what transform reads of them
    customers = sum(sum(s.rows[schema.CUSTOMER]) for s in extracted)
    assert customers == (whole["checkout_type"] == schema.FIRST_TIME).sum() > 0
    assert {tuple(s.dates) for s in extracted} == {tuple(load.dates)} and len(load.dates) == 1
    # Deliveries due today are of earlier days' purchases: only the part given the window
    # has them; the others can only have today's cancellations.
    events = load.parts[1::2]
    assert sum(events[0].rows[schema.DELIVERY]) > sum(events[0].rows[schema.DISPUTE])
    for part in events[1:]:
        assert part.rows.get(schema.DELIVERY, [0]) == part.rows.get(schema.DISPUTE, [0])


def test_staged_parts_are_written_through_files_opened_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Given a path, polars opens it twice, the second time truncating it, and ext4 then
    sends the file to disk as it closes: a bulk day's staged parts (deleted a second later)
    took the disk from the load's fsync. Every staged file must reach polars open."""
    targets: list[object] = []
    for writer in ("write_csv", "write_ipc"):
        real = getattr(pl.DataFrame, writer)

        def spy(frame: pl.DataFrame, target: object, *args: Any, _real: Any = real, **kw: Any):
            targets.append(target)
            return _real(frame, target, *args, **kw)

        monkeypatch.setattr(pl.DataFrame, writer, spy)
    pipeline = before_bulk(tmp_path / "data")
    targets.clear()
    load = stage_batch(pipeline, purchases=TOTAL, tuning=BULK)
    staged = [n for s in load.parts for names in s.files.values() for n in names]
    handed = [n for s in load.parts for n in s.open_purchases]
    assert len(targets) == len(staged) + len(handed) > 9
    assert not [t for t in targets if isinstance(t, str | os.PathLike)]


def test_a_part_stages_its_rows_a_piece_at_a_time_and_commits_the_same_bytes(
    tmp_path: Path, as_one_part: dict[str, bytes]
):
    """A part of more purchases than a piece stages a file per piece, named by its rows."""
    pipeline = before_bulk(tmp_path / "data")
    load = stage_batch(pipeline, purchases=TOTAL, tuning=replace(BULK, piece_rows=70))
    first = load.parts[0]
    assert [n.rsplit("/", 1)[1] for n in first.files[schema.PURCHASE]] == [
        f"purchase-rows-{low:010d}-{min(low + 70, 300):010d}.csv" for low in range(0, 300, 70)
    ]
    assert len(first.open_purchases) == 5 and sum(first.rows[schema.PURCHASE]) == 300
    assert len(load.parts[1].files[schema.DELIVERY]) == 1  # transform: one file per part
    ActivityEnvironment().run(Loader(open_storage).load_batch, load)
    run_batches(pipeline, 4)
    assert tables(tmp_path / "data") == as_one_part


def test_parts_run_in_any_order_or_twice_commit_the_same_bytes(
    tmp_path: Path, as_one_part: dict[str, bytes]
):
    pipeline = before_bulk(tmp_path / "data")
    cp = read_checkpoint(pipeline)
    bounds = part_bounds(BatchJob(pipeline, cp, 1, TOTAL, BULK))
    assert len(bounds) == 9
    storage = LocalStorage(tmp_path / "data")
    staged: dict[int, list[Staged]] = {}
    for index in reversed(range(len(bounds))):  # the last part first
        staged[index] = stage_part(pipeline, index, *bounds[index])
    name = staged[4][0].files[schema.PURCHASE][0]
    first_bytes = storage.staged_path(name).read_bytes()
    assert stage_part(pipeline, 4, *bounds[4]) == staged[4]  # a retried part: same files
    assert storage.staged_path(name).read_bytes() == first_bytes
    load = LoadJob(
        pipeline, cp, staged[0][0].dates, [s for i in range(len(bounds)) for s in staged[i]]
    )
    loader = Loader(open_storage)
    first = ActivityEnvironment().run(loader.load_batch, load)
    committed = tables(tmp_path / "data")
    assert ActivityEnvironment().run(loader.load_batch, load) == first  # a retried load
    assert tables(tmp_path / "data") == committed
    run_batches(pipeline, 4)
    assert tables(tmp_path / "data") == as_one_part


def test_a_lost_part_fails_the_load_for_good_and_a_restaged_one_commits(
    tmp_path: Path, as_one_part: dict[str, bytes]
):
    pipeline = before_bulk(tmp_path / "data")
    before = tables(tmp_path / "data")
    load = stage_batch(pipeline, purchases=TOTAL, tuning=BULK)
    lost = load.parts[6].files[schema.PURCHASE][0]  # the fourth part's purchases
    storage = LocalStorage(tmp_path / "data")
    storage.staged_path(lost).unlink()  # staged on another machine's disk, say
    # No retry of the load brings it back: the batch workflow stages its parts again.
    with pytest.raises(ApplicationError, match="staged part missing") as refused:
        ActivityEnvironment().run(Loader(open_storage).load_batch, load)
    assert refused.value.type == STAGED_PART_LOST and refused.value.non_retryable
    assert tables(tmp_path / "data") == before  # nothing appended
    cp = read_checkpoint(pipeline)
    bounds = part_bounds(BatchJob(pipeline, cp, 1, TOTAL, BULK))
    assert stage_part(pipeline, 3, *bounds[3]) == load.parts[6:8]  # the same part again
    ActivityEnvironment().run(Loader(open_storage).load_batch, load)
    run_batches(pipeline, 4)
    assert tables(tmp_path / "data") == as_one_part


class Held(ThreadPoolExecutor):
    """A cleanup thread that starts only once released: a delete still pending."""

    def __init__(self) -> None:
        super().__init__(1)
        self.released = threading.Event()
        self.submit(self.released.wait)


class Lost(Executor):
    """A cleanup thread whose worker was killed: whatever it was handed never runs."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        return Future()


def staged_batches(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "_staging").glob("batch-*"))


def test_a_loads_staged_parts_are_deleted_after_it_completes_or_by_the_next_load(
    tmp_path: Path, as_one_part: dict[str, bytes]
):
    root = tmp_path / "data"
    pipeline = before_bulk(root)
    cleanup = Held()
    load = stage_batch(pipeline, purchases=TOTAL, tuning=BULK)
    [summary] = ActivityEnvironment().run(Loader(open_storage, cleanup).load_batch, load)
    assert (summary.batch_number, read_checkpoint(pipeline).batch_number) == (4, 4)
    assert staged_batches(root) == [load.parts[0].files[schema.PURCHASE][0].split("/")[0]]
    cleanup.released.set()
    cleanup.shutdown(wait=True)
    assert staged_batches(root) == []

    # A worker killed before its delete: the next batch's load deletes both stagings.
    lost = Loader(open_storage, Lost())
    ActivityEnvironment().run(lost.load_batch, stage_batch(pipeline))
    assert len(staged_batches(root)) == 1
    run_batch(pipeline)
    assert staged_batches(root) == []
    run_batches(pipeline, 2)
    assert tables(root) == as_one_part


def test_a_delete_after_a_rewind_spares_the_re_run_of_the_batch_it_was_for(
    tmp_path: Path, as_one_part: dict[str, bytes]
):
    """The delete trails the load: a rewind and a re-run of the same batch can come
    first, and the re-run stages under the same folder name. Only what is still
    committed goes."""
    root = tmp_path / "data"
    pipeline = before_bulk(root)
    cleanup = Held()
    first = stage_batch(pipeline, purchases=TOTAL, tuning=BULK)
    ActivityEnvironment().run(Loader(open_storage, cleanup).load_batch, first)
    LocalStorage(root).rewind(pipeline.seed, 3)
    again = stage_batch(pipeline, purchases=TOTAL, tuning=BULK)
    assert again == first and len(staged_batches(root)) == 1  # the same folder, anew
    cleanup.released.set()
    cleanup.shutdown(wait=True)
    assert len(staged_batches(root)) == 1  # batch 4 is not committed any more
    [summary] = ActivityEnvironment().run(Loader(open_storage).load_batch, again)
    assert summary.batch_number == 4 and staged_batches(root) == []
    run_batches(pipeline, 4)
    assert tables(root) == as_one_part


def test_a_failed_delete_after_the_load_is_logged_and_left_to_the_next_load(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    root = tmp_path / "data"
    pipeline = Pipeline(location=str(root), seed=5)

    def refusing(location: str) -> LocalStorage:
        storage = LocalStorage(location)

        def drop_staged(batch_number: int) -> None:
            raise PermissionError(13, "Permission denied", str(root / "_staging"))

        storage.drop_staged = drop_staged  # type: ignore[method-assign]
        return storage

    with ThreadPoolExecutor(1) as cleanup:
        loader = Loader(refusing, cleanup)
        [summary] = ActivityEnvironment().run(loader.load_batch, stage_batch(pipeline))
    assert summary.committed and read_checkpoint(pipeline).batch_number == 1
    assert "staged parts of batch 1 not deleted yet" in caplog.text
    assert "Permission denied" in caplog.text
    assert len(staged_batches(root)) == 1
    run_batch(pipeline)  # the next load, on storage that may delete again
    assert staged_batches(root) == []

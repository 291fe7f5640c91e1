"""The scale paths give the same bytes as the daily path: backfill spans, bulk days in
chunks, columnar windows after a bulk day."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import polars as pl
import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from first_temporal.activities import transformer
from first_temporal.activities.lifecycle import batch_events
from first_temporal.activities.source import Rates, generate_purchases, next_batch_date
from first_temporal.activities.vectorized import (
    batch_events_frame,
    csv_bytes,
    purchase_frame,
    todays_cancellations,
)
from first_temporal.config import Pipeline
from first_temporal.jobs import ChunkJob, RunJob, RunResult
from first_temporal.mart import reconcile
from first_temporal.storage.base import encode_rows, open_purchase
from first_temporal.tests.snapshots import tables
from first_temporal.worker_main import build_worker
from first_temporal.workflow import EtlRunWorkflow


@pytest_asyncio.fixture
async def worker(env: WorkflowEnvironment, task_queue: str) -> AsyncIterator[Worker]:
    with ThreadPoolExecutor(max_workers=4) as executor:
        async with build_worker(env.client, task_queue, executor) as running:
            yield running


async def run(env: WorkflowEnvironment, queue: str, job: RunJob, name: str) -> RunResult:
    return await env.client.execute_workflow(
        EtlRunWorkflow.run, job, id=f"{job.pipeline.pipeline_id}-{name}", task_queue=queue
    )


async def test_a_backfill_span_equals_the_same_days_run_one_by_one(
    env: WorkflowEnvironment, worker: Worker, task_queue: str, tmp_path: Path
):
    spans = Pipeline(location=str(tmp_path / "spans"), seed=21)
    daily = Pipeline(location=str(tmp_path / "daily"), seed=21)
    result = await run(env, task_queue, RunJob(spans, 40, span_min=10, span_days=15), "s")
    assert result.batches == 40 and result.last is not None and result.last.batch_number == 40
    for i in range(40):
        await run(env, task_queue, RunJob(daily, 1), f"d{i}")
    assert tables(tmp_path / "spans") == tables(tmp_path / "daily")
    await env.client.get_workflow_handle(spans.mart_workflow_id).result()
    assert reconcile(str(tmp_path / "spans")) == []
    # One span longer than the 90-day window: its window offset comes from its own rows.
    long = Pipeline(location=str(tmp_path / "long"), seed=21)
    await run(env, task_queue, RunJob(long, 40, span_min=10, span_days=15), "l1")
    await run(env, task_queue, RunJob(long, 100, span_min=10, span_days=100), "l2")
    await run(env, task_queue, RunJob(spans, 100, span_min=10, span_days=15), "s2")
    assert tables(tmp_path / "long") == tables(tmp_path / "spans")


async def test_a_bulk_day_in_chunks_equals_the_daily_path(
    env: WorkflowEnvironment,
    worker: Worker,
    task_queue: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setattr("first_temporal.activities.bulk.PART_ROWS", 300)
    bulk = Pipeline(location=str(tmp_path / "bulk"), seed=8)
    plain = Pipeline(location=str(tmp_path / "plain"), seed=8)
    for pipeline, threshold in ((bulk, 1000), (plain, 10**9)):
        await run(env, task_queue, RunJob(pipeline, 3), f"before-{threshold}")
        job = RunJob(pipeline, 1, purchases=2500, bulk_threshold=threshold, chunk_rows=700)
        result = await run(env, task_queue, job, f"bulk-{threshold}")
        assert result.last is not None and result.last.purchases == 2500
    assert tables(tmp_path / "bulk") == tables(tmp_path / "plain")
    assert not any((tmp_path / "bulk" / "_staging").glob("batch-*"))  # dropped after commit
    monkeypatch.setattr(transformer, "BIG_WINDOW_BYTES", 0)  # columnar window from here on
    monkeypatch.setattr(transformer, "INLINE_EVENTS", 100)  # and staged events
    await run(env, task_queue, RunJob(bulk, 4), "after-bulk")
    monkeypatch.setattr(transformer, "BIG_WINDOW_BYTES", 1 << 40)
    await run(env, task_queue, RunJob(plain, 4), "after-plain")
    assert tables(tmp_path / "bulk") == tables(tmp_path / "plain")
    await env.client.get_workflow_handle(bulk.mart_workflow_id).result()
    assert reconcile(str(tmp_path / "bulk")) == []


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_vectorised_source_and_lifecycle_match_the_row_by_row_code(seed: int):
    rates = Rates()
    day = date(2021, 3, 4)
    rows = generate_purchases(seed, day, 100500, 2000, rates, count=3000)
    frame = pl.concat(
        [
            purchase_frame(seed, day, 100500, 2000, rates, 0, 1234),
            purchase_frame(seed, day, 100500, 2000, rates, 1234, 3000),
        ]
    )
    assert csv_bytes(frame) == encode_rows(rows)
    numbered = purchase_frame(seed, day, 100500, 2000, rates, 0, 3000, keep_delivery_days=True)
    general = batch_events_frame(seed, rates, date(2021, 3, 1), day, frame)
    shortcut = todays_cancellations(seed, rates, day, numbered)
    assert [csv_bytes(f) for f in shortcut] == [csv_bytes(f) for f in general]
    assert general[1].height > 0  # the day has cancellations to compare
    window, frames = [], []
    previous, day = None, next_batch_date(seed, None)
    last_customer, last_txn = 99999, 0
    for _ in range(70):
        todays = generate_purchases(seed, day, last_customer, last_txn, rates)
        window += [open_purchase([str(v) for v in vars(p).values()]) for p in todays]
        frames.append(purchase_frame(seed, day, last_customer, last_txn, rates, 0, len(todays)))
        deliveries, disputes = batch_events(seed, rates, previous, day, window)
        frame_deliveries, frame_disputes = batch_events_frame(
            seed, rates, previous, day, pl.concat(frames)
        )
        assert csv_bytes(frame_deliveries) == encode_rows(deliveries)
        assert csv_bytes(frame_disputes) == encode_rows(disputes)
        last_txn += len(todays)
        last_customer += sum(p.checkout_type == "First Time Customer" for p in todays)
        previous, day = day, next_batch_date(seed, day)


async def test_a_failing_chunk_fails_the_bulk_day_and_cancels_the_appender(
    env: WorkflowEnvironment,
    worker: Worker,
    task_queue: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    from temporalio.api.enums.v1 import EventType
    from temporalio.client import WorkflowFailureError

    from first_temporal.activities import bulk

    def broken(frame: pl.DataFrame, job: ChunkJob, day: date, low: int) -> list[str]:
        return ["1 rows: a broken row for the test"] if job.chunk_index == 1 else []

    monkeypatch.setattr(bulk, "chunk_problems", broken)
    pipeline = Pipeline(location=str(tmp_path / "data"), seed=8)
    await run(env, task_queue, RunJob(pipeline, 1), "before")
    before = tables(tmp_path / "data")
    job = RunJob(pipeline, 1, purchases=2500, bulk_threshold=1000, chunk_rows=700)
    with pytest.raises(WorkflowFailureError):
        await run(env, task_queue, job, "bulk")
    assert (
        tables(tmp_path / "data")["placeholder.csv"] == before["placeholder.csv"]
    )  # not committed
    history = await env.client.get_workflow_handle(pipeline.batch_workflow_id(2)).fetch_history()
    scheduled = {
        e.event_id: e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    }
    cancelled = [
        scheduled[e.activity_task_cancel_requested_event_attributes.scheduled_event_id]
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED
    ]
    assert "append_staged_parts" in cancelled  # it would wait for parts that never come
    assert history.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED

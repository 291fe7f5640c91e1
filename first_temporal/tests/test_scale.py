"""The scale paths give the same bytes as the daily path: a run of many days goes through
spans (many days, one commit), a bulk day goes in parts; neither may change a byte."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from first_temporal.activities.errors import BAD_INPUT, STAGED_PART_LOST
from first_temporal.config import Pipeline
from first_temporal.domain import rules, schema
from first_temporal.domain.checkpoint import Checkpoint
from first_temporal.jobs import RunJob, RunResult
from first_temporal.mart import reconcile
from first_temporal.settings import Tuning
from first_temporal.storage.base import Manifest
from first_temporal.storage.local import LocalStorage
from first_temporal.tests.batches import read_checkpoint, run_batch, run_batches
from first_temporal.tests.processes import TEST_ROOT
from first_temporal.tests.snapshots import tables
from first_temporal.worker_main import build_worker
from first_temporal.workflow import EtlRunWorkflow

SPANS = Tuning(span_min=10, span_days=15)
BULK = Tuning(bulk_threshold=1000, part_rows=300)  # 2500 purchases: 9 parts


@pytest_asyncio.fixture
async def worker(env: WorkflowEnvironment, task_queue: str) -> AsyncIterator[Worker]:
    with ThreadPoolExecutor(max_workers=4) as executor:
        async with build_worker(env.client, task_queue, executor, roots=[TEST_ROOT]) as running:
            yield running


async def run(env: WorkflowEnvironment, queue: str, job: RunJob, name: str) -> RunResult:
    return await env.client.execute_workflow(
        EtlRunWorkflow.run, job, id=f"{job.pipeline.pipeline_id}-{name}", task_queue=queue
    )


async def activity_types(env: WorkflowEnvironment, workflow_id: str) -> list[str]:
    history = await env.client.get_workflow_handle(workflow_id).fetch_history()
    return [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]


def root_cause(exc: BaseException) -> BaseException:
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return exc


async def test_runs_30_equals_thirty_runs_1(
    env: WorkflowEnvironment, worker: Worker, task_queue: str, tmp_path: Path
):
    at_once = Pipeline(location=str(tmp_path / "at-once"), seed=21)
    daily = Pipeline(location=str(tmp_path / "daily"), seed=21)
    result = await run(env, task_queue, RunJob(at_once, 30), "at-once")
    assert result.batches == 30 and result.last is not None and result.last.batch_number == 30
    assert [s.batch_number for s in result.recent] == list(range(1, 31))
    # One span of 30 days (30 >= Tuning().span_min): one batch workflow, one commit.
    span_id = at_once.batch_workflow_id(1) + "-000030"
    assert (await activity_types(env, span_id)).count("load_batch") == 1
    for i in range(30):
        one = await run(env, task_queue, RunJob(daily, 1), f"daily-{i}")
        assert one.last is not None
        assert replace(one.last, elapsed_seconds=0.0) == result.recent[i]  # counts per day
    assert tables(tmp_path / "at-once") == tables(tmp_path / "daily")
    await env.client.get_workflow_handle(at_once.mart_workflow_id).result()
    assert reconcile(str(tmp_path / "at-once")) == []


async def test_spans_of_any_length_equal_the_same_days_one_by_one(
    env: WorkflowEnvironment, worker: Worker, task_queue: str, tmp_path: Path
):
    spans = Pipeline(location=str(tmp_path / "spans"), seed=22)
    long = Pipeline(location=str(tmp_path / "long"), seed=22)
    daily = Pipeline(location=str(tmp_path / "daily"), seed=22)
    result = await run(env, task_queue, RunJob(spans, 40, tuning=SPANS), "s1")
    assert result.batches == 40 and [s.batch_number for s in result.recent] == list(range(1, 41))
    await run(env, task_queue, RunJob(spans, 100, tuning=SPANS), "s2")
    # One span longer than the 90-day window: its window comes from its own rows.
    await run(env, task_queue, RunJob(long, 40, tuning=SPANS), "l1")
    await run(env, task_queue, RunJob(long, 100, tuning=Tuning(span_min=10, span_days=100)), "l2")
    assert (await activity_types(env, long.batch_workflow_id(41) + "-000140")).count(
        "load_batch"
    ) == 1
    run_batches(daily, 140)  # the same days, one batch each
    assert tables(tmp_path / "spans") == tables(tmp_path / "daily")
    assert tables(tmp_path / "long") == tables(tmp_path / "daily")
    await env.client.get_workflow_handle(long.mart_workflow_id).result()
    assert reconcile(str(tmp_path / "long")) == []


async def test_a_bulk_day_in_parts_equals_the_same_day_as_one_part(
    env: WorkflowEnvironment, worker: Worker, task_queue: str, tmp_path: Path
):
    bulk = Pipeline(location=str(tmp_path / "bulk"), seed=8)
    plain = Pipeline(location=str(tmp_path / "plain"), seed=8)
    for pipeline, tuning in ((bulk, BULK), (plain, Tuning())):
        name = "bulk" if tuning is BULK else "plain"
        await run(env, task_queue, RunJob(pipeline, 3), f"before-{name}")
        result = await run(env, task_queue, RunJob(pipeline, 1, 2500, tuning=tuning), name)
        assert result.last is not None and result.last.purchases == 2500
        await run(env, task_queue, RunJob(pipeline, 4), f"after-{name}")  # its window
    assert (await activity_types(env, bulk.batch_workflow_id(4))).count("extract_purchases") == 9
    assert (await activity_types(env, plain.batch_workflow_id(4))).count("extract_purchases") == 1
    assert tables(tmp_path / "bulk") == tables(tmp_path / "plain")
    assert not any((tmp_path / "bulk" / "_staging").glob("batch-*"))  # dropped after commit
    await env.client.get_workflow_handle(bulk.mart_workflow_id).result()
    assert reconcile(str(tmp_path / "bulk")) == []


async def test_a_failing_part_fails_the_bulk_day_and_nothing_is_committed(
    env: WorkflowEnvironment,
    worker: Worker,
    task_queue: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    real = rules.purchase_problems
    pipeline = Pipeline(location=str(tmp_path / "data"), seed=8)
    await run(env, task_queue, RunJob(pipeline, 1), "before")
    before = tables(tmp_path / "data")
    third_part = read_checkpoint(pipeline).last_transaction_id + 1 + 2 * BULK.part_rows
    checked: list[int] = []

    def broken(frame: pl.DataFrame, first_transaction_id: int) -> list[str]:
        checked.append(first_transaction_id)
        if first_transaction_id == third_part:
            return ["1 purchases: a broken row for the test"]
        return real(frame, first_transaction_id)

    monkeypatch.setattr(rules, "purchase_problems", broken)
    with pytest.raises(WorkflowFailureError) as err:
        await run(env, task_queue, RunJob(pipeline, 1, 2500, tuning=BULK), "bulk")
    assert third_part in checked
    cause = root_cause(err.value)
    assert isinstance(cause, ApplicationError) and cause.type == BAD_INPUT
    assert "a broken row for the test" in cause.message
    assert tables(tmp_path / "data") == before  # not committed
    assert "load_batch" not in await activity_types(env, pipeline.batch_workflow_id(2))

    monkeypatch.setattr(rules, "purchase_problems", real)  # fixed: the day goes through
    result = await run(env, task_queue, RunJob(pipeline, 1, 2500, tuning=BULK), "again")
    assert result.last is not None and result.last.batch_number == 2
    plain = Pipeline(location=str(tmp_path / "plain"), seed=8)
    run_batch(plain)
    run_batch(plain, purchases=2500)
    assert tables(tmp_path / "data") == tables(tmp_path / "plain")


def losing_parts(monkeypatch: pytest.MonkeyPatch, times: int) -> list[str]:
    """The first `times` commits find one of their staged purchase parts deleted (emptied
    by hand, or staged on a disk this worker cannot see): the names deleted."""
    lost: list[str] = []
    commit = LocalStorage.commit

    def losing(self: LocalStorage, expected: Checkpoint, manifest: Manifest) -> Any:
        if len(lost) < times:
            lost.append(manifest.staged[schema.PURCHASE][-1])
            self.staged_path(lost[-1]).unlink()
        return commit(self, expected, manifest)

    monkeypatch.setattr(LocalStorage, "commit", losing)
    return lost


async def test_a_part_lost_before_the_load_is_staged_again_and_the_day_commits_once(
    env: WorkflowEnvironment,
    worker: Worker,
    task_queue: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    lost = losing_parts(monkeypatch, 2)
    pipeline = Pipeline(location=str(tmp_path / "data"), seed=8)
    # Pauses of a tenth of a second: after the other tests of this module, the
    # session's time-skipping server let the default ones (10 s, 20 s) pass in real time.
    tuning = replace(BULK, restage_seconds=0.1)
    result = await run(env, task_queue, RunJob(pipeline, 1, 2500, tuning=tuning), "lost")
    assert result.last is not None and result.last.purchases == 2500
    assert len(lost) == 2
    steps = await activity_types(env, pipeline.batch_workflow_id(1))
    assert steps.count("extract_purchases") == 3 * 9  # every part, staged three times
    assert steps.count("load_batch") == 3
    run_batch(Pipeline(location=str(tmp_path / "plain"), seed=8), purchases=2500)
    assert tables(tmp_path / "data") == tables(tmp_path / "plain")


async def test_a_part_lost_every_time_fails_the_batch_naming_it(
    env: WorkflowEnvironment,
    worker: Worker,
    task_queue: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    lost = losing_parts(monkeypatch, 99)
    pipeline = Pipeline(location=str(tmp_path / "data"), seed=8)
    with pytest.raises(WorkflowFailureError) as err:
        job = RunJob(pipeline, 1, tuning=Tuning(restage_seconds=0.1))
        await run(env, task_queue, job, "lost-always")
    cause = root_cause(err.value)
    assert isinstance(cause, ApplicationError) and cause.type == STAGED_PART_LOST
    assert f"staged part missing: {tmp_path / 'data' / '_staging' / lost[-1]}" in cause.message
    assert len(lost) == Tuning().restage_rounds + 1
    assert read_checkpoint(pipeline).batch_number == 0

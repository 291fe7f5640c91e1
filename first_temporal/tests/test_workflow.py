"""Workflow tests in the time-skipping environment, with the real activities on temp dirs."""

from __future__ import annotations

import asyncio
import csv
import itertools
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import pytest_asyncio
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from first_temporal.activities.errors import BAD_INPUT
from first_temporal.config import Pipeline
from first_temporal.domain import schema
from first_temporal.domain.rates import Rates
from first_temporal.jobs import RunJob, RunResult
from first_temporal.mart import reconcile
from first_temporal.tests.processes import TEST_ROOT
from first_temporal.tests.snapshots import snapshot, tables
from first_temporal.worker_main import build_worker
from first_temporal.workflow import EtlRunWorkflow


@pytest_asyncio.fixture
async def worker(env: WorkflowEnvironment, task_queue: str) -> AsyncIterator[Worker]:
    with ThreadPoolExecutor(max_workers=4) as executor:
        async with build_worker(env.client, task_queue, executor, roots=[TEST_ROOT]) as running:
            yield running


async def run(
    env: WorkflowEnvironment, queue: str, pipeline: Pipeline, runs: int, run_id: str = "run"
) -> RunResult:
    return await env.client.execute_workflow(
        EtlRunWorkflow.run,
        RunJob(pipeline, runs),
        id=f"{pipeline.pipeline_id}-{run_id}",
        task_queue=queue,
    )


def root_cause(exc: BaseException) -> BaseException:
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return exc


def rows(directory: Path, table: str) -> list[dict[str, str]]:
    with open(directory / f"{table}.csv", newline="") as fh:
        return list(csv.DictReader(fh))


async def test_three_batches_grow_the_tables_with_contiguous_ids(
    env: WorkflowEnvironment, worker: Worker, task_queue: str, pipeline: Pipeline, data_dir: Path
):
    result = await run(env, task_queue, pipeline, 3)
    assert result.batches == 3 and result.last is not None
    purchases = rows(data_dir, "purchase")
    customers = rows(data_dir, "customer")
    txns = [int(p["transaction_id"]) for p in purchases]
    assert txns == list(range(1, len(purchases) + 1))
    assert [int(c["customer_id"]) for c in customers] == list(
        range(100000, 100000 + len(customers))
    )
    assert 30 <= len(purchases) <= 60
    dates = sorted({date.fromisoformat(p["purchase_date"]) for p in purchases})
    assert dates[0] == date(2020, 7, 3) and len(dates) == 3
    assert all(1 <= (b - a).days <= 3 for a, b in itertools.pairwise(dates))
    [cp] = rows(data_dir, "placeholder")
    assert cp["previous_date"] == dates[-1].isoformat()
    assert int(cp["last_transaction_id"]) == max(txns)
    assert int(cp["last_customer_id"]) == max(int(c["customer_id"]) for c in customers)
    assert cp["batch_number"] == "3"
    assert rows(data_dir, "product")[3]["make"] == "Aston Martin"
    assert result.last.batch_number == 3 and result.last.batch_date == cp["previous_date"]
    await env.client.get_workflow_handle(pipeline.mart_workflow_id).result()
    assert reconcile(str(data_dir)) == []  # the mart workflow applied every batch


async def test_running_again_continues_where_the_last_run_stopped(
    env: WorkflowEnvironment,
    worker: Worker,
    task_queue: str,
    pipeline: Pipeline,
    data_dir: Path,
    tmp_path: Path,
):
    await run(env, task_queue, pipeline, 2, "a")
    await run(env, task_queue, pipeline, 1, "b")
    at_once = Pipeline(location=str(tmp_path / "at-once"), seed=pipeline.seed)
    await run(env, task_queue, at_once, 3)
    assert tables(data_dir) == tables(tmp_path / "at-once")


async def test_same_seed_same_bytes_and_another_seed_differs(
    env: WorkflowEnvironment, worker: Worker, task_queue: str, tmp_path: Path
):
    dirs = [tmp_path / name for name in ("a", "b", "c")]
    seeds = [5, 5, 6]
    for directory, seed in zip(dirs, seeds, strict=True):
        await run(env, task_queue, Pipeline(location=str(directory), seed=seed), 4)
    assert tables(dirs[0]) == tables(dirs[1])
    assert tables(dirs[0])["purchase.csv"] != tables(dirs[2])["purchase.csv"]


async def test_concurrent_runs_on_one_data_dir_equal_one_sequential_run(
    env: WorkflowEnvironment,
    worker: Worker,
    task_queue: str,
    pipeline: Pipeline,
    data_dir: Path,
    tmp_path: Path,
):
    results = await asyncio.gather(
        *(run(env, task_queue, pipeline, 3, f"concurrent-{i}") for i in range(3))
    )
    assert [r.batches for r in results] == [3, 3, 3]
    sequential = Pipeline(location=str(tmp_path / "seq"), seed=pipeline.seed)
    await run(env, task_queue, sequential, 9)
    assert tables(data_dir) == tables(tmp_path / "seq")
    assert rows(data_dir, "placeholder")[0]["batch_number"] == "9"


async def test_bad_input_fails_the_run_without_retrying_or_writing(
    env: WorkflowEnvironment, worker: Worker, task_queue: str, pipeline: Pipeline, data_dir: Path
):
    await run(env, task_queue, pipeline, 1)
    await env.client.get_workflow_handle(pipeline.mart_workflow_id).result()
    (data_dir / "placeholder.csv").write_bytes(b"previous_date,last_customer_id\nxx,yy\n")
    before = snapshot(data_dir)
    with pytest.raises(WorkflowFailureError) as err:
        await run(env, task_queue, pipeline, 1, "bad")
    cause = root_cause(err.value)
    assert isinstance(cause, ApplicationError) and "placeholder.csv line 1" in cause.message
    assert snapshot(data_dir) == before


async def test_a_batch_with_a_rule_breaking_row_fails_without_writing(
    env: WorkflowEnvironment,
    worker: Worker,
    task_queue: str,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    from first_temporal.domain import source

    real = source.purchases
    calls: list[int] = []

    def buggy(*args: Any, **kwargs: Any) -> pl.DataFrame:  # a generator bug: 9 days out
        calls.append(1)
        rows = real(*args, **kwargs)
        late = pl.int_range(pl.len()) == pl.len() - 1
        return rows.with_columns(
            pl.when(late)
            .then(pl.col("purchase_date") + timedelta(days=9))
            .otherwise(pl.col("delivery_date"))
            .alias("delivery_date")
        )

    monkeypatch.setattr(source, "purchases", buggy)
    pipeline = Pipeline(location=str(data_dir), seed=2)
    with pytest.raises(WorkflowFailureError) as err:
        await run(env, task_queue, pipeline, 1)
    cause = root_cause(err.value)
    assert isinstance(cause, ApplicationError) and cause.type == BAD_INPUT
    assert "1 purchases: delivery not 1–5 days after purchase" in cause.message
    assert "batch 1 (2020-07-03)" in cause.message
    assert calls == [1]  # refused, not retried
    assert not (data_dir / "purchase.csv").exists()
    assert not (data_dir / "placeholder.csv").exists()
    staging = data_dir / "_staging"
    assert not staging.exists() or not any(staging.rglob("*.csv"))  # nothing staged either


async def test_progress_query_reports_every_batch(
    env: WorkflowEnvironment, worker: Worker, task_queue: str, pipeline: Pipeline
):
    handle = await env.client.start_workflow(
        EtlRunWorkflow.run,
        RunJob(pipeline, 4),
        id=f"{pipeline.pipeline_id}-q",
        task_queue=task_queue,
    )
    await handle.result()
    progress = await handle.query(EtlRunWorkflow.progress, 1)
    assert (progress.done, progress.total, progress.stage) == (4, 4, "done")
    assert [s.batch_number for s in progress.summaries] == [2, 3, 4]
    assert progress.first_index == 1


async def test_rates_travel_with_the_pipeline(
    env: WorkflowEnvironment, worker: Worker, task_queue: str, data_dir: Path
):
    pipeline = Pipeline(location=str(data_dir), seed=3, rates=Rates(repeat_share=0.0))
    await run(env, task_queue, pipeline, 3)
    assert {p["checkout_type"] for p in rows(data_dir, "purchase")} == {schema.FIRST_TIME}

"""Re-record the Replayer test's histories after a workflow changes shape (before release):

    .venv/bin/python -m first_temporal.tests.record_histories

Starts its own dev server and worker on free loopback ports, runs a daily run of three
batches, a run --until a date, a rewind, a span of 30 days, a bulk day in three parts and
the mart, and writes their histories to
first_temporal/tests/histories/. Once real histories exist in production, guard shape
changes with workflow.patched() instead of re-recording.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from first_temporal.config import Pipeline
from first_temporal.jobs import RewindJob, RunJob
from first_temporal.settings import Tuning
from first_temporal.tests.processes import TEMPORAL_CLI, WorkerProcess

HISTORIES = Path(__file__).parent / "histories"
QUEUE = "record-histories"


async def record(client: Client, work: Path) -> None:
    daily = Pipeline(location=str(work / "h1"), seed=1)
    span = Pipeline(location=str(work / "h2"), seed=2)
    bulk = Pipeline(location=str(work / "h3"), seed=3)
    runs = {
        "etl_run_3_batches": (daily, RunJob(daily, 3)),
        # 30 days >= span_min: one batch workflow commits them all.
        "etl_run_span": (span, RunJob(span, 30, tuning=Tuning(span_min=25))),
        # 5,000 purchases > bulk_threshold: one day in three parts of <= 2,000 rows.
        "etl_run_bulk": (
            bulk,
            RunJob(bulk, 1, purchases=5_000, tuning=Tuning(bulk_threshold=1_000, part_rows=2_000)),
        ),
    }
    for name, (pipeline, job) in runs.items():
        handle = await client.start_workflow(
            "EtlRunWorkflow", job, id=f"{pipeline.pipeline_id}-{name}", task_queue=QUEUE
        )
        await handle.result()
        await save(client, handle.id, name)
    # Then up to a date (the count is a recorded local activity), then back to batch 2.
    until = await client.start_workflow(
        "EtlRunWorkflow",
        RunJob(daily, 0, until="2020-07-10"),
        id=f"{daily.pipeline_id}-etl_run_until",
        task_queue=QUEUE,
    )
    await until.result()
    await save(client, until.id, "etl_run_until")
    rewind = await client.start_workflow(
        "EtlRewindWorkflow", RewindJob(daily, 2), id=daily.pipeline_id + "-rewind", task_queue=QUEUE
    )
    await rewind.result()
    await save(client, rewind.id, "etl_rewind")
    await save(client, daily.batch_workflow_id(3), "etl_batch")
    await save(client, span.batch_workflow_id(1) + "-000030", "etl_batch_span")
    await save(client, bulk.batch_workflow_id(1), "etl_batch_bulk")
    await client.get_workflow_handle(span.mart_workflow_id).result()
    await save(client, span.mart_workflow_id, "etl_mart")


async def save(client: Client, workflow_id: str, name: str) -> None:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    (HISTORIES / f"{name}.json").write_text(history.to_json())
    print(f"{name}.json: {len(history.events)} events of {workflow_id}")


async def main() -> int:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(TEMPORAL_CLI), ip="127.0.0.1"
    )
    work = Path(tempfile.mkdtemp(prefix="record-histories-"))
    address = env.client.service_client.config.target_host
    worker = WorkerProcess(address, QUEUE, work / "worker.log")
    HISTORIES.mkdir(exist_ok=True)
    try:
        await record(env.client, work)
    finally:
        code = worker.stop()
        await env.shutdown()
        shutil.rmtree(work, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

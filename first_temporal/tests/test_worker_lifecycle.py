"""worker.py on SIGTERM: stop polling, let in-flight activities finish, exit 0; a second
signal exits at once. The in-flight activity is a run's wait_for_batch, held open by a
batch workflow that nobody serves until the test ends it."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from first_temporal.config import Pipeline
from first_temporal.jobs import RunJob
from first_temporal.tests.processes import WorkerProcess, wait_for
from first_temporal.worker_main import GRACE
from first_temporal.workflow import EtlRunWorkflow


@pytest_asyncio.fixture
async def blocker(
    dev_env: WorkflowEnvironment, task_queue: str, pipeline: Pipeline
) -> AsyncIterator[WorkflowHandle[object, object]]:
    """Batch 1's workflow id, taken by a workflow on a queue no worker polls."""
    handle: WorkflowHandle[object, object] = await dev_env.client.start_workflow(
        "EtlBatchWorkflow", id=pipeline.batch_workflow_id(1), task_queue=f"{task_queue}-nobody"
    )
    yield handle
    with contextlib.suppress(Exception):  # already ended by the test
        await handle.terminate()


async def start_waiting_run(
    env: WorkflowEnvironment, queue: str, pipeline: Pipeline
) -> WorkflowHandle[EtlRunWorkflow, object]:
    """A run whose wait_for_batch activity is in flight on the worker."""
    run = await env.client.start_workflow(
        EtlRunWorkflow.run,
        RunJob(pipeline, 1),
        id=f"{pipeline.pipeline_id}-run-lc",
        task_queue=queue,
    )
    for _ in range(400):
        pending = (await run.describe()).raw_description.pending_activities
        if any(
            p.activity_type.name == "wait_for_batch"
            and p.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
            for p in pending
        ):
            return run
        await asyncio.sleep(0.05)
    raise TimeoutError("wait_for_batch never started")


async def test_sigterm_lets_the_in_flight_activity_finish_and_exits_zero(
    dev_env: WorkflowEnvironment,
    task_queue: str,
    pipeline: Pipeline,
    tmp_path: Path,
    blocker: WorkflowHandle[object, object],
):
    address = dev_env.client.service_client.config.target_host
    log = tmp_path / "worker.log"
    worker = WorkerProcess(address, task_queue, log)
    start = log.read_text()
    assert f"worker polling task queue '{task_queue}' on {address}, namespace 'default'" in start
    run = await start_waiting_run(dev_env, task_queue, pipeline)

    worker.proc.send_signal(signal.SIGTERM)
    wait_for(lambda: b"shutting down" in log.read_bytes(), 10, "the worker to start shutting down")
    assert worker.proc.poll() is None  # still waiting for its activity
    await blocker.terminate()  # the activity can now finish
    began = time.monotonic()
    assert worker.proc.wait(GRACE.total_seconds() + 10) == 0  # no second signal: not stop()
    worker.stop()
    assert time.monotonic() - began < GRACE.total_seconds()  # finished, not cancelled at grace
    text = log.read_text()
    assert f"batch workflow {pipeline.batch_workflow_id(1)} ended without success" in text
    assert text.rstrip().endswith("worker stopped")
    pending = (await run.describe()).raw_description.pending_activities
    assert not any(p.activity_type.name == "wait_for_batch" for p in pending)
    await run.terminate()


async def test_second_signal_exits_at_once_non_zero(
    dev_env: WorkflowEnvironment,
    task_queue: str,
    pipeline: Pipeline,
    tmp_path: Path,
    blocker: WorkflowHandle[object, object],
):
    address = dev_env.client.service_client.config.target_host
    log = tmp_path / "worker.log"
    worker = WorkerProcess(address, task_queue, log)
    run = await start_waiting_run(dev_env, task_queue, pipeline)

    worker.proc.send_signal(signal.SIGTERM)
    wait_for(lambda: b"shutting down" in log.read_bytes(), 10, "the worker to start shutting down")
    began = time.monotonic()
    worker.proc.send_signal(signal.SIGINT)
    assert worker.proc.wait(GRACE.total_seconds() + 10) == 1
    worker.stop()
    assert time.monotonic() - began < 3
    assert "second signal: exiting now" in log.read_text()
    await run.terminate()

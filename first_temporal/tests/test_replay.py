"""Replayer tests: today's workflow code must replay yesterday's histories (determinism)."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from first_temporal.config import Pipeline
from first_temporal.jobs import RunJob
from first_temporal.tests.processes import WorkerProcess
from first_temporal.workflow import EtlBatchWorkflow, EtlMartWorkflow, EtlRunWorkflow

HISTORIES = Path(__file__).parent / "histories"
REPLAYER = Replayer(workflows=[EtlRunWorkflow, EtlBatchWorkflow, EtlMartWorkflow])


@pytest.mark.parametrize("name", sorted(p.name for p in HISTORIES.glob("*.json")))
async def test_recorded_histories_replay(name: str):
    history = WorkflowHistory.from_json(name, (HISTORIES / name).read_text())
    result = await REPLAYER.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


def test_the_recorded_histories_cover_both_workflows():
    kinds = {p.stem.split("_")[1] for p in HISTORIES.glob("etl_*.json")}
    assert {"run", "batch"} <= kinds


async def test_a_fresh_history_from_the_dev_server_replays(
    dev_env: WorkflowEnvironment, task_queue: str, tmp_path: Path
):
    address = dev_env.client.service_client.config.target_host
    worker = WorkerProcess(address, task_queue, tmp_path / "worker.log")
    try:
        pipeline = Pipeline(location=str(tmp_path / "data"), seed=4)
        handle = await dev_env.client.start_workflow(
            EtlRunWorkflow.run,
            RunJob(pipeline, 2),
            id=f"{pipeline.pipeline_id}-replay",
            task_queue=task_queue,
        )
        await handle.result()
    finally:
        assert worker.stop() == 0
    histories = [await handle.fetch_history()]
    histories.append(
        await dev_env.client.get_workflow_handle(pipeline.batch_workflow_id(2)).fetch_history()
    )
    for history in histories:
        result = await REPLAYER.replay_workflow(history)
        assert result.replay_failure is None

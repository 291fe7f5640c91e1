"""Replayer tests: today's workflow code must replay yesterday's histories (determinism)."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from first_temporal.config import Pipeline
from first_temporal.jobs import RunJob
from first_temporal.worker_main import WORKFLOWS
from first_temporal.workflow import EtlRunWorkflow

HISTORIES = Path(__file__).parent / "histories"
REPLAYER = Replayer(workflows=WORKFLOWS)


@pytest.mark.parametrize("name", sorted(p.name for p in HISTORIES.glob("*.json")))
async def test_recorded_histories_replay(name: str):
    history = WorkflowHistory.from_json(name, (HISTORIES / name).read_text())
    result = await REPLAYER.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


def activities_scheduled(name: str) -> list[str]:
    history = WorkflowHistory.from_json(name, (HISTORIES / f"{name}.json").read_text())
    return [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]


def test_the_recorded_histories_cover_every_workflow_and_batch_shape():
    names = {p.stem for p in HISTORIES.glob("*.json")}
    assert names == {
        "etl_run_3_batches",
        "etl_run_span",
        "etl_run_bulk",
        "etl_batch",
        "etl_batch_span",
        "etl_batch_bulk",
        "etl_mart",
        "etl_run_until",
        "etl_rewind",
    }
    one_part = ["extract_purchases", "derive_lifecycle_events", "load_batch"]
    assert activities_scheduled("etl_batch") == one_part
    assert activities_scheduled("etl_batch_span") == one_part  # 30 days, one commit
    bulk = activities_scheduled("etl_batch_bulk")  # 5,000 purchases in parts of 2,000
    assert bulk.count("extract_purchases") == bulk.count("derive_lifecycle_events") == 3
    assert bulk[-1] == "load_batch" and bulk.count("load_batch") == 1
    assert activities_scheduled("etl_mart") == ["update_mart"]
    assert activities_scheduled("etl_rewind") == ["rewind_tables", "follow_rewind"]


async def test_a_fresh_history_from_the_dev_server_replays(
    dev_env: WorkflowEnvironment, worker, task_queue: str, tmp_path: Path
):
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

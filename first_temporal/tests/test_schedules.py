"""Schedules on the dev server (the time-skipping server has none), through starter.py."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import (
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionStartWorkflow,
    ScheduleOverlapPolicy,
    WorkflowExecutionStatus,
)
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from first_temporal.config import Pipeline, open_storage
from first_temporal.schedules import format_interval, parse_interval
from first_temporal.tests.processes import WorkerProcess, starter, wait_for


@pytest.fixture
def address(dev_env: WorkflowEnvironment) -> str:
    return dev_env.client.service_client.config.target_host


def test_intervals_parse_and_print_back():
    assert parse_interval("1d") == timedelta(days=1)
    assert parse_interval("6h") == timedelta(hours=6)
    assert parse_interval("1h30m") == timedelta(minutes=90)
    assert format_interval(timedelta(minutes=90)) == "1h30m"
    for bad in ("", "5", "1w", "h1", "0s", "1d 2h"):
        with pytest.raises(ValueError):
            parse_interval(bad)


async def test_schedule_create_update_pause_trigger_delete(
    dev_env: WorkflowEnvironment, address: str, task_queue: str, data_dir: Path, tmp_path: Path
):
    pipeline = Pipeline(location=str(data_dir))
    sid = f"{pipeline.pipeline_id}-schedule"
    common = ("--task-queue", task_queue, "--data-dir", str(data_dir))

    def run(*args: str) -> str:
        result = starter(address, *args, *common)
        assert result.returncode == 0, result.stderr
        [line] = result.stdout.splitlines()
        return line

    assert run("--schedule", "1d").startswith(f"schedule {sid} created: one batch every 1d")
    described = await dev_env.client.get_schedule_handle(sid).describe()
    action = described.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert action.workflow == "EtlRunWorkflow" and action.task_queue == task_queue
    assert action.id == f"{pipeline.pipeline_id}-run-scheduled"
    assert described.schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
    assert [i.every for i in described.schedule.spec.intervals] == [timedelta(days=1)]

    assert "paused" in run("--pause")
    assert run("--schedule", "6h").startswith(f"schedule {sid} updated: one batch every 6h")
    described = await dev_env.client.get_schedule_handle(sid).describe()
    assert [i.every for i in described.schedule.spec.intervals] == [timedelta(hours=6)]
    assert described.schedule.state.paused  # an update keeps the paused state
    assert "unpaused" in run("--unpause")
    described = await dev_env.client.get_schedule_handle(sid).describe()
    assert not described.schedule.state.paused

    no_worker = starter(address, "--trigger", *common)
    assert no_worker.returncode == 4 and "no worker is polling" in no_worker.stderr

    worker = WorkerProcess(address, task_queue, tmp_path / "worker.log")
    try:
        assert "triggered" in run("--trigger")
        storage = open_storage(str(data_dir))
        wait_for(
            lambda: (
                (data_dir / "placeholder.csv").exists()
                and storage.read_checkpoint(pipeline.seed).batch_number == 1
            ),
            60,
            "the triggered run to commit batch 1",
        )
    finally:
        assert worker.stop() == 0
    described = await dev_env.client.get_schedule_handle(sid).describe()
    [started] = described.info.recent_actions
    assert isinstance(started.action, ScheduleActionExecutionStartWorkflow)
    assert started.action.workflow_id.startswith(f"{pipeline.pipeline_id}-run-scheduled-")

    assert "deleted" in run("--delete-schedule")
    with pytest.raises(RPCError) as gone:
        await dev_env.client.get_schedule_handle(sid).describe()
    assert gone.value.status == RPCStatusCode.NOT_FOUND
    missing = starter(address, "--pause", *common)
    assert missing.returncode == 1
    assert f"no schedule {sid}" in missing.stderr and "--schedule 1d" in missing.stderr


def test_bad_interval_and_conflicting_flags_are_usage_errors(address: str, data_dir: Path):
    bad = starter(address, "--schedule", "soon", "--data-dir", str(data_dir))
    assert bad.returncode == 2 and "not like 1d" in bad.stderr
    both = starter(address, "--pause", "--trigger", "--data-dir", str(data_dir))
    assert both.returncode == 2 and "not allowed with" in both.stderr


async def test_status_says_when_a_schedule_skipped_runs_because_one_still_ran(
    dev_env: WorkflowEnvironment, address: str, task_queue: str, data_dir: Path
):
    """Nobody serves this queue: the first scheduled run never ends, the next ones skip."""
    pipeline = Pipeline(location=str(data_dir))
    sid = f"{pipeline.pipeline_id}-schedule"
    common = ("--task-queue", f"{task_queue}-nobody", "--data-dir", str(data_dir))
    assert starter(address, "--schedule", "1s", *common).returncode == 0
    handle = dev_env.client.get_schedule_handle(sid)

    async def skipped() -> int:
        return (await handle.describe()).info.num_actions_skipped_overlap

    deadline = asyncio.get_running_loop().time() + 30
    while await skipped() < 2:
        assert asyncio.get_running_loop().time() < deadline, "the schedule never skipped"
        await asyncio.sleep(0.2)
    data_dir.mkdir(exist_ok=True)  # no batch ran: status wants the directory to exist
    status = starter(address, "--status", *common)
    assert status.returncode == 0, status.stderr
    [line] = [x for x in status.stdout.splitlines() if x.startswith("schedule:")]
    assert "run(s) skipped because the previous one was still running" in line
    await handle.delete()
    scheduled = f'WorkflowId STARTS_WITH "{pipeline.pipeline_id}-run-scheduled"'
    async for execution in dev_env.client.list_workflows(scheduled):
        if execution.status == WorkflowExecutionStatus.RUNNING:
            await dev_env.client.get_workflow_handle(execution.id).terminate()

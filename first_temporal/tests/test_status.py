"""`starter.py --status` and the BatchDate/Pipeline search attributes, on the dev server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.testing import WorkflowEnvironment

from first_temporal.config import Pipeline
from first_temporal.jobs import RunJob
from first_temporal.tests.processes import WorkerProcess, starter
from first_temporal.workflow import EtlRunWorkflow


async def listed(env: WorkflowEnvironment, query: str, want: int) -> list[str]:
    """Workflow ids the query finds, once visibility has caught up (it lags a little)."""
    for _ in range(200):
        ids = sorted([w.id async for w in env.client.list_workflows(query)])
        if len(ids) >= want:
            return ids
        await asyncio.sleep(0.05)
    raise TimeoutError(f"visibility never listed {want} for {query!r}: {ids}")


async def test_status_shows_checkpoint_last_batches_and_running_work(
    dev_env: WorkflowEnvironment,
    address: str,
    worker: WorkerProcess,
    task_queue: str,
    data_dir: Path,
):
    common = ("--task-queue", task_queue, "--data-dir", str(data_dir))
    ran = starter(address, "--runs", "3", *common)
    assert ran.returncode == 0, ran.stderr
    dates = [line.split()[2] for line in ran.stdout.splitlines()[:3]]
    pipeline = Pipeline(location=str(data_dir))
    await listed(dev_env, f'WorkflowId STARTS_WITH "{pipeline.pipeline_id}-batch-"', 3)
    # A run nobody serves shows under "running now"; its query cannot be answered.
    await dev_env.client.start_workflow(
        EtlRunWorkflow.run,
        RunJob(pipeline, 1),
        id=f"{pipeline.pipeline_id}-run-stuck",
        task_queue=f"{task_queue}-nobody",
    )
    await listed(dev_env, f'WorkflowId = "{pipeline.pipeline_id}-run-stuck"', 1)

    result = starter(address, "--status", *common)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"pipeline:   {pipeline.pipeline_id}" in out
    assert f"checkpoint: batch 3, date {dates[-1]}, rows purchase=" in out
    assert "schedule:   none" in out
    ledger_part, workflows = out.split("batch workflow(s):")
    assert "ledger:     last 3 row(s) to batch 3: ok" in ledger_part
    ledger_rows = [line.split() for line in ledger_part.splitlines() if line[:8].strip().isdigit()]
    assert [(r[0], r[1]) for r in ledger_rows] == [(str(i + 1), d) for i, d in enumerate(dates)]
    rows = [line.split() for line in workflows.splitlines() if line.strip()[:1].isdigit()]
    assert [r[0] for r in rows] == ["1", "2", "3"]
    assert [r[1] for r in rows] == dates
    assert all(r[-1] == "committed" and r[-2].endswith("s") for r in rows)
    batch_lines = ran.stdout.splitlines()[:3]
    for row, line in zip(rows, batch_lines, strict=True):
        assert f"purchases={row[2]} new_customers={row[3]}" in line
        assert f"disputes={row[4]} deliveries={row[5]}" in line
    [stuck] = [line for line in out.splitlines() if "-run-stuck" in line]
    assert "no answer" in stuck
    as_json = starter(address, "--status", "--json", *common)
    assert as_json.returncode == 0, as_json.stderr
    found = json.loads(as_json.stdout)
    assert found["pipeline"] == pipeline.pipeline_id and found["schedule"] is None
    assert found["checkpoint"]["batch_number"] == 3 and found["ledger"]["ok"] is True
    assert [r["batch_date"] for r in found["ledger"]["rows"]] == dates
    assert [b["batch_number"] for b in found["batches"]] == [1, 2, 3]
    assert all(b["result"] == "committed" for b in found["batches"])
    assert f"{pipeline.pipeline_id}-run-stuck" in {r["workflow_id"] for r in found["running"]}
    await dev_env.client.get_workflow_handle(f"{pipeline.pipeline_id}-run-stuck").terminate()


async def test_batches_carry_batch_date_and_pipeline_search_attributes(
    dev_env: WorkflowEnvironment,
    address: str,
    worker: WorkerProcess,
    task_queue: str,
    data_dir: Path,
):
    ran = starter(address, "--runs", "2", "--task-queue", task_queue, "--data-dir", str(data_dir))
    assert ran.returncode == 0, ran.stderr
    pipeline = Pipeline(location=str(data_dir))
    # A day's range, not `=`: the dev server's SQLite visibility misses equality on Datetime.
    day = 'BatchDate >= "2020-07-03T00:00:00Z" AND BatchDate < "2020-07-04T00:00:00Z"'
    found = await listed(dev_env, f'{day} AND Pipeline = "{pipeline.pipeline_id}"', 1)
    assert found == [pipeline.batch_workflow_id(1)]
    runs = await listed(dev_env, f'Pipeline = "{pipeline.pipeline_id}"', 3)
    assert len([r for r in runs if "-batch-" in r]) == 2


def test_status_reports_an_unreadable_checkpoint_and_goes_on(
    address: str, task_queue: str, data_dir: Path
):
    data_dir.mkdir(parents=True)
    (data_dir / "placeholder.csv").write_text("garbage\n")
    result = starter(address, "--status", "--task-queue", task_queue, "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stderr
    assert "checkpoint: unreadable: placeholder.csv line 1" in result.stdout
    assert "no batch workflows on this server yet" in result.stdout
    assert "running now:\n  nothing" in result.stdout


async def test_the_web_ui_shows_what_runs_and_batches_do(
    dev_env: WorkflowEnvironment,
    address: str,
    worker: WorkerProcess,
    task_queue: str,
    data_dir: Path,
):
    """Static summaries at start, current details while and after they run: dates and
    counts, read without decoding any payload."""
    common = ("--task-queue", task_queue, "--data-dir", str(data_dir))
    ran = starter(address, "--runs", "2", *common)
    assert ran.returncode == 0, ran.stderr
    pipeline = Pipeline(location=str(data_dir))
    [run] = [
        e
        async for e in dev_env.client.list_workflows(
            f'WorkflowId STARTS_WITH "{pipeline.pipeline_id}-run-"'
        )
    ]
    described = await dev_env.client.get_workflow_handle(run.id).describe()
    assert await described.static_summary() == f"2 batch(es) of {pipeline.pipeline_id}"
    assert f"`{data_dir}`" in (await described.static_details() or "")
    batch = dev_env.client.get_workflow_handle(pipeline.batch_workflow_id(2))
    assert await (await batch.describe()).static_summary() == (
        f"batch 2 of {pipeline.pipeline_id}: one day"
    )
    metadata = await batch.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    date = ran.stdout.splitlines()[1].split()[2]
    assert metadata.current_details.startswith(f"committed {date}: ")
    assert " purchases, " in metadata.current_details and "@" not in metadata.current_details

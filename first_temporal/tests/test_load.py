"""Load: ten pipelines at once on one worker, then on three sharing the task queue.

Each pipeline (its own data dir and seed) must end with exactly the tables it gets alone,
one batch after another. The figures (30 days each, batches per second, where the time
goes) come from `python -m first_temporal.bench --only load`, never from a timed test.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from first_temporal.bench.load import peak_rss_mb
from first_temporal.config import Pipeline
from first_temporal.tests.batches import run_batches
from first_temporal.tests.processes import WorkerProcess, start_starter
from first_temporal.tests.snapshots import tables

SEEDS = range(201, 211)  # ten pipelines
DAYS = 3  # daily batches each (fewer than Tuning.span_min: one batch workflow per day)
PEAK_RSS_MB = 300


@pytest.fixture(scope="module")
def alone(tmp_path_factory: pytest.TempPathFactory) -> dict[int, dict[str, bytes]]:
    """Each pipeline's tables run alone, in process, one batch after another."""
    root = tmp_path_factory.mktemp("alone")
    found = {}
    for seed in SEEDS:
        run_batches(Pipeline(location=str(root / str(seed)), seed=seed), DAYS)
        found[seed] = tables(root / str(seed))
    return found


async def activity_workers(client: Client, pipelines: list[Pipeline]) -> set[str]:
    """The identities of the workers that ran these pipelines' batch steps."""
    seen = set()
    for pipeline in pipelines:
        for number in range(1, DAYS + 1):
            handle = client.get_workflow_handle(pipeline.batch_workflow_id(number))
            for event in (await handle.fetch_history()).events:
                if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                    seen.add(event.activity_task_started_event_attributes.identity)
    return seen


@pytest.mark.parametrize("workers", [1, 3])
async def test_ten_pipelines_at_once_equal_each_run_alone(
    dev_env: WorkflowEnvironment,
    task_queue: str,
    tmp_path: Path,
    workers: int,
    alone: dict[int, dict[str, bytes]],
):
    address = dev_env.client.service_client.config.target_host
    procs = [WorkerProcess(address, task_queue, tmp_path / f"w{i}.log") for i in range(workers)]
    try:
        starters = [
            start_starter(
                address,
                *("--task-queue", task_queue, "--data-dir", str(tmp_path / str(seed))),
                *("--runs", str(DAYS), "--seed", str(seed)),
            )
            for seed in SEEDS
        ]
        results = [s.communicate(timeout=120) for s in starters]
        peaks = [peak_rss_mb(w.proc.pid) for w in procs]  # VmHWM: the peak so far
    finally:
        codes = [w.stop() for w in procs]
    assert [s.returncode for s in starters] == [0] * len(SEEDS), [err for _, err in results]
    assert codes == [0] * workers
    for seed in SEEDS:
        assert tables(tmp_path / str(seed)) == alone[seed], f"pipeline with seed {seed}"
    assert max(peaks) <= PEAK_RSS_MB, peaks
    pipelines = [Pipeline(location=str(tmp_path / str(seed)), seed=seed) for seed in SEEDS]
    assert len(await activity_workers(dev_env.client, pipelines)) == workers  # each did work

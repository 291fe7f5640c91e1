"""Crashes and concurrency end to end: SIGKILLed workers, a restarted server, racing starters."""

from __future__ import annotations

import random
import socket
import time
from functools import partial
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from first_temporal.config import Pipeline
from first_temporal.tests.batches import run_batches
from first_temporal.tests.dev_server import DevServer
from first_temporal.tests.processes import (
    WorkerProcess,
    free_port,
    server_serving,
    start_starter,
    wait_for,
)
from first_temporal.tests.snapshots import batch_number, tables

SEED = 11


def clean_tables(tmp_path: Path, batches: int) -> dict[str, bytes]:
    directory = tmp_path / "clean"
    run_batches(Pipeline(location=str(directory), seed=SEED), batches)
    return tables(directory)


def reached(directory: Path, number: int) -> bool:
    return batch_number(directory) >= number


def test_a_server_counts_as_up_when_it_serves_clients_not_when_its_port_opens(address: str):
    # A restarted server listens before its frontend takes clients; waiting on the port alone
    # let a test's Client.connect fail with "Frontend is not healthy yet".
    assert server_serving(address)
    assert not server_serving(f"127.0.0.1:{free_port()}")  # nothing listens
    with socket.socket() as listener:  # something listens, but it is no Temporal frontend
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        assert not server_serving(f"127.0.0.1:{listener.getsockname()[1]}")


def test_sigkilled_workers_lose_and_duplicate_nothing(
    dev_env: WorkflowEnvironment, task_queue: str, data_dir: Path, tmp_path: Path
):
    address = dev_env.client.service_client.config.target_host
    runs = 24
    chooser = random.Random(20201103)
    starter = start_starter(
        address,
        "--task-queue",
        task_queue,
        "--data-dir",
        str(data_dir),
        "--runs",
        str(runs),
        "--seed",
        str(SEED),
    )
    kills = 0
    try:
        for i in range(3):
            worker = WorkerProcess(address, task_queue, tmp_path / f"worker-{i}.log")
            target = batch_number(data_dir) + chooser.randint(2, 5)
            wait_for(partial(reached, data_dir, target), 60, f"batch {target}")
            time.sleep(chooser.uniform(0.0, 0.3))  # land the kill at a random instruction
            worker.kill()
            kills += 1
        worker = WorkerProcess(address, task_queue, tmp_path / "worker-last.log")
        out, err = starter.communicate(timeout=180)
        assert starter.returncode == 0, err
        assert worker.stop() == 0
    finally:
        if starter.poll() is None:
            starter.kill()
    assert kills == 3
    assert out.count("\nbatch ") + out.startswith("batch ") == runs
    assert tables(data_dir) == clean_tables(tmp_path, runs)


def test_a_restarted_server_is_reconnected_to_and_the_run_completes(
    task_queue: str, data_dir: Path, tmp_path: Path
):
    server = DevServer(tmp_path / "temporal.db").start()
    address = server.address
    worker = None
    starter = None
    try:
        worker = WorkerProcess(address, task_queue, tmp_path / "worker.log")
        starter = start_starter(
            address,
            "--task-queue",
            task_queue,
            "--data-dir",
            str(data_dir),
            "--runs",
            "12",
            "--seed",
            str(SEED),
        )
        wait_for(lambda: batch_number(data_dir) >= 3, 60, "batch 3")
        server.restart()
        _, err = starter.communicate(timeout=180)
        if starter.returncode != 0:  # the starter may lose its connection: it must say so
            assert starter.returncode == 3 and "lost the connection to Temporal" in err, err
        wait_for(lambda: batch_number(data_dir) >= 12, 120, "the run to complete")
        assert worker.proc.poll() is None, "the worker must survive the server restart"
    finally:
        if starter is not None and starter.poll() is None:
            starter.kill()
        if worker is not None:
            worker.stop()
        server.stop()
    assert tables(data_dir) == clean_tables(tmp_path, 12)


@pytest.mark.parametrize("starters", [3])
def test_concurrent_starters_equal_one_sequential_run(
    dev_env: WorkflowEnvironment, task_queue: str, data_dir: Path, tmp_path: Path, starters: int
):
    address = dev_env.client.service_client.config.target_host
    workers = [WorkerProcess(address, task_queue, tmp_path / f"w{i}.log") for i in range(2)]
    try:
        procs = [
            start_starter(
                address,
                "--task-queue",
                task_queue,
                "--data-dir",
                str(data_dir),
                "--runs",
                "4",
                "--seed",
                str(SEED),
            )
            for _ in range(starters)
        ]
        results = [p.communicate(timeout=180) for p in procs]
    finally:
        codes = [w.stop() for w in workers]
    assert [p.returncode for p in procs] == [0] * starters, [err for _, err in results]
    assert codes == [0, 0]
    assert batch_number(data_dir) == 4 * starters
    assert tables(data_dir) == clean_tables(tmp_path, 4 * starters)


async def test_two_workers_share_the_parts_of_one_bulk_day(
    dev_env: WorkflowEnvironment, task_queue: str, data_dir: Path, tmp_path: Path
):
    from temporalio.api.enums.v1 import EventType

    from first_temporal.jobs import RunJob, RunResult
    from first_temporal.settings import Tuning

    address = dev_env.client.service_client.config.target_host
    # Three activity slots each, fewer than the parts in flight: the worker that runs the
    # workflow, which is handed the parts it has room for eagerly, cannot take them all.
    slots = ("--activity-threads", "4")
    workers = [WorkerProcess(address, task_queue, tmp_path / f"w{i}.log", *slots) for i in range(2)]
    pipeline = Pipeline(location=str(data_dir), seed=SEED)
    try:
        tuning = Tuning(bulk_threshold=1_000, part_rows=2_000, parts_in_flight=8)
        job = RunJob(pipeline, 1, purchases=40_000, tuning=tuning)
        result = await dev_env.client.execute_workflow(
            "EtlRunWorkflow",
            job,
            id=f"{pipeline.pipeline_id}-bulk",
            task_queue=task_queue,
            result_type=RunResult,
        )
    finally:
        assert [w.stop() for w in workers] == [0, 0]
    assert result.last is not None and result.last.purchases == 40_000
    history = await dev_env.client.get_workflow_handle(
        pipeline.batch_workflow_id(1)
    ).fetch_history()
    part_events = {
        e.event_id
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == "extract_purchases"
    }
    identities = {
        e.activity_task_started_event_attributes.identity
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        and e.activity_task_started_event_attributes.scheduled_event_id in part_events
    }
    assert len(part_events) == 20
    assert len(identities) == 2, identities  # both worker processes generated parts
    txns = (data_dir / "purchase.csv").read_bytes().count(b"\n") - 1
    assert txns == 40_000

"""Servers and workers dying mid-way (SIGKILL, no goodbye): a bulk day and a long span
complete with the bytes of an uninterrupted run, and no staged part outlives its commit.

Each test starts its own dev server on a persistent sqlite database (so a killed server
comes back with its workflows) and real worker and starter processes.
"""

from __future__ import annotations

import asyncio
import random
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from temporalio.client import Client

from first_temporal.config import Pipeline
from first_temporal.jobs import RunJob, RunResult
from first_temporal.settings import Tuning
from first_temporal.tests.batches import run_batch
from first_temporal.tests.dev_server import DevServer
from first_temporal.tests.processes import WorkerProcess, start_starter, wait_for
from first_temporal.tests.snapshots import batch_number, tables

SEED = 11
BULK_DAY = 1_000_000  # the bulk day, with the starter's default tuning: 8 parts
SPAN_RUNS = 3650  # ten years: spans of 1,000 days, one commit each


def staged_parts(directory: Path) -> int:
    """Purchase files staged so far under _staging, each whole (by rename): one per piece
    of Tuning.piece_rows purchases, so one per part where parts are smaller."""
    return len(list((directory / "_staging").glob("batch-*/purchase-rows-*.csv")))


def staged_at_least(directory: Path, count: int) -> bool:
    return staged_parts(directory) >= count


def staging_left(directory: Path) -> list[str]:
    """Everything under _staging: parts, hand-overs, temporaries, folders being dropped."""
    staging = directory / "_staging"
    return (
        sorted(str(p.relative_to(staging)) for p in staging.rglob("*")) if staging.exists() else []
    )


def no_staging_left(directory: Path) -> None:
    """Whatever is staged for a committed batch goes once the batch commits: waited for,
    since another worker may still be deleting it when the run's result arrives."""
    try:
        wait_for(lambda: not staging_left(directory), 30, "the staged parts to be dropped")
    except TimeoutError:
        left = staging_left(directory)
        raise AssertionError(
            f"{len(left)} staged entries outlived the commit: {left[:3]}"
        ) from None


def reference(tmp_path: Path, days: int, purchases: int | None = None) -> dict[str, bytes]:
    """The same batches, uninterrupted, in-process (no Temporal): the bytes to match."""
    directory = tmp_path / "reference"
    run_batch(Pipeline(location=str(directory), seed=SEED), days, purchases)
    return tables(directory)


def starter_args(task_queue: str, data_dir: Path, *args: str) -> list[str]:
    return ["--task-queue", task_queue, "--data-dir", str(data_dir), "--seed", str(SEED), *args]


@contextmanager
def killable_run(
    task_queue: str, data_dir: Path, tmp_path: Path, *args: str
) -> Iterator[tuple[DevServer, WorkerProcess, subprocess.Popen[str]]]:
    """A dev server on its own database, a worker, and a starter running `args`: all
    three stopped at the end, whatever happened to them in between."""
    server = DevServer(tmp_path / "temporal.db").start()
    worker = WorkerProcess(server.address, task_queue, tmp_path / "worker.log")
    starter = start_starter(server.address, *starter_args(task_queue, data_dir, *args))
    try:
        yield server, worker, starter
    finally:
        if starter.poll() is None:
            starter.kill()
        worker.stop()
        server.stop()


def finish(starter: subprocess.Popen[str], data_dir: Path, last: int) -> int:
    """The starter's exit code once the run has committed batch `last`: 0, or 3 when it
    lost its connection to the killed server and said so (the run goes on regardless)."""
    _, err = starter.communicate(timeout=180)
    if starter.returncode != 0:
        assert starter.returncode == 3 and "lost the connection to Temporal" in err, err
    wait_for(lambda: batch_number(data_dir) >= last, 120, f"batch {last} to commit")
    no_staging_left(data_dir)
    return starter.returncode


def test_a_sigkilled_server_mid_bulk_day_comes_back_and_the_day_commits_once(
    task_queue: str, data_dir: Path, tmp_path: Path
):
    with killable_run(task_queue, data_dir, tmp_path, "--purchases", str(BULK_DAY)) as (
        server,
        worker,
        starter,
    ):
        # The first piece is staged: the day is under way, its parts and the load to go.
        wait_for(lambda: staged_parts(data_dir) >= 1, 60, "a staged piece")
        server.kill()
        at_kill = staged_parts(data_dir)
        assert batch_number(data_dir) == 0, "the kill must land before the commit"
        server.start()
        code = finish(starter, data_dir, 1)
        assert worker.proc.poll() is None, "the worker must outlive the server"
    tuning = Tuning()
    pieces = -(-BULK_DAY // tuning.part_rows) * -(-tuning.part_rows // tuning.piece_rows)
    print(f"server SIGKILLed with {at_kill}/{pieces} pieces staged; starter exit {code}")
    assert batch_number(data_dir) == 1
    assert tables(data_dir) == reference(tmp_path, 1, BULK_DAY)


async def test_a_server_sigkilled_mid_span_and_kept_down_the_run_goes_on_by_itself(
    task_queue: str, data_dir: Path, tmp_path: Path
):
    with killable_run(task_queue, data_dir, tmp_path, "--runs", str(SPAN_RUNS)) as (
        server,
        worker,
        starter,
    ):
        # The first span (batches 1-1000) is committed and the second has staged its part.
        wait_for(
            lambda: batch_number(data_dir) >= 1000 and staged_parts(data_dir) >= 1,
            60,
            "the second span's staged part",
        )
        server.kill()
        at_kill = batch_number(data_dir)
        assert at_kill < SPAN_RUNS, "the kill must land before the last commit"
        # Down for longer than the starter retries: it gives up, and says which run goes on.
        _, err = starter.communicate(timeout=120)
        assert starter.returncode == 3 and "lost the connection to Temporal" in err, err
        named = re.search(r"run (\S+) goes on by itself", err)
        assert named is not None, err
        server.start()
        client = await Client.connect(server.address)
        handle = client.get_workflow_handle(named[1], result_type=RunResult)
        result = await asyncio.wait_for(handle.result(), 120)
        no_staging_left(data_dir)
        assert worker.proc.poll() is None, "the worker must outlive the server"
    print(f"server SIGKILLed at batch {at_kill}/{SPAN_RUNS}; starter exit 3; run completed")
    assert result.batches == SPAN_RUNS
    assert batch_number(data_dir) == SPAN_RUNS
    assert tables(data_dir) == reference(tmp_path, SPAN_RUNS)


PARTS = 40  # the bulk day in parts of 25,000 purchases: room for kills between parts


async def test_workers_sigkilled_at_random_moments_of_a_bulk_day_lose_and_leave_nothing(
    task_queue: str, data_dir: Path, tmp_path: Path
):
    chooser = random.Random(20261130)
    server = DevServer(tmp_path / "temporal.db").start()
    logs = iter(tmp_path / f"worker-{i}.log" for i in range(100))
    workers = [WorkerProcess(server.address, task_queue, next(logs)) for _ in range(2)]
    pipeline = Pipeline(location=str(data_dir), seed=SEED)
    tuning = Tuning(bulk_threshold=1_000, part_rows=BULK_DAY // PARTS, parts_in_flight=4)
    kills: list[str] = []
    try:
        client = await Client.connect(server.address)
        handle = await client.start_workflow(
            "EtlRunWorkflow",
            RunJob(pipeline, 1, BULK_DAY, tuning=tuning),
            id=f"{pipeline.pipeline_id}-run",
            task_queue=task_queue,
            result_type=RunResult,
        )
        # Three kills at random moments while the parts are generated, each of a worker
        # picked at random and replaced by a fresh one; at least 16 parts still to go, so
        # that the kill lands before the commit even on a fast machine.
        for target in sorted(chooser.sample(range(1, PARTS - 16), 3)):
            wait_for(partial(staged_at_least, data_dir, target), 120, f"{target} staged parts")
            time.sleep(chooser.uniform(0.0, 0.2))  # land the kill at a random instruction
            victim = chooser.randrange(len(workers))
            workers[victim].kill()
            kills.append(f"worker {victim} at {staged_parts(data_dir)}/{PARTS} parts")
            assert batch_number(data_dir) == 0, "the kill must land before the commit"
            workers[victim] = WorkerProcess(server.address, task_queue, next(logs))
        # Then both workers the moment the checkpoint records the day: the committing
        # worker is deleting the staged parts (its load completed or not), and what it
        # leaves goes with the next batch's load.
        wait_for(lambda: batch_number(data_dir) >= 1, 120, "the commit")
        for i, worker in enumerate(workers):
            worker.kill()
            kills.append(f"worker {i} after the commit, {len(staging_left(data_dir))} staged left")
        workers = [WorkerProcess(server.address, task_queue, next(logs)) for _ in range(2)]
        result = await handle.result()
        await client.execute_workflow(
            "EtlRunWorkflow",
            RunJob(pipeline, 1),
            id=f"{pipeline.pipeline_id}-next",
            task_queue=task_queue,
            result_type=RunResult,
        )
        no_staging_left(data_dir)
    finally:
        for worker in workers:
            worker.stop()
        server.stop()
    print("; ".join(kills))
    assert len(kills) == 5
    assert result.batches == 1 and result.last is not None
    assert result.last.purchases == BULK_DAY
    expected = Pipeline(location=str(tmp_path / "reference"), seed=SEED)
    run_batch(expected, 1, BULK_DAY)
    run_batch(expected)
    assert tables(data_dir) == tables(tmp_path / "reference")

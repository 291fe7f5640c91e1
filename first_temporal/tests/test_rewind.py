"""Rewind: back to right after a committed batch, byte for byte, crash-safe; then replay."""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from first_temporal import verify
from first_temporal.activities.loader import Loader
from first_temporal.config import Pipeline, open_storage
from first_temporal.domain import ledger, schema
from first_temporal.domain.checkpoint import Checkpoint, parse_checkpoint
from first_temporal.jobs import RewindJob
from first_temporal.settings import Tuning
from first_temporal.tests.batches import read_checkpoint, run_batch, run_batches
from first_temporal.tests.processes import ROOT, WorkerProcess, process_env, starter, wait_for
from first_temporal.tests.snapshots import UNCOMMITTED, snapshot, tables

BULK = Tuning(bulk_threshold=1_000, part_rows=1_500)
rewind_tables = Loader(open_storage).rewind_tables


def build(root: Path, upto: int) -> None:
    """A history of `upto` batches (of 40): 10 days, a 20-day span, a bulk day, 9 days."""
    pipeline = Pipeline(location=str(root), seed=5)
    shapes = [*[(1, None)] * 10, (20, None), (1, 4_000), *[(1, None)] * 9]
    done = 0
    for days, purchases in shapes:
        days = min(days, upto - done)
        if days <= 0:
            break
        tuning = BULK if purchases else None
        run_batch(pipeline, days=days, purchases=purchases, tuning=tuning)
        done += days


@pytest.fixture(scope="module")
def histories(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("histories")
    for upto in (10, 15, 31, 40):
        build(base / f"after-{upto}", upto)
    return base


def rewound_copy(histories: Path, tmp_path: Path, batch: int) -> Path:
    root = tmp_path / "data"
    shutil.copytree(histories / "after-40", root, ignore=UNCOMMITTED)
    result = ActivityEnvironment().run(
        rewind_tables, RewindJob(Pipeline(location=str(root), seed=5), batch)
    )
    assert (result.batch, result.removed) == (batch, 40 - batch)
    return root


@pytest.mark.parametrize("batch", [0, 15, 31, 40])
def test_rewind_leaves_what_a_pipeline_that_stopped_there_has(
    histories: Path, tmp_path: Path, batch: int
):
    root = rewound_copy(histories, tmp_path, batch)
    if batch:
        assert tables(root) == tables(histories / f"after-{batch}")
    else:  # empty tables: the headers, ledger and checkpoint a first commit starts from
        for table in schema.BATCH_TABLES:
            assert (root / f"{table}.csv").read_bytes() == schema.header_line(table)
        assert (root / ledger.LEDGER_FILE).read_bytes() == ledger.HEADER
        assert (root / schema.CHECKPOINT_FILE).read_bytes() == Checkpoint.initial(5).to_csv()
        run_batches(Pipeline(location=str(root), seed=5), 10)  # a replay from the start
        assert tables(root) == tables(histories / "after-10")
    assert not any((root / "_staging").glob("batch-*"))


def replay_from_15(root: Path) -> None:
    """The same batches again: the span's last 15 days one by one, the bulk day, 9 days."""
    pipeline = Pipeline(location=str(root), seed=5)
    run_batches(pipeline, 15)
    run_batch(pipeline, purchases=4_000, tuning=BULK)
    run_batches(pipeline, 9)


def test_rewind_then_replay_gives_the_same_bytes(histories: Path, tmp_path: Path):
    root = rewound_copy(histories, tmp_path, 15)  # inside the span
    replay_from_15(root)
    assert tables(root) == tables(histories / "after-40")


@pytest.mark.parametrize("batch", [41, 1000])
def test_a_batch_that_is_not_committed_is_refused_and_nothing_changes(
    histories: Path, tmp_path: Path, batch: int
):
    root = tmp_path / "data"
    shutil.copytree(histories / "after-40", root, ignore=UNCOMMITTED)
    before = snapshot(root)
    with pytest.raises(ApplicationError) as err:
        ActivityEnvironment().run(
            rewind_tables, RewindJob(Pipeline(location=str(root), seed=5), batch)
        )
    assert err.value.non_retryable and "holds batches 1-40" in str(err.value)
    assert snapshot(root) == before


class Crash(Exception):
    pass


def test_a_crash_at_every_step_of_a_rewind_then_a_retry_gives_identical_bytes(
    histories: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    expected = tables(histories / "after-15")
    real_fsync, real_replace = os.fsync, os.replace
    for crash_at in itertools.count():
        root = tmp_path / f"crash-{crash_at}"
        shutil.copytree(histories / "after-40", root, ignore=UNCOMMITTED)
        job = RewindJob(Pipeline(location=str(root), seed=5), 15)
        counter = itertools.count()

        def step() -> None:
            if next(counter) == crash_at:  # noqa: B023 - this attempt's counter
                raise Crash

        def fsync(fd: int) -> None:
            step()
            real_fsync(fd)

        def replace(src: str, dst: str) -> None:
            step()
            real_replace(src, dst)

        with monkeypatch.context() as patch:
            patch.setattr(os, "fsync", fsync)
            patch.setattr(os, "replace", replace)
            try:
                ActivityEnvironment().run(rewind_tables, job)
                crashed = False
            except Crash:
                crashed = True
        ActivityEnvironment().run(rewind_tables, job)  # the retry
        assert tables(root) == expected, f"crash at step {crash_at}"
        replay_from_15(root)
        assert tables(root) == tables(histories / "after-40")
        if not crashed:
            break
    assert crash_at >= 4  # checkpoint write and rename, each table's cut


async def test_starter_rewinds_tables_and_mart_then_replays(
    address: str, worker: WorkerProcess, task_queue: str, tmp_path: Path
):
    root, reference = tmp_path / "data", tmp_path / "reference"
    pipeline = Pipeline(location=str(root), seed=42)
    client = await Client.connect(address)

    def start(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return starter(address, "--task-queue", task_queue, "--data-dir", str(directory), *args)

    async def mart_batch() -> int:
        await asyncio.wait_for(
            client.get_workflow_handle(pipeline.mart_workflow_id).result(), timeout=60
        )
        with duckdb.connect(str(root / "mart.duckdb"), read_only=True) as con:
            [(batch, sales)] = con.execute(
                "SELECT batch_number, (SELECT count(*) FROM fact_sales) FROM mart_state"
            ).fetchall()
        assert sales == len((root / "purchase.csv").read_bytes().splitlines()) - 1
        return int(batch)

    assert start(root, "--runs", "30").returncode == 0
    assert start(reference, "--runs", "12").returncode == 0
    assert await mart_batch() == 30
    full = tables(root)
    refused = start(root, "--rewind-to", "31")
    assert refused.returncode == 1
    assert "rewind refused: batch 31 is not a committed batch" in refused.stderr
    assert tables(root) == full
    done = start(root, "--rewind-to", "12")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("rewound to batch 12 (") and "18 later batch(es)" in done.stdout
    assert tables(root) == tables(reference)
    with duckdb.connect(str(root / "mart.duckdb"), read_only=True) as con:
        [(batch,)] = con.execute("SELECT batch_number FROM mart_state").fetchall()
    assert batch == 12
    assert start(root, "--runs", "18").returncode == 0  # the replay
    assert tables(root) == full
    assert await mart_batch() == 30


async def test_a_worker_killed_during_a_rewind_then_restarted_finishes_it(
    address: str, task_queue: str, tmp_path: Path
):
    root, reference = tmp_path / "data", tmp_path / "reference"
    pipeline = Pipeline(location=str(root), seed=42)
    client = await Client.connect(address)
    worker = WorkerProcess(address, task_queue, tmp_path / "first.log")
    common = ("--task-queue", task_queue)
    try:
        for args in (("--runs", "8"), ("--purchases", "150000"), ("--runs", "3")):
            assert starter(address, *common, "--data-dir", str(root), *args).returncode == 0
        assert (
            starter(address, *common, "--data-dir", str(reference), "--runs", "8").returncode == 0
        )
        await asyncio.wait_for(
            client.get_workflow_handle(pipeline.mart_workflow_id).result(), timeout=120
        )
        command = [sys.executable, str(ROOT / "starter.py"), *common, "--data-dir", str(root)]
        rewinding = subprocess.Popen(
            [*command, "--rewind-to", "8"],
            cwd=ROOT,
            env=process_env(address),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # The tables are rewound; the mart's rebuild (a 150,000-purchase day) is underway.
        wait_for(lambda: any(root.glob(".mart.duckdb.rebuild-*")), 60, "the mart's rebuild")
    finally:
        worker.kill()  # SIGKILL, mid-rebuild
    again = WorkerProcess(address, task_queue, tmp_path / "second.log")
    try:
        out, err = rewinding.communicate(timeout=120)
    finally:
        again.stop()
    assert rewinding.returncode == 0, err
    assert "rewound to batch 8" in out
    assert tables(root) == tables(reference)
    with duckdb.connect(str(root / "mart.duckdb"), read_only=True) as con:
        [(batch, sales)] = con.execute(
            "SELECT batch_number, (SELECT count(*) FROM fact_sales) FROM mart_state"
        ).fetchall()
    assert (batch, sales) == (8, len((root / "purchase.csv").read_bytes().splitlines()) - 1)
    assert not any(root.glob(".mart.duckdb.rebuild-*"))  # the killed rebuild's file too


def test_a_rewind_racing_a_run_is_serialised_with_it(
    address: str, worker: WorkerProcess, task_queue: str, tmp_path: Path
):
    """Whatever the interleaving, every commit comes wholly before or after the rewind: the
    history verifies byte for byte and the ledger chains."""
    root = tmp_path / "data"
    common = ("--task-queue", task_queue, "--data-dir", str(root))
    assert starter(address, *common, "--runs", "6").returncode == 0
    running = subprocess.Popen(
        [sys.executable, str(ROOT / "starter.py"), *common, "--runs", "20"],
        cwd=ROOT,
        env=process_env(address),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    checkpoint = root / schema.CHECKPOINT_FILE
    wait_for(
        lambda: parse_checkpoint(checkpoint.read_bytes()).batch_number >= 12,
        60,
        "the run to commit batch 12",
    )
    rewound = starter(address, *common, "--rewind-to", "4")
    _, err = running.communicate(timeout=120)
    assert rewound.returncode == 0, rewound.stderr
    assert running.returncode == 0, err
    assert verify.main(["--data-dir", str(root)]) == 0
    cp = read_checkpoint(Pipeline(location=str(root), seed=42))
    assert 4 < cp.batch_number <= 26  # the run carried on from batch 4

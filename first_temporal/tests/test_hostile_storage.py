"""Storage that refuses writes (issue 15): a full disk, a read-only or denied data dir, a
data dir deleted under its mart. Each fails in one line, at once, and changes nothing
committed; after a full disk is freed the next run continues as if it never filled up.

A size-limited tmpfs plays the full disk and the read-only file system: mounting needs
root (CI runs as root), so those tests skip with that reason elsewhere.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from first_temporal.activities.errors import NOT_WRITABLE
from first_temporal.activities.mart import MartActivities
from first_temporal.config import Pipeline
from first_temporal.jobs import PipelineRef
from first_temporal.starter_main import root_message
from first_temporal.tests.batches import run_batch, run_batches
from first_temporal.tests.processes import WorkerProcess, starter, wait_for
from first_temporal.tests.snapshots import tables

SEED = 11
BIG_DAY = "30000"  # stages ~5.9 MB and appends ~4.8 MB: room to fail in either step
MiB = 1 << 20
ROOT_ONLY = pytest.mark.skipif(
    os.geteuid() != 0, reason="mounting a size-limited tmpfs needs root (CI runs as root)"
)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 MiB file system of its own."""
    mount = tmp_path / "disk"
    mount.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:  # root without CAP_SYS_ADMIN (an unprivileged container)
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def everything(directory: Path) -> dict[str, bytes]:
    """Every file below `directory` (the lock file aside: empty, no data)."""
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and p.name != ".etl.lock"
    }


def run(address: str, queue: str, data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return starter(
        address, "--task-queue", queue, "--data-dir", str(data), "--seed", str(SEED), *args,
        timeout=60,  # a refused write must fail the batch at once, never retry for ever
    )  # fmt: skip


def fill(mount: Path, leave: int) -> Path:
    """Take all the space of `mount` but `leave` bytes."""
    stat = os.statvfs(mount)
    filler = mount / "filler"
    with open(filler, "wb") as fh:
        os.posix_fallocate(fh.fileno(), 0, stat.f_bavail * stat.f_frsize - leave)
    return filler


async def commit_batches(
    env: WorkflowEnvironment, address: str, queue: str, data: Path, batches: int
) -> None:
    """`batches` daily batches committed, the mart refresh they asked for done (it writes
    into the data dir), and no staged part left (deleted once the load completes)."""
    assert run(address, queue, data, "--runs", str(batches)).returncode == 0
    pipeline = Pipeline(location=str(data), seed=SEED)
    await env.client.get_workflow_handle(pipeline.mart_workflow_id).result()
    staging = data / "_staging"
    wait_for(lambda: not staging.is_dir() or not any(staging.iterdir()), 30, "no staging")


def assert_refused(result: subprocess.CompletedProcess[str], data: Path, message: str) -> None:
    """Exit 1, with one line that names a file of the data dir and says `message`."""
    assert result.returncode == 1, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert f"batch failed: {data}/" in result.stderr
    assert message in result.stderr


@ROOT_ONLY
@pytest.mark.parametrize(
    ("leave", "fails_in"),
    [(1 * MiB, "_staging"), (8 * MiB, "table")],  # staging needs 5.9 MB; the append 4.8 more
    ids=["staging", "load"],
)
async def test_a_full_disk_fails_the_batch_in_one_line_and_a_freed_disk_continues(
    dev_env: WorkflowEnvironment, address: str, worker: WorkerProcess, task_queue: str,
    disk: Path, tmp_path: Path, leave: int, fails_in: str,
):  # fmt: skip
    data = disk / "data"
    await commit_batches(dev_env, address, task_queue, data, 3)  # the mart writes before the fill
    committed = tables(data)
    filler = fill(disk, leave)

    full = await asyncio.to_thread(run, address, task_queue, data, "--purchases", BIG_DAY)

    assert_refused(full, data, "No space left on device — free space on that file system")
    named = full.stderr.split("batch failed: ", 1)[1].split(": No space", 1)[0]
    if fails_in == "table":
        assert Path(named).parent == data and named.endswith(".csv"), full.stderr
    else:
        assert named.startswith(f"{data}/_staging/"), full.stderr
    after = tables(data)
    for name, before in committed.items():  # bytes past the committed ends may remain
        assert after[name][: len(before)] == before, name
    for name in ("placeholder.csv", "ledger.csv", "product.csv"):
        assert after[name] == committed[name]

    filler.unlink()
    for args in (("--purchases", BIG_DAY), ("--runs", "2")):
        assert (await asyncio.to_thread(run, address, task_queue, data, *args)).returncode == 0
    clean = Pipeline(location=str(tmp_path / "clean"), seed=SEED)
    run_batches(clean, 3)
    run_batch(clean, purchases=int(BIG_DAY))
    run_batches(clean, 2)
    assert tables(data) == tables(Path(clean.location))


@ROOT_ONLY
async def test_a_read_only_data_dir_is_refused_in_one_line_and_left_unchanged(
    dev_env: WorkflowEnvironment, address: str, worker: WorkerProcess, task_queue: str, disk: Path
):
    data = disk / "data"
    await commit_batches(dev_env, address, task_queue, data, 2)
    before = everything(data)
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)

    refused = await asyncio.to_thread(run, address, task_queue, data, "--runs", "1")

    assert_refused(refused, data, "Read-only file system — remount it read-write")
    assert everything(data) == before


async def test_a_denied_data_dir_is_refused_in_one_line_and_left_unchanged(
    dev_env: WorkflowEnvironment, address: str, worker: WorkerProcess, task_queue: str,
    tmp_path: Path,
):  # fmt: skip
    data = tmp_path / "data"
    await commit_batches(dev_env, address, task_queue, data, 2)
    before = everything(data)
    # The data dir belongs to someone else now. Root writes anywhere, so as root the
    # denied worker runs without the capabilities that override file permissions.
    for path in (data, *data.rglob("*")):
        os.chown(path, 65534, 65534)
    data.chmod(0o755)
    drop = ("--inh-caps=-dac_override,-dac_read_search", "--bounding-set=-dac_override")
    wrapper = ("setpriv", *drop, "--") if os.geteuid() == 0 else ()
    denied_queue = f"{task_queue}-denied"
    denied = WorkerProcess(address, denied_queue, tmp_path / "denied.log", wrapper=wrapper)
    try:
        refused = await asyncio.to_thread(run, address, denied_queue, data, "--runs", "1")
    finally:
        assert denied.stop() == 0
    assert_refused(
        refused, data, "Permission denied — give the worker's user read and write access"
    )
    assert everything(data) == before


async def test_the_mart_of_a_deleted_data_dir_fails_in_one_line(
    dev_env: WorkflowEnvironment, address: str, worker: WorkerProcess, task_queue: str,
    tmp_path: Path,
):  # fmt: skip
    data = tmp_path / "data"
    await commit_batches(dev_env, address, task_queue, data, 2)
    for path in sorted(data.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    data.rmdir()
    pipeline = Pipeline(location=str(data), seed=SEED)

    handle = await dev_env.client.start_workflow(
        "EtlMartWorkflow",
        PipelineRef(pipeline),
        id=pipeline.mart_workflow_id,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        start_signal="refresh",
    )
    with pytest.raises(WorkflowFailureError) as failed:
        await asyncio.wait_for(handle.result(), 30)  # not retried for ever
    message = root_message(failed.value)
    assert message.startswith(f"{data}: the data directory is gone"), message
    assert "\n" not in message
    assert not data.exists()  # the refresh did not recreate it


@ROOT_ONLY
def test_a_mart_refresh_on_a_full_disk_fails_in_one_line_and_catches_up_later(disk: Path):
    """DuckDB says "No space left on device" in words: it reads like the tables' failure,
    and the next refresh (the next batch's) applies everything once space is back."""
    pipeline = Pipeline(location=str(disk / "data"), seed=SEED)
    run_batches(pipeline, 3)
    filler = fill(disk, 0)
    with pytest.raises(ApplicationError) as refused:
        ActivityEnvironment().run(MartActivities().update_mart, PipelineRef(pipeline))
    assert refused.value.non_retryable and refused.value.type == NOT_WRITABLE
    assert refused.value.message.startswith(f"{pipeline.location}/mart.duckdb: No space left")
    filler.unlink()
    summary = ActivityEnvironment().run(MartActivities().update_mart, PipelineRef(pipeline))
    assert summary.applied and summary.to_batch == 3

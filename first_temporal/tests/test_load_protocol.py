"""Exactly-once loads: crash at every step of the commit, retry, compare bytes with a clean run."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from first_temporal.activities.errors import STALE_BATCH
from first_temporal.activities.loader import Loader
from first_temporal.config import Pipeline, open_storage
from first_temporal.storage import local
from first_temporal.storage.base import Manifest
from first_temporal.tests.batches import run_batches, stage_batch
from first_temporal.tests.snapshots import snapshot, tables

load_batch = Loader(open_storage).load_batch


class Crash(Exception):
    """Stands for the process dying at this instruction."""


def clean_run(tmp_path: Path, batches: int) -> dict[str, bytes]:
    pipeline = Pipeline(location=str(tmp_path / "clean"), seed=3)
    run_batches(pipeline, batches)
    return tables(tmp_path / "clean")


def instrument(monkeypatch: pytest.MonkeyPatch, crash_at: int, torn: bool) -> list[str]:
    """Count each durable step of a commit; raise Crash at step `crash_at`."""
    steps: list[str] = []
    counter = itertools.count()

    def step(name: str) -> None:
        steps.append(name)
        if next(counter) == crash_at:
            raise Crash(name)

    real_fsync, real_replace = os.fsync, os.replace
    real_append = local.LocalStorage._append

    def fsync(fd: int) -> None:
        step("fsync")
        real_fsync(fd)

    def replace(src: str, dst: str) -> None:
        step(f"rename {Path(dst).name}")
        real_replace(src, dst)

    def append(
        self: local.LocalStorage, table: str, end: int, parts: list[Path], manifest: Manifest
    ) -> list[tuple[int, str]]:
        data = b"".join(part.read_bytes() for part in parts)
        if torn and data:
            try:
                step(f"torn append {table}")
            except Crash:
                with open(self.path(table), "ab") as fh:  # half a batch, last line cut
                    fh.write(data[: len(data) // 2 + 1])
                raise
        step(f"append {table}")
        return real_append(self, table, end, parts, manifest)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(local.LocalStorage, "_append", append)
    return steps


@pytest.mark.parametrize("torn", [False, True])
@pytest.mark.parametrize("crashed_batch", [1, 3])
def test_a_crash_at_every_step_of_a_load_then_a_retry_gives_identical_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crashed_batch: int, torn: bool
):
    expected = clean_run(tmp_path, 4)
    crash_at = 0
    while True:
        directory = tmp_path / f"crash-{crash_at}"
        pipeline = Pipeline(location=str(directory), seed=3)
        run_batches(pipeline, crashed_batch - 1)
        job = stage_batch(pipeline)
        with monkeypatch.context() as patch:
            steps = instrument(patch, crash_at, torn)
            try:
                ActivityEnvironment().run(load_batch, job)
                crashed = False
            except Crash:
                crashed = True
        # The retry: Temporal runs the same activity input again, on a fresh process.
        [summary] = ActivityEnvironment().run(load_batch, job)
        assert summary.committed and summary.batch_number == crashed_batch
        run_batches(pipeline, 4 - crashed_batch)
        assert tables(directory) == expected, f"crash at step {crash_at} ({steps[-1]})"
        if not crashed:
            break
        crash_at += 1
    assert crash_at >= 10  # every table append, fsync and rename was a crash point


def test_a_leftover_past_the_committed_end_is_cut_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    expected = clean_run(tmp_path, 2)
    directory = tmp_path / "d"
    pipeline = Pipeline(location=str(directory), seed=3)
    run_batches(pipeline, 1)
    with open(directory / "purchase.csv", "ab") as fh:
        fh.write(b"100099,Torn,Li")  # a torn line from an interrupted append
    with open(directory / "delivery.csv", "ab") as fh:
        fh.write(b"1,delivered,2020-07-05\n2,deliv")
    run_batches(pipeline, 1)
    assert tables(directory) == expected
    assert "past the committed end" in caplog.text


def test_retrying_a_committed_load_is_a_no_op(pipeline: Pipeline, data_dir: Path):
    job = stage_batch(pipeline)
    first = ActivityEnvironment().run(load_batch, job)
    before = snapshot(data_dir)
    again = ActivityEnvironment().run(load_batch, job)
    assert first == again  # the retry reports the same committed batch
    assert [s.batch_number for s in first] == [1] and first[0].purchases > 0
    assert snapshot(data_dir) == before


def test_a_batch_computed_from_a_stale_checkpoint_is_refused(pipeline: Pipeline, data_dir: Path):
    run_batches(pipeline, 1)
    stale = stage_batch(pipeline)
    run_batches(pipeline, 2)  # another run moved the checkpoint on
    before = snapshot(data_dir)
    with pytest.raises(ApplicationError) as err:
        ActivityEnvironment().run(load_batch, stale)
    assert err.value.type == STALE_BATCH and err.value.non_retryable
    assert snapshot(data_dir) == before


def test_the_lock_file_keeps_a_second_writer_out(data_dir: Path):
    storage = local.LocalStorage(data_dir)
    with storage.lock(), pytest.raises(TimeoutError), pytest.MonkeyPatch.context() as patch:
        patch.setattr(local, "LOCK_WAIT_SECONDS", 0.1)
        with local.LocalStorage(data_dir).lock():
            pass

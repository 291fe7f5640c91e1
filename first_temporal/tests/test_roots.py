"""A worker serves only locations under its data roots (issue 15's security hole)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError

from first_temporal.activities.roots import Roots
from first_temporal.tests.processes import WorkerProcess, starter


def test_locations_are_resolved_and_compared_at_path_boundaries(tmp_path: Path):
    root = tmp_path / "root"
    (root / "pipe").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (root / "link").symlink_to(tmp_path / "outside")
    roots = Roots([str(root), "s3://lake/etl"])
    assert roots.allows(str(root)) and roots.allows(str(root / "pipe"))
    assert roots.allows(str(root / "not-yet"))  # a new pipeline's dir, created later
    assert not roots.allows(str(root / ".." / "outside"))
    assert not roots.allows(str(root / "link"))  # a symlink out of the root
    assert not roots.allows(str(tmp_path / "root-sibling"))  # shares the name's prefix
    assert roots.allows("s3://lake/etl") and roots.allows("s3://lake/etl/sub")
    assert not roots.allows("s3://lake/etl2") and not roots.allows("s3://other/etl")
    with pytest.raises(ApplicationError) as err:
        roots.check(str(tmp_path / "outside"))
    assert err.value.non_retryable and "--data-root" in str(err.value)


def test_a_run_for_a_location_outside_the_roots_is_refused_and_creates_nothing(
    address: str, worker: WorkerProcess, task_queue: str, tmp_path: Path
):
    elsewhere = Path("/var/tmp") / f"first-temporal-refused-{uuid.uuid4().hex[:8]}"
    refused = starter(address, "--task-queue", task_queue, "--data-dir", str(elsewhere))
    assert refused.returncode == 1, refused.stderr
    assert refused.stderr.count("\n") == 1
    assert f"{elsewhere}: outside this worker's data roots" in refused.stderr
    assert f"--data-root {elsewhere}" in refused.stderr
    assert not elsewhere.exists()
    link = tmp_path / "escape"
    link.symlink_to(elsewhere.parent)
    through = starter(address, "--task-queue", task_queue, "--data-dir", str(link / "x"))
    assert through.returncode == 1 and "outside this worker's data roots" in through.stderr
    inside = starter(address, "--task-queue", task_queue, "--data-dir", str(tmp_path / "ok"))
    assert inside.returncode == 0, inside.stderr  # its temporary dirs are a root here

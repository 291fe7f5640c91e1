"""Settings are parsed once, before anything connects: a bad one is one line, exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from first_temporal.tests.processes import ROOT

PY = sys.executable
# Port 1 on loopback: nothing answers, so any attempt to connect would show as exit 3.
ENV = {"TEMPORAL_ADDRESS": "127.0.0.1:1", "PATH": "/usr/bin:/bin"}


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PY, *args], cwd=cwd, env={**ENV, **env}, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("variable", "value", "args", "says"),
    [
        ("ETL_SEED", "abc", ["starter.py"], "ETL_SEED='abc' must be an integer"),
        ("ETL_METRICS_PORT", "abc", ["worker.py", "--help"], "must be a TCP port, 1-65535"),
        ("ETL_METRICS_PORT", "70000", ["worker.py"], "ETL_METRICS_PORT='70000' must be a TCP"),
        ("ETL_ACTIVITY_THREADS", "2", ["worker.py"], "ETL_ACTIVITY_THREADS='2' must be an"),
        ("ETL_LOG_LEVEL", "loud", ["-m", "first_temporal", "worker"], "must be one of DEBUG"),
        ("ETL_VALIDATE_MEMORY", "lots", ["-m", "first_temporal.validate"], "a size such as"),
        ("ETL_TASK_QUEUE", " ", ["starter.py", "--status"], "must be a non-empty name"),
        ("ETL_STORAGE", "s3://", ["-m", "first_temporal", "verify"], "ETL_STORAGE='s3://'"),
    ],
)
def test_a_bad_variable_is_one_line_and_exit_2_before_anything_else(
    tmp_path: Path, variable: str, value: str, args: list[str], says: str
):
    script = [str(ROOT / args[0]), *args[1:]] if args[0].endswith(".py") else args
    done = run(script, tmp_path, **{variable: value})
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and says in done.stderr and variable in done.stderr
    assert list(tmp_path.iterdir()) == []  # nothing created


@pytest.mark.parametrize(
    "args",
    [
        ["-m", "first_temporal", "validate", "--data-dir", "{missing}"],
        ["-m", "first_temporal", "verify", "--data-dir", "{missing}"],
        ["-m", "first_temporal", "mart", "reconcile", "--data-dir", "{missing}"],
        ["-m", "first_temporal", "mart", "apply", "--data-dir", "{missing}"],
        ["-m", "first_temporal", "report", "--data-dir", "{missing}", "--out", "{out}"],
        ["-m", "first_temporal", "status", "--data-dir", "{missing}"],
    ],
)
def test_a_missing_data_dir_is_exit_2_and_creates_nothing(tmp_path: Path, args: list[str]):
    missing, out = tmp_path / "no" / "such", tmp_path / "out"
    done = run([a.format(missing=missing, out=out) for a in args], tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert str(missing) in done.stderr and "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_bad_flag_is_a_usage_error_naming_it(tmp_path: Path):
    done = run([str(ROOT / "starter.py"), "--runs", "many"], tmp_path)
    assert done.returncode == 2 and "argument --runs: invalid int value: 'many'" in done.stderr
    done = run(["-m", "first_temporal", "worker", "--metrics-port", "x"], tmp_path)
    assert done.returncode == 2 and "--metrics-port" in done.stderr

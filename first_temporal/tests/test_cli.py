"""`first-temporal`: one command with subcommands; a plain `pip install` gives a working one."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from first_temporal.config import Pipeline
from first_temporal.mart import apply_pending
from first_temporal.tests.batches import run_batches
from first_temporal.tests.processes import ROOT, WorkerProcess, process_env


def cli(*args: str, address: str = "127.0.0.1:1", python: str = sys.executable, cwd: Path = ROOT):
    return subprocess.run(
        [python, "-m", "first_temporal", *args],
        cwd=cwd,
        env=process_env(address),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_help_lists_every_subcommand_and_version_and_usage_errors():
    shown = cli("--help")
    assert shown.returncode == 0
    for command in ("worker", "run", "status", "schedule", "rewind", "validate", "verify"):
        assert f"\n  {command} " in shown.stdout
    for command in ("mart", "report", "bench"):
        assert f"\n  {command} " in shown.stdout
    version = cli("--version")
    assert version.returncode == 0 and version.stdout.startswith("first-temporal ")
    wrong = cli("launch")
    assert wrong.returncode == 2 and "invalid choice: 'launch'" in wrong.stderr
    assert cli("schedule").returncode == 2 and cli("rewind").returncode == 2
    assert "apply" in cli("mart", "--help").stdout  # each command keeps its own help
    assert cli("run", "--help").stdout.startswith("usage: first-temporal run ")


def test_run_status_verify_and_rewind_through_the_one_command(
    address: str, worker: WorkerProcess, task_queue: str, data_dir: Path
):
    common = ("--task-queue", task_queue, "--data-dir", str(data_dir))
    ran = cli("run", "--runs", "3", *common, address=address)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines()[-1].startswith("done: 3 batch(es)")
    status = cli("status", *common, address=address)
    assert status.returncode == 0 and "checkpoint: batch 3," in status.stdout
    lines = cli("run", "--runs", "3", "--json", *common, address=address)
    assert lines.returncode == 0 and lines.stderr.startswith("done: 3 batch(es)"), lines.stderr
    batches = [json.loads(line) for line in lines.stdout.splitlines()]  # nothing else
    assert [b["batch_number"] for b in batches] == [4, 5, 6]
    assert all(b["committed"] and b["purchases"] >= 10 for b in batches)
    assert set(batches[0]) >= {"batch_date", "new_customers", "disputes", "deliveries"}
    assert cli("verify", "--data-dir", str(data_dir)).returncode == 0
    rewound = cli("rewind", "1", *common, address=address)
    assert rewound.returncode == 0 and rewound.stdout.startswith("rewound to batch 1 ("), rewound
    assert cli("validate", "--data-dir", str(data_dir)).returncode == 0


def test_a_plain_pip_install_gives_a_working_command_with_the_report(tmp_path: Path):
    """Not editable, in a fresh venv: the runtime's dependencies, the report's included."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = str(env_dir / "bin" / "python")
    installed = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert installed.returncode == 0, installed.stderr[-2000:]
    command = env_dir / "bin" / "first-temporal"
    data = tmp_path / "data"
    run_batches(Pipeline(location=str(data), seed=3), 20)
    apply_pending(str(data))
    report = subprocess.run(
        [str(command), "report", "--data-dir", str(data), "--out", str(tmp_path / "report")],
        cwd=tmp_path,  # not the clone: the installed package
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert report.returncode == 0, report.stderr
    assert (tmp_path / "report" / "dealership_report.png").stat().st_size > 10_000
    where = subprocess.run(
        [python, "-c", "import first_temporal; print(first_temporal.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert str(env_dir) in where.stdout  # the installed copy, not the clone


def test_json_outputs_for_scripts(tmp_path: Path):
    """validate, mart reconcile and report print one JSON object with stable fields."""
    data = tmp_path / "data"
    run_batches(Pipeline(location=str(data), seed=3), 40)
    apply_pending(str(data))
    validated = cli("validate", "--data-dir", str(data), "--json")
    assert validated.returncode == 0
    found = json.loads(validated.stdout)
    assert found["clean"] is True and found["violations_total"] == 0
    assert found["rows"]["purchase"] == len((data / "purchase.csv").read_bytes().splitlines()) - 1
    reconciled = cli("mart", "reconcile", "--data-dir", str(data), "--json")
    assert reconciled.returncode == 0
    assert json.loads(reconciled.stdout) == {"reconciled": True, "mismatches": []}
    report = cli("report", "--data-dir", str(data), "--out", str(tmp_path / "r"), "--json")
    assert report.returncode == 0, report.stderr
    figures = json.loads(report.stdout)
    assert figures["batch_number"] == 40 and figures["purchases"] == found["rows"]["purchase"]
    assert sum(figures["revenue_by_make"].values()) == pytest.approx(figures["revenue"])
    assert set(figures["dispute_rate_by_type"]) <= {
        "cancellation",
        "return_for_refund",
        "return_for_no_refund",
    }
    assert all(Path(f).is_file() for f in figures["files"])
    (data / "purchase.csv").write_bytes(b"customer_id\n")  # a header cut short
    broken = cli("validate", "--data-dir", str(data), "--json")
    assert broken.returncode == 1
    result = json.loads(broken.stdout)
    assert result["clean"] is False and result["violations_total"] > 0
    assert result["violations"][0]["rule"] == "header"
    assert result["violations"][0]["file"] == "purchase.csv"


def test_build_sh_help_and_unknown_commands():
    shown = subprocess.run([str(ROOT / "build.sh"), "--help"], capture_output=True, text=True)
    assert shown.returncode == 0 and "./build.sh test" in shown.stdout
    wrong = subprocess.run([str(ROOT / "build.sh"), "deploy"], capture_output=True, text=True)
    assert wrong.returncode == 1 and "unknown command 'deploy'" in wrong.stderr
    assert "./build.sh stop" in wrong.stderr  # with the usage

"""The worker's Prometheus endpoint (SDK and ETL metrics) and its log lines, end to end."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from temporalio.testing import WorkflowEnvironment

from first_temporal.config import Pipeline, resolve_seed
from first_temporal.tests.processes import (
    ROOT,
    WorkerProcess,
    free_port,
    process_env,
    starter,
    wait_for,
)


@pytest.fixture
def address(dev_env: WorkflowEnvironment) -> str:
    return dev_env.client.service_client.config.target_host


def scrape(port: int) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Sample name -> labels -> value, summed over the labels a test does not care about."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = defaultdict(
        lambda: defaultdict(float)
    )
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            keep = tuple(
                sorted((k, v) for k, v in sample.labels.items() if k in ("table", "le", "pipeline"))
            )
            name = family.name if family.type == "counter" else sample.name  # no _total
            samples[name][keep] += sample.value
    return samples


def data_rows(directory: Path, table: str) -> int:
    with open(directory / f"{table}.csv", newline="") as fh:
        return sum(1 for _ in csv.DictReader(fh))


async def test_metrics_count_rows_batches_durations_and_bad_input(
    dev_env: WorkflowEnvironment, address: str, task_queue: str, data_dir: Path, tmp_path: Path
):
    port = free_port()
    log = tmp_path / "worker.log"
    worker = WorkerProcess(address, task_queue, log, "--metrics-port", str(port))
    try:
        common = ("--task-queue", task_queue, "--data-dir", str(data_dir))
        ran = starter(address, "--runs", "3", *common)
        assert ran.returncode == 0, ran.stderr
        wait_for(
            lambda: sum(scrape(port)["etl_batch_duration_seconds_count"].values()) == 3,
            15,
            "three batch durations",
        )
        metrics = scrape(port)
        exposition = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
        linted = subprocess.run(
            [shutil.which("promtool") or "promtool", "check", "metrics"],
            input=exposition,
            capture_output=True,
            timeout=60,
        )
        assert linted.returncode == 0 and not linted.stdout.strip(), linted.stdout.decode()
        assert b"etl_rows_written_total{" in exposition  # counters end in _total
        for table in ("purchase", "customer", "dispute", "delivery"):
            assert metrics["etl_rows_written"].get((("table", table),), 0) == data_rows(
                data_dir, table
            ), table
        assert metrics["etl_rows_written"][(("table", "purchase"),)] > 0
        assert sum(metrics["etl_batches_committed"].values()) == 3
        assert sum(metrics["etl_batch_duration_seconds_sum"].values()) > 0
        assert any(name.startswith("temporal_") for name in metrics)  # the SDK's own
        assert not metrics["etl_bad_input_rejections"]
        pipeline = (("pipeline", Pipeline(location=str(data_dir)).pipeline_id),)
        assert metrics["etl_last_batch_number"][pipeline] == 3
        assert 0 <= time.time() - metrics["etl_last_commit_timestamp_seconds"][pipeline] < 60

        # The mart settles first: it would refuse the corrupted table too (and count it).
        mart = Pipeline(location=str(data_dir), seed=resolve_seed(None)).mart_workflow_id
        await dev_env.client.get_workflow_handle(mart).result()
        (data_dir / "purchase.csv").write_bytes(b"nonsense\n")
        bad = starter(address, *common)
        assert bad.returncode == 1
        wait_for(
            lambda: sum(scrape(port)["etl_bad_input_rejections"].values()) == 1,
            15,
            "one bad-input rejection",
        )
    finally:
        assert worker.stop() == 0
    text = log.read_text()
    assert "worker polling task queue" in text and f"metrics at http://127.0.0.1:{port}" in text
    batch_id = next(line for line in text.splitlines() if "batch 1 (" in line)
    assert "-batch-000001 2020-07-03] batch 1 (2020-07-03) committed" in batch_id
    assert "{'activity_id'" not in text  # context is in the prefix, not a dict on the message


def test_busy_metrics_port_is_a_one_line_error(address: str, task_queue: str, tmp_path: Path):
    port = free_port()
    first = WorkerProcess(address, task_queue, tmp_path / "a.log", "--metrics-port", str(port))
    try:
        result = subprocess.run(
            [
                sys.executable,
                str(ROOT / "worker.py"),
                "--task-queue",
                task_queue,
                "--metrics-port",
                str(port),
            ],
            cwd=ROOT,
            env=process_env(address),
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 1
        assert f"error: cannot serve metrics on port {port}" in result.stderr
        assert "Traceback" not in result.stderr
    finally:
        assert first.stop() == 0

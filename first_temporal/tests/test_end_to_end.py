"""End to end on the local dev server: real worker and starter processes, real exit codes."""

from __future__ import annotations

import csv
import time
from pathlib import Path

from first_temporal.tests.processes import WorkerProcess, free_port, starter


def column(directory: Path, table: str, name: str) -> list[str]:
    with open(directory / f"{table}.csv", newline="") as fh:
        return [row[name] for row in csv.DictReader(fh)]


def test_starter_runs_batches_and_prints_one_line_each(
    address: str, worker: WorkerProcess, task_queue: str, data_dir: Path
):
    first = starter(address, "--task-queue", task_queue, "--data-dir", str(data_dir))
    assert first.returncode == 0, first.stderr
    more = starter(address, "--task-queue", task_queue, "--data-dir", str(data_dir), "--runs", "5")
    assert more.returncode == 0, more.stderr
    lines = more.stdout.strip().splitlines()
    assert [line.split()[1] for line in lines[:-1]] == ["2", "3", "4", "5", "6"]  # once each
    assert "purchases=" in lines[0] and "disputes=" in lines[0]
    assert lines[-1].startswith("done: 5 batch(es)")
    txns = [int(t) for t in column(data_dir, "purchase", "transaction_id")]
    customers = [int(c) for c in column(data_dir, "customer", "customer_id")]
    assert txns == list(range(1, len(txns) + 1))
    assert customers == list(range(100000, 100000 + len(customers)))
    for table in ("placeholder", "purchase", "customer", "dispute", "delivery", "product"):
        assert (data_dir / f"{table}.csv").is_file()
    assert column(data_dir, "placeholder", "batch_number") == ["6"]


def test_environment_variables_choose_data_dir_and_seed(
    address: str, worker: WorkerProcess, task_queue: str, tmp_path: Path
):
    a, b = tmp_path / "a", tmp_path / "b"
    ra = starter(address, "--task-queue", task_queue, ETL_DATA_DIR=str(a), ETL_SEED="9")
    rb = starter(address, "--task-queue", task_queue, "--data-dir", str(b), "--seed", "9")
    assert ra.returncode == rb.returncode == 0
    assert (a / "purchase.csv").read_bytes() == (b / "purchase.csv").read_bytes()


def test_bad_input_exits_non_zero_with_one_line_and_no_traceback(
    address: str, worker: WorkerProcess, task_queue: str, data_dir: Path
):
    assert starter(address, "--task-queue", task_queue, "--data-dir", str(data_dir)).returncode == 0
    (data_dir / "purchase.csv").write_bytes(b"nonsense\n")
    result = starter(address, "--task-queue", task_queue, "--data-dir", str(data_dir))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "purchase.csv line 1 column 1" in result.stderr


def test_no_worker_is_reported_within_ten_seconds(address: str, data_dir: Path):
    began = time.monotonic()
    result = starter(address, "--task-queue", "nobody-polls-this", "--data-dir", str(data_dir))
    assert result.returncode == 4
    assert time.monotonic() - began < 15
    assert "no worker is polling task queue 'nobody-polls-this'" in result.stderr
    assert "python worker.py" in result.stderr
    assert not data_dir.exists()


def test_unreachable_temporal_is_reported_within_ten_seconds(data_dir: Path):
    began = time.monotonic()
    address = f"127.0.0.1:{free_port()}"
    result = starter(address, "--data-dir", str(data_dir))
    assert result.returncode == 3
    assert time.monotonic() - began < 15
    assert f"Temporal is not reachable at {address}" in result.stderr
    assert "./build.sh" in result.stderr and "Traceback" not in result.stderr


def test_worker_stops_cleanly_on_sigterm(address: str, task_queue: str, tmp_path: Path):
    proc = WorkerProcess(address, task_queue, tmp_path / "w.log")
    assert proc.stop() == 0
    assert b"worker stopped" in (tmp_path / "w.log").read_bytes()


def test_120_batches_validate_clean_and_a_corrupted_old_row_is_named(
    address: str, worker: WorkerProcess, task_queue: str, data_dir: Path
):
    import subprocess
    import sys

    def validate() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "first_temporal.validate", "--data-dir", str(data_dir)],
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert starter(address, "--task-queue", task_queue, "--data-dir", str(data_dir)).returncode == 0
    more = starter(
        address, "--task-queue", task_queue, "--data-dir", str(data_dir), "--runs", "119"
    )
    assert more.returncode == 0, more.stderr
    assert more.stderr.splitlines()[-1].startswith(f"[{'#' * 30}] 119/119 batches")
    clean = validate()
    assert clean.returncode == 0, clean.stdout
    kinds = set(column(data_dir, "dispute", "dispute_type"))
    assert kinds == {"cancellation", "return_for_refund", "return_for_no_refund"}
    checkout = column(data_dir, "purchase", "checkout_type")
    assert 0.15 <= checkout.count("Repeat Customer") / len(checkout) <= 0.50
    lines = (data_dir / "purchase.csv").read_bytes().split(b"\n")
    lines[40] = lines[40].replace(b"Customer,", b"Customer,", 1).replace(b",False", b",Maybe")
    (data_dir / "purchase.csv").write_bytes(b"\n".join(lines))
    broken = validate()
    assert broken.returncode == 1
    assert "purchase.csv line 41" in broken.stdout


def test_until_runs_every_batch_dated_up_to_a_day(
    address: str, worker: WorkerProcess, task_queue: str, data_dir: Path
):
    def until(day: str) -> list[str]:
        args = ("--task-queue", task_queue, "--data-dir", str(data_dir), "--until", day)
        done = starter(address, *args)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip().splitlines()

    assert len(until("2020-07-03")) == 2  # the first batch date itself: one line, "done"
    assert column(data_dir, "placeholder", "previous_date") == ["2020-07-03"]
    lines = until("2020-08-01")  # a day between two batch dates
    [last] = column(data_dir, "placeholder", "previous_date")
    assert lines[-1].startswith(f"done: {len(lines) - 1} batch(es)") and len(lines) > 5
    assert last <= "2020-08-01" and lines[-2].split()[2] == last
    [again, done] = until("2020-08-01")  # nothing left up to that day: says which is next
    assert again.startswith("0 batches: the next batch date, 2020-08-") and "done: 0" in done
    before = (data_dir / "purchase.csv").read_bytes()
    assert until("2020-07-15")[0].startswith("0 batches")  # a day in the past
    assert (data_dir / "purchase.csv").read_bytes() == before
    wrong = starter(address, "--task-queue", task_queue, "--until", "July 4th")
    assert wrong.returncode == 2 and "--until 'July 4th' is not a date" in wrong.stderr

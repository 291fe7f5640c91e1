"""The benchmark's processes: a dev server and a worker on free loopback ports, the real
starter and the bare reference scripts as subprocesses, timed whole, as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from temporalio.client import Client

from first_temporal.bench.processes import (
    ROOT,
    free_port,
    process_env,
    start_dev_server,
    wait_for,
)
from first_temporal.config import Pipeline

QUEUE = "bench"
SEED = 42


class Harness:
    """A dev server and a worker for the whole benchmark; the starter and references per run."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.server: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.rows: list[tuple[str, str, str]] = []

    def start_server(self) -> None:
        self.server = start_dev_server(self.port, db=None, timeout=60)

    def start_worker(self) -> None:
        self.stop_worker()
        log = self.work / f"worker-{uuid.uuid4().hex[:6]}.log"
        self.worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "first_temporal.bench.worker",
                "--task-queue",
                QUEUE,
                "--data-root",
                str(self.work),
            ],
            cwd=ROOT,
            env=process_env(self.address),
            stdout=open(log, "wb"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
        )
        wait_for(lambda: b"worker polling" in log.read_bytes(), 60, "the worker to poll")
        time.sleep(1.0)  # its sticky and activity pollers come up just after the first log line

    def stop_worker(self) -> None:
        if self.worker is not None and self.worker.poll() is None:
            self.worker.terminate()
            self.worker.wait(30)
        self.worker = None

    def worker_peak_rss_mb(self) -> float:
        assert self.worker is not None
        for line in Path(f"/proc/{self.worker.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def close(self) -> None:
        self.stop_worker()
        if self.server is not None:
            self.server.terminate()
            self.server.wait(30)

    def starter(self, data: Path, *args: str) -> float:
        began = time.perf_counter()
        result = subprocess.run(
            [
                sys.executable,
                str(ROOT / "starter.py"),
                "--task-queue",
                QUEUE,
                "--data-dir",
                str(data),
                "--seed",
                str(SEED),
                *args,
            ],
            cwd=ROOT,
            env=process_env(self.address),
            capture_output=True,
            text=True,
        )
        elapsed = time.perf_counter() - began
        if result.returncode != 0:
            raise RuntimeError(f"starter {' '.join(args)} failed: {result.stderr.strip()}")
        return elapsed

    async def mart_settled(self, client: Client, data: Path) -> None:
        pipeline = Pipeline(location=str(data), seed=SEED)
        await client.get_workflow_handle(pipeline.mart_workflow_id).result()

    def record(self, what: str, figure: str, target: str = "") -> None:
        self.rows.append((what, figure, target))
        print(f"  {what:<58} {figure:>22}  {target}", flush=True)

    def reference(self, mode: str, amount: int, repeats: int, first: int = 0) -> list[float]:
        """Whole-process times of the bare reference script (bench/reference.py), each run
        into a folder of its own (reference-MODE-<first + i>), as each starter run is:
        rewriting the last run's files made the reference free their cached pages too."""
        times = []
        for i in range(first, first + repeats):
            os.sync()  # see bulk()
            began = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "first_temporal.bench.reference",
                    mode,
                    str(self.work / f"reference-{mode}-{i}"),
                    str(amount),
                ],
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
            times.append(time.perf_counter() - began)
        return times

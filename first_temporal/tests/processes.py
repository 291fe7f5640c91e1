"""Real worker and starter processes for end-to-end tests (no sleeps: wait on conditions)."""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from first_temporal.bench.processes import (
    ROOT,
    TEMPORAL_CLI,
    free_port,
    process_env,
    server_serving,
    start_dev_server,
    wait_for,
)

__all__ = [
    "ROOT",
    "TEMPORAL_CLI",
    "TEST_ROOT",
    "free_port",
    "process_env",
    "server_serving",
    "start_dev_server",
    "wait_for",
]


TEST_ROOT = tempfile.gettempdir()
# Where the tests' pipelines live: temporary directories, and the S3 buckets of the tests
# that run real workers on a moto server.
TEST_ROOTS = (TEST_ROOT, "s3://dealer-lake", "s3://bulk-lake")


class WorkerProcess:
    def __init__(
        self, address: str, task_queue: str, log: Path, *args: str, wrapper: tuple[str, ...] = ()
    ) -> None:
        """`wrapper` runs the worker through another command (e.g. setpriv, to drop rights)."""
        self.log = log
        self._fh = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                *wrapper,
                *(sys.executable, str(ROOT / "worker.py"), "--task-queue", task_queue),
                *(arg for root in TEST_ROOTS for arg in ("--data-root", root)),
                *args,
            ],
            cwd=ROOT,
            env=process_env(address),
            stdout=self._fh,
            stderr=subprocess.STDOUT,
        )
        wait_for(
            lambda: b"worker polling" in log.read_bytes() or self.proc.poll() is not None,
            30,
            "the worker to start polling",
        )
        if self.proc.poll() is not None:
            raise RuntimeError(f"worker exited at start: {log.read_text()}")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._fh.close()
        return code


def starter(
    address: str, *args: str, timeout: float = 120, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "starter.py"), *args],
        cwd=ROOT,
        env=process_env(address, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_starter(address: str, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "starter.py"), *args],
        cwd=ROOT,
        env=process_env(address, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

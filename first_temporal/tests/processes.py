"""Real worker and starter processes for end-to-end tests (no sleeps: wait on conditions)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def process_env(address: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "ETL_"))}
    env.update(TEMPORAL_ADDRESS=address, PYTHONUNBUFFERED="1", **extra)
    return env


class WorkerProcess:
    def __init__(self, address: str, task_queue: str, log: Path, *args: str) -> None:
        self.log = log
        self._fh = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "worker.py"), "--task-queue", task_queue, *args],
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


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        socket.create_connection((host, port), timeout=0.5).close()
        return True
    except OSError:
        return False

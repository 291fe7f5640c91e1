"""A Temporal dev server the test owns: a persistent sqlite database on a fixed free port,
so it can be killed (SIGTERM or SIGKILL) and started again with its workflows intact."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from first_temporal.tests.processes import free_port, start_dev_server


class DevServer:
    def __init__(self, db: Path) -> None:
        self.db = db
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> DevServer:
        self.proc = start_dev_server(self.port, db=self.db, timeout=30)
        return self

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        """SIGTERM: a clean shutdown; SIGKILL: a crash (no flush, no goodbye to clients)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(30)
        self.proc = None

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def restart(self, sig: signal.Signals = signal.SIGTERM) -> None:
        """The same port and database: clients reconnect to the same address."""
        self.stop(sig)
        self.start()

"""A moto server on a free loopback port, for tests that talk to "AWS" over real HTTP.

Why a server and not `mock_aws`: the code under test must reach AWS exactly as in
production (boto3 with only the standard environment), and S3 must deliver its own
event notifications to SQS; only a server exercises both. It runs in a thread of the
test process, binds 127.0.0.1 only, and port 0 lets the OS pick a free port (no race).
"""

from __future__ import annotations

import logging
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

REGION = "eu-central-1"


class MotoServer:
    """moto's multi-service app served by werkzeug on 127.0.0.1:<free port>."""

    def __init__(self) -> None:
        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(
            "127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler
        )
        self.port: int = self._server.server_address[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._log_level = logging.NOTSET

    def start(self) -> None:
        access_log = logging.getLogger("werkzeug")  # one line per request: noise in reports
        self._log_level = access_log.level
        access_log.setLevel(logging.WARNING)
        self._thread.start()

    def reset(self) -> None:
        """Forget every bucket, queue and catalog (moto's backends are process-global)."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        logging.getLogger("werkzeug").setLevel(self._log_level)


@contextmanager
def moto_server() -> Iterator[MotoServer]:
    server = MotoServer()
    server.start()
    try:
        server.reset()  # state left by in-process mock_aws tests must not leak in
        yield server
    finally:
        server.reset()
        server.stop()


def use_moto(monkeypatch: pytest.MonkeyPatch, server: MotoServer) -> None:
    """Point the standard AWS environment at the server; nothing else can be reached."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")

"""A fault-injecting HTTP proxy in front of the moto server: flaky S3 on loopback.

Real S3 answers a share of requests with 500 InternalError or 503 SlowDown and drops
connections; the ETL must come through all of them with exactly the objects of a clean
run. The proxy forwards every request to moto and, by a seeded draw per request, instead:

  internal_error   500 InternalError, S3's XML body; moto never sees the request
  slow_down        503 SlowDown, likewise
  reset_before     the connection is reset (RST) before the request is forwarded
  reset_after      forwarded (moto applies it), then reset: the client never learns that
                   its PUT or DELETE took effect, and retries it
  cut_body         a GET's response is cut off halfway through its body, then reset
                   (drawn for another method, it is no fault: the shares stay honest)

The draws follow one seeded sequence, but which request gets which draw depends on the
order the threads of the workers reach the proxy, so the counts vary a little per run;
`counts` says what was actually injected. moto's own API (/moto-api/) is never faulted.
"""

from __future__ import annotations

import http.client
import random
import socket
import struct
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import urlsplit

FAULTS = ("internal_error", "slow_down", "reset_before", "reset_after", "cut_body")
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "upgrade",
    "expect",  # the proxy answers 100-continue itself
    "content-length",  # set from the bytes actually relayed
}
ERRORS = {
    "internal_error": (500, "InternalError", "We encountered an internal error. Please try again."),
    "slow_down": (503, "SlowDown", "Please reduce your request rate."),
}


@dataclass
class FaultPlan:
    """The share of requests that get each fault (the rest are relayed untouched)."""

    seed: int = 15
    shares: dict[str, float] = field(
        default_factory=lambda: {
            "internal_error": 0.05,
            "slow_down": 0.05,
            "reset_before": 0.03,
            "reset_after": 0.03,
            "cut_body": 0.04,
        }
    )


def operation(method: str, path: str) -> str:
    """What the S3 request does, for the counts: list, get, put, delete, head."""
    if method == "GET":
        return "list" if "list-type=" in path else "get"
    if method == "POST" and "?delete" in path:
        return "delete"
    return method.lower()


class FaultProxy:
    """A threaded proxy on 127.0.0.1:<free port> forwarding to `upstream` (moto)."""

    def __init__(self, upstream: str, plan: FaultPlan | None = None) -> None:
        self.plan = plan or FaultPlan()
        self.upstream = urlsplit(upstream)
        self.enabled = False  # the test turns faults on for the run under test only
        self.counts: Counter[str] = Counter()
        self._rng = random.Random(self.plan.seed)
        self._lock = threading.Lock()
        handler = type("Handler", (_Relay,), {"proxy": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def faults(self, on: bool) -> None:
        """Turn faults on (counting from zero: the figures are the faulty run's) or off."""
        with self._lock:
            if on:
                self.counts.clear()
            self.enabled = on

    def draw(self, method: str, path: str) -> str | None:
        """The fault for this request, if any; counts every request relayed."""
        with self._lock:
            self.counts["requests"] += 1
            if not self.enabled or path.startswith("/moto-api"):
                return None
            roll, low = self._rng.random(), 0.0
            for kind in FAULTS:
                share = self.plan.shares.get(kind, 0.0)
                if low <= roll < low + share:
                    return None if kind == "cut_body" and method != "GET" else kind
                low += share
            return None

    def injected(self, kind: str, method: str, path: str) -> None:
        with self._lock:
            self.counts[kind] += 1
            self.counts[f"{kind} {operation(method, path)}"] += 1

    def report(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counts)


class _Relay(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects
    timeout = 30  # an idle kept-alive connection's thread ends
    proxy: ClassVar[FaultProxy]

    def log_message(self, format: str, *args: object) -> None:
        pass  # one line per request would bury the test's output

    def do_GET(self) -> None:
        self._relay()

    do_PUT = do_POST = do_DELETE = do_HEAD = do_GET

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0], 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _relay(self) -> None:
        body = self._body()  # read whole first: a reset must not race the client's send
        fault = self.proxy.draw(self.command, self.path)
        if fault is not None and fault in ERRORS:
            self.proxy.injected(fault, self.command, self.path)
            return self._error(*ERRORS[fault])
        if fault == "reset_before":
            self.proxy.injected(fault, self.command, self.path)
            return self._reset()
        status, reason, headers, data = self._forward(body)
        if fault == "reset_after":
            self.proxy.injected(fault, self.command, self.path)
            return self._reset()
        cut = fault == "cut_body" and len(data) >= 2
        if cut:
            self.proxy.injected("cut_body", self.command, self.path)
        self.send_response_only(status, reason)
        for name, value in headers:
            if name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        if self.command == "HEAD":
            length = dict((k.lower(), v) for k, v in headers).get("content-length", "0")
            self.send_header("Content-Length", length)
        else:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data[: len(data) // 2] if cut else data)
        if cut:
            self._reset()

    def _forward(self, body: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
        upstream = self.proxy.upstream
        conn = http.client.HTTPConnection(upstream.hostname or "", upstream.port, timeout=60)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            if body or self.command in ("PUT", "POST"):
                headers["Content-Length"] = str(len(body))
            conn.request(self.command, self.path, body=body or None, headers=headers)
            response = conn.getresponse()
            data = response.read()
            return response.status, response.reason, response.getheaders(), data
        finally:
            conn.close()

    def _error(self, status: int, code: str, message: str) -> None:
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{message}</Message>"
            "<RequestId>FAULTPROXY</RequestId></Error>"
        ).encode()
        self.send_response_only(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _reset(self) -> None:
        """Close with SO_LINGER 0: the peer gets an RST, not a clean end of stream."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

"""Heartbeats for long single calls (a big read, a big copy) inside a sync activity."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from temporalio import activity

INTERVAL_SECONDS = 1.0


@contextmanager
def keep_alive(*details: Any) -> Iterator[None]:
    """Heartbeat every second from a helper thread while the block runs, so a slow but
    healthy step is not mistaken for a dead worker (the heartbeat timeout is seconds).
    `details` are repeated, so the step's resume point survives the block."""
    if not activity.in_activity():
        yield
        return
    context = contextvars.copy_context()  # the activity's context, for the helper thread
    done = threading.Event()

    def beat() -> None:
        while not done.wait(INTERVAL_SECONDS):
            context.run(activity.heartbeat, *details)

    thread = threading.Thread(target=beat, name="heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()

"""Mart: apply the committed batches to the DuckDB star schema (local tables only)."""

from __future__ import annotations

import io
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import suppress

import duckdb
import polars as pl
from temporalio import activity
from temporalio.common import WorkflowIDConflictPolicy

from first_temporal.activities.errors import terminal
from first_temporal.jobs import MartSummary, PipelineRef, RewindJob
from first_temporal.mart import MartResult, apply_pending, mart_path, rebuild
from first_temporal.mart.db import refused_write

# The mart is background work. Every apply of a worker process runs on one thread at low
# CPU priority (the DuckDB threads it starts inherit it), so batches sharing the worker go
# first: without it, a million-row day's mart slowed that run's last steps by a third of
# a second. (DuckDB's std::bad_cast came from Python objects registered with it while other
# threads ran batches: the apply now stages its chunks as files, see mart/stage.Stage.)
MART_NICENESS = 10
HEARTBEAT_EVERY = 1.0


def _lower_priority() -> None:
    if sys.platform == "linux":  # per-thread niceness; elsewhere it would be the process's
        with suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), MART_NICENESS)


_MART_THREAD = ThreadPoolExecutor(1, thread_name_prefix="mart", initializer=_lower_priority)
_shared_pools_started = threading.Event()


def _start_shared_pools() -> None:
    """Threads inherit their creator's niceness: start polars' lazily created pools (CPU
    and async I/O) from a normal thread, so only the mart's own DuckDB threads are slow."""
    if not _shared_pools_started.is_set():
        pl.thread_pool_size()
        pl.read_csv(io.BytesIO(b"a\n1\n"))
        _shared_pools_started.set()


def _on_mart_thread(apply: Callable[[str], MartResult], location: str) -> MartResult:
    """Run a mart writer on the mart's thread, heartbeating while it runs."""
    _start_shared_pools()
    applying = _MART_THREAD.submit(apply, location)
    # A mart out of step, or a data dir that is gone, is a BadInput: no retry can help.
    with terminal():
        while True:
            try:
                return applying.result(timeout=HEARTBEAT_EVERY)
            except FutureTimeout:
                activity.heartbeat()
            except duckdb.IOException as exc:  # a full disk: one line, as for the tables
                if (refused := refused_write(exc, mart_path(location))) is not None:
                    raise refused from exc
                raise


MART_WORKFLOW = "EtlMartWorkflow"  # named, not imported: workflows import activities


class MartActivities:
    def __init__(self, check_location: Callable[[str], None] = lambda _: None) -> None:
        self.check_location = check_location  # the worker's roots (activities/roots.py)

    @activity.defn(name="update_mart")
    def update_mart(self, job: PipelineRef) -> MartSummary:
        """Exactly once: the mart records the byte offsets it applied, in the same
        transaction. A cancelled attempt lets a running apply finish (it commits whole or
        not at all); the retry queues behind it and finds the work done."""
        location = job.pipeline.location
        self.check_location(location)
        if location.startswith("s3://"):
            return MartSummary(applied=False, to_batch=0, new_rows=0)  # Glue/Athena instead
        result = _on_mart_thread(apply_pending, location)
        return MartSummary(
            applied=True, to_batch=result.to_batch, new_rows=sum(result.new_rows.values())
        )

    @activity.defn(name="follow_rewind")
    def follow_rewind(self, job: RewindJob) -> MartSummary:
        """After a rewind the mart holds rows of batches that are gone, and a delivery's
        status does not say which batch set it: rebuilt from the rewound tables."""
        location = job.pipeline.location
        self.check_location(location)
        if location.startswith("s3://") or not mart_path(location).is_file():
            return MartSummary(applied=False, to_batch=job.batch, new_rows=0)
        result = _on_mart_thread(rebuild, location)
        return MartSummary(
            applied=True, to_batch=result.to_batch, new_rows=sum(result.new_rows.values())
        )

    @activity.defn(name="refresh_mart")
    async def refresh_mart(self, job: PipelineRef) -> None:
        """Ask the pipeline's mart workflow to catch up (signal-with-start, coalescing).

        The mart trails the tables by one refresh: a batch is done when its tables and
        checkpoint are committed, and a slow mart never holds the next batch back.
        """
        await activity.client().start_workflow(
            MART_WORKFLOW,
            job,
            id=job.pipeline.mart_workflow_id,
            task_queue=activity.info().task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            start_signal="refresh",
        )

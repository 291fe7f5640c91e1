"""The worker process: hosts every activity and workflow of every pipeline."""

from __future__ import annotations

from first_temporal import allocator  # first: before anything loads polars

# isort: split
import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from first_temporal import environment, logging_setup
from first_temporal.activities import all_activities
from first_temporal.activities.roots import Roots, default_roots
from first_temporal.client import UserError, connect
from first_temporal.config import open_storage, task_queue
from first_temporal.metrics import EtlMetrics, prometheus_runtime
from first_temporal.upkeep import EtlMartWorkflow, EtlRewindWorkflow
from first_temporal.workflow import EtlBatchWorkflow, EtlRunWorkflow

log = logging.getLogger("first_temporal.worker")

Extras = tuple[Sequence[type], Sequence[Callable[..., Any]]]
WORKFLOWS = [EtlBatchWorkflow, EtlRunWorkflow, EtlMartWorkflow, EtlRewindWorkflow]
GRACE = timedelta(seconds=10)
# Activity threads (--activity-threads, ETL_ACTIVITY_THREADS; default 24, see environment):
# a pipeline served at once can hold two task-queue slots, one batch step and one
# update_mart waiting its turn for the worker's single mart thread; with too few, batch
# steps queue behind the waiting mart updates (README, "Load: many pipelines at once").
# Of those, kept for local activities:
LOCAL_ACTIVITY_THREADS = 3


def build_worker(
    client: Client,
    queue: str,
    executor: ThreadPoolExecutor,
    extras: Extras = ((), ()),
    roots: Sequence[str] | None = None,
    cleanup: Executor | None = None,
) -> Worker:
    """Local activities run on the same threads: a few of them are kept for those, so a
    checkpoint read never queues behind a worker full of parts. `extras` (workflows,
    activities) are hosted too: the benchmark's no-op twin. `cleanup` deletes committed
    batches' staged parts once their load has completed (without it, before)."""
    threads = executor._max_workers
    local = min(LOCAL_ACTIVITY_THREADS, max(1, threads // 4))
    return Worker(
        client,
        task_queue=queue,
        workflows=[*WORKFLOWS, *extras[0]],
        activities=[
            *all_activities(
                open_storage, Roots(default_roots() if roots is None else roots), cleanup
            ),
            *extras[1],
        ],
        activity_executor=executor,
        max_concurrent_activities=threads - local,
        max_concurrent_local_activities=local,
        graceful_shutdown_timeout=GRACE,
        interceptors=[EtlMetrics()],
        # After a crash, the next worker picks up cached workflows quickly.
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=3),
    )


async def run(args: argparse.Namespace, extras: Extras = ((), ())) -> int:
    runtime = None
    if args.metrics_port is not None:
        try:
            runtime = prometheus_runtime(args.metrics_port)
        except ValueError as exc:  # e.g. the port is taken
            raise UserError(f"cannot serve metrics on port {args.metrics_port}: {exc}") from None
    client = await connect(runtime)
    queue = args.task_queue or task_queue()
    with (
        # Outermost, so it closes after the activity threads: a stopping worker finishes
        # every delete its steps asked for.
        ThreadPoolExecutor(1, thread_name_prefix="cleanup") as cleanup,
        ThreadPoolExecutor(args.activity_threads, thread_name_prefix="activity") as executor,
    ):
        roots = [*default_roots(), *args.data_root]
        worker = build_worker(client, queue, executor, extras, roots, cleanup)
        log.info("data roots: %s", ", ".join(roots))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_signal() -> None:
            if stop.is_set():
                log.warning("second signal: exiting now")
                os._exit(1)
            log.info("shutting down: finishing in-flight activities (up to %ss)", GRACE.seconds)
            stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal)
        log.info(
            "worker polling task queue %r on %s, namespace %r",
            queue,
            client.service_client.config.target_host,
            client.namespace,
        )
        if args.metrics_port is not None:
            log.info("metrics at http://127.0.0.1:%d/metrics", args.metrics_port)
        async with worker:
            await stop.wait()
    log.info("worker stopped")
    return 0


def main(argv: list[str] | None = None, extras: Extras = ((), ())) -> int:
    environment.check()
    parser = argparse.ArgumentParser(description="Run a first_temporal worker.")
    parser.add_argument(
        "--task-queue", help="task queue (default: $ETL_TASK_QUEUE or first-temporal)"
    )
    parser.add_argument(
        "--log-level",
        default=environment.text("ETL_LOG_LEVEL"),
        help="DEBUG, INFO, WARNING or ERROR (default: $ETL_LOG_LEVEL or INFO)",
    )
    parser.add_argument(
        "--data-root",
        action="append",
        default=[],
        metavar="DIR",
        help="also serve locations under DIR (repeatable; a directory or s3://bucket/prefix);"
        " always: the working directory, $ETL_DATA_DIR/$ETL_STORAGE and $ETL_DATA_ROOTS",
    )
    parser.add_argument(
        "--activity-threads",
        type=int,
        default=environment.integer("ETL_ACTIVITY_THREADS"),
        metavar="N",
        help="activities run at once, a few kept for local ones (default:"
        " $ETL_ACTIVITY_THREADS or 24; see the README's Load section)",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=environment.integer("ETL_METRICS_PORT"),
        help="serve Prometheus metrics on 127.0.0.1:PORT/metrics (default: $ETL_METRICS_PORT)",
    )
    args = parser.parse_args(argv)
    if args.activity_threads < environment.MIN_ACTIVITY_THREADS:
        parser.error(f"--activity-threads must be at least {environment.MIN_ACTIVITY_THREADS}")
    allocator.tune_glibc()  # before the threads that allocate start
    try:
        logging_setup.configure(args.log_level)
    except ValueError:
        parser.error(f"unknown --log-level {args.log_level!r}")
    try:
        return asyncio.run(run(args, extras))
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code

"""The worker process: hosts every activity and workflow of every pipeline."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from first_temporal.activities.extractor import pull_recent_purchases, read_checkpoint
from first_temporal.activities.loader import load_batch, wait_for_batch
from first_temporal.activities.transformer import (
    define_customers_from_purchases,
    derive_lifecycle_events,
)
from first_temporal.client import UserError, connect
from first_temporal.config import task_queue
from first_temporal.workflow import EtlBatchWorkflow, EtlRunWorkflow

log = logging.getLogger("first_temporal.worker")

ACTIVITIES: list[Callable[..., Any]] = [
    read_checkpoint,
    pull_recent_purchases,
    define_customers_from_purchases,
    derive_lifecycle_events,
    load_batch,
    wait_for_batch,
]
WORKFLOWS = [EtlBatchWorkflow, EtlRunWorkflow]
GRACE = timedelta(seconds=10)


def build_worker(client: Client, queue: str, executor: ThreadPoolExecutor) -> Worker:
    return Worker(
        client,
        task_queue=queue,
        workflows=WORKFLOWS,
        activities=ACTIVITIES,
        activity_executor=executor,
        max_concurrent_activities=executor._max_workers,
        graceful_shutdown_timeout=GRACE,
        # After a crash, the next worker picks up cached workflows quickly.
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=3),
    )


async def run(args: argparse.Namespace) -> int:
    client = await connect()
    queue = args.task_queue or task_queue()
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="activity") as executor:
        worker = build_worker(client, queue, executor)
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
        async with worker:
            await stop.wait()
    log.info("worker stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run a first_temporal worker.")
    parser.add_argument(
        "--task-queue", help="task queue (default: $ETL_TASK_QUEUE or first-temporal)"
    )
    parser.add_argument("--log-level", default=os.environ.get("ETL_LOG_LEVEL", "INFO"))
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return asyncio.run(run(args))
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code

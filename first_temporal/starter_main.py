"""The starter: asks the worker(s) for the next N batches and reports each as it lands.

Exit codes: 0 success; 1 a batch failed (bad input or a bug: the message says which);
2 usage; 3 Temporal unreachable or the connection was lost; 4 no worker polling.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from first_temporal import environment
from first_temporal.client import UserError, connect, require_worker
from first_temporal.config import (
    REWIND_WORKFLOW,
    RUN_WORKFLOW,
    WORKFLOW_TASK_TIMEOUT,
    Pipeline,
    resolve_location,
    resolve_seed,
    task_queue,
)
from first_temporal.domain.rates import Rates
from first_temporal.jobs import RewindJob, Rewound, RunJob, RunResult
from first_temporal.progress import follow
from first_temporal.search_attributes import start_attributes

# The workflow is named, not imported: the starter stays a light client (no pandas-sized
# imports before it can say anything).


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    environment.check()
    parser = argparse.ArgumentParser(description="Run the next batch(es) of the dealership ETL.")
    amount = parser.add_mutually_exclusive_group()
    amount.add_argument("--runs", type=int, help="number of batches to run (default 1)")
    amount.add_argument(
        "--until",
        metavar="YYYY-MM-DD",
        help="run every batch dated on or before this day (none when it is already past)",
    )
    parser.add_argument("--data-dir", help="tables' directory (default: $ETL_DATA_DIR or ./data)")
    parser.add_argument("--seed", type=int, help="source seed (default: $ETL_SEED or 42)")
    parser.add_argument("--purchases", type=int, help="override the day's number of purchases")
    parser.add_argument(
        "--task-queue", help="task queue (default: $ETL_TASK_QUEUE or first-temporal)"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="a run: one JSON object per batch on stdout; --status: one JSON object",
    )
    ops = parser.add_argument_group("operating it").add_mutually_exclusive_group()
    ops.add_argument(
        "--schedule",
        metavar="INTERVAL",
        help="create or update this pipeline's schedule: one batch every INTERVAL (1d, 6h, 30m)",
    )
    ops.add_argument(
        "--rewind-to",
        type=int,
        metavar="N",
        help="put tables, checkpoint, ledger and mart back to right after batch N (0: empty)",
    )
    ops.add_argument("--pause", action="store_true", help="pause the schedule")
    ops.add_argument("--unpause", action="store_true", help="resume the schedule")
    ops.add_argument("--trigger", action="store_true", help="start one scheduled run now")
    ops.add_argument("--delete-schedule", action="store_true", help="delete the schedule")
    ops.add_argument(
        "--status",
        action="store_true",
        help="show the checkpoint, schedule, last batches and what runs now",
    )
    args = parser.parse_args(argv)
    if args.schedule is not None:
        try:
            from first_temporal.schedules import parse_interval

            args.every = parse_interval(args.schedule)
        except ValueError as exc:
            parser.error(str(exc))
    if args.until is not None:
        try:
            date.fromisoformat(args.until)
        except ValueError:
            parser.error(f"--until {args.until!r} is not a date like 2021-03-31")
    elif args.runs is None:
        args.runs = 1
    if args.rewind_to is not None and args.rewind_to < 0:
        parser.error("--rewind-to must be a committed batch number, or 0")
    if args.runs is not None and args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.purchases is not None and args.purchases < 1:
        parser.error("--purchases must be at least 1")
    return args


def pipeline_of(args: argparse.Namespace) -> Pipeline:
    """The pipeline the flags (or ETL_* settings) name."""
    return Pipeline(
        location=resolve_location(args.data_dir), seed=resolve_seed(args.seed), rates=Rates()
    )


def run_summary(args: argparse.Namespace, pipeline: Pipeline) -> str:
    """The one line the Web UI lists the run by."""
    amount = f"batches dated up to {args.until}" if args.until else f"{args.runs} batch(es)"
    volume = f", {args.purchases:,} purchases a day" if args.purchases else ""
    return f"{amount} of {pipeline.pipeline_id}{volume}"


def pipeline_details(pipeline: Pipeline) -> str:
    """Markdown the Web UI shows with it: where the tables are, never what they hold."""
    return f"**tables**: `{pipeline.location}`  \n**seed**: {pipeline.seed}"


def root_message(exc: BaseException) -> str:
    """The innermost cause's message: the one line that says what is wrong."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    text = exc.message if isinstance(exc, ApplicationError) else str(exc)  # no "BadInput: "
    return text.splitlines()[0] if text else type(exc).__name__


def lost_connection(exc: RPCError, run_id: str, started: bool) -> str:
    """What to do when the server went away mid-run: the run is durable and goes on, and
    re-running the starter would not resume it but start more batches after it."""
    lost = f"lost the connection to Temporal ({exc.message})"
    if not started:
        return f"{lost} — the run may not have started: see `starter.py --status` first"
    return (
        f"{lost} — run {run_id} goes on by itself while a worker is up (`starter.py --status`"
        " shows it); re-running the starter would start more batches, not resume it"
    )


async def run(args: argparse.Namespace) -> int:
    pipeline = pipeline_of(args)
    queue = args.task_queue or task_queue()
    client: Client = await connect()
    await require_worker(client, queue)
    started = time.monotonic()
    run_id = f"{pipeline.pipeline_id}-run-{uuid.uuid4().hex[:12]}"
    handle: WorkflowHandle[Any, RunResult] | None = None
    try:
        handle = await client.start_workflow(
            RUN_WORKFLOW,
            RunJob(pipeline, args.runs or 0, args.purchases, until=args.until),
            static_summary=run_summary(args, pipeline),
            static_details=pipeline_details(pipeline),
            result_type=RunResult,
            id=run_id,
            task_queue=queue,
            task_timeout=WORKFLOW_TASK_TIMEOUT,
            search_attributes=await start_attributes(client, pipeline.pipeline_id),
        )
        result = await follow(handle, args.runs, args.json)
        if args.until is not None and result.batches == 0:
            print(
                f"0 batches: the next batch date, {result.next_date}, is after {args.until}",
                file=sys.stderr if args.json else sys.stdout,
                flush=True,
            )
    except WorkflowFailureError as exc:
        raise UserError(f"batch failed: {root_message(exc)}") from None
    except RPCError as exc:
        raise UserError(lost_connection(exc, run_id, handle is not None), exit_code=3) from None
    print(
        f"done: {result.batches} batch(es) in {time.monotonic() - started:.1f}s; tables in"
        f" {pipeline.location}",
        file=sys.stderr if args.json else sys.stdout,  # stdout holds only the JSON lines
        flush=True,
    )
    return 0


async def rewind(args: argparse.Namespace) -> int:
    """A durable rewind: the workflow finishes it even if this process or a worker dies."""
    pipeline = pipeline_of(args)
    queue = args.task_queue or task_queue()
    client: Client = await connect()
    await require_worker(client, queue)
    started = time.monotonic()
    try:
        rewound: Rewound = await client.execute_workflow(
            REWIND_WORKFLOW,
            RewindJob(pipeline, args.rewind_to),
            result_type=Rewound,
            id=f"{pipeline.pipeline_id}-rewind",
            static_summary=f"rewind {pipeline.pipeline_id} to batch {args.rewind_to}",
            static_details=pipeline_details(pipeline),
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,  # attach to one running
            task_queue=queue,
            task_timeout=WORKFLOW_TASK_TIMEOUT,
        )
    except WorkflowFailureError as exc:
        raise UserError(f"rewind refused: {root_message(exc)}") from None
    at = f"batch {rewound.batch} ({rewound.batch_date})" if rewound.batch else "no batch (empty)"
    print(
        f"rewound to {at}: {rewound.removed} later batch(es) removed from the tables, ledger"
        f" and mart in {time.monotonic() - started:.1f}s; `--runs K` replays them",
        flush=True,
    )
    return 0


async def operate(args: argparse.Namespace) -> int:
    """The schedule and status commands: one short answer each."""
    from first_temporal.schedules import create_or_update, manage
    from first_temporal.status import status_text
    from first_temporal.status_json import status_json

    pipeline = pipeline_of(args)
    queue = args.task_queue or task_queue()
    local = not pipeline.location.startswith("s3://")
    if args.status and local and not Path(pipeline.location).is_dir():
        raise UserError(f"{pipeline.location}: no such data directory", exit_code=2)
    client: Client = await connect()
    try:
        if args.status and args.json:
            print(json.dumps(await status_json(client, pipeline)), flush=True)
            return 0
        if args.status:
            print(await status_text(client, pipeline), flush=True)
            return 0
        if args.schedule is not None:
            line = await create_or_update(client, pipeline, queue, args.every, args.purchases)
        else:
            flags = ("pause", "unpause", "trigger")
            action = next((a for a in flags if getattr(args, a)), "delete")
            line = await manage(client, pipeline, queue, action)
    except RPCError as exc:
        lost = exc.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED)
        raise UserError(f"Temporal: {exc.message}", exit_code=3 if lost else 1) from None
    print(line, flush=True)
    return 0


def operating(args: argparse.Namespace) -> bool:
    flags = ("status", "pause", "unpause", "trigger", "delete_schedule")
    return args.schedule is not None or any(getattr(args, f) for f in flags)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.rewind_to is not None:
            return asyncio.run(rewind(args))
        return asyncio.run(operate(args) if operating(args) else run(args))
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted: the run continues on the worker", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `starter.py --status | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0

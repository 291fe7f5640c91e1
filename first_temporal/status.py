"""`starter.py --status`: the last batches of a pipeline, what runs now, its schedule.

Everything comes from Temporal (visibility, results, queries) plus the checkpoint file,
and every part that cannot be read is reported in place so the rest still prints.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from temporalio.client import (
    Client,
    ScheduleActionStartWorkflow,
    WorkflowExecution,
    WorkflowExecutionStatus,
    WorkflowFailureError,
)
from temporalio.service import RPCError, RPCStatusCode

from first_temporal.config import Pipeline, open_storage
from first_temporal.domain import ledger, schema
from first_temporal.jobs import BatchOutcome, BatchSummary, RunProgress
from first_temporal.schedules import format_interval, schedule_id
from first_temporal.workflow import EtlBatchWorkflow, EtlRunWorkflow

QUERY_TIMEOUT = 3.0
TABLES = (schema.PURCHASE, schema.CUSTOMER, schema.DISPUTE, schema.DELIVERY)
HEADER = (
    f"{'batch':>6}  {'date':<10}  {'purchase':>8} {'customer':>8} {'dispute':>7} {'delivery':>8}"
    f"  {'duration':>8}  result"
)


@dataclass(frozen=True)
class BatchRow:
    number: int
    summaries: list[BatchSummary]  # several for a backfill span
    result: str
    seconds: float | None


def root_message(exc: BaseException) -> str:
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


async def _listed(client: Client, query: str, limit: int) -> list[WorkflowExecution]:
    """Newest run of each workflow id (visibility lists the newest first)."""
    latest: dict[str, WorkflowExecution] = {}
    async for execution in client.list_workflows(query, limit=limit):
        latest.setdefault(execution.id, execution)
    return list(latest.values())


async def _batch_row(client: Client, execution: WorkflowExecution) -> BatchRow:
    number = int(execution.id.split("-batch-")[-1].split("-")[0])  # a span: first batch
    status = execution.status
    seconds = (
        (execution.close_time - execution.start_time).total_seconds()
        if execution.close_time
        else None
    )
    if status == WorkflowExecutionStatus.RUNNING:
        return BatchRow(number, [], "running", None)
    handle = client.get_workflow_handle(
        execution.id, run_id=execution.run_id, result_type=BatchOutcome
    )
    try:
        outcome = await handle.result(follow_runs=False)
    except WorkflowFailureError as exc:
        return BatchRow(number, [], f"failed: {root_message(exc)}", seconds)
    except Exception as exc:  # terminated, timed out, cancelled, unreadable
        name = status.name.lower().replace("_", " ") if status else type(exc).__name__
        return BatchRow(number, [], name, seconds)
    days = outcome.summaries
    if not outcome.committed or not days:
        return BatchRow(number, [], "no-op (another run committed it)", seconds)
    result = "committed" if len(days) == 1 else f"committed {len(days)} days"
    return BatchRow(number, days, result, seconds)


def format_row(row: BatchRow) -> str:
    days = row.summaries
    counts: list[object] = ["-"] * len(TABLES)
    if days:
        counts = [
            sum(s.purchases for s in days),
            sum(s.new_customers for s in days),
            sum(s.disputes for s in days),
            sum(s.deliveries for s in days),
        ]
    duration = f"{row.seconds:.2f}s" if row.seconds is not None else "-"
    when = days[0].batch_date if days else "-"
    return (
        f"{row.number:>6}  {when:<10}  {counts[0]:>8} {counts[1]:>8}"
        f" {counts[2]:>7} {counts[3]:>8}  {duration:>8}  {row.result}"
    )


async def batches(client: Client, pipeline: Pipeline, limit: int) -> list[BatchRow]:
    query = f'WorkflowId STARTS_WITH "{pipeline.pipeline_id}-batch-"'
    executions = await _listed(client, query, limit * 3)
    executions.sort(key=lambda e: e.id, reverse=True)
    rows = await asyncio.gather(*(_batch_row(client, e) for e in executions[:limit]))
    return sorted(rows, key=lambda r: r.number)


async def _ask(coro: object) -> object:
    try:
        return await asyncio.wait_for(coro, QUERY_TIMEOUT)  # type: ignore[arg-type]
    except (RPCError, TimeoutError) as exc:
        return f"no answer ({root_message(exc) if isinstance(exc, RPCError) else 'timed out'})"


async def running(client: Client, pipeline: Pipeline) -> list[str]:
    """One line per running run or batch workflow, with what its query says."""
    query = f'WorkflowId STARTS_WITH "{pipeline.pipeline_id}-" AND ExecutionStatus = "Running"'
    lines = []
    for execution in sorted(await _listed(client, query, 100), key=lambda e: e.id):
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        if execution.workflow_type == EtlRunWorkflow.__name__:
            answer = await _ask(handle.query(EtlRunWorkflow.progress, 1 << 30))
            what = (
                f"run: {answer.done}/{answer.total} done, {answer.stage}"
                if isinstance(answer, RunProgress)
                else f"run: {answer}"
            )
        elif execution.workflow_type == EtlBatchWorkflow.__name__:
            answer = await _ask(handle.query(EtlBatchWorkflow.stage))
            what = f"batch: stage {answer}"
        else:
            what = execution.workflow_type
        lines.append(f"  {execution.id}  {what}  (since {execution.start_time:%H:%M:%S})")
    return lines


async def schedule_line(client: Client, pipeline: Pipeline) -> str:
    handle = client.get_schedule_handle(schedule_id(pipeline))
    try:
        described = await handle.describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return "schedule:   none (create one with --schedule 1d)"
        return f"schedule:   unreadable ({exc.message})"
    spec, state = described.schedule.spec, described.schedule.state
    every = ", ".join(format_interval(i.every) for i in spec.intervals) or "custom spec"
    upcoming = described.info.next_action_times
    when = (
        "paused"
        if state.paused
        else f"next {upcoming[0]:%Y-%m-%d %H:%M:%S %Z}"
        if upcoming
        else "no next run"
    )
    skipped = described.info.num_actions_skipped_overlap
    if skipped:  # the overlap policy is SKIP: a run still going when the next was due
        when += f"; {skipped} run(s) skipped because the previous one was still running"
    action = described.schedule.action
    queue = ""
    if isinstance(action, ScheduleActionStartWorkflow):
        queue = f", queue {action.task_queue}"
    return f"schedule:   {handle.id} every {every}, {when}{queue}"


def checkpoint_line(pipeline: Pipeline) -> str:
    try:
        cp = open_storage(pipeline.location).read_checkpoint(pipeline.seed)
    except Exception as exc:  # reported, not raised: the rest of the status still helps
        return f"checkpoint: unreadable: {root_message(exc)}"
    if cp.batch_number == 0:
        return "checkpoint: no batch committed yet"
    rows = " ".join(f"{t}={cp.rows[t]}" for t in TABLES)
    return f"checkpoint: batch {cp.batch_number}, date {cp.previous_date}, rows {rows}"


def ledger_lines(pipeline: Pipeline, count: int = 5) -> list[str]:
    """The ledger's last rows, and whether the last one chains to the one before and
    matches the checkpoint (a cheap check; verify proves the whole history)."""
    try:
        storage = open_storage(pipeline.location)
        cp = storage.read_checkpoint(pipeline.seed)
        lines, before = storage.ledger_tail(cp, count)
    except Exception as exc:
        return [f"ledger:     unreadable: {root_message(exc)}"]
    if not lines:
        return ["ledger:     no rows yet (it starts with the next committed batch)"]
    rows = [ledger.parse(line, 0) for line in lines]
    last = rows[-1]
    chained = ledger.broken_link(lines, before) is None
    matches = last.checkpoint(cp.seed, cp.window_offset) == cp
    verdict = (
        "ok"
        if chained and matches
        else (
            "BROKEN: "
            + (
                "a row does not chain to the one before"
                if not chained
                else "the last row is not the checkpoint's batch"
            )
        )
    )
    out = [
        f"ledger:     last {len(rows)} row(s) to batch {last.batch_number}: {verdict}"
        " (python -m first_temporal.verify proves every batch)",
        f"  {'batch':>6}  {'date':<10}  {'purchases':>9} {'customers':>9} {'disputes':>8}"
        f" {'deliveries':>10}  purchase.csv sha256",
    ]
    for row in rows[-count:]:
        t = row.tables
        out.append(
            f"  {row.batch_number:>6}  {row.batch_date:<10}  {t[schema.PURCHASE].rows:>9}"
            f" {t[schema.CUSTOMER].rows:>9} {t[schema.DISPUTE].rows:>8}"
            f" {t[schema.DELIVERY].rows:>10}  {t[schema.PURCHASE].sha256[:16]}"
        )
    return out


async def status_text(client: Client, pipeline: Pipeline, limit: int = 10) -> str:
    checkpoint, ledger_part, schedule, rows, now = await asyncio.gather(
        asyncio.to_thread(checkpoint_line, pipeline),
        asyncio.to_thread(ledger_lines, pipeline),
        schedule_line(client, pipeline),
        batches(client, pipeline, limit),
        running(client, pipeline),
    )
    lines = [
        f"pipeline:   {pipeline.pipeline_id}  ({pipeline.location}, seed {pipeline.seed})",
        checkpoint,
        schedule,
        *ledger_part,
        "",
    ]
    if rows:
        lines += [f"last {len(rows)} batch workflow(s):", HEADER, *map(format_row, rows)]
    else:
        lines.append("no batch workflows on this server yet")
    lines += ["", "running now:", *(now or ["  nothing"])]
    return "\n".join(lines)

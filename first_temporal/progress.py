"""What the starter shows while a run goes on: a line per committed batch (or a JSON
object each, with --json), or a progress bar for long runs, from the run's progress query."""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import asdict
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.service import RPCError

from first_temporal.jobs import BatchSummary, RunProgress, RunResult

POLL_SECONDS = 0.25
QUERY_TIMEOUT = 3.0
LINES_UP_TO = 100  # longer runs show a progress bar instead of a line per batch


def summary_line(s: BatchSummary) -> str:
    return (
        f"batch {s.batch_number:>5}  {s.batch_date}  purchases={s.purchases}"
        f" new_customers={s.new_customers} repeat={s.repeat_purchases}"
        f" disputes={s.disputes} deliveries={s.deliveries}"
        f"  {f'{s.elapsed_seconds:.2f}s' if s.elapsed_seconds else '(backfill span)'}"
    )


def progress_bar(done: int, total: int, stage: str, width: int = 30) -> str:
    filled = width * done // max(total, 1)
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} batches  {stage}"


def as_json(summary: BatchSummary) -> str:
    """`run --json`: one object per batch, the BatchSummary's fields (README)."""
    return json.dumps(asdict(summary))


async def follow(
    handle: WorkflowHandle[Any, RunResult], known: int | None, json_lines: bool = False
) -> RunResult:
    """Report each batch as it commits (from the run's progress query) until the run ends:
    a line per batch, or for long runs a progress bar. The result carries the last lines.
    With --until the run counts its batches first: the total comes with its progress.
    With `json_lines` every batch is a JSON object, however long the run."""
    printed = 0
    shown = -1
    total = known or 0
    show = as_json if json_lines else summary_line
    lines = json_lines or total <= LINES_UP_TO
    tty = sys.stderr.isatty()

    def bar(done: int, stage: str) -> None:
        nonlocal shown
        if done != shown and (tty or done * 10 // total != shown * 10 // total):
            shown = done
            text = progress_bar(done, total, stage)
            end = "" if tty else "\n"
            print(f"\r{text}" if tty else text, end=end, file=sys.stderr, flush=True)

    result_task = asyncio.ensure_future(handle.result())
    # A one-batch run's one line comes with its result: no query to ask for it sooner.
    poll = None if total == 1 and lines else POLL_SECONDS
    while True:
        finished, _ = await asyncio.wait({result_task}, timeout=poll)
        if finished:
            result = result_task.result()
            if not total:
                total, lines = result.batches, json_lines or result.batches <= LINES_UP_TO
            if not lines:
                bar(result.batches, "done")
                if tty:
                    print(file=sys.stderr)
                return result
            first = result.batches - len(result.recent)
            if first <= printed:  # the result holds every line not printed yet
                for summary in result.recent[printed - first :]:
                    print(show(summary), flush=True)
                return result
        try:
            progress: RunProgress = await asyncio.wait_for(
                handle.query("progress", printed, result_type=RunProgress), QUERY_TIMEOUT
            )
        except (RPCError, TimeoutError):  # no worker right now (restarting): keep waiting
            progress = RunProgress(done=printed, total=total, stage="")
        if not total:
            if not progress.total:  # still counting
                continue
            total, lines = progress.total, json_lines or progress.total <= LINES_UP_TO
        if lines:
            for summary in progress.summaries:
                print(show(summary), flush=True)
            printed = max(printed, progress.first_index + len(progress.summaries))
        else:
            bar(progress.done, progress.stage)
        if finished:
            return result_task.result()

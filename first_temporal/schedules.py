"""Run a pipeline on a Temporal Schedule: `starter.py --schedule 1d` and friends.

One schedule per pipeline, id `<pipeline_id>-schedule`. Each action starts the run
workflow for one batch; SKIP means a slow batch delays the next instead of piling up.
Workflow ids of scheduled runs are `<pipeline_id>-run-scheduled-<time>` (Temporal appends
the time), so `--status` finds them with the starter's runs.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleHandle,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from first_temporal.client import UserError, require_worker
from first_temporal.config import WORKFLOW_TASK_TIMEOUT, Pipeline
from first_temporal.jobs import RunJob
from first_temporal.search_attributes import start_attributes
from first_temporal.workflow import EtlRunWorkflow

UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
INTERVAL = re.compile(r"(\d+)([dhms])")
MIN_CATCHUP = timedelta(seconds=10)  # the server's lower bound


def parse_interval(text: str) -> timedelta:
    """`1d`, `6h`, `30m`, `90s` or combinations such as `1h30m`."""
    parts = INTERVAL.findall(text.strip().lower())
    if not parts or "".join(n + u for n, u in parts) != text.strip().lower():
        raise ValueError(f"interval {text!r} is not like 1d, 6h, 30m, 90s or 1h30m")
    seconds = sum(int(n) * UNITS[u] for n, u in parts)
    if seconds < 1:
        raise ValueError(f"interval {text!r} must be at least 1s")
    return timedelta(seconds=seconds)


def format_interval(every: timedelta) -> str:
    rest, out = int(every.total_seconds()), ""
    for unit, size in UNITS.items():
        if rest >= size:
            out += f"{rest // size}{unit}"
            rest %= size
    return out or "0s"


def schedule_id(pipeline: Pipeline) -> str:
    return f"{pipeline.pipeline_id}-schedule"


async def build_schedule(
    client: Client, pipeline: Pipeline, queue: str, every: timedelta, purchases: int | None
) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            EtlRunWorkflow.run,
            RunJob(pipeline, 1, purchases),
            id=f"{pipeline.pipeline_id}-run-scheduled",
            task_queue=queue,
            task_timeout=WORKFLOW_TASK_TIMEOUT,
            typed_search_attributes=await start_attributes(client, pipeline.pipeline_id),
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(
            overlap=ScheduleOverlapPolicy.SKIP, catchup_window=max(every, MIN_CATCHUP)
        ),
    )


async def create_or_update(
    client: Client, pipeline: Pipeline, queue: str, every: timedelta, purchases: int | None
) -> str:
    """Create the schedule, or replace its action and interval keeping its paused state."""
    sid = schedule_id(pipeline)
    schedule = await build_schedule(client, pipeline, queue, every, purchases)
    try:
        handle = await client.create_schedule(sid, schedule)
        verb = "created"
    except ScheduleAlreadyRunningError:
        handle = client.get_schedule_handle(sid)

        def updater(current: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(replace(schedule, state=current.description.schedule.state))

        await handle.update(updater)
        verb = "updated"
    described = await handle.describe()
    upcoming = described.info.next_action_times
    paused = " (paused)" if described.schedule.state.paused else ""
    nxt = f", next run {upcoming[0]:%Y-%m-%d %H:%M:%S %Z}" if upcoming and not paused else ""
    return f"schedule {sid} {verb}: one batch every {format_interval(every)}{nxt}{paused}"


async def _existing(client: Client, pipeline: Pipeline) -> tuple[ScheduleHandle, str | None]:
    """The schedule's handle and the task queue its runs go to."""
    handle = client.get_schedule_handle(schedule_id(pipeline))
    try:
        described = await handle.describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise UserError(
                f"no schedule {handle.id} for {pipeline.location} — create it with"
                " `python starter.py --schedule 1d`"
            ) from None
        raise
    action = described.schedule.action
    return handle, action.task_queue if isinstance(action, ScheduleActionStartWorkflow) else None


async def manage(client: Client, pipeline: Pipeline, queue: str, action: str) -> str:
    """pause | unpause | trigger | delete an existing schedule; returns what was done."""
    handle, scheduled_queue = await _existing(client, pipeline)
    if action == "pause":
        await handle.pause(note="paused with starter.py --pause")
        return f"schedule {handle.id} paused: no batches start until --unpause"
    if action == "unpause":
        await handle.unpause(note="unpaused with starter.py --unpause")
        return f"schedule {handle.id} unpaused"
    if action == "trigger":
        await require_worker(client, scheduled_queue or queue)
        await handle.trigger()
        return f"schedule {handle.id} triggered: one batch starts now (see --status)"
    if action == "delete":
        await handle.delete()
        return f"schedule {handle.id} deleted (running batches finish; tables are kept)"
    raise ValueError(action)

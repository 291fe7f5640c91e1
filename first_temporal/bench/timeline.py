"""Where a batch's time goes, read back from the workflow histories of a load run.

Every batch workflow's history holds when each task was scheduled, started and finished:
the gaps between them are time spent waiting in the task queue (no free worker slot, or
the server's dispatch), the spans are time spent running on a worker.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client

E = EventType


@dataclass
class Timeline:
    batches: int = 0
    total: float = 0.0  # seconds, summed over batches: first event to last
    parts: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def add(self, events: list[HistoryEvent]) -> None:
        def at(event: HistoryEvent) -> float:
            return event.event_time.ToNanoseconds() / 1e9

        self.batches += 1
        self.total += at(events[-1]) - at(events[0])
        scheduled: dict[int, HistoryEvent] = {}
        started: dict[int, HistoryEvent] = {}
        for event in events:
            kind = event.event_type
            if kind in (E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED):
                scheduled[event.event_id] = event
            elif kind == E.EVENT_TYPE_WORKFLOW_TASK_STARTED:
                began = scheduled[event.workflow_task_started_event_attributes.scheduled_event_id]
                self.parts["workflow task: waiting in queue"] += at(event) - at(began)
                started[event.event_id] = event
            elif kind == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                began = started[event.workflow_task_completed_event_attributes.started_event_id]
                # Local activities (checkpoint read, mart signal) run inside these.
                self.parts["workflow task: running (incl. local activities)"] += at(event) - at(
                    began
                )
            elif kind == E.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                attrs = event.activity_task_started_event_attributes
                began = scheduled[attrs.scheduled_event_id]
                name = began.activity_task_scheduled_event_attributes.activity_type.name
                self.parts[f"{name}: waiting in queue"] += at(event) - at(began)
                started[event.event_id] = event
            elif kind == E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                attrs_c = event.activity_task_completed_event_attributes
                began = started[attrs_c.started_event_id]
                first = scheduled[attrs_c.scheduled_event_id]
                name = first.activity_task_scheduled_event_attributes.activity_type.name
                self.parts[f"{name}: running"] += at(event) - at(began)

    def mean_ms(self) -> float:
        return 1000 * self.total / max(self.batches, 1)

    def lines(self) -> list[tuple[str, str]]:
        """(what, mean ms per batch and share of the batch's time), largest first."""
        n, total = max(self.batches, 1), max(self.total, 1e-9)
        rows = sorted(self.parts.items(), key=lambda kv: -kv[1])
        known = sum(self.parts.values())
        rows.append(("between tasks (history writes, dispatch)", self.total - known))
        return [
            (what, f"{1000 * spent / n:6.0f} ms {100 * spent / total:4.0f}%")
            for what, spent in rows
        ]


async def batch_timeline(client: Client, workflow_ids: list[str], parallel: int = 16) -> Timeline:
    """The summed timeline of these (finished) batch workflows."""
    timeline = Timeline()
    gate = asyncio.Semaphore(parallel)

    async def one(workflow_id: str) -> list[HistoryEvent]:
        async with gate:
            history = await client.get_workflow_handle(workflow_id).fetch_history()
            return list(history.events)

    for events in await asyncio.gather(*(one(w) for w in workflow_ids)):
        timeline.add(events)
    return timeline

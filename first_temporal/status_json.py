"""`starter.py --status --json` (`first-temporal status --json`): the status as one JSON
object, the same parts as the text, with the stable names the README lists."""

from __future__ import annotations

import asyncio

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from first_temporal.config import Pipeline, open_storage
from first_temporal.domain import ledger
from first_temporal.schedules import schedule_id
from first_temporal.status import _listed, batches, root_message


async def status_json(client: Client, pipeline: Pipeline, limit: int = 10) -> dict[str, object]:
    """`--status --json`: the same parts as the text, stable names (README)."""

    def local_parts() -> dict[str, object]:
        try:
            storage = open_storage(pipeline.location)
            cp = storage.read_checkpoint(pipeline.seed)
            lines, before = storage.ledger_tail(cp, 5)
        except Exception as exc:
            return {"checkpoint": {"error": root_message(exc)}, "ledger": None}
        rows = [ledger.parse(line, 0) for line in lines]
        chained = ledger.broken_link(lines, before) is None
        matches = bool(rows) and rows[-1].checkpoint(cp.seed, cp.window_offset) == cp
        return {
            "checkpoint": {
                "batch_number": cp.batch_number,
                "previous_date": cp.previous_date or None,
                "rows": cp.rows,
            },
            "ledger": {
                "ok": chained and matches,
                "rows": [
                    {
                        "batch_number": r.batch_number,
                        "batch_date": r.batch_date,
                        "rows": {t: a.rows for t, a in r.tables.items()},
                        "sha256": {t: a.sha256 for t, a in r.tables.items()},
                    }
                    for r in rows
                ],
            },
        }

    async def schedule_part() -> dict[str, object] | None:
        handle = client.get_schedule_handle(schedule_id(pipeline))
        try:
            described = await handle.describe()
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return None
            return {"id": handle.id, "error": exc.message}
        upcoming = described.info.next_action_times
        return {
            "id": handle.id,
            "every_seconds": [i.every.total_seconds() for i in described.schedule.spec.intervals],
            "paused": described.schedule.state.paused,
            "next": upcoming[0].isoformat() if upcoming else None,
            "skipped_overlap": described.info.num_actions_skipped_overlap,
        }

    async def running_part() -> list[dict[str, object]]:
        query = f'WorkflowId STARTS_WITH "{pipeline.pipeline_id}-" AND ExecutionStatus = "Running"'
        return [
            {"workflow_id": e.id, "type": e.workflow_type, "since": e.start_time.isoformat()}
            for e in sorted(await _listed(client, query, 100), key=lambda e: e.id)
        ]

    parts, schedule, rows, now = await asyncio.gather(
        asyncio.to_thread(local_parts),
        schedule_part(),
        batches(client, pipeline, limit),
        running_part(),
    )
    return {
        "pipeline": pipeline.pipeline_id,
        "location": pipeline.location,
        "seed": pipeline.seed,
        **parts,
        "schedule": schedule,
        "batches": [
            {
                "batch_number": r.number,
                "batch_date": r.summaries[0].batch_date if r.summaries else None,
                "days": len(r.summaries),
                "purchases": sum(s.purchases for s in r.summaries),
                "seconds": r.seconds,
                "result": r.result,
            }
            for r in rows
        ],
        "running": now,
    }

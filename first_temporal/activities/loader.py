"""Load: append the batch to every table and advance the checkpoint, exactly once."""

from __future__ import annotations

from typing import Any

from temporalio import activity

from first_temporal import schema
from first_temporal.activities.heartbeat import keep_alive
from first_temporal.config import open_storage
from first_temporal.errors import BadInput, StaleBatch, as_application_error
from first_temporal.jobs import BatchSummary, LoadJob, PreAppendJob, WaitJob
from first_temporal.storage.base import BatchPayload, encode_rows
from first_temporal.storage.local import LocalStorage
from first_temporal.validation.batch import check_batch


def batch_payload(job: LoadJob) -> BatchPayload:
    """Inline rows first, then the window's staged events, then a bulk day's chunks."""
    cp = job.checkpoint
    inline: dict[str, list[Any]] = {
        schema.PURCHASE: job.purchases,
        schema.CUSTOMER: job.customers,
        schema.DISPUTE: job.disputes,
        schema.DELIVERY: job.deliveries,
    }
    rows = {t: len(r) + job.events_staged_rows.get(t, 0) for t, r in inline.items()}
    staged = {t: list(job.events_staged.get(t, [])) for t in schema.BATCH_TABLES}
    for chunk in sorted(job.chunks, key=lambda c: c.chunk_index):
        for table in schema.BATCH_TABLES:
            rows[table] += chunk.rows.get(table, 0)
            staged[table] += chunk.staged.get(table, [])
    return BatchPayload(
        batch_number=cp.batch_number + 1,
        batch_date=job.batch_date,
        last_customer_id=cp.last_customer_id + rows[schema.CUSTOMER],
        last_transaction_id=cp.last_transaction_id + rows[schema.PURCHASE],
        window_offset=job.window_offset,
        data={t: encode_rows(r) for t, r in inline.items()},
        rows=rows,
        staged=staged,
        preappended=dict(job.preappended),
    )


@activity.defn
def load_batch(job: LoadJob) -> BatchSummary:
    """Data first, checkpoint last; a retry after the checkpoint moved is a no-op."""
    storage = open_storage(job.pipeline.location)
    try:
        check_batch(job)
        payload = batch_payload(job)
        with keep_alive():  # a bulk day copies hundreds of MB before its fsync
            _, wrote = storage.commit(job.checkpoint, payload)
    except (BadInput, StaleBatch) as exc:
        raise as_application_error(exc) from None
    storage.drop_staged(payload.batch_number)
    activity.logger.info(
        "batch %d (%s) %s",
        payload.batch_number,
        job.batch_date,
        "committed" if wrote else "was already committed (a retry)",
    )
    return BatchSummary(
        batch_number=payload.batch_number,
        batch_date=job.batch_date,
        purchases=payload.rows[schema.PURCHASE],
        new_customers=payload.rows[schema.CUSTOMER],
        repeat_purchases=payload.rows[schema.PURCHASE] - payload.rows[schema.CUSTOMER],
        disputes=payload.rows[schema.DISPUTE],
        deliveries=payload.rows[schema.DELIVERY],
        committed=True,
    )


@activity.defn
def pre_append_chunk(job: PreAppendJob) -> dict[str, int]:
    """A bulk day's head start: append this chunk's purchases and customers now, while
    the next chunks are generated. Returns the new heads; {} stops pre-appending."""
    storage = open_storage(job.pipeline.location)
    if not isinstance(storage, LocalStorage) or not job.heads:
        return {}
    heads: dict[str, int] = {}
    try:
        with keep_alive():
            for table in (schema.PURCHASE, schema.CUSTOMER):
                end = storage.pre_append(
                    job.checkpoint, table, job.chunk.staged.get(table, []), job.heads[table]
                )
                if end < 0:
                    return {}
                heads[table] = end
    except (BadInput, StaleBatch) as exc:
        raise as_application_error(exc) from None
    return heads


@activity.defn
async def wait_for_batch(job: WaitJob) -> None:
    """Another run is executing this batch: wait for it to end, whatever its outcome."""
    handle = activity.client().get_workflow_handle(job.workflow_id)
    try:
        await handle.result()
    except Exception:  # its failure is that run's to report; we re-read the checkpoint
        activity.logger.info("batch workflow %s ended without success", job.workflow_id)

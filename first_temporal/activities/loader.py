"""Load: append the batch to every table and advance the checkpoint, exactly once."""

from __future__ import annotations

from typing import Any

from temporalio import activity

from first_temporal import schema
from first_temporal.config import open_storage
from first_temporal.errors import BadInput, StaleBatch, as_application_error
from first_temporal.jobs import BatchSummary, LoadJob, WaitJob
from first_temporal.storage.base import BatchPayload, encode_rows
from first_temporal.validation.batch import check_batch


@activity.defn
def load_batch(job: LoadJob) -> BatchSummary:
    """Data first, checkpoint last; a retry after the checkpoint moved is a no-op."""
    cp = job.checkpoint
    tables: dict[str, list[Any]] = {
        schema.PURCHASE: job.purchases,
        schema.CUSTOMER: job.customers,
        schema.DISPUTE: job.disputes,
        schema.DELIVERY: job.deliveries,
    }
    try:
        check_batch(job)
        payload = BatchPayload(
            batch_number=cp.batch_number + 1,
            batch_date=job.batch_date,
            last_customer_id=cp.last_customer_id + len(job.customers),
            last_transaction_id=cp.last_transaction_id + len(job.purchases),
            window_offset=job.window_offset,
            data={t: encode_rows(rows) for t, rows in tables.items()},
            rows={t: len(rows) for t, rows in tables.items()},
        )
        _, wrote = open_storage(job.pipeline.location).commit(cp, payload)
    except (BadInput, StaleBatch) as exc:
        raise as_application_error(exc) from None
    activity.logger.info(
        "batch %d (%s) %s",
        payload.batch_number,
        job.batch_date,
        "committed" if wrote else "was already committed",
    )
    return BatchSummary(
        batch_number=payload.batch_number,
        batch_date=job.batch_date,
        purchases=len(job.purchases),
        new_customers=len(job.customers),
        repeat_purchases=len(job.purchases) - len(job.customers),
        disputes=len(job.disputes),
        deliveries=len(job.deliveries),
        committed=wrote,
    )


@activity.defn
async def wait_for_batch(job: WaitJob) -> None:
    """Another run is executing this batch: wait for it to end, whatever its outcome."""
    handle = activity.client().get_workflow_handle(job.workflow_id)
    try:
        await handle.result()
    except Exception:  # its failure is that run's to report; we re-read the checkpoint
        activity.logger.info("batch workflow %s ended without success", job.workflow_id)

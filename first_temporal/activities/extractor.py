"""Extract: where the pipeline stands, and the day's purchases from the simulated source."""

from __future__ import annotations

from temporalio import activity

from first_temporal.activities.source import generate_purchases, next_batch_date
from first_temporal.checkpoint import Checkpoint
from first_temporal.config import open_storage
from first_temporal.errors import BadInput, as_application_error
from first_temporal.jobs import Extracted, ExtractJob, PipelineRef


@activity.defn
def read_checkpoint(job: PipelineRef) -> Checkpoint:
    """The committed checkpoint, verified against the tables (a few small reads)."""
    try:
        return open_storage(job.pipeline.location).read_checkpoint(job.pipeline.seed)
    except BadInput as exc:
        raise as_application_error(exc) from None


@activity.defn
def pull_recent_purchases(job: ExtractJob) -> Extracted:
    """The end-of-day roll-up of the next business day: a pure function of seed and checkpoint."""
    cp = job.checkpoint
    day = next_batch_date(job.pipeline.seed, cp.previous)
    purchases = generate_purchases(
        job.pipeline.seed,
        day,
        cp.last_customer_id,
        cp.last_transaction_id,
        job.pipeline.rates,
        job.purchases,
    )
    return Extracted(batch_date=day.isoformat(), purchases=purchases)

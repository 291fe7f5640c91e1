"""Run batches without Temporal, through the real activities (for unit tests)."""

from __future__ import annotations

from temporalio.testing import ActivityEnvironment

from first_temporal.activities.extractor import pull_recent_purchases, read_checkpoint
from first_temporal.activities.loader import load_batch
from first_temporal.activities.transformer import (
    define_customers_from_purchases,
    derive_lifecycle_events,
)
from first_temporal.config import Pipeline
from first_temporal.jobs import (
    BatchSummary,
    CustomersJob,
    ExtractJob,
    LifecycleJob,
    LoadJob,
    PipelineRef,
)


def load_job(pipeline: Pipeline, purchases: int | None = None) -> LoadJob:
    """Everything the load step of the next batch receives."""
    act = ActivityEnvironment()
    cp = act.run(read_checkpoint, PipelineRef(pipeline))
    extracted = act.run(pull_recent_purchases, ExtractJob(pipeline, cp, purchases))
    customers = act.run(define_customers_from_purchases, CustomersJob(extracted.purchases))
    events = act.run(
        derive_lifecycle_events,
        LifecycleJob(pipeline, cp, extracted.batch_date, extracted.purchases),
    )
    return LoadJob(
        pipeline=pipeline,
        checkpoint=cp,
        batch_date=extracted.batch_date,
        purchases=extracted.purchases,
        customers=customers,
        disputes=events.disputes,
        deliveries=events.deliveries,
        window_offset=events.window_offset,
    )


def run_batches(pipeline: Pipeline, count: int, purchases: int | None = None) -> list[BatchSummary]:
    act = ActivityEnvironment()
    return [act.run(load_batch, load_job(pipeline, purchases)) for _ in range(count)]

"""Run batches without Temporal, through the real activities (for unit tests)."""

from __future__ import annotations

from temporalio.testing import ActivityEnvironment

from first_temporal import schema
from first_temporal.activities.bulk import chunk_bounds, generate_chunk
from first_temporal.activities.extractor import pull_recent_purchases, read_checkpoint
from first_temporal.activities.loader import load_batch
from first_temporal.activities.source import next_batch_date
from first_temporal.activities.transformer import (
    define_customers_from_purchases,
    derive_lifecycle_events,
)
from first_temporal.checkpoint import Checkpoint
from first_temporal.config import Pipeline
from first_temporal.jobs import (
    BatchJob,
    BatchSummary,
    ChunkJob,
    CustomersJob,
    ExtractJob,
    LifecycleJob,
    LoadJob,
    PipelineRef,
    StagedChunk,
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


def next_bulk_day(pipeline: Pipeline) -> tuple[Checkpoint, str]:
    """The checkpoint a bulk day starts from, and its date."""
    cp = ActivityEnvironment().run(read_checkpoint, PipelineRef(pipeline))
    return cp, next_batch_date(pipeline.seed, cp.previous).isoformat()


def generate_chunks(
    pipeline: Pipeline, cp: Checkpoint, day: str, total: int, chunk_rows: int
) -> list[StagedChunk]:
    """A bulk day's chunks, one after another (the workflow runs them side by side)."""
    return [
        ActivityEnvironment().run(generate_chunk, ChunkJob(pipeline, cp, day, i, low, high))
        for i, (low, high) in enumerate(chunk_bounds(total, chunk_rows))
    ]


def commit_bulk_day(
    pipeline: Pipeline,
    cp: Checkpoint,
    day: str,
    chunks: list[StagedChunk],
    heads: dict[str, int] | None = None,
) -> BatchSummary:
    """The rest of a bulk day: the earlier days' events, then the load (which copies the
    staged parts itself unless `heads` says where the appender left the tables)."""
    from first_temporal.workflow import _load_job

    act = ActivityEnvironment()
    events = act.run(derive_lifecycle_events, LifecycleJob(pipeline, cp, day, []))
    total = sum(c.rows[schema.PURCHASE] for c in chunks)
    job = BatchJob(pipeline, cp, total)
    return act.run(load_batch, _load_job(job, day, events, chunks=chunks, preappended=heads))

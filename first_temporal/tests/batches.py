"""Run batches without a Temporal server, through the real activities, chained the way
EtlBatchWorkflow chains them (for unit tests)."""

from __future__ import annotations

from temporalio.testing import ActivityEnvironment

from first_temporal.activities.extractor import Extractor
from first_temporal.activities.loader import Loader
from first_temporal.activities.staging import OpenStorage
from first_temporal.activities.transformer import Transformer
from first_temporal.config import Pipeline, open_storage
from first_temporal.domain.checkpoint import Checkpoint
from first_temporal.jobs import (
    BatchJob,
    BatchSummary,
    LoadJob,
    PipelineRef,
    Staged,
    TransformJob,
)
from first_temporal.settings import Tuning
from first_temporal.workflow import part_jobs


def read_checkpoint(pipeline: Pipeline, opener: OpenStorage = open_storage) -> Checkpoint:
    return ActivityEnvironment().run(Extractor(opener).read_checkpoint, PipelineRef(pipeline))


def stage_batch(
    pipeline: Pipeline,
    days: int = 1,
    purchases: int | None = None,
    tuning: Tuning | None = None,
    opener: OpenStorage = open_storage,
) -> LoadJob:
    """Extract and transform the next batch, every part; the load step's input."""
    act = ActivityEnvironment()
    extractor, transformer = Extractor(opener), Transformer(opener)
    cp = read_checkpoint(pipeline, opener)
    job = BatchJob(pipeline, cp, days, purchases, tuning or Tuning())
    staged: list[Staged] = []
    for index, part in enumerate(part_jobs(job)):
        extracted = act.run(extractor.extract_purchases, part)
        handed = extracted.open_purchases
        events = act.run(
            transformer.derive_lifecycle_events, TransformJob(part, handed, index == 0)
        )
        staged += [extracted, events]
    return LoadJob(pipeline, cp, staged[0].dates, staged)


def run_batch(
    pipeline: Pipeline,
    days: int = 1,
    purchases: int | None = None,
    tuning: Tuning | None = None,
    opener: OpenStorage = open_storage,
) -> list[BatchSummary]:
    """One batch (a day, a span of `days`, or a bulk day in parts), committed."""
    load = stage_batch(pipeline, days, purchases, tuning, opener)
    return ActivityEnvironment().run(Loader(opener).load_batch, load)


def run_batches(
    pipeline: Pipeline, count: int, purchases: int | None = None, opener: OpenStorage = open_storage
) -> list[BatchSummary]:
    return [run_batch(pipeline, 1, purchases, opener=opener)[0] for _ in range(count)]

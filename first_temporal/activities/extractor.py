"""Extract: where the pipeline stands, and the batch's purchases from the simulated
source, staged with the new customers they bring (both straight from the source)."""

from __future__ import annotations

from collections.abc import Callable

from temporalio import activity

from first_temporal.activities.errors import terminal
from first_temporal.activities.heartbeat import keep_alive
from first_temporal.domain import schema
from first_temporal.domain.batch import BatchSpec, extract, rows_per_day
from first_temporal.domain.checkpoint import Checkpoint
from first_temporal.jobs import PartJob, PipelineRef, Staged
from first_temporal.storage.base import Storage, staged_name, staging_folder

OpenStorage = Callable[[str], Storage]


def spec_of(job: PartJob) -> BatchSpec:
    return BatchSpec(job.pipeline.seed, job.pipeline.rates, job.checkpoint, job.days, job.purchases)


def part_name(job: PartJob, table: str, end: int) -> str:
    """A part is named by its rows, in a folder named by everything its bytes depend on."""
    folder = staging_folder(spec_of(job).identity, job.checkpoint)
    return staged_name(folder, table, f"rows-{job.start:010d}-{end:010d}")


class Extractor:
    def __init__(self, open_storage: OpenStorage) -> None:
        self.open_storage = open_storage

    @activity.defn(name="read_checkpoint")
    def read_checkpoint(self, job: PipelineRef) -> Checkpoint:
        """The committed checkpoint, verified against the tables (a few small reads)."""
        with terminal():
            return self.open_storage(job.pipeline.location).read_checkpoint(job.pipeline.seed)

    @activity.defn(name="extract_purchases")
    def extract_purchases(self, job: PartJob) -> Staged:
        """The end-of-day roll-up of the batch's days: a pure function of seed and checkpoint."""
        storage = self.open_storage(job.pipeline.location)
        spec = spec_of(job)
        with terminal(), keep_alive():
            plan = spec.plan()
            purchases, customers = extract(spec, plan, job.start, job.end)
            end = job.start + purchases.height
            files: dict[str, list[str]] = {}
            for table, frame in ((schema.CUSTOMER, customers), (schema.PURCHASE, purchases)):
                if frame.height:
                    files[table] = [part_name(job, table, end)]
                    storage.stage(files[table][0], table, frame)
        return Staged(
            files=files,
            rows={
                schema.PURCHASE: rows_per_day(plan, purchases["purchase_date"]),
                schema.CUSTOMER: rows_per_day(plan, customers["first_purchase_date"]),
            },
            dates=[d.date.isoformat() for d in plan],
        )

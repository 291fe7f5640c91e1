"""Extract: where the pipeline stands, and the batch's purchases from the simulated
source, staged with the new customers they bring (both straight from the source)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from temporalio import activity

from first_temporal.activities.errors import terminal
from first_temporal.activities.heartbeat import keep_alive
from first_temporal.activities.staging import OpenStorage, part_name, spec_of, stage_tables
from first_temporal.domain import schema
from first_temporal.domain.batch import extract
from first_temporal.domain.checkpoint import Checkpoint
from first_temporal.domain.lifecycle import OPEN_COLUMNS
from first_temporal.domain.source import Day, batch_dates_until
from first_temporal.jobs import PartJob, PipelineRef, Staged, Until, UntilJob, joined
from first_temporal.storage.base import Storage


class Extractor:
    def __init__(self, open_storage: OpenStorage) -> None:
        self.open_storage = open_storage

    @activity.defn(name="read_checkpoint")
    def read_checkpoint(self, job: PipelineRef) -> Checkpoint:
        """The committed checkpoint, verified against the tables (a few small reads)."""
        with terminal():
            return self.open_storage(job.pipeline.location).read_checkpoint(job.pipeline.seed)

    @activity.defn(name="batches_until")
    def batches_until(self, job: UntilJob) -> Until:
        """The source's calendar, recorded in the history so a replay needs no recount."""
        previous = date.fromisoformat(job.previous_date) if job.previous_date else None
        count, after = batch_dates_until(job.seed, previous, date.fromisoformat(job.until))
        return Until(count, after.isoformat())

    @activity.defn(name="extract_purchases")
    def extract_purchases(self, job: PartJob) -> Staged:
        """The end-of-day roll-up of the batch's days: a pure function of seed and checkpoint.
        Generated and staged a piece at a time, so a part's memory is a piece's."""
        storage = self.open_storage(job.pipeline.location)
        with terminal(), keep_alive():
            plan = spec_of(job).plan()
            end = sum(day.purchases for day in plan) if job.end is None else job.end
            lows = range(job.start, end, job.piece_rows) or [job.start]  # a day may sell none
            pieces = [
                self._piece(
                    storage, replace(job, start=low, end=min(low + job.piece_rows, end)), plan
                )
                for low in lows
            ]
        return replace(joined(pieces, len(plan)), dates=[d.date.isoformat() for d in plan])

    def _piece(self, storage: Storage, job: PartJob, plan: list[Day]) -> Staged:
        purchases, customers = extract(spec_of(job), plan, job.start, job.end)
        end = job.start + purchases.height
        staged = stage_tables(
            storage,
            job,
            end,
            plan,
            {
                schema.CUSTOMER: (customers, "first_purchase_date"),
                schema.PURCHASE: (purchases, "purchase_date"),
            },
        )
        # What transform needs of them, in a form it reads without parsing CSV (a tenth of
        # a bulk day's time went into reading back the columns just written).
        handed = [part_name(job, schema.PURCHASE, end, "arrow")] if purchases.height else []
        for name in handed:
            storage.hand_over(name, purchases.select(OPEN_COLUMNS))
        return replace(staged, open_purchases=handed)

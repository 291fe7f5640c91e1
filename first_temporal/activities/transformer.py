"""Transform: the batch's deliveries and disputes, from its staged purchases and the open
90-day window of committed ones (never a scan of the history)."""

from __future__ import annotations

import polars as pl
from temporalio import activity

from first_temporal.activities.errors import terminal
from first_temporal.activities.heartbeat import keep_alive
from first_temporal.activities.staging import OpenStorage, spec_of, stage_tables
from first_temporal.domain import schema
from first_temporal.domain.batch import transform, window_since
from first_temporal.domain.errors import StaleBatch
from first_temporal.domain.lifecycle import OPEN_COLUMNS
from first_temporal.jobs import Staged, TransformJob


class Transformer:
    def __init__(self, open_storage: OpenStorage) -> None:
        self.open_storage = open_storage

    @activity.defn(name="derive_lifecycle_events")
    def derive_lifecycle_events(self, job: TransformJob) -> Staged:
        part = job.part
        storage = self.open_storage(part.pipeline.location)
        spec = spec_of(part)
        with terminal(), keep_alive():
            plan = spec.plan()
            try:
                todays = [storage.take_over(name) for name in job.purchases]
            except FileNotFoundError:
                # Another cluster's run of the same pipeline stages under the same names,
                # and its commit dropped them: retrying could never find them again.
                if storage.read_checkpoint(part.pipeline.seed) != part.checkpoint:
                    raise StaleBatch(
                        f"batch {part.checkpoint.batch_number + 1}: its staged purchases are"
                        " gone and the checkpoint has moved on — another run committed it"
                    ) from None
                raise
            window = (
                [storage.read_window(part.checkpoint, window_since(plan), OPEN_COLUMNS)]
                if job.with_window
                else []
            )
            end = part.start + sum(frame.height for frame in todays)
            deliveries, disputes = transform(spec, plan, pl.concat([*window, *todays]))
            return stage_tables(
                storage,
                part,
                end,
                plan,
                {
                    schema.DISPUTE: (disputes, "batch_day"),
                    schema.DELIVERY: (deliveries, "batch_day"),
                },
            )

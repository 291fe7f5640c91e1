"""Transform: customers from purchases, and the day's deliveries and disputes."""

from __future__ import annotations

from dataclasses import astuple
from datetime import date, timedelta

import polars as pl
from temporalio import activity

from first_temporal import schema
from first_temporal.activities.heartbeat import keep_alive
from first_temporal.activities.lifecycle import batch_events
from first_temporal.activities.source import new_customers
from first_temporal.activities.vectorized import batch_events_frame, csv_bytes
from first_temporal.config import open_storage
from first_temporal.errors import BadInput, as_application_error
from first_temporal.jobs import CustomersJob, LifecycleEvents, LifecycleJob
from first_temporal.rows import Customer, Delivery, Dispute
from first_temporal.storage.base import open_purchase_of, staged_name, staging_folder
from first_temporal.storage.local import LocalStorage

BIG_WINDOW_BYTES = 4 << 20  # past this, the window is read as columns, not row objects
INLINE_EVENTS = 5_000  # more events than this are staged, not sent through Temporal


@activity.defn
def define_customers_from_purchases(job: CustomersJob) -> list[Customer]:
    """customer.csv gains a row per first-time buyer; repeat buyers are already there."""
    return new_customers(job.purchases)


@activity.defn
def derive_lifecycle_events(job: LifecycleJob) -> LifecycleEvents:
    """Deliveries and disputes due today, from the open 90-day window only (never a scan)."""
    today = date.fromisoformat(job.batch_date)
    since = today - timedelta(days=schema.DISPUTE_WINDOW_DAYS)
    cp, pipeline = job.checkpoint, job.pipeline
    storage = open_storage(pipeline.location)
    try:
        big = cp.ends[schema.PURCHASE] - cp.window_offset > BIG_WINDOW_BYTES
        if big and isinstance(storage, LocalStorage):
            with keep_alive():
                return _big_window_events(job, storage, today, since)
        window, offset = storage.read_window(cp, since)
    except BadInput as exc:
        raise as_application_error(exc) from None
    todays = [open_purchase_of(p) for p in job.purchases]
    deliveries, disputes = batch_events(
        pipeline.seed, pipeline.rates, cp.previous, today, [*window, *todays]
    )
    return LifecycleEvents(deliveries=deliveries, disputes=disputes, window_offset=offset)


def _big_window_events(
    job: LifecycleJob, storage: LocalStorage, today: date, since: date
) -> LifecycleEvents:
    cp, pipeline = job.checkpoint, job.pipeline
    frame, offset = storage.read_window_frame(cp, since)
    if job.purchases:
        todays = pl.DataFrame(
            [astuple(p) for p in job.purchases], schema=frame.schema, orient="row"
        )
        frame = pl.concat([frame, todays])
    deliveries, disputes = batch_events_frame(
        pipeline.seed, pipeline.rates, cp.previous, today, frame
    )
    activity.heartbeat()
    if deliveries.height + disputes.height <= INLINE_EVENTS:
        return LifecycleEvents(
            deliveries=[Delivery(*row) for row in deliveries.iter_rows()],
            disputes=[Dispute(*row) for row in disputes.iter_rows()],
            window_offset=offset,
        )
    folder = staging_folder(pipeline.seed, pipeline.rates, cp)
    staged: dict[str, list[str]] = {}
    rows: dict[str, int] = {}
    for table, events in ((schema.DELIVERY, deliveries), (schema.DISPUTE, disputes)):
        name = staged_name(folder, table, "window")
        storage.stage(name, csv_bytes(events))
        staged[table], rows[table] = [name], events.height
    return LifecycleEvents(
        deliveries=[], disputes=[], window_offset=offset, staged=staged, staged_rows=rows
    )

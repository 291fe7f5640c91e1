"""Transform: customers from purchases, and the day's deliveries and disputes."""

from __future__ import annotations

from datetime import date, timedelta

from temporalio import activity

from first_temporal import schema
from first_temporal.activities.lifecycle import batch_events
from first_temporal.activities.source import Customer, new_customers
from first_temporal.config import open_storage
from first_temporal.errors import BadInput, as_application_error
from first_temporal.jobs import CustomersJob, LifecycleEvents, LifecycleJob
from first_temporal.storage.base import open_purchase


@activity.defn
def define_customers_from_purchases(job: CustomersJob) -> list[Customer]:
    """customer.csv gains a row per first-time buyer; repeat buyers are already there."""
    return new_customers(job.purchases)


@activity.defn
def derive_lifecycle_events(job: LifecycleJob) -> LifecycleEvents:
    """Deliveries and disputes due today, from the open 90-day window only (never a scan)."""
    today = date.fromisoformat(job.batch_date)
    since = today - timedelta(days=schema.DISPUTE_WINDOW_DAYS)
    try:
        window, offset = open_storage(job.pipeline.location).read_window(job.checkpoint, since)
    except BadInput as exc:
        raise as_application_error(exc) from None
    todays = [open_purchase([str(v) for v in vars(p).values()]) for p in job.purchases]
    deliveries, disputes = batch_events(
        job.pipeline.seed,
        job.pipeline.rates,
        job.checkpoint.previous,
        today,
        [*window, *todays],
    )
    return LifecycleEvents(deliveries=deliveries, disputes=disputes, window_offset=offset)

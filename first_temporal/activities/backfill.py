"""Backfill: many consecutive business days in one activity, committed together.

A span runs exactly the daily pipeline (same functions, same rules, same bytes) for
each day in memory, keeping the open window as it goes, then commits all its days with
one checkpoint advance. `--runs 30` therefore equals thirty `--runs 1`, and a crash
anywhere leaves either the whole span or none of it.
"""

from __future__ import annotations

from dataclasses import astuple
from datetime import timedelta

from temporalio import activity

from first_temporal import schema
from first_temporal.activities.lifecycle import OpenPurchase, batch_events, fate
from first_temporal.activities.source import generate_purchases, new_customers, next_batch_date
from first_temporal.checkpoint import Checkpoint
from first_temporal.config import Pipeline, open_storage
from first_temporal.errors import BadInput, StaleBatch, as_application_error
from first_temporal.jobs import BatchSummary, LoadJob, SpanJob, SpanResult
from first_temporal.storage.base import BatchPayload, encode_rows, open_purchase
from first_temporal.validation.batch import check_batch


def _still_open(pipeline: Pipeline, p: OpenPurchase, today_: object) -> bool:
    """Can this purchase still have an event after `today_`? Keeps the window small."""
    if p.delivery_date > today_:  # type: ignore[operator]
        return True
    horizon = p.purchase_date + timedelta(days=schema.DISPUTE_WINDOW_DAYS)
    return horizon > today_ and fate(pipeline.seed, pipeline.rates, p.transaction_id) is not None  # type: ignore[operator]


@activity.defn
def backfill_days(job: SpanJob) -> SpanResult:
    pipeline, start = job.pipeline, job.checkpoint
    storage = open_storage(pipeline.location)
    first_day = next_batch_date(pipeline.seed, start.previous)
    try:
        live, _ = storage.read_window(start, first_day - timedelta(days=schema.DISPUTE_WINDOW_DAYS))
    except BadInput as exc:
        raise as_application_error(exc) from None
    live = [p for p in live if _still_open(pipeline, p, start.previous or first_day)]
    cp = start
    data = {t: bytearray() for t in schema.BATCH_TABLES}
    rows = dict.fromkeys(schema.BATCH_TABLES, 0)
    day_offsets: list[tuple[str, int]] = []  # (date, offset of the day's first purchase)
    summaries: list[BatchSummary] = []
    for index in range(job.days):
        day = next_batch_date(pipeline.seed, cp.previous)
        purchases = generate_purchases(
            pipeline.seed,
            day,
            cp.last_customer_id,
            cp.last_transaction_id,
            pipeline.rates,
            job.purchases,
        )
        customers = new_customers(purchases)
        todays = [open_purchase([str(v) for v in astuple(p)]) for p in purchases]
        live.extend(todays)
        deliveries, disputes = batch_events(pipeline.seed, pipeline.rates, cp.previous, day, live)
        day_job = LoadJob(
            pipeline,
            cp,
            day.isoformat(),
            purchases,
            customers,
            disputes,
            deliveries,
            window_offset=0,
        )
        try:
            check_batch(day_job)
        except BadInput as exc:
            raise as_application_error(exc) from None
        day_offsets.append(
            (day.isoformat(), start.ends[schema.PURCHASE] + len(data[schema.PURCHASE]))
        )
        for table, table_rows in (
            (schema.PURCHASE, purchases),
            (schema.CUSTOMER, customers),
            (schema.DISPUTE, disputes),
            (schema.DELIVERY, deliveries),
        ):
            data[table] += encode_rows(table_rows)
            rows[table] += len(table_rows)
        cp = cp.advanced(
            previous_date=day.isoformat(),
            last_customer_id=cp.last_customer_id + len(customers),
            last_transaction_id=cp.last_transaction_id + len(purchases),
            batch_number=cp.batch_number + 1,
        )
        summaries.append(
            BatchSummary(
                batch_number=cp.batch_number,
                batch_date=day.isoformat(),
                purchases=len(purchases),
                new_customers=len(customers),
                repeat_purchases=len(purchases) - len(customers),
                disputes=len(disputes),
                deliveries=len(deliveries),
                committed=True,
            )
        )
        live = [p for p in live if _still_open(pipeline, p, day)]
        activity.heartbeat(index + 1)
    offset = _window_offset(storage, start, cp, day_offsets)
    payload = BatchPayload(
        batch_number=cp.batch_number,
        batch_date=cp.previous_date,
        last_customer_id=cp.last_customer_id,
        last_transaction_id=cp.last_transaction_id,
        window_offset=offset,
        data={t: bytes(b) for t, b in data.items()},
        rows=rows,
    )
    try:
        storage.commit(start, payload)
    except (BadInput, StaleBatch) as exc:
        raise as_application_error(exc) from None
    return SpanResult(summaries=summaries)


def _window_offset(
    storage: object, start: Checkpoint, end: Checkpoint, day_offsets: list[tuple[str, int]]
) -> int:
    """Where the last day's 90-day window starts: in the committed part or in the span."""
    last = end.previous
    assert last is not None
    since = (last - timedelta(days=schema.DISPUTE_WINDOW_DAYS)).isoformat()
    committed_end = start.ends[schema.PURCHASE]
    _, offset = storage.read_window(start, last - timedelta(days=schema.DISPUTE_WINDOW_DAYS))  # type: ignore[attr-defined]
    if offset != committed_end or (start.window_offset == 0 and committed_end == 0):
        return int(offset)
    for day, day_offset in day_offsets:
        if day >= since:
            return day_offset
    return committed_end

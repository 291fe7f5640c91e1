"""Backfill: many consecutive business days in one activity, committed together.

A span runs exactly the daily pipeline (same functions, same rules, same bytes) for
each day in memory, keeping the open window as it goes, then commits all its days with
one checkpoint advance. `--runs 30` therefore equals thirty `--runs 1`, and a crash
anywhere leaves either the whole span or none of it.
"""

from __future__ import annotations

from datetime import date, timedelta

from temporalio import activity

from first_temporal import schema
from first_temporal.activities import transformer
from first_temporal.activities.heartbeat import keep_alive
from first_temporal.activities.lifecycle import OpenPurchase, batch_events, fate
from first_temporal.activities.source import generate_purchases, new_customers, next_batch_date
from first_temporal.checkpoint import Checkpoint
from first_temporal.config import open_storage
from first_temporal.errors import BadInput, StaleBatch, as_application_error
from first_temporal.jobs import BatchSummary, LoadJob, SpanJob, SpanResult
from first_temporal.storage.base import BatchPayload, Storage, encode_rows, open_purchase_of
from first_temporal.storage.local import LocalStorage
from first_temporal.validation.batch import check_batch


def _still_open(p: OpenPurchase, kinds: dict[int, str | None], today_: date) -> bool:
    """Can this purchase still have an event after `today_`? Keeps the window small."""
    if p.delivery_date > today_:
        return True
    horizon = p.purchase_date + timedelta(days=schema.DISPUTE_WINDOW_DAYS)
    return horizon > today_ and kinds[p.transaction_id] is not None


@activity.defn
def backfill_days(job: SpanJob) -> SpanResult:
    pipeline, start = job.pipeline, job.checkpoint
    storage = open_storage(pipeline.location)
    window_bytes = start.ends[schema.PURCHASE] - start.window_offset
    if isinstance(storage, LocalStorage) and window_bytes > transformer.BIG_WINDOW_BYTES:
        # The days after a bulk day: row objects would be slow; the daily path reads the
        # window as columns. Spans resume once the window is small again.
        return SpanResult(summaries=[], declined=True)
    first_day = next_batch_date(pipeline.seed, start.previous)
    try:
        live, _ = storage.read_window(start, first_day - timedelta(days=schema.DISPUTE_WINDOW_DAYS))
    except BadInput as exc:
        raise as_application_error(exc) from None
    kinds = {p.transaction_id: fate(pipeline.seed, pipeline.rates, p.transaction_id) for p in live}
    live = [p for p in live if _still_open(p, kinds, start.previous or first_day)]
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
        todays = [open_purchase_of(p) for p in purchases]
        for p in todays:
            kinds[p.transaction_id] = fate(pipeline.seed, pipeline.rates, p.transaction_id)
        live.extend(todays)
        deliveries, disputes = batch_events(
            pipeline.seed, pipeline.rates, cp.previous, day, live, kinds
        )
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
        live = [p for p in live if _still_open(p, kinds, day)]
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
        with keep_alive():
            storage.commit(start, payload)
    except (BadInput, StaleBatch) as exc:
        raise as_application_error(exc) from None
    return SpanResult(summaries=summaries)


def _window_offset(
    storage: Storage, start: Checkpoint, end: Checkpoint, day_offsets: list[tuple[str, int]]
) -> int:
    """Where the last day's 90-day window starts: among the committed rows (a span shorter
    than the window: read it), or among the span's own rows (known without any read)."""
    last = end.previous
    assert last is not None
    since = last - timedelta(days=schema.DISPUTE_WINDOW_DAYS)
    if start.previous is not None and since <= start.previous:
        return storage.read_window(start, since)[1]
    for day, day_offset in day_offsets:
        if day >= since.isoformat():
            return day_offset
    return start.ends[schema.PURCHASE]

"""Bulk days: a million purchases in one batch, generated in chunks by any worker.

Each chunk activity stages its rows in files (<data>/_staging/batch-N/...) and returns
only a reference and counts; the load appends the staged files in chunk order. Chunks
are deterministic, so a retried or duplicated chunk rewrites the same bytes; a chunk is
split into parts and heartbeats the parts done, so a retried chunk resumes.
"""

from __future__ import annotations

from datetime import date

import polars as pl
from temporalio import activity

from first_temporal import schema
from first_temporal.activities.vectorized import (
    csv_bytes,
    customer_frame,
    new_customers_before,
    purchase_frame,
    todays_cancellations,
)
from first_temporal.config import open_storage
from first_temporal.errors import BadInput, as_application_error
from first_temporal.jobs import ChunkJob, StagedChunk
from first_temporal.storage.base import Storage
from first_temporal.storage.local import LocalStorage
from first_temporal.validation.batch import refuse

PART_ROWS = 50_000


def staged_name(batch_number: int, table: str, part: str) -> str:
    return f"batch-{batch_number:06d}/{table}-{part}.csv"


@activity.defn
def generate_chunk(job: ChunkJob) -> StagedChunk:
    """Purchases [start, end) of a bulk day, their new customers, and today's cancellations."""
    cp, pipeline = job.checkpoint, job.pipeline
    storage = open_storage(pipeline.location)
    day = date.fromisoformat(job.batch_date)
    number = cp.batch_number + 1
    details = activity.info().heartbeat_details if activity.in_activity() else []
    done_parts = int(details[0]) if details else 0
    counts = {t: 0 for t in schema.BATCH_TABLES}
    names: dict[str, list[str]] = {t: [] for t in schema.BATCH_TABLES}
    bounds = list(range(job.start, job.end, PART_ROWS))
    new_before = new_customers_before(
        pipeline.seed,
        day,
        cp.last_customer_id,
        cp.last_transaction_id,
        pipeline.rates,
        job.start,
    )
    for index, low in enumerate(bounds):
        high = min(low + PART_ROWS, job.end)
        part = f"c{job.chunk_index:04d}p{index:03d}"
        frames = _part_frames(job, day, low, high, new_before)
        new_before += frames[schema.CUSTOMER].height
        for table, frame in frames.items():
            counts[table] += frame.height
            if frame.height:
                name = staged_name(number, table, part)
                names[table].append(name)
                if index >= done_parts or not storage.has_staged(name):
                    _stage(storage, name, frame)
        if activity.in_activity():
            activity.heartbeat(index + 1)
    return StagedChunk(chunk_index=job.chunk_index, rows=counts, staged=names)


def _stage(storage: Storage, name: str, frame: pl.DataFrame) -> None:
    """Local staging lets polars write the file itself (no bytes round trip through Python)."""
    if isinstance(storage, LocalStorage):
        path = storage.staged_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        frame.write_csv(tmp, include_header=False, line_terminator="\n")
        tmp.replace(path)
    else:
        storage.stage(name, csv_bytes(frame))


def _part_frames(
    job: ChunkJob, day: date, low: int, high: int, new_before: int
) -> dict[str, pl.DataFrame]:
    cp, pipeline = job.checkpoint, job.pipeline
    numbered = purchase_frame(
        pipeline.seed,
        day,
        cp.last_customer_id,
        cp.last_transaction_id,
        pipeline.rates,
        low,
        high,
        new_before,
        keep_delivery_days=True,
    )
    purchases = numbered.drop("delivery")
    try:
        refuse(cp.batch_number + 1, job.batch_date, chunk_problems(purchases, job, day, low))
    except BadInput as exc:
        raise as_application_error(exc) from None
    deliveries, disputes = todays_cancellations(pipeline.seed, pipeline.rates, day, numbered)
    return {
        schema.PURCHASE: purchases,
        schema.CUSTOMER: customer_frame(purchases),
        schema.DISPUTE: disputes,
        schema.DELIVERY: deliveries,
    }


def chunk_problems(frame: pl.DataFrame, job: ChunkJob, day: date, low: int) -> list[str]:
    """The per-row rules of validation.batch, as column expressions over a chunk."""
    cp = job.checkpoint
    first_txn = cp.last_transaction_id + 1 + low
    checks = frame.select(
        (pl.col("transaction_id") != pl.int_range(first_txn, first_txn + pl.len()))
        .sum()
        .alias("transaction_id not contiguous"),
        (pl.col("purchase_date") != day.isoformat())
        .sum()
        .alias("purchase_date not the batch date"),
        (
            (pl.col("delivery_date").str.to_date() - pl.lit(day))
            .dt.total_days()
            .is_between(schema.MIN_DELIVERY_DAYS, schema.MAX_DELIVERY_DAYS)
            .not_()
        )
        .sum()
        .alias("delivery not 1–5 days after purchase"),
        (~pl.col("product_id").is_in(list(schema.PRODUCT_IDS))).sum().alias("unknown product_id"),
        (~pl.col("checkout_type").is_in(list(schema.CHECKOUT_TYPES)))
        .sum()
        .alias("bad checkout_type"),
        ((pl.col("checkout_type") == schema.REPEAT) & (pl.col("customer_id") > cp.last_customer_id))
        .sum()
        .alias("repeat customer who never bought before"),
    ).row(0, named=True)
    return [f"{count} rows: {rule}" for rule, count in checks.items() if count]

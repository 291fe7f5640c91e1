"""Bulk days: a million purchases in one batch, generated in chunks by any worker.

Each chunk activity stages its rows in files (<data>/_staging/batch-N/...) and returns
only a reference and counts; the load appends the staged files in chunk order. Chunks
are deterministic, so a retried or duplicated chunk rewrites the same bytes; a chunk is
split into parts and heartbeats the parts done, so a retried chunk resumes.

A part's purchase file is staged last: once it exists, the part is whole, which lets
loader.append_staged_parts append parts while later ones are still being generated.
A part is named by its rows, in the batch's storage.base.staging_folder: a part file
found there, left by any earlier attempt with any chunk size, holds exactly the bytes
this attempt would write.
"""

from __future__ import annotations

from copy import deepcopy
from datetime import date

import polars as pl
from temporalio import activity
from temporalio.converter import value_to_type

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
from first_temporal.jobs import ChunkJob, ChunkProgress, StagedChunk
from first_temporal.storage.base import Storage, staged_name, staging_folder
from first_temporal.storage.local import LocalStorage
from first_temporal.validation.batch import refuse

PART_ROWS = 50_000
# Staging order within a part: the purchase file last, as the part's completion marker.
STAGE_ORDER = (schema.DISPUTE, schema.DELIVERY, schema.CUSTOMER, schema.PURCHASE)


def chunk_bounds(total: int, chunk_rows: int) -> list[tuple[int, int]]:
    """A bulk day's chunks: row ranges [low, high) of the day's purchases."""
    return [(low, min(low + chunk_rows, total)) for low in range(0, total, chunk_rows)]


def part_labels(low: int, high: int) -> list[str]:
    """The parts of chunk [low, high), in order, named by their rows (PART_ROWS at most)."""
    return [
        f"rows-{start:010d}-{min(start + PART_ROWS, high):010d}"
        for start in range(low, high, PART_ROWS)
    ]


@activity.defn
def generate_chunk(job: ChunkJob) -> StagedChunk:
    """Purchases [start, end) of a bulk day, their new customers, and today's cancellations."""
    cp, pipeline = job.checkpoint, job.pipeline
    storage = open_storage(pipeline.location)
    day = date.fromisoformat(job.batch_date)
    folder = staging_folder(pipeline.seed, pipeline.rates, cp)
    progress = _resumed(storage, job) or ChunkProgress(
        parts=0,
        rows={t: 0 for t in schema.BATCH_TABLES},
        staged={t: [] for t in schema.BATCH_TABLES},
        new_before=new_customers_before(
            pipeline.seed,
            day,
            cp.last_customer_id,
            cp.last_transaction_id,
            pipeline.rates,
            job.start,
        ),
    )
    labels = part_labels(job.start, job.end)
    lows = range(job.start, job.end, PART_ROWS)
    rows, staged, new_before = dict(progress.rows), deepcopy(progress.staged), progress.new_before
    for index in range(progress.parts, len(labels)):
        low, high = lows[index], min(lows[index] + PART_ROWS, job.end)
        frames = _part_frames(job, day, low, high, new_before)
        new_before += frames[schema.CUSTOMER].height
        for table in STAGE_ORDER:
            frame = frames[table]
            rows[table] += frame.height
            if frame.height:
                name = staged_name(folder, table, labels[index])
                staged[table].append(name)
                _stage(storage, name, frame)
        if activity.in_activity():  # a snapshot: the SDK encodes it later, on its own thread
            activity.heartbeat(ChunkProgress(index + 1, dict(rows), deepcopy(staged), new_before))
    return StagedChunk(chunk_index=job.chunk_index, rows=rows, staged=staged)


def _resumed(storage: Storage, job: ChunkJob) -> ChunkProgress | None:
    """Where a retried chunk stopped (its last heartbeat), if its staged parts are still there."""
    details = activity.info().heartbeat_details if activity.in_activity() else []
    if not details:
        return None
    try:
        progress: ChunkProgress = value_to_type(ChunkProgress, details[0])
    except (TypeError, ValueError):  # another heartbeat shape: start over, it only costs time
        return None
    names = [n for parts in progress.staged.values() for n in parts]
    return progress if all(storage.has_staged(n) for n in names) else None


def _stage(storage: Storage, name: str, frame: pl.DataFrame) -> None:
    """Local staging lets polars write the file itself (no bytes round trip through Python)."""
    if isinstance(storage, LocalStorage):
        with storage.staging(name) as tmp:
            frame.write_csv(tmp, include_header=False, line_terminator="\n")
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
            (pl.col("delivery_date").str.to_date(schema.DATE_FORMAT) - pl.lit(day))
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

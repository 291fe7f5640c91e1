"""The rules a batch's own rows must obey, checked as column expressions before they are
staged: a generator bug fails the batch loudly instead of corrupting the tables. They
cost as much as the batch, never as much as the history.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from first_temporal.domain import schema
from first_temporal.domain.errors import BadInput
from first_temporal.domain.source import Day


def refuse(label: str, problems: list[str]) -> None:
    """BadInput naming the first few broken rules, when there are any."""
    if problems:
        shown = "; ".join(problems[:5])
        more = f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""
        raise BadInput(f"{label} breaks the table rules, nothing was written: {shown}{more}")


def date_problems(previous: date | None, plan: list[Day]) -> list[str]:
    out: list[str] = []
    for day in plan:
        if previous is None and day.date.isoformat() != schema.FIRST_BATCH_DATE:
            out.append(f"first batch date {day.date} is not {schema.FIRST_BATCH_DATE}")
        elif previous is not None and not (
            schema.MIN_BATCH_STEP_DAYS <= (day.date - previous).days <= schema.MAX_BATCH_STEP_DAYS
        ):
            out.append(f"batch date {day.date} is not 1–3 days after {previous}")
        if day.purchases < 1:
            out.append(f"no purchases on {day.date}")
        previous = day.date
    return out


def purchase_problems(frame: pl.DataFrame, first_transaction_id: int) -> list[str]:
    """Rows of `source.purchases` (with its `last_customer_id` column): ids contiguous,
    dates, products and checkout types as the business allows."""
    new = pl.col("checkout_type") == schema.FIRST_TIME
    checks = frame.select(
        (pl.col("transaction_id") != pl.int_range(pl.len()) + first_transaction_id)
        .sum()
        .alias("transaction_id not contiguous"),
        (
            pl.col("customer_id").filter(new)
            != pl.int_range(new.sum()) + pl.col("customer_id").filter(new).first()
        )
        .sum()
        .alias("new customer_id not contiguous"),
        (new & (pl.col("customer_id") <= pl.col("last_customer_id")))
        .sum()
        .alias("new customer_id already taken"),
        (
            (pl.col("delivery_date") - pl.col("purchase_date"))
            .dt.total_days()
            .is_between(schema.MIN_DELIVERY_DAYS, schema.MAX_DELIVERY_DAYS)
            .not_()
        )
        .sum()
        .alias("delivery not 1–5 days after purchase"),
        ((pl.col("refund_till") - pl.col("purchase_date")).dt.total_days() != 30)
        .sum()
        .alias("refund_till not purchase_date + 30 days"),
        (~pl.col("product_id").is_in(list(schema.PRODUCT_IDS))).sum().alias("unknown product_id"),
        (~pl.col("checkout_type").is_in(list(schema.CHECKOUT_TYPES)))
        .sum()
        .alias("bad checkout_type"),
        (
            (pl.col("checkout_type") == schema.REPEAT)
            & (pl.col("customer_id") > pl.col("last_customer_id"))
        )
        .sum()
        .alias("repeat customer who never bought before"),
    ).row(0, named=True)
    return [f"{count} purchases: {rule}" for rule, count in checks.items() if count]


def event_problems(deliveries: pl.DataFrame, disputes: pl.DataFrame) -> list[str]:
    """Rows of `lifecycle.events` (with their `batch_day`): known types and statuses, at
    most one dispute and one status row per transaction, cancellations paired."""
    cancels = disputes.filter(pl.col("dispute_type") == schema.CANCELLATION).select(
        "transaction_id", "batch_day"
    )
    cancelled = deliveries.filter(pl.col("status") == schema.CANCELLED).select(
        "transaction_id", "batch_day"
    )
    counts = {
        "unknown dispute_type": disputes.filter(
            ~pl.col("dispute_type").is_in(list(schema.DISPUTE_TYPES))
        ).height,
        "a transaction disputed twice": disputes.height - disputes["transaction_id"].n_unique(),
        "unknown delivery status": deliveries.filter(
            ~pl.col("status").is_in(list(schema.DELIVERY_STATUSES))
        ).height,
        "two status rows for one transaction": deliveries.height
        - deliveries["transaction_id"].n_unique(),
        "delivered after the batch date": deliveries.filter(
            pl.col("status_date").cast(pl.Int32) > pl.col("batch_day")
        ).height,
        "cancellation without a cancelled delivery row (or the reverse)": cancels.join(
            cancelled, on=["transaction_id", "batch_day"], how="full"
        )
        .filter(pl.any_horizontal(pl.all().is_null()))
        .height,
    }
    return [f"{count} events: {rule}" for rule, count in counts.items() if count]

"""The simulated dealership's sales: a day's purchases are a pure function of
(seed, date, checkpoint), generated as columns for one day, a million-row day or a
decade of days alike.

A batch is planned day by day (each day's stream key depends on the ids the previous
day ended with: a few draws per day), then its rows are generated at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import polars as pl
from faker.providers.internet.en_US import Provider as _Internet
from faker.providers.person.en_US import Provider as _Person

from first_temporal.domain import schema
from first_temporal.domain.random import (
    SALT_BATCH,
    SALT_COUNT,
    SALT_DELIVERY,
    SALT_DOMAIN,
    SALT_FIRST,
    SALT_LAST,
    SALT_PICK,
    SALT_PRODUCT,
    SALT_REPEAT,
    SALT_STEP,
    U64,
    below,
    draw,
    draw_one,
    seed_key,
)
from first_temporal.domain.rates import Rates

EPOCH = date(1970, 1, 1)
FIRST_NAMES = pl.Series("first_name", sorted(_Person.first_names))
LAST_NAMES = pl.Series("last_name", sorted(_Person.last_names))
EMAIL_DOMAINS = pl.Series("domain", list(_Internet.free_email_domains))
PRODUCTS = np.asarray(schema.PRODUCT_IDS, dtype=np.int64)


def day_number(day: date) -> int:
    return (day - EPOCH).days


@lru_cache(maxsize=8192)
def next_batch_date(seed: int, previous: date | None) -> date:
    """The business day after `previous` (1–3 days later); the first batch is fixed."""
    if previous is None:
        return date.fromisoformat(schema.FIRST_BATCH_DATE)
    span = schema.MAX_BATCH_STEP_DAYS - schema.MIN_BATCH_STEP_DAYS + 1
    step = draw_one(seed_key(seed), SALT_STEP, previous.toordinal()) % span
    return previous + timedelta(days=schema.MIN_BATCH_STEP_DAYS + step)


def batch_dates_until(seed: int, previous: date | None, until: date) -> tuple[int, date]:
    """How many business days follow `previous` up to `until` (inclusive), and the first
    one after them: the batches `starter.py --until` runs."""
    count, day = 0, next_batch_date(seed, previous)
    while day <= until:
        count, day = count + 1, next_batch_date(seed, day)
    return count, day


@dataclass(frozen=True)
class Day:
    """One business day of a batch: what its rows are generated from."""

    date: date
    key: int  # the day's stream: a function of (seed, date, checkpoint)
    purchases: int
    first_transaction_id: int
    last_customer_id: int  # before the day: repeat buyers are picked up to it

    def new_customers(self, rates: Rates, before: int | None = None) -> int:
        """First-time buyers among the day's purchases (or its first `before` ones)."""
        count = self.purchases if before is None else before
        existing = self.last_customer_id - schema.FIRST_CUSTOMER_ID + 1
        return count - int(repeat_flags(self.key, existing, rates, 0, count).sum())


def batch_key(seed: int, day: date, last_customer_id: int, last_transaction_id: int) -> int:
    key = seed_key(seed)
    for part in (day.toordinal(), last_customer_id, last_transaction_id):
        key = draw_one(key, SALT_BATCH, part)
    return key


def repeat_flags(
    key: int, existing: int, rates: Rates, start: int, end: int
) -> npt.NDArray[np.bool_]:
    """Which of rows [start, end) of a day are bought by a returning customer."""
    if existing <= 0:
        return np.zeros(end - start, dtype=bool)
    return below(draw(key, SALT_REPEAT, np.arange(start, end)), rates.repeat_share)


def plan_days(
    seed: int,
    rates: Rates,
    previous: date | None,
    last_customer_id: int,
    last_transaction_id: int,
    days: int,
    purchases: int | None = None,
) -> list[Day]:
    """The next `days` business days after the checkpoint; `purchases` overrides each
    day's volume (10–20). The last day's new customers are not counted: nothing here
    depends on them, and on a million-row day they cost a million hashes."""
    plan: list[Day] = []
    for index in range(days):
        if index:
            last_customer_id += plan[-1].new_customers(rates)
        day = next_batch_date(seed, previous)
        key = batch_key(seed, day, last_customer_id, last_transaction_id)
        count = purchases if purchases is not None else 10 + draw_one(key, SALT_COUNT, 0) % 11
        plan.append(Day(day, key, count, last_transaction_id + 1, last_customer_id))
        previous, last_transaction_id = day, last_transaction_id + count
    return plan


def identity_columns(seed: int, customer_ids: U64) -> list[pl.Series]:
    """first_name, last_name, email_address: a customer's are the same on every purchase."""
    key = seed_key(seed)
    first = FIRST_NAMES.gather(draw(key, SALT_FIRST, customer_ids) % np.uint64(len(FIRST_NAMES)))
    last = LAST_NAMES.gather(draw(key, SALT_LAST, customer_ids) % np.uint64(len(LAST_NAMES)))
    domain = EMAIL_DOMAINS.gather(
        draw(key, SALT_DOMAIN, customer_ids) % np.uint64(len(EMAIL_DOMAINS))
    )
    frame = pl.DataFrame([first, last, domain, pl.Series("id", customer_ids.astype(np.int64))])
    email = frame.select(
        pl.concat_str(
            pl.col("first_name"),
            pl.lit("."),
            pl.col("last_name"),
            pl.col("id"),
            pl.lit("@"),
            pl.col("domain"),
        )
        .str.to_lowercase()
        .alias("email_address")
    ).to_series()
    return [first, last, email]


def purchases(
    seed: int, rates: Rates, plan: list[Day], start: int = 0, end: int | None = None
) -> pl.DataFrame:
    """Rows [start, end) of the planned days' purchases, in table order, plus the
    `last_customer_id` each row's day started from (for the batch's checks)."""
    counts = np.array([d.purchases for d in plan], dtype=np.int64)
    day_starts = np.concatenate([[0], np.cumsum(counts)])
    end = int(day_starts[-1]) if end is None else end
    rows = np.arange(start, end, dtype=np.int64)
    day_index = np.searchsorted(day_starts, rows, side="right") - 1
    counters = (rows - day_starts[day_index]).astype(np.uint64)
    keys = np.array([d.key for d in plan], dtype=np.uint64)[day_index]
    last_customer = np.array([d.last_customer_id for d in plan], dtype=np.int64)[day_index]
    existing = last_customer - schema.FIRST_CUSTOMER_ID + 1
    repeat = (existing > 0) & below(draw(keys, SALT_REPEAT, counters), rates.repeat_share)
    first_new = _first_new_customer(rates, plan, start, day_starts)
    new_ids = first_new + np.cumsum(~repeat) - 1
    picked = schema.FIRST_CUSTOMER_ID + (
        draw(keys, SALT_PICK, counters) % np.maximum(existing, 1).astype(np.uint64)
    ).astype(np.int64)
    customer_ids = np.where(repeat, picked, new_ids)
    day = np.array([day_number(d.date) for d in plan], dtype=np.int32)[day_index]
    delivery = schema.MIN_DELIVERY_DAYS + (
        draw(keys, SALT_DELIVERY, counters) % np.uint64(schema.MAX_DELIVERY_DAYS)
    ).astype(np.int32)
    first_txn = np.array([d.first_transaction_id for d in plan], dtype=np.int64)[day_index]
    frame = pl.DataFrame(
        [
            pl.Series("customer_id", customer_ids),
            *identity_columns(seed, customer_ids.astype(np.uint64)),
            pl.Series("repeat", repeat),
            pl.Series("transaction_id", first_txn + counters.astype(np.int64)),
            pl.Series(
                "product_id",
                PRODUCTS[draw(keys, SALT_PRODUCT, counters) % np.uint64(len(PRODUCTS))],
            ),
            pl.Series("day", day),
            pl.Series("delivery", day + delivery),
            pl.Series("last_customer_id", last_customer),
        ]
    )
    return frame.select(
        "customer_id",
        "first_name",
        "last_name",
        "email_address",
        pl.when(pl.col("repeat"))
        .then(pl.lit(schema.REPEAT))
        .otherwise(pl.lit(schema.FIRST_TIME))
        .alias("checkout_type"),
        "transaction_id",
        "product_id",
        pl.col("day").cast(pl.Date).alias("purchase_date"),
        pl.col("delivery").cast(pl.Date).alias("delivery_date"),
        (pl.col("day") + schema.REFUND_WINDOW_DAYS).cast(pl.Date).alias("refund_till"),
        pl.lit("False").alias("delivered"),
        "last_customer_id",
    )


def _first_new_customer(
    rates: Rates, plan: list[Day], start: int, day_starts: npt.NDArray[np.int64]
) -> int:
    """The id the first new customer at or after row `start` gets: ids are contiguous."""
    index = int(np.searchsorted(day_starts, start, side="right") - 1)
    index = min(index, len(plan) - 1)
    day = plan[index]
    return day.last_customer_id + 1 + day.new_customers(rates, int(start - day_starts[index]))


def new_customers(purchases: pl.DataFrame) -> pl.DataFrame:
    """customer.csv rows: one per first-time buyer; repeat buyers are already there."""
    return purchases.filter(pl.col("checkout_type") == schema.FIRST_TIME).select(
        "customer_id",
        "first_name",
        "last_name",
        "email_address",
        pl.col("purchase_date").alias("first_purchase_date"),
    )

"""The simulated source, vectorised: the same values as source.py / lifecycle.py, for
million-row days and million-row windows. Tests hold the two paths to identical bytes.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
import polars as pl

from first_temporal import schema
from first_temporal.activities.source import (
    EMAIL_DOMAINS,
    FIRST_NAMES,
    LAST_NAMES,
    SALT_DELIVERY,
    SALT_DOMAIN,
    SALT_FATE,
    SALT_FIRST,
    SALT_LAST,
    SALT_PICK,
    SALT_PRODUCT,
    SALT_REPEAT,
    SALT_TARGET,
    Rates,
    batch_key,
    next_batch_date,
    probability,
    seed_key,
)

U64 = npt.NDArray[np.uint64]
EPOCH = date(1970, 1, 1)


def mix64(x: U64) -> U64:
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def draw(key: int, salt: int, counters: U64) -> U64:
    inner = mix64(np.uint64(salt << 40) ^ counters)
    return mix64(np.uint64(key) ^ inner)


def _days(d: date) -> int:
    return (d - EPOCH).days


def _iso(days: npt.NDArray[np.int64]) -> pl.Series:
    return pl.Series(days.astype("datetime64[D]")).dt.strftime(schema.DATE_FORMAT)


def repeat_flags(
    key: int, existing: int, rates: Rates, start: int, end: int
) -> npt.NDArray[np.bool_]:
    if existing <= 0:
        return np.zeros(end - start, dtype=bool)
    counters = np.arange(start, end, dtype=np.uint64)
    return (draw(key, SALT_REPEAT, counters) >> np.uint64(11)) < np.uint64(
        probability(rates.repeat_share)
    )


FIRST_SERIES = pl.Series("first_name", FIRST_NAMES)
LAST_SERIES = pl.Series("last_name", LAST_NAMES)
DOMAIN_SERIES = pl.Series("domain", EMAIL_DOMAINS)


def identity_columns(seed: int, customer_ids: U64) -> list[pl.Series]:
    """first_name, last_name, email_address: source.customer_identity for each id."""
    sk = seed_key(seed)
    first = FIRST_SERIES.gather(draw(sk, SALT_FIRST, customer_ids) % np.uint64(len(FIRST_NAMES)))
    last = LAST_SERIES.gather(draw(sk, SALT_LAST, customer_ids) % np.uint64(len(LAST_NAMES)))
    domain = DOMAIN_SERIES.gather(
        draw(sk, SALT_DOMAIN, customer_ids) % np.uint64(len(EMAIL_DOMAINS))
    )
    frame = pl.DataFrame([first, last, domain, pl.Series("id", customer_ids.astype(np.int64))])
    email = frame.select(
        pl.concat_str(
            [
                pl.col("first_name"),
                pl.lit("."),
                pl.col("last_name"),
                pl.col("id"),
                pl.lit("@"),
                pl.col("domain"),
            ]
        )
        .str.to_lowercase()
        .alias("email_address")
    ).to_series()
    return [first, last, email]


def new_customers_before(
    seed: int,
    batch_date: date,
    last_customer_id: int,
    last_transaction_id: int,
    rates: Rates,
    start: int,
) -> int:
    key = batch_key(seed, batch_date, last_customer_id, last_transaction_id)
    existing = last_customer_id - schema.FIRST_CUSTOMER_ID + 1
    return start - int(repeat_flags(key, existing, rates, 0, start).sum()) if start else 0


def purchase_frame(
    seed: int,
    batch_date: date,
    last_customer_id: int,
    last_transaction_id: int,
    rates: Rates,
    start: int,
    end: int,
    new_before: int | None = None,
    keep_delivery_days: bool = False,
) -> pl.DataFrame:
    """Rows [start, end) of the day's purchases: exactly source.generate_purchases's values.

    `keep_delivery_days` adds the numeric `delivery` column first (for todays_cancellations).

    `new_before` (first-time buyers among rows [0, start)) is derived when not given.
    """
    key = batch_key(seed, batch_date, last_customer_id, last_transaction_id)
    existing = last_customer_id - schema.FIRST_CUSTOMER_ID + 1
    if new_before is None:
        new_before = new_customers_before(
            seed, batch_date, last_customer_id, last_transaction_id, rates, start
        )
    repeat = repeat_flags(key, existing, rates, start, end)
    counters = np.arange(start, end, dtype=np.uint64)
    new_ids = last_customer_id + 1 + new_before + np.cumsum(~repeat) - 1
    picked = schema.FIRST_CUSTOMER_ID + (
        draw(key, SALT_PICK, counters) % np.uint64(max(existing, 1))
    ).astype(np.int64)
    customer_ids = np.where(repeat, picked, new_ids).astype(np.uint64)
    products = np.asarray(schema.PRODUCT_IDS, dtype=np.int64)[
        draw(key, SALT_PRODUCT, counters) % np.uint64(len(schema.PRODUCT_IDS))
    ]
    delivery_days = schema.MIN_DELIVERY_DAYS + (
        draw(key, SALT_DELIVERY, counters) % np.uint64(schema.MAX_DELIVERY_DAYS)
    ).astype(np.int64)
    refund_till = (batch_date + timedelta(days=schema.REFUND_WINDOW_DAYS)).isoformat()
    frame = pl.DataFrame(
        [
            pl.Series("customer_id", customer_ids.astype(np.int64)),
            *identity_columns(seed, customer_ids),
            pl.Series("repeat", repeat),
            pl.Series(
                "transaction_id",
                np.arange(last_transaction_id + 1 + start, last_transaction_id + 1 + end),
            ),
            pl.Series("product_id", products),
            pl.Series("delivery", delivery_days),
        ]
    )
    return frame.select(
        *(["delivery"] if keep_delivery_days else []),
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
        pl.lit(batch_date.isoformat()).alias("purchase_date"),
        (pl.lit(batch_date) + pl.duration(days=pl.col("delivery")))
        .dt.strftime(schema.DATE_FORMAT)
        .alias("delivery_date"),
        pl.lit(refund_till).alias("refund_till"),
        pl.lit("False").alias("delivered"),
    )


def customer_frame(purchases: pl.DataFrame) -> pl.DataFrame:
    return purchases.filter(pl.col("checkout_type") == schema.FIRST_TIME).select(
        "customer_id",
        "first_name",
        "last_name",
        "email_address",
        pl.col("purchase_date").alias("first_purchase_date"),
    )


def fates(seed: int, rates: Rates, transaction_ids: U64) -> npt.NDArray[np.int8]:
    """0 none, 1 cancellation, 2 return_for_refund, 3 return_for_no_refund."""
    u = draw(seed_key(seed), SALT_FATE, transaction_ids) >> np.uint64(11)
    c = probability(rates.cancellation)
    r = c + probability(rates.return_for_refund)
    n = r + probability(rates.return_for_no_refund)
    out = np.zeros(len(u), dtype=np.int8)
    out[u < np.uint64(n)] = 3
    out[u < np.uint64(r)] = 2
    out[u < np.uint64(c)] = 1
    return out


KINDS = (None, schema.CANCELLATION, schema.RETURN_FOR_REFUND, schema.RETURN_FOR_NO_REFUND)


def batch_events_frame(
    seed: int, rates: Rates, previous: date | None, today: date, window: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """lifecycle.batch_events over a frame (purchase columns): (deliveries, disputes)."""
    today_n = _days(today)
    oldest = today_n - schema.DISPUTE_WINDOW_DAYS
    prev_n = _days(previous) if previous is not None else -(10**9)
    frame = window.select(
        "customer_id",
        "transaction_id",
        "product_id",
        *(
            pl.col(c).str.to_date(schema.DATE_FORMAT).cast(pl.Int32).alias(c)
            for c in ("purchase_date", "delivery_date", "refund_till")
        ),
    ).filter(pl.col("purchase_date") >= oldest)
    txn = frame["transaction_id"].to_numpy().astype(np.uint64)
    pd_, dd, rt = (
        frame[c].to_numpy().astype(np.int64)
        for c in ("purchase_date", "delivery_date", "refund_till")
    )
    kind = fates(seed, rates, txn)
    first = np.select([kind == 1, kind == 2], [pd_, dd], rt + 1)
    last = np.select([kind == 1, kind == 2], [dd - 1, rt], pd_ + schema.DISPUTE_WINDOW_DAYS)
    span = np.maximum(last - first + 1, 1)
    target = first + (draw(seed_key(seed), SALT_TARGET, txn) % span.astype(np.uint64)).astype(
        np.int64
    )
    next_today = _days(next_batch_date(seed, today))

    def filed_by(day: int, next_day: int) -> npt.NDArray[np.bool_]:
        inside = (first <= day) & (day <= last) & ((day >= target) | (next_day > last))
        filed: npt.NDArray[np.bool_] = (day > last) | inside
        return filed

    filed_now = filed_by(today_n, next_today)
    filed_before = (
        filed_by(prev_n, today_n) if previous is not None else np.zeros(len(txn), dtype=bool)
    )
    disputed = (kind > 0) & filed_now & ~filed_before
    due = (dd <= today_n) & (dd > prev_n) & (kind != 1)
    today_iso = today.isoformat()
    kinds = np.array(KINDS[1:])
    disputes = pl.DataFrame(
        {
            "customer_id": frame["customer_id"].to_numpy()[disputed],
            "transaction_id": txn[disputed].astype(np.int64),
            "product_id": frame["product_id"].to_numpy()[disputed],
            "dispute_type": kinds[kind[disputed] - 1] if disputed.any() else np.array([], str),
            "dispute_date": [today_iso] * int(disputed.sum()),
        },
        schema={
            "customer_id": pl.Int64,
            "transaction_id": pl.Int64,
            "product_id": pl.Int64,
            "dispute_type": pl.Utf8,
            "dispute_date": pl.Utf8,
        },
    ).sort("transaction_id")
    cancelled = disputed & (kind == 1)
    deliveries = pl.concat(
        [
            pl.DataFrame(
                {
                    "transaction_id": txn[due].astype(np.int64),
                    "status": schema.DELIVERED,
                    "status_date": _iso(dd[due]),
                },
                schema={"transaction_id": pl.Int64, "status": pl.Utf8, "status_date": pl.Utf8},
            ),
            pl.DataFrame(
                {
                    "transaction_id": txn[cancelled].astype(np.int64),
                    "status": schema.CANCELLED,
                    "status_date": [today_iso] * int(cancelled.sum()),
                },
                schema={"transaction_id": pl.Int64, "status": pl.Utf8, "status_date": pl.Utf8},
            ),
        ]
    ).sort("transaction_id")
    return deliveries, disputes


def todays_cancellations(
    seed: int, rates: Rates, today: date, frame: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """batch_events_frame for purchases made today, from their numeric delivery days.

    On its purchase day only a cancellation can be filed (every other window opens at
    delivery), and nothing is delivered yet: a shortcut for bulk days, tested against the
    general function.
    """
    txn = frame["transaction_id"].to_numpy().astype(np.uint64)
    days = frame["delivery"].to_numpy().astype(np.int64)
    cancel = fates(seed, rates, txn) == 1
    offset = (draw(seed_key(seed), SALT_TARGET, txn) % days.astype(np.uint64)).astype(np.int64)
    gap = (next_batch_date(seed, today) - today).days
    filed = cancel & ((offset == 0) | (gap > days - 1))
    today_iso = today.isoformat()
    picked = frame.filter(pl.Series(filed))
    disputes = picked.select(
        "customer_id",
        "transaction_id",
        "product_id",
        pl.lit(schema.CANCELLATION).alias("dispute_type"),
        pl.lit(today_iso).alias("dispute_date"),
    )
    deliveries = picked.select(
        "transaction_id",
        pl.lit(schema.CANCELLED).alias("status"),
        pl.lit(today_iso).alias("status_date"),
    )
    return deliveries, disputes


def csv_bytes(frame: pl.DataFrame) -> bytes:
    """Headerless CSV with the same bytes as storage.base.encode_rows."""
    if frame.height == 0:
        return b""
    return frame.write_csv(include_header=False, line_terminator="\n").encode()

"""After the sale: deliveries and disputes, decided from the open window alone, for one
batch date or many at once.

Each transaction's fate is drawn once from (seed, transaction_id): no dispute, or one
dispute of one type with a target day inside that type's window. The dispute is filed
on the first batch date D inside the window with D >= target, or on the last batch date
inside the window if the target would be skipped (batch dates are known one step
ahead: they are a function of the seed and the previous date). That rule is monotone in
D, so the filing date is the first batch date where it holds: a search in the sorted
batch dates, with no dispute.csv lookup and never two disputes per transaction. A
purchase older than 90 days is out of the window and gets no more events.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import numpy.typing as npt
import polars as pl

from first_temporal.domain import schema
from first_temporal.domain.random import SALT_FATE, SALT_TARGET, draw, probability, seed_key
from first_temporal.domain.rates import Rates
from first_temporal.domain.source import day_number, next_batch_date

# The purchase columns an after-sale life depends on.
OPEN_COLUMNS = (
    "customer_id",
    "transaction_id",
    "product_id",
    "purchase_date",
    "delivery_date",
    "refund_till",
)
KINDS = (schema.CANCELLATION, schema.RETURN_FOR_REFUND, schema.RETURN_FOR_NO_REFUND)
BEFORE_TIME = -(10**9)  # the batch date before the first batch

I64 = npt.NDArray[np.int64]


def fates(seed: int, rates: Rates, transaction_ids: npt.NDArray[np.uint64]) -> npt.NDArray[np.int8]:
    """0 none, else 1 + the index of the transaction's dispute kind in KINDS."""
    u = draw(seed_key(seed), SALT_FATE, transaction_ids) >> np.uint64(11)
    cancel = probability(rates.cancellation)
    refund = cancel + probability(rates.return_for_refund)
    no_refund = refund + probability(rates.return_for_no_refund)
    out = np.zeros(len(u), dtype=np.int8)
    out[u < np.uint64(no_refund)] = 3
    out[u < np.uint64(refund)] = 2
    out[u < np.uint64(cancel)] = 1
    return out


def events(
    seed: int,
    rates: Rates,
    previous: date | None,
    days: list[date],
    open_purchases: pl.DataFrame,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(deliveries, disputes) recorded on the batch dates `days` (ascending, the days
    after `previous`), each with a `batch_day` column (the batch date it lands on, as a
    day number) and ordered by it, then by transaction_id.

    `open_purchases` (OPEN_COLUMNS, dates as pl.Date) must hold every purchase bought
    within 90 days before days[0] and every purchase of `days`; older ones are ignored.
    """
    frame = open_purchases.select(
        "customer_id",
        "transaction_id",
        "product_id",
        *(pl.col(c).cast(pl.Int32).alias(c) for c in OPEN_COLUMNS[3:]),
    )
    txn = frame["transaction_id"].to_numpy().astype(np.uint64)
    bought, delivered, refund_till = (
        frame[c].to_numpy().astype(np.int64) for c in OPEN_COLUMNS[3:]
    )
    batch = np.array(
        [
            day_number(previous) if previous else BEFORE_TIME,
            *map(day_number, days),
            day_number(next_batch_date(seed, days[-1])),
        ],
        dtype=np.int64,
    )
    kind = fates(seed, rates, txn)
    # Filing dates only for the disputed few (a tenth of the rows), deliveries for all.
    at = np.flatnonzero(kind > 0)
    disputed, on = kind[at], bought[at]
    # The window each kind may be filed in: a cancellation before delivery, a return for
    # refund from delivery to refund_till, a return for no refund after it, within 90 days.
    first = np.select([disputed == 1, disputed == 2], [on, delivered[at]], refund_till[at] + 1)
    last = np.select(
        [disputed == 1, disputed == 2],
        [delivered[at] - 1, refund_till[at]],
        on + schema.DISPUTE_WINDOW_DAYS,
    )
    span = np.maximum(last - first + 1, 1).astype(np.uint64)
    target = first + (draw(seed_key(seed), SALT_TARGET, txn[at]) % span).astype(np.int64)
    filed, filed_at = _in_batch(batch, on, _filing_index(batch, first, last, target))
    due, due_at = _in_batch(batch, bought, np.searchsorted(batch, delivered, side="left"))
    due &= kind != 1
    filed_on = batch[filed_at]
    cancelled = filed & (disputed == 1)
    rows = at[filed]
    disputes = pl.DataFrame(
        {
            "customer_id": frame["customer_id"].to_numpy()[rows],
            "transaction_id": txn[rows].astype(np.int64),
            "product_id": frame["product_id"].to_numpy()[rows],
            "dispute_type": np.array(KINDS)[disputed[filed] - 1] if filed.any() else [],
            "batch_day": filed_on[filed],
        },
        schema={
            "customer_id": pl.Int64,
            "transaction_id": pl.Int64,
            "product_id": pl.Int64,
            "dispute_type": pl.Utf8,
            "batch_day": pl.Int64,
        },
    ).with_columns(pl.col("batch_day").cast(pl.Int32).cast(pl.Date).alias("dispute_date"))
    deliveries = pl.concat(
        [
            _status_rows(txn[due], schema.DELIVERED, delivered[due], batch[due_at][due]),
            _status_rows(
                txn[at[cancelled]], schema.CANCELLED, filed_on[cancelled], filed_on[cancelled]
            ),
        ]
    )
    return (
        deliveries.sort("batch_day", "transaction_id"),
        disputes.select(*schema.COLUMNS[schema.DISPUTE], "batch_day").sort(
            "batch_day", "transaction_id"
        ),
    )


def _filing_index(batch: I64, first: I64, last: I64, target: I64) -> I64:
    """Index in `batch` of the first batch date on which each dispute counts as filed:
    inside its window on or after the target, or the window's last batch date when the
    next one falls past it, or any date past the window. len(batch) when none is."""
    n = len(batch) - 1  # the last entry only serves as the next date of the one before
    none = np.full(len(first), len(batch), dtype=np.int64)
    on_target = np.searchsorted(batch, np.maximum(first, target), side="left")
    on_target = np.where(
        (on_target < n) & (batch[np.minimum(on_target, n)] <= last), on_target, none
    )
    past = np.searchsorted(batch, last, side="right")
    last_inside = past - 1
    last_inside = np.where(
        (last_inside >= 0) & (last_inside < n) & (batch[np.maximum(last_inside, 0)] >= first),
        last_inside,
        none,
    )
    past = np.where(past < n, past, none)
    result: I64 = np.minimum(np.minimum(on_target, last_inside), past)
    return result


def _in_batch(batch: I64, bought: I64, index: I64) -> tuple[npt.NDArray[np.bool_], I64]:
    """Which indexes name a date of this batch (not the one before it, nor the next) on
    which the purchase is still in the 90-day window; and the indexes, clipped."""
    clipped = np.clip(index, 0, len(batch) - 1)
    inside = (index >= 1) & (index <= len(batch) - 2)
    inside &= bought >= batch[clipped] - schema.DISPUTE_WINDOW_DAYS
    return inside, clipped


def _status_rows(txn: npt.NDArray[np.uint64], status: str, on: I64, batch_day: I64) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "transaction_id": txn.astype(np.int64),
            "status": [status] * len(txn),
            "status_date": on.astype(np.int32),
            "batch_day": batch_day,
        },
        schema={
            "transaction_id": pl.Int64,
            "status": pl.Utf8,
            "status_date": pl.Int32,
            "batch_day": pl.Int64,
        },
    ).with_columns(pl.col("status_date").cast(pl.Date))

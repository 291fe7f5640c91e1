"""A batch, from its checkpoint to its rows: the same functions for one day, a span of
many days and a million-row day split in parts. Every step checks its own rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from first_temporal.domain import lifecycle, rules, schema, source
from first_temporal.domain.checkpoint import Checkpoint
from first_temporal.domain.rates import Rates


@dataclass(frozen=True)
class BatchSpec:
    """Everything a batch's bytes depend on."""

    seed: int
    rates: Rates
    checkpoint: Checkpoint
    days: int = 1
    purchases: int | None = None  # overrides each day's volume

    @property
    def identity(self) -> str:
        return f"{self.seed}|{self.rates}|{self.days}|{self.purchases}"

    def plan(self) -> list[source.Day]:
        cp = self.checkpoint
        plan = source.plan_days(
            self.seed,
            self.rates,
            cp.previous,
            cp.last_customer_id,
            cp.last_transaction_id,
            self.days,
            self.purchases,
        )
        rules.refuse(self.label(plan), rules.date_problems(cp.previous, plan))
        return plan

    def label(self, plan: list[source.Day]) -> str:
        first = self.checkpoint.batch_number + 1
        if len(plan) == 1:
            return f"batch {first} ({plan[0].date})"
        return f"batches {first}-{first + len(plan) - 1} ({plan[0].date} to {plan[-1].date})"


def extract(
    spec: BatchSpec, plan: list[source.Day], start: int, end: int | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Purchases [start, end) of the batch and the new customers they bring, checked."""
    purchases = source.purchases(spec.seed, spec.rates, plan, start, end)
    first_txn = plan[0].first_transaction_id + start
    rules.refuse(spec.label(plan), rules.purchase_problems(purchases, first_txn))
    return purchases, source.new_customers(purchases)


def window_since(plan: list[source.Day]) -> date:
    """The oldest purchase date that can still have an event on the batch's first day."""
    return plan[0].date - timedelta(days=schema.DISPUTE_WINDOW_DAYS)


def transform(
    spec: BatchSpec, plan: list[source.Day], open_purchases: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Deliveries and disputes of the batch's days, checked, each with its `batch_day`."""
    deliveries, disputes = lifecycle.events(
        spec.seed,
        spec.rates,
        spec.checkpoint.previous,
        [d.date for d in plan],
        open_purchases.select(lifecycle.OPEN_COLUMNS),
    )
    rules.refuse(spec.label(plan), rules.event_problems(deliveries, disputes))
    return deliveries, disputes


def rows_per_day(plan: list[source.Day], days: pl.Series) -> list[int]:
    """How many of the rows (by the day number they land on) fall on each planned day."""
    numbers = np.array([source.day_number(d.date) for d in plan], dtype=np.int64)
    index = np.searchsorted(numbers, days.cast(pl.Int64).to_numpy())
    return [int(n) for n in np.bincount(index, minlength=len(plan))]

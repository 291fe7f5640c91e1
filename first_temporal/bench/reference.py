"""Bare references: one process, no Temporal, no durability, no checks, no staging. They
generate the same rows with the same functions and write the CSVs with polars.

  python -m first_temporal.bench.reference bulk OUT PURCHASES   one day of PURCHASES
  python -m first_temporal.bench.reference span OUT DAYS        DAYS days, all four tables
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from first_temporal.domain import lifecycle, schema, source
from first_temporal.domain.rates import Rates
from first_temporal.storage import csv

SEED = 42


def main(mode: str, out: str, amount: int) -> float:
    began = time.perf_counter()
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    days, purchases = (1, amount) if mode == "bulk" else (amount, None)
    plan = source.plan_days(SEED, Rates(), None, schema.FIRST_CUSTOMER_ID - 1, 0, days, purchases)
    bought = source.purchases(SEED, Rates(), plan)
    dates = [d.date for d in plan]
    open_rows = bought.select(lifecycle.OPEN_COLUMNS)
    deliveries, disputes = lifecycle.events(SEED, Rates(), None, dates, open_rows)
    tables = {
        schema.PURCHASE: bought,
        schema.CUSTOMER: source.new_customers(bought),
        schema.DELIVERY: deliveries,  # a bulk day's own cancellations, as the starter's
        schema.DISPUTE: disputes,
    }
    for table, frame in tables.items():
        csv.write(table, frame, str(root / f"{table}.csv"), header=True)
    return time.perf_counter() - began


if __name__ == "__main__":
    print(f"{main(sys.argv[1], sys.argv[2], int(sys.argv[3])):.2f}")

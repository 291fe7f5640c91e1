"""The bare reference for a bulk day: one process, no Temporal, no durability. It generates
the same rows with the same name pools and writes purchase and customer CSVs with polars."""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path

from first_temporal import schema
from first_temporal.activities.source import Rates
from first_temporal.activities.vectorized import customer_frame, purchase_frame


def main(out: str, purchases: int) -> float:
    began = time.perf_counter()
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    frame = purchase_frame(
        42, date.fromisoformat(schema.FIRST_BATCH_DATE), 99999, 0, Rates(), 0, purchases
    )
    frame.write_csv(root / "purchase.csv")
    customer_frame(frame).write_csv(root / "customer.csv")
    return time.perf_counter() - began


if __name__ == "__main__":
    print(f"{main(sys.argv[1], int(sys.argv[2])):.2f}")

"""Parquet copies of the mart for other engines: facts partitioned by year and month."""

from __future__ import annotations

from pathlib import Path

from first_temporal.mart.build import mart_path
from first_temporal.mart.db import connect

FACTS: dict[str, str] = {
    "fact_sales": "date_key",
    "fact_dispute": "date_key",
    "fact_delivery": "purchase_date_key",
}
DIMENSIONS = ("dim_date", "dim_product", "dim_customer", "dim_dispute_type")


def export_parquet(data_dir: str, out: str) -> list[Path]:
    """Hive-style year=/month= folders per fact table, one file per dimension."""
    target = Path(out).absolute()
    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    con = connect(mart_path(data_dir), read_only=True)
    try:
        for table, key in FACTS.items():
            folder = target / table
            con.execute(
                f"""COPY (SELECT f.*, d.year, d.month FROM {table} f
                          JOIN dim_date d ON d.date_key = f.{key})
                TO '{folder}' (FORMAT parquet, PARTITION_BY (year, month),
                               OVERWRITE_OR_IGNORE true)"""
            )
            written.append(folder)
        for table in DIMENSIONS:
            file = target / f"{table}.parquet"
            con.execute(f"COPY {table} TO '{file}' (FORMAT parquet)")
            written.append(file)
    finally:
        con.close()
    return written

"""Does the mart say what the committed CSV tables say? A full scan, for checks and tests."""

from __future__ import annotations

import io
from pathlib import Path

import duckdb
import polars as pl

from first_temporal.domain import schema
from first_temporal.mart.build import mart_path
from first_temporal.mart.db import connect, one
from first_temporal.mart.state import load_state, read_committed
from first_temporal.storage.csv import SCHEMAS

# name -> (SQL over the committed CSV rows, SQL over the mart); each returns one row.
CHECKS: dict[str, tuple[str, str]] = {
    "purchases": ("SELECT count(*) FROM csv_purchase", "SELECT count(*) FROM fact_sales"),
    "revenue": (
        "SELECT coalesce(sum(p.cost), 0) FROM csv_purchase c"
        " JOIN csv_product p ON p.product_id = c.product_id",
        "SELECT coalesce(sum(sale_amount), 0) FROM fact_sales",
    ),
    "repeat purchases": (
        f"SELECT count(*) FROM csv_purchase WHERE checkout_type = '{schema.REPEAT}'",
        f"SELECT count(*) FROM fact_sales WHERE checkout_type = '{schema.REPEAT}'",
    ),
    "customers": ("SELECT count(*) FROM csv_customer", "SELECT count(*) FROM dim_customer"),
    "buying customers": (
        "SELECT count(DISTINCT customer_id) FROM csv_purchase",
        "SELECT count(DISTINCT customer_key) FROM fact_sales",
    ),
    "deliveries": ("SELECT count(*) FROM csv_purchase", "SELECT count(*) FROM fact_delivery"),
    "refunds": (
        "SELECT coalesce(sum(p.cost), 0) FROM csv_dispute d"
        " JOIN csv_product p ON p.product_id = d.product_id"
        f" WHERE d.dispute_type = '{schema.RETURN_FOR_REFUND}'",
        "SELECT coalesce(sum(refund_amount), 0) FROM fact_dispute",
    ),
}
for _kind in schema.DISPUTE_TYPES:
    CHECKS[f"disputes of type {_kind}"] = (
        f"SELECT count(*) FROM csv_dispute WHERE dispute_type = '{_kind}'",
        f"SELECT count(*) FROM fact_dispute WHERE dispute_type = '{_kind}'",
    )
for _status in schema.DELIVERY_STATUSES:
    CHECKS[f"deliveries {_status}"] = (
        f"SELECT count(*) FROM csv_delivery WHERE status = '{_status}'",
        f"SELECT count(*) FROM fact_delivery WHERE status = '{_status}'",
    )
CHECKS["deliveries pending"] = (
    "SELECT (SELECT count(*) FROM csv_purchase) - (SELECT count(*) FROM csv_delivery)",
    "SELECT count(*) FROM fact_delivery WHERE status = 'pending'",
)
CHECKS["days to deliver (sum)"] = (
    "SELECT coalesce(sum(v.status_date - p.purchase_date), 0) FROM csv_delivery v"
    " JOIN csv_purchase p USING (transaction_id) WHERE v.status = 'delivered'",
    "SELECT coalesce(sum(days_to_deliver), 0) FROM fact_delivery",
)


def committed_rows(data_dir: Path, table: str, end: int) -> pl.DataFrame:
    """The table's committed rows only: bytes past `end` are uncommitted leftovers."""
    path = data_dir / f"{table}.csv"
    with open(path, "rb") as fh:
        raw = fh.read(end)
    return pl.read_csv(io.BytesIO(raw), schema=SCHEMAS[table])


def products(data_dir: Path) -> pl.DataFrame:
    path = data_dir / f"{schema.PRODUCT}.csv"
    raw = path.read_bytes() if path.is_file() else schema.catalogue_bytes()
    frame = pl.read_csv(io.BytesIO(raw), infer_schema=False)
    return frame.with_columns(
        pl.col("product_id").cast(pl.Int64), pl.col("cost").cast(pl.Decimal(12, 2))
    )


def reconcile(data_dir: str) -> list[str]:
    """Mismatches between the mart and the committed tables; empty means reconciled."""
    root = Path(data_dir).absolute()
    cp = read_committed(root)
    target = mart_path(root)
    if not target.exists():
        return [f"{target}: missing"]
    con = connect(target, read_only=True)
    try:
        state = load_state(con)
        problems: list[str] = []
        cp_batch = cp.batch_number if cp else 0
        if state.batch_number != cp_batch:
            problems.append(f"batch: mart has {state.batch_number}, tables have {cp_batch}")
        for table in schema.BATCH_TABLES:
            if cp is None:
                frame = pl.DataFrame(schema=SCHEMAS[table])
            else:
                frame = committed_rows(root, table, cp.ends[table])
                if state.offsets[table] != cp.ends[table]:
                    problems.append(
                        f"{table} offset: mart has {state.offsets[table]},"
                        f" tables commit {cp.ends[table]}"
                    )
            con.register(f"csv_{table}", frame)
        con.register("csv_product", products(root))
        for name, (csv_sql, mart_sql) in CHECKS.items():
            problems += _compare(con, name, csv_sql, mart_sql)
        problems += _duplicates(con)
        return problems
    finally:
        con.close()


def _compare(con: duckdb.DuckDBPyConnection, name: str, csv_sql: str, mart_sql: str) -> list[str]:
    expected, found = one(con, csv_sql), one(con, mart_sql)
    if expected != found:
        return [f"{name}: tables have {_one(expected)}, mart has {_one(found)}"]
    return []


def _one(row: tuple[object, ...] | None) -> object:
    return row[0] if row else None


def _duplicates(con: duckdb.DuckDBPyConnection) -> list[str]:
    problems = []
    for table, key in (
        ("fact_sales", "transaction_id"),
        ("fact_dispute", "transaction_id"),
        ("fact_delivery", "transaction_id"),
        ("dim_customer", "customer_id"),
    ):
        dup = one(con, f"SELECT count(*) - count(DISTINCT {key}) FROM {table}")
        if dup and dup[0]:
            problems.append(f"{table}: {dup[0]} duplicate {key} values")
    return problems

"""Turning new committed CSV bytes into mart rows, inside the caller's transaction.

Each step touches only the new rows plus, for disputes and deliveries, the fact rows
of the transactions they name; those are found by a transaction_id range, which
DuckDB's zone maps prune to a few row groups (facts are appended in about id order), so a
batch costs the same on day 10 and day 10,000.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from first_temporal.domain import schema
from first_temporal.domain.errors import BadInput
from first_temporal.mart.db import one
from first_temporal.mart.ddl import CUSTOMER_KEY_BASE, DISPUTE_TYPES
from first_temporal.mart.stage import STAGES, NewRows


def date_key(column: str) -> str:
    return f"CAST(strftime({column}, '%Y%m%d') AS INTEGER)"


def _inserted(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> int:
    row = one(con, sql, params)
    return int(row[0]) if row else 0


def extend_dates(con: duckdb.DuckDBPyConnection, low: date, high: date) -> None:
    """Keep dim_date one contiguous calendar that covers every date a fact refers to."""
    current = one(con, "SELECT min(date), max(date) FROM dim_date")
    lo, hi = low, high
    if current is not None and current[0] is not None:
        lo, hi = min(low, current[1]), max(high, current[0])
    con.execute(
        f"""INSERT OR IGNORE INTO dim_date
        SELECT {date_key("d")}, d, year(d), quarter(d), month(d), monthname(d),
               strftime(d, '%Y-%m'), date_trunc('week', d)::DATE, isodow(d), dayname(d),
               isodow(d) >= 6
        FROM (SELECT unnest(generate_series(?::DATE, ?::DATE, INTERVAL 1 DAY))::DATE AS d)""",
        [lo, hi],
    )


def seed_dimensions(con: duckdb.DuckDBPyConnection, data_dir: Path) -> None:
    """Products from product.csv (the catalogue while it does not exist yet), dispute types."""
    path = data_dir / f"{schema.PRODUCT}.csv"
    raw = path.read_bytes() if path.is_file() else schema.catalogue_bytes()
    products = pl.read_csv(io.BytesIO(raw), infer_schema=False)
    columns = ("product_id", "year", "make", "model", "exterior_color", "interior_color", "cost")
    con.executemany(
        """INSERT INTO dim_product VALUES (
            CAST($1 AS INTEGER), CAST($1 AS INTEGER), CAST($2 AS SMALLINT), $3, $4, $5, $6,
            $5 || ' / ' || $6, CAST($7 AS DECIMAL(12, 2)))""",
        products.select(columns).rows(),
    )
    con.executemany("INSERT INTO dim_dispute_type VALUES (?, ?, ?, ?)", DISPUTE_TYPES)


def load_customers(con: duckdb.DuckDBPyConnection, rows: NewRows) -> None:
    con.execute(
        f"""INSERT INTO dim_customer
        SELECT customer_id - {CUSTOMER_KEY_BASE}, customer_id, first_name, last_name,
               email_address, first_purchase_date, {date_key("first_purchase_date")}
        FROM {STAGES[schema.CUSTOMER]}"""
    )


def load_purchases(con: duckdb.DuckDBPyConnection, rows: NewRows) -> None:
    sales = _inserted(
        con,
        f"""INSERT INTO fact_sales
        SELECT n.transaction_id, {date_key("n.purchase_date")},
               n.customer_id - {CUSTOMER_KEY_BASE}, p.product_key, p.cost, n.checkout_type
        FROM {STAGES[schema.PURCHASE]} n JOIN dim_product p ON p.product_id = n.product_id""",
    )
    if sales != rows.count:
        raise BadInput(f"purchase.csv: {rows.count - sales} new rows name an unknown product_id")
    con.execute(
        f"""INSERT INTO fact_delivery
        SELECT transaction_id, customer_id - {CUSTOMER_KEY_BASE}, product_id,
               {date_key("purchase_date")}, {date_key("delivery_date")}, NULL, NULL,
               purchase_date, delivery_date, NULL, NULL, 'pending', NULL
        FROM {STAGES[schema.PURCHASE]}"""
    )


def _id_range(rows: NewRows) -> list[object]:
    return [rows.first_id, rows.last_id]


def load_disputes(con: duckdb.DuckDBPyConnection, rows: NewRows) -> None:
    disputes = _inserted(
        con,
        f"""INSERT INTO fact_dispute
        SELECT n.transaction_id, n.dispute_type, t.dispute_type_key, {date_key("n.dispute_date")},
               s.date_key, s.customer_key, s.product_key,
               CASE WHEN t.refunds_sale THEN s.sale_amount ELSE 0 END,
               n.dispute_date - d.purchase_date
        FROM {STAGES[schema.DISPUTE]} n
        JOIN dim_dispute_type t ON t.dispute_type = n.dispute_type
        JOIN fact_sales s ON s.transaction_id = n.transaction_id
        JOIN fact_delivery d ON d.transaction_id = n.transaction_id
        WHERE s.transaction_id BETWEEN ? AND ? AND d.transaction_id BETWEEN ? AND ?""",
        _id_range(rows) * 2,
    )
    if disputes != rows.count:
        raise BadInput(
            f"dispute.csv: {rows.count - disputes} new rows name an unknown transaction or type"
        )


def load_deliveries(con: duckdb.DuckDBPyConnection, rows: NewRows) -> None:
    updated = _inserted(
        con,
        f"""UPDATE fact_delivery f SET
            status = n.status,
            delivered_date = CASE WHEN n.status = 'delivered' THEN n.status_date END,
            delivered_date_key = CASE WHEN n.status = 'delivered'
                                      THEN {date_key("n.status_date")} END,
            cancelled_date = CASE WHEN n.status = 'cancelled' THEN n.status_date END,
            cancelled_date_key = CASE WHEN n.status = 'cancelled'
                                      THEN {date_key("n.status_date")} END,
            days_to_deliver = CASE WHEN n.status = 'delivered'
                                   THEN n.status_date - f.purchase_date END
        FROM {STAGES[schema.DELIVERY]} n
        WHERE f.transaction_id = n.transaction_id AND f.status = 'pending'
          AND f.transaction_id BETWEEN ? AND ?""",
        _id_range(rows),
    )
    if updated != rows.count:
        raise BadInput(
            f"delivery.csv: {rows.count - updated} new rows name an unknown transaction"
            " or one whose delivery is already final"
        )


LOADERS: dict[str, Callable[[duckdb.DuckDBPyConnection, NewRows], None]] = {
    schema.CUSTOMER: load_customers,
    schema.PURCHASE: load_purchases,
    schema.DISPUTE: load_disputes,
    schema.DELIVERY: load_deliveries,
}
# Dimensions before facts, sales before what refers to them.
LOAD_ORDER = (schema.CUSTOMER, schema.PURCHASE, schema.DISPUTE, schema.DELIVERY)

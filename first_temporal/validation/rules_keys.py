"""Keys: uniqueness, contiguous ids, foreign keys, customer identity and checkout types."""

from __future__ import annotations

from first_temporal.domain import schema
from first_temporal.validation.rules_rows import Ctx, run

P, C, D, V, PR = schema.PURCHASE, schema.CUSTOMER, schema.DISPUTE, schema.DELIVERY, schema.PRODUCT
FIRST_CUSTOMER = schema.FIRST_CUSTOMER_ID
FIRST_TIME = schema.FIRST_TIME


def prepare(ctx: Ctx) -> None:
    """Helper tables: each customer's first purchase line; the batch dates."""
    ctx.con.execute(
        f"""
        CREATE OR REPLACE TABLE first_buy AS
            SELECT customer_id, min(line) AS first_line FROM {P}
            WHERE customer_id IS NOT NULL GROUP BY customer_id;
        CREATE OR REPLACE TABLE batches AS
            SELECT d, first_line, lag(d) OVER (ORDER BY d) AS prev FROM (
                SELECT purchase_date AS d, min(line) AS first_line FROM {P}
                WHERE purchase_date IS NOT NULL GROUP BY purchase_date);
        """
    )


def key_rules(ctx: Ctx) -> None:
    for table, key in (
        (P, "transaction_id"),
        (C, "customer_id"),
        (D, "transaction_id"),
        (V, "transaction_id"),
    ):
        run(
            ctx,
            "unique_key",
            table,
            key,
            f"""
            SELECT t.line, '{key} ' || t.{key} || ' is already on line ' || g.first AS msg
            FROM {table} t JOIN (
                SELECT {key}, min(line) AS first FROM {table} WHERE {key} IS NOT NULL
                GROUP BY {key} HAVING count(*) > 1) g ON g.{key} = t.{key}
            WHERE t.line > g.first""",
        )
    run(
        ctx,
        "contiguous_ids",
        P,
        "transaction_id",
        f"""
        SELECT line, 'transaction_id ' || transaction_id || ', expected ' || (line - 1)
            || ' (ids run 1.. in line order)' AS msg
        FROM {P} WHERE transaction_id != line - 1""",
    )
    run(
        ctx,
        "contiguous_ids",
        C,
        "customer_id",
        f"""
        SELECT line, 'customer_id ' || customer_id || ', expected ' || ({FIRST_CUSTOMER} + line - 2)
            || ' (ids run {FIRST_CUSTOMER}.. in line order)' AS msg
        FROM {C} WHERE customer_id != {FIRST_CUSTOMER} + line - 2""",
    )
    run(
        ctx,
        "customer_order",
        P,
        "customer_id",
        """
        SELECT a.first_line AS line, 'new customer ' || a.customer_id
            || ' first buys before customer ' || b.customer_id || ' (line ' || b.first_line
            || '): new customer ids must appear in order' AS msg
        FROM first_buy a JOIN first_buy b ON b.customer_id = a.customer_id - 1
        WHERE a.first_line < b.first_line""",
    )
    foreign = (
        (P, "customer_id", C, "customer_id"),
        (P, "product_id", PR, "product_id"),
        (D, "transaction_id", P, "transaction_id"),
        (V, "transaction_id", P, "transaction_id"),
    )
    for table, column, parent, key in foreign:
        run(
            ctx,
            "foreign_key",
            table,
            column,
            f"""
            SELECT t.line, '{column} ' || t.{column} || ' is not in {parent}.csv' AS msg
            FROM {table} t WHERE t.{column} IS NOT NULL
                AND NOT EXISTS (SELECT 1 FROM {parent} x WHERE x.{key} = t.{column})""",
        )
    run(
        ctx,
        "customer_without_purchase",
        C,
        "customer_id",
        f"""
        SELECT line, 'customer ' || customer_id || ' has no purchase in purchase.csv' AS msg
        FROM {C} c WHERE customer_id IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM first_buy f WHERE f.customer_id = c.customer_id)""",
    )


def customer_rules(ctx: Ctx) -> None:
    for column in ("first_name", "last_name", "email_address"):
        run(
            ctx,
            "customer_identity",
            P,
            column,
            f"""
            SELECT p.line, '{column} ' || p.{column} || ' differs from customer '
                || p.customer_id || '''s ' || c.{column} || ' (customer.csv line ' || c.line
                || ')' AS msg
            FROM {P} p JOIN {C} c ON c.customer_id = p.customer_id
            WHERE p.{column} != c.{column}""",
        )
    run(
        ctx,
        "checkout_type",
        P,
        "checkout_type",
        f"""
        SELECT p.line, CASE WHEN p.line = f.first_line
                THEN 'first purchase of customer ' || p.customer_id || ' is ' || p.checkout_type
                    || ', expected {FIRST_TIME}'
                ELSE 'customer ' || p.customer_id || ' first bought on line ' || f.first_line
                    || ', expected {schema.REPEAT}' END AS msg
        FROM {P} p JOIN first_buy f ON f.customer_id = p.customer_id
        WHERE p.checkout_type IS NOT NULL
            AND (p.line = f.first_line) != (p.checkout_type = '{FIRST_TIME}')""",
    )
    run(
        ctx,
        "first_purchase_date",
        C,
        "first_purchase_date",
        f"""
        SELECT c.line, c.first_purchase_date || ' is not the date of customer '
            || c.customer_id || '''s first purchase (' || p.purchase_date
            || ', purchase.csv line ' || p.line || ')' AS msg
        FROM {C} c JOIN first_buy f ON f.customer_id = c.customer_id
            JOIN {P} p ON p.line = f.first_line
        WHERE c.first_purchase_date != p.purchase_date""",
    )

"""Date rules: batch dates, delivery and refund windows, disputes and delivery statuses."""

from __future__ import annotations

from first_temporal.domain import schema
from first_temporal.validation.rules_rows import Ctx, run

P, D, V = schema.PURCHASE, schema.DISPUTE, schema.DELIVERY
FIRST = schema.FIRST_BATCH_DATE
LO, HI = schema.MIN_BATCH_STEP_DAYS, schema.MAX_BATCH_STEP_DAYS
DLO, DHI = schema.MIN_DELIVERY_DAYS, schema.MAX_DELIVERY_DAYS
REFUND, WINDOW = schema.REFUND_WINDOW_DAYS, schema.DISPUTE_WINDOW_DAYS
CANCEL, REFUNDED, KEPT = schema.CANCELLATION, schema.RETURN_FOR_REFUND, schema.RETURN_FOR_NO_REFUND


def in_append_order(ctx: Ctx, rule: str, table: str, column: str) -> None:
    """Rows are appended in batch order: `column` never goes back down the file."""
    run(
        ctx,
        rule,
        table,
        column,
        f"""
        SELECT line, {column} || ' is before ' || prev || ' on line ' || (line - 1)
            || ': rows are appended in batch order' AS msg
        FROM (SELECT line, {column}, lag({column}) OVER (ORDER BY line) AS prev
              FROM {table})
        WHERE {column} < prev""",
    )


def purchase_date_rules(ctx: Ctx) -> None:
    in_append_order(ctx, "purchase_order", P, "purchase_date")
    run(
        ctx,
        "batch_dates",
        P,
        "purchase_date",
        f"""
        SELECT first_line AS line, CASE
            WHEN prev IS NULL THEN 'the first batch date ' || d || ' is not {FIRST}'
            ELSE 'batch date ' || d || ' is ' || (d - prev) || ' days after the previous batch'
                || ' date ' || prev || ' (must be {LO} to {HI})' END AS msg
        FROM batches
        WHERE (prev IS NULL AND d != DATE '{FIRST}') OR (d - prev NOT BETWEEN {LO} AND {HI})""",
    )
    run(
        ctx,
        "delivery_date",
        P,
        "delivery_date",
        f"""
        SELECT line, delivery_date || ' is ' || (delivery_date - purchase_date)
            || ' days after purchase_date ' || purchase_date || ' (must be {DLO} to {DHI})' AS msg
        FROM {P} WHERE delivery_date - purchase_date NOT BETWEEN {DLO} AND {DHI}""",
    )
    run(
        ctx,
        "refund_till",
        P,
        "refund_till",
        f"""
        SELECT line, refund_till || ' is not purchase_date + {REFUND} days ('
            || (purchase_date + {REFUND}) || ')' AS msg
        FROM {P} WHERE refund_till != purchase_date + {REFUND}""",
    )


def dispute_rules(ctx: Ctx) -> None:
    run(
        ctx,
        "dispute_window",
        D,
        "dispute_date",
        f"""
        SELECT d.line, d.dispute_type || ' on ' || d.dispute_date || ' is outside ' || CASE
            WHEN d.dispute_type = '{CANCEL}' THEN '[purchase_date ' || p.purchase_date
                || ', delivery_date ' || p.delivery_date || ')'
            WHEN d.dispute_type = '{REFUNDED}' THEN '[delivery_date ' || p.delivery_date
                || ', refund_till ' || p.refund_till || ']'
            ELSE '(refund_till ' || p.refund_till || ', purchase_date + {WINDOW} days '
                || (p.purchase_date + {WINDOW}) || ']' END
            || ' (purchase.csv line ' || p.line || ')' AS msg
        FROM {D} d JOIN {P} p ON p.transaction_id = d.transaction_id
        WHERE CASE d.dispute_type
            WHEN '{CANCEL}' THEN NOT (p.purchase_date <= d.dispute_date
                                      AND d.dispute_date < p.delivery_date)
            WHEN '{REFUNDED}' THEN NOT (p.delivery_date <= d.dispute_date
                                        AND d.dispute_date <= p.refund_till)
            WHEN '{KEPT}' THEN NOT (p.refund_till < d.dispute_date
                                    AND d.dispute_date <= p.purchase_date + {WINDOW})
            END""",
    )
    for column in ("customer_id", "product_id"):
        run(
            ctx,
            "dispute_matches_purchase",
            D,
            column,
            f"""
            SELECT d.line, '{column} ' || d.{column} || ' differs from the purchase''s '
                || p.{column} || ' (purchase.csv line ' || p.line || ')' AS msg
            FROM {D} d JOIN {P} p ON p.transaction_id = d.transaction_id
            WHERE d.{column} != p.{column}""",
        )
    run(
        ctx,
        "dispute_date",
        D,
        "dispute_date",
        f"""
        SELECT line, dispute_date || ' is not a batch date (no purchase on that day)' AS msg
        FROM {D} d WHERE dispute_date IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM batches b WHERE b.d = d.dispute_date)""",
    )
    in_append_order(ctx, "append_order", D, "dispute_date")
    run(
        ctx,
        "cancellation_without_status",
        D,
        "transaction_id",
        f"""
        SELECT line, 'cancellation of transaction ' || transaction_id
            || ' has no cancelled row in delivery.csv' AS msg
        FROM {D} d WHERE dispute_type = '{CANCEL}' AND NOT EXISTS (
            SELECT 1 FROM {V} v WHERE v.transaction_id = d.transaction_id
                AND v.status = '{schema.CANCELLED}')""",
    )


def delivery_rules(ctx: Ctx) -> None:
    prev = ctx.previous_date
    run(
        ctx,
        "delivered_status_date",
        V,
        "status_date",
        f"""
        SELECT v.line, v.status_date || ' is not the delivery_date ' || p.delivery_date
            || ' (purchase.csv line ' || p.line || ')' AS msg
        FROM {V} v JOIN {P} p ON p.transaction_id = v.transaction_id
        WHERE v.status = '{schema.DELIVERED}' AND v.status_date != p.delivery_date""",
    )
    run(
        ctx,
        "cancelled_status",
        V,
        "status_date",
        f"""
        SELECT v.line, CASE WHEN d.line IS NULL
                THEN 'transaction ' || v.transaction_id || ' is cancelled without a cancellation'
                    || ' in dispute.csv'
                ELSE v.status_date || ' is not the cancellation''s dispute_date '
                    || d.dispute_date || ' (dispute.csv line ' || d.line || ')' END AS msg
        FROM {V} v LEFT JOIN {D} d ON d.transaction_id = v.transaction_id
            AND d.dispute_type = '{CANCEL}'
        WHERE v.status = '{schema.CANCELLED}'
            AND (d.line IS NULL OR v.status_date IS DISTINCT FROM d.dispute_date)""",
    )
    run(
        ctx,
        "delivered_but_cancelled",
        V,
        "status",
        f"""
        SELECT v.line, 'transaction ' || v.transaction_id || ' is delivered but was cancelled'
            || ' (dispute.csv line ' || d.line || ')' AS msg
        FROM {V} v JOIN {D} d ON d.transaction_id = v.transaction_id
        WHERE v.status = '{schema.DELIVERED}' AND d.dispute_type = '{CANCEL}'""",
    )
    run(
        ctx,
        "due_delivery",
        P,
        "delivery_date",
        f"""
        SELECT line, 'due on ' || delivery_date || ' (previous_date {prev}) but neither'
            || ' delivered nor cancelled in delivery.csv' AS msg
        FROM {P} p WHERE delivery_date <= DATE '{prev}'
            AND NOT EXISTS (SELECT 1 FROM {V} v WHERE v.transaction_id = p.transaction_id)""",
    )
    run(
        ctx,
        "due_delivery",
        V,
        "status",
        f"""
        SELECT v.line, 'delivered although its delivery_date ' || p.delivery_date
            || ' is after previous_date {prev} (purchase.csv line ' || p.line || ')' AS msg
        FROM {V} v JOIN {P} p ON p.transaction_id = v.transaction_id
        WHERE v.status = '{schema.DELIVERED}' AND p.delivery_date > DATE '{prev}'""",
    )
    run(
        ctx,
        "append_order",
        V,
        "status_date",
        f"""
        SELECT line, 'appended on batch ' || day || ', after a row of batch ' || prev
            || ' on line ' || (line - 1) || ': rows are appended in batch order' AS msg
        FROM (SELECT line, day, lag(day) OVER (ORDER BY line) AS prev FROM (
            SELECT v.line, CASE WHEN v.status = '{schema.DELIVERED}' THEN b.d
                ELSE v.status_date END AS day
            FROM {V} v ASOF LEFT JOIN batches b ON v.status_date <= b.d))
        WHERE day < prev""",
    )

"""One hand-broken old row per rule: the validator names the rule, the file and the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from first_temporal.domain import schema
from first_temporal.tests.tables import (
    assert_caught,
    edit,
    find_line,
    read_rows,
    recommit,
    shift,
    write_rows,
)
from first_temporal.validate import validate

P, C, D, V = "purchase.csv", "customer.csv", "dispute.csv", "delivery.csv"


def only(report_rules: set[str], *expected: str) -> None:
    assert report_rules == set(expected), report_rules


def test_header(data: Path) -> None:
    rows = read_rows(data, schema.DISPUTE)
    rows[0][3] = "kind"
    write_rows(data, schema.DISPUTE, rows)
    report = validate(data)
    assert_caught(report, "header", D, 1)
    only(report.rules(), "header")


def test_field_count_and_blank_line_keep_line_numbers(data: Path) -> None:
    rows = read_rows(data, schema.PURCHASE)
    del rows[4][3]  # line 5 loses its email
    rows[9:9] = [[""]]  # a blank line 10: every later row moves down by one
    write_rows(data, schema.PURCHASE, rows)
    report = validate(data)
    assert_caught(report, "fields", P, 5)
    blank = [v for v in report.find("fields") if v.line == 10]
    assert blank and blank[0].message == "blank line"
    # the row after the blank line is line 11 and holds transaction 9: contiguity says so
    assert_caught(report, "contiguous_ids", P, 11, "transaction_id")


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("purchase_date", "2020-02-30"),
        ("checkout_type", "Returning Customer"),
        ("delivered", "True"),
        ("product_id", "07"),
        ("email_address", "not-an-email"),
    ],
)
def test_types(data: Path, column: str, value: str) -> None:
    edit(data, schema.PURCHASE, 7, **{column: value})
    report = validate(data)
    assert_caught(report, "type", P, 7, column)
    hit = next(v for v in report.find("type") if v.line == 7)
    assert hit.message.startswith(f"'{value}' is not ")


def test_unreadable_bytes(data: Path) -> None:
    path = data / "customer.csv"
    lines = path.read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b",", b"\xff,", 1)  # line 3: invalid UTF-8
    lines[5] = lines[5].replace(b",", b'"\r,', 1)  # line 6: a quote and a carriage return
    path.write_bytes(b"\n".join(lines))
    recommit(data, schema.CUSTOMER, len(lines) - 2)
    report = validate(data)
    assert_caught(report, "bytes", C, 3)
    assert_caught(report, "bytes", C, 6)


def test_unique_and_contiguous_keys(data: Path) -> None:
    edit(data, schema.CUSTOMER, 4, customer_id=read_rows(data, schema.CUSTOMER)[2][0])
    report = validate(data)
    assert_caught(report, "unique_key", C, 4, "customer_id")
    assert_caught(report, "contiguous_ids", C, 4, "customer_id")


def test_duplicate_dispute(data: Path) -> None:
    rows = read_rows(data, schema.DISPUTE)
    rows.insert(3, list(rows[2]))
    write_rows(data, schema.DISPUTE, rows)
    report = validate(data)
    assert_caught(report, "unique_key", D, 4, "transaction_id")


def test_transaction_ids_contiguous(data: Path) -> None:
    edit(data, schema.PURCHASE, 20, transaction_id="20")
    report = validate(data)
    assert_caught(report, "contiguous_ids", P, 20, "transaction_id")
    assert_caught(report, "unique_key", P, 21, "transaction_id")


def test_new_customers_in_order(data: Path) -> None:
    rows = read_rows(data, schema.PURCHASE)
    first = [n for n, r in enumerate(rows[1:], start=2) if r[4] == schema.FIRST_TIME][3:5]
    a, b = first  # two consecutive new customers: swap who buys first (ids unchanged)
    rows[a - 1][:5], rows[b - 1][:5] = rows[b - 1][:5], rows[a - 1][:5]
    write_rows(data, schema.PURCHASE, rows)
    report = validate(data)
    assert_caught(report, "customer_order", P, a, "customer_id")


def test_foreign_keys(data: Path) -> None:
    edit(data, schema.DELIVERY, 6, transaction_id="999999")
    edit(data, schema.PURCHASE, 8, product_id="6")
    report = validate(data)
    assert_caught(report, "foreign_key", V, 6, "transaction_id")
    assert_caught(report, "foreign_key", P, 8, "product_id")


def test_customer_without_purchase(data: Path) -> None:
    rows = read_rows(data, schema.CUSTOMER)
    extra = [str(int(rows[-1][0]) + 1), "Ann", "Lee", "ann.lee1@gmail.com", rows[-1][4]]
    write_rows(data, schema.CUSTOMER, [*rows, extra])
    report = validate(data)
    assert_caught(report, "customer_without_purchase", C, len(rows) + 1, "customer_id")


def test_repeat_purchase_identity(data: Path) -> None:
    line = find_line(data, schema.PURCHASE, lambda r: r["checkout_type"] == schema.REPEAT)
    edit(data, schema.PURCHASE, line, last_name="Someoneelse")
    report = validate(data)
    assert_caught(report, "customer_identity", P, line, "last_name")
    only(report.rules(), "customer_identity")


def test_checkout_types(data: Path) -> None:
    line = find_line(data, schema.PURCHASE, lambda r: r["checkout_type"] == schema.REPEAT)
    edit(data, schema.PURCHASE, line, checkout_type=schema.FIRST_TIME)
    edit(data, schema.PURCHASE, 3, checkout_type=schema.REPEAT)
    report = validate(data)
    assert_caught(report, "checkout_type", P, line, "checkout_type")
    assert_caught(report, "checkout_type", P, 3, "checkout_type")
    only(report.rules(), "checkout_type")


def test_first_purchase_date(data: Path) -> None:
    day = read_rows(data, schema.CUSTOMER)[3][4]
    edit(data, schema.CUSTOMER, 4, first_purchase_date=shift(day, 1))
    report = validate(data)
    assert_caught(report, "first_purchase_date", C, 4, "first_purchase_date")
    only(report.rules(), "first_purchase_date")


def test_purchases_in_batch_order(data: Path) -> None:
    rows = read_rows(data, schema.PURCHASE)
    first_day = rows[1][7]
    line = find_line(data, schema.PURCHASE, lambda r: r["purchase_date"] > shift(first_day, 6))
    day = rows[line - 2][7]  # the previous batch's date, on the first row of the next one
    edit(
        data,
        schema.PURCHASE,
        line + 1,
        purchase_date=day,
        delivery_date=shift(day, 1),
        refund_till=shift(day, 30),
    )
    report = validate(data)
    assert_caught(report, "purchase_order", P, line + 1, "purchase_date")


def test_batch_dates(data: Path) -> None:
    rows = read_rows(data, schema.PURCHASE)
    first_day = rows[1][7]
    for row in rows[1:]:  # the first batch is a day early: not 2020-07-03
        if row[7] == first_day:
            row[7], row[8], row[9] = shift(row[7], -1), shift(row[8], -1), shift(row[9], -1)
    write_rows(data, schema.PURCHASE, rows)
    report = validate(data)
    assert_caught(report, "batch_dates", P, 2, "purchase_date")


def test_batch_step(data: Path) -> None:
    rows = read_rows(data, schema.PURCHASE)
    days = sorted({r[7] for r in rows[1:]})
    moved = days[5]  # every later batch moves 4 days on: one step of 4+ days
    first_moved = next(n for n, r in enumerate(rows[1:], start=2) if r[7] == moved)
    for row in rows[first_moved - 1 :]:
        row[7], row[8], row[9] = shift(row[7], 4), shift(row[8], 4), shift(row[9], 4)
    write_rows(data, schema.PURCHASE, rows)
    report = validate(data)
    assert_caught(report, "batch_dates", P, first_moved, "purchase_date")


def test_delivery_and_refund_dates(data: Path) -> None:
    rows = read_rows(data, schema.PURCHASE)
    edit(data, schema.PURCHASE, 9, delivery_date=shift(rows[8][7], 6))
    edit(data, schema.PURCHASE, 12, refund_till=shift(rows[11][9], 1))
    report = validate(data)
    assert_caught(report, "delivery_date", P, 9, "delivery_date")
    assert_caught(report, "refund_till", P, 12, "refund_till")
    hit = next(v for v in report.find("refund_till") if v.line == 12)
    assert hit.message == f"{shift(rows[11][9], 1)} is not purchase_date + 30 days ({rows[11][9]})"

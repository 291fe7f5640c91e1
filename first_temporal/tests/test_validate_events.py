"""Hand-broken disputes, deliveries, catalogue and checkpoint: each rule named at its line."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from first_temporal.domain import schema
from first_temporal.domain.checkpoint import parse_checkpoint
from first_temporal.tests.tables import (
    assert_caught,
    edit,
    find_line,
    read_rows,
    shift,
    write_rows,
)
from first_temporal.validate import validate

P, D, V, PR, CP = "purchase.csv", "dispute.csv", "delivery.csv", "product.csv", "placeholder.csv"


def purchase(data: Path, transaction_id: str) -> dict[str, str]:
    row = read_rows(data, schema.PURCHASE)[int(transaction_id)]
    return dict(zip(schema.COLUMNS[schema.PURCHASE], row, strict=True))


def dispute_of(data: Path, kind: str) -> tuple[int, dict[str, str]]:
    line = find_line(data, schema.DISPUTE, lambda r: r["dispute_type"] == kind)
    row = read_rows(data, schema.DISPUTE)[line - 1]
    return line, dict(zip(schema.COLUMNS[schema.DISPUTE], row, strict=True))


def delivery_line(data: Path, transaction_id: str) -> int:
    return find_line(data, schema.DELIVERY, lambda r: r["transaction_id"] == transaction_id)


def test_dispute_outside_its_window(data: Path) -> None:
    line, d = dispute_of(data, schema.RETURN_FOR_REFUND)
    edit(
        data,
        schema.DISPUTE,
        line,
        dispute_date=purchase(data, d["transaction_id"])["purchase_date"],
    )
    report = validate(data)
    assert_caught(report, "dispute_window", D, line, "dispute_date")


def test_dispute_matches_purchase(data: Path) -> None:
    line, d = dispute_of(data, schema.RETURN_FOR_NO_REFUND)
    other = str(int(d["product_id"]) % 5 + 1)
    edit(data, schema.DISPUTE, line, product_id=other, customer_id="100000")
    report = validate(data)
    assert_caught(report, "dispute_matches_purchase", D, line, "product_id")
    if d["customer_id"] != "100000":
        assert_caught(report, "dispute_matches_purchase", D, line, "customer_id")
    assert report.rules() == {"dispute_matches_purchase"}


def test_dispute_on_a_day_without_a_batch(data: Path) -> None:
    days = {r[7] for r in read_rows(data, schema.PURCHASE)[1:]}
    line, d = dispute_of(data, schema.RETURN_FOR_NO_REFUND)
    p = purchase(data, d["transaction_id"])
    free = next(day for n in range(31, 90) if (day := shift(p["purchase_date"], n)) not in days)
    edit(data, schema.DISPUTE, line, dispute_date=free)
    report = validate(data)
    assert_caught(report, "dispute_date", D, line, "dispute_date")


def test_disputes_in_batch_order(data: Path) -> None:
    rows = read_rows(data, schema.DISPUTE)
    dates = [r[4] for r in rows]
    n = next(i for i in range(2, len(rows)) if dates[i] != dates[i - 1])  # first of a batch
    rows[n - 1], rows[n] = rows[n], rows[n - 1]
    write_rows(data, schema.DISPUTE, rows)
    report = validate(data)
    assert_caught(report, "append_order", D, n + 1, "dispute_date")


def test_cancellation_without_cancelled_row(data: Path) -> None:
    line, d = dispute_of(data, schema.CANCELLATION)
    rows = read_rows(data, schema.DELIVERY)
    gone = delivery_line(data, d["transaction_id"])
    del rows[gone - 1]
    write_rows(data, schema.DELIVERY, rows)
    report = validate(data)
    assert_caught(report, "cancellation_without_status", D, line, "transaction_id")
    assert_caught(report, "due_delivery", P, int(d["transaction_id"]) + 1, "delivery_date")


def test_cancelled_status_date(data: Path) -> None:
    _, d = dispute_of(data, schema.CANCELLATION)
    line = delivery_line(data, d["transaction_id"])
    edit(data, schema.DELIVERY, line, status_date=shift(d["dispute_date"], -1))
    report = validate(data)
    assert_caught(report, "cancelled_status", V, line, "status_date")


def test_cancelled_without_cancellation(data: Path) -> None:
    line = find_line(data, schema.DELIVERY, lambda r: r["status"] == schema.DELIVERED)
    edit(data, schema.DELIVERY, line, status="cancelled")
    report = validate(data)
    assert_caught(report, "cancelled_status", V, line, "status_date")


def test_delivered_although_cancelled(data: Path) -> None:
    _, d = dispute_of(data, schema.CANCELLATION)
    line = delivery_line(data, d["transaction_id"])
    delivery = purchase(data, d["transaction_id"])["delivery_date"]
    edit(data, schema.DELIVERY, line, status="delivered", status_date=delivery)
    report = validate(data)
    assert_caught(report, "delivered_but_cancelled", V, line, "status")


def test_delivered_status_date(data: Path) -> None:
    line = find_line(data, schema.DELIVERY, lambda r: r["status"] == schema.DELIVERED)
    day = read_rows(data, schema.DELIVERY)[line - 1][2]
    edit(data, schema.DELIVERY, line, status_date=shift(day, 1))
    report = validate(data)
    assert_caught(report, "delivered_status_date", V, line, "status_date")


def test_due_purchase_not_delivered(data: Path) -> None:
    rows = read_rows(data, schema.DELIVERY)
    line = find_line(data, schema.DELIVERY, lambda r: r["status"] == schema.DELIVERED)
    transaction = rows[line - 1][0]
    del rows[line - 1]
    write_rows(data, schema.DELIVERY, rows)
    report = validate(data)
    assert_caught(report, "due_delivery", P, int(transaction) + 1, "delivery_date")
    assert report.rules() == {"due_delivery"}


def test_delivered_before_due(data: Path) -> None:
    cp = parse_checkpoint((data / CP).read_bytes())
    rows = read_rows(data, schema.PURCHASE)
    late = next(r for r in rows[1:] if r[8] > cp.previous_date and int(r[5]) > 0)
    deliveries = read_rows(data, schema.DELIVERY)
    deliveries.append([late[5], "delivered", late[8]])
    write_rows(data, schema.DELIVERY, deliveries)
    report = validate(data)
    assert_caught(report, "due_delivery", V, len(deliveries), "status")


def test_catalogue(data: Path) -> None:
    path = data / "product.csv"
    path.write_text(path.read_text().replace("125215.00", "125216.00"))
    report = validate(data)
    assert_caught(report, "catalogue", PR, 2)


def test_missing_table(data: Path) -> None:
    (data / "dispute.csv").unlink()
    report = validate(data)
    assert_caught(report, "missing_file", D, None)


@pytest.mark.parametrize(
    ("column", "change"),
    [
        ("previous_date", {"previous_date": "2020-07-04", "batch_number": 60}),
        ("window_offset", {"window_offset": 200}),
        ("batch_number", {"batch_number": 61}),
    ],
)
def test_checkpoint_against_tables(data: Path, column: str, change: dict[str, object]) -> None:
    cp_path = data / CP
    cp = parse_checkpoint(cp_path.read_bytes())
    cp_path.write_bytes(replace(cp, **change).to_csv())  # type: ignore[arg-type]
    report = validate(data)
    assert_caught(report, "checkpoint", CP, 2, column)


def test_unparseable_checkpoint(data: Path) -> None:
    cp_path = data / CP
    cp_path.write_bytes(cp_path.read_bytes().replace(b"\n2", b"\nx2", 1))
    report = validate(data)
    assert "checkpoint" in report.rules()
    assert not report.rules() - {"checkpoint"}

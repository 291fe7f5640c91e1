"""The report on a small real mart: printed figures, a PNG a person can look at, CSVs."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from first_temporal.domain import schema
from first_temporal.mart import apply_pending
from first_temporal.report.__main__ import CHART_FILE, main
from first_temporal.tests.test_mart import make_tables

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def table_rows(data_dir: Path, table: str) -> list[dict[str, str]]:
    return read_csv(data_dir / f"{table}.csv")  # no leftovers here: every byte is committed


def test_report_prints_figures_and_writes_a_chart_and_csvs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    make_tables(data, 15)
    apply_pending(str(data))
    out = tmp_path / "report"
    assert main(["--data-dir", str(data), "--out", str(out)]) == 0
    printed = capsys.readouterr().out

    png = (out / CHART_FILE).read_bytes()
    assert png.startswith(PNG_SIGNATURE) and len(png) > 50_000

    purchases = table_rows(data, schema.PURCHASE)
    revenue = sum(schema.PRODUCT_COST[int(p["product_id"])] for p in purchases)
    by_make = read_csv(out / "revenue_by_make.csv")
    assert sum(float(r["revenue"]) for r in by_make) == pytest.approx(revenue)
    assert sum(int(r["sales"]) for r in by_make) == len(purchases)

    key = {r["metric"]: r["value"] for r in read_csv(out / "key_figures.csv")}
    assert int(key["purchases"]) == len(purchases) and key["batch_number"] == "15"
    repeat = sum(p["checkout_type"] == schema.REPEAT for p in purchases)
    assert float(key["repeat_purchase_share"]) == pytest.approx(repeat / len(purchases), 1e-5)

    disputes = Counter(d["dispute_type"] for d in table_rows(data, schema.DISPUTE))
    rates = {r["dispute_type"]: r for r in read_csv(out / "dispute_rate_by_type.csv")}
    for kind in schema.DISPUTE_TYPES:
        assert int(rates[kind]["disputes"]) == disputes[kind]
        assert float(rates[kind]["dispute_rate"]) == pytest.approx(disputes[kind] / len(purchases))

    delivered = [d for d in table_rows(data, schema.DELIVERY) if d["status"] == "delivered"]
    bought = {p["transaction_id"]: p["purchase_date"] for p in purchases}
    days = [_day(d["status_date"]) - _day(bought[d["transaction_id"]]) for d in delivered]
    assert float(key["mean_days_to_deliver"]) == pytest.approx(sum(days) / len(days), 1e-5)

    daily = read_csv(out / "revenue_and_disputes_by_day.csv")  # short history: per day
    assert sum(float(r["revenue"]) for r in daily) == pytest.approx(revenue)
    assert sum(int(r["disputes"]) for r in daily) == sum(disputes.values())
    assert "Revenue by make (all time)" in printed and "mean days to deliver" in printed


def _day(iso: str) -> int:
    return date.fromisoformat(iso).toordinal()


def test_report_without_a_mart_says_how_to_make_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--data-dir", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "first_temporal.mart apply" in capsys.readouterr().err

"""python -m first_temporal.report [--data-dir DIR] --out DIR: print, chart and CSVs."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import polars as pl

from first_temporal import environment
from first_temporal.config import resolve_location
from first_temporal.domain.errors import BadInput
from first_temporal.report.charts import money, write_chart
from first_temporal.report.figures import Figures, read_figures, write_csvs
from first_temporal.report.page import write_page

CHART_FILE = "dealership_report.png"


def _table(frame: pl.DataFrame, money_columns: tuple[str, ...] = ()) -> str:
    """A plain aligned text table: money as $, shares as %, counts with separators."""
    rows = [list(frame.columns)]
    for record in frame.iter_rows(named=True):
        cells = []
        for column, value in record.items():
            if value is None:
                cells.append("-")
            elif column in money_columns or column == "revenue":
                cells.append(money(float(value)))
            elif isinstance(value, float) and ("rate" in column or "share" in column):
                cells.append(f"{value:.1%}")
            elif isinstance(value, float):
                cells.append(f"{value:,.2f}")
            elif isinstance(value, int):
                cells.append(f"{value:,}")
            else:
                cells.append(str(value))
        rows.append(cells)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    text = [dtype == pl.String for dtype in frame.dtypes]
    lines = ["  ".join(c.ljust(w) if text[i] else c.rjust(w) for i, (c, w) in
                       enumerate(zip(r, widths, strict=True))) for r in rows]  # fmt: skip
    return "\n".join("  " + line for line in lines)


def key_figures_json(figures: Figures) -> dict[str, object]:
    """`report --json`: the key figures, stable names (README)."""
    key = dict(figures.key_figures().iter_rows())
    mean = key["mean_days_to_deliver"]
    return {
        "batch_number": figures.batch_number,
        "last_date": figures.last_date,
        "purchases": int(key["purchases"]),
        "customers": int(key["customers"]),
        "disputes": int(key["disputes"]),
        "revenue": round(float(figures.revenue_by_make["revenue"].sum()), 2),
        "mean_days_to_deliver": None if mean is None else round(float(mean), 2),
        "revenue_by_make": {
            str(r["make"]): round(float(r["revenue"]), 2)
            for r in figures.revenue_by_make.iter_rows(named=True)
        },
        "dispute_rate_by_type": {
            str(r["dispute_type"]): r["dispute_rate"]
            for r in figures.dispute_rates.iter_rows(named=True)
        },
    }


def render(figures: Figures) -> str:
    key = dict(figures.key_figures().iter_rows())
    revenue = float(figures.revenue_by_make["revenue"].sum())
    pivot = figures.recent_months_pivot()
    months = pivot.drop("year_month", "total").columns
    parts = [
        f"Dealership report — through {figures.last_date} (batch {figures.batch_number})",
        f"  purchases {int(key['purchases']):,}   revenue {money(revenue)}"
        f"   customers {int(key['customers']):,}   disputes {int(key['disputes']):,}",
        "",
        "Revenue by make (all time)",
        _table(figures.revenue_by_make),
        "",
        f"Revenue by make, last {pivot.height} months",
        _table(pivot, money_columns=(*months, "total")),
        "",
        "Dispute rate by type (rate = disputes / purchases;"
        " matured = purchases whose 90-day dispute window has closed)",
        _table(figures.dispute_rates, money_columns=("refunds",)),
        "",
        "Customers",
        _table(figures.customers),
        "",
        "Deliveries",
        _table(figures.delivery),
    ]
    mean = key["mean_days_to_deliver"]
    parts.append(
        f"  mean days to deliver: {float(mean):.2f}" if mean else "  nothing delivered yet"
    )
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    environment.check()
    parser = argparse.ArgumentParser(prog="python -m first_temporal.report", description=__doc__)
    parser.add_argument("--data-dir", help="the tables' directory (default: ETL_DATA_DIR or data)")
    parser.add_argument(
        "--out", required=True, help="directory for index.html, the PNG chart and the CSVs"
    )
    parser.add_argument("--json", action="store_true", help="print the key figures as JSON")
    args = parser.parse_args(argv)
    data_dir = resolve_location(args.data_dir)
    out = Path(args.out).absolute()
    if data_dir.startswith("s3://") or not Path(data_dir).is_dir():
        print(f"error: {data_dir}: no such local data directory", file=sys.stderr)
        return 2
    try:
        figures = read_figures(data_dir)
    except (BadInput, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if figures.revenue_by_make.height == 0:
        print("error: the mart holds no sales yet — run some batches first", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    written = [
        write_page(figures, data_dir, out),
        write_chart(figures, out / CHART_FILE),
        *write_csvs(figures, out),
    ]
    if args.json:
        print(json.dumps({**key_figures_json(figures), "files": [str(p) for p in written]}))
        return 0
    print(render(figures))
    print()
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

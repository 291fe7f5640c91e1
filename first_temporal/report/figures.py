"""The report's numbers, read from the mart's views with one read-only connection."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import polars as pl

from first_temporal.mart.build import mart_path
from first_temporal.mart.db import connect

WEEKLY_AFTER_DAYS = 120  # longer histories are charted per week to stay readable
RECENT_MONTHS = 12


@dataclass(frozen=True)
class Figures:
    batch_number: int
    last_date: str
    revenue_by_make: pl.DataFrame  # make, sales, revenue, revenue_share
    revenue_by_make_month: pl.DataFrame  # year_month, make, sales, revenue (every month)
    dispute_rates: pl.DataFrame  # dispute_type, disputes, purchases, rates, refunds
    customers: pl.DataFrame  # one row: customers, repeat_customers, shares
    delivery: pl.DataFrame  # status, purchases, mean_days_to_deliver
    timeline: pl.DataFrame  # period, sales, revenue, disputes, refunds
    timeline_unit: str  # "day" or "week"

    def recent_months_pivot(self) -> pl.DataFrame:
        """Revenue of the last months, one column per make, plus a total: fits a terminal."""
        frame = self.revenue_by_make_month
        months = sorted(frame["year_month"].unique().to_list())[-RECENT_MONTHS:]
        makes = self.revenue_by_make.sort("revenue", descending=True)["make"].to_list()
        recent = frame.filter(pl.col("year_month").is_in(months))
        pivot = recent.pivot(on="make", index="year_month", values="revenue").fill_null(0)
        pivot = pivot.select("year_month", *[m for m in makes if m in pivot.columns])
        total = pl.sum_horizontal(pl.exclude("year_month")).alias("total")
        return pivot.with_columns(total).sort("year_month")

    def key_figures(self) -> pl.DataFrame:
        """metric,value rows: the headline numbers in one small CSV."""
        sales = self.revenue_by_make
        cust = self.customers.row(0, named=True)
        delivered = self.delivery.filter(pl.col("status") == "delivered")
        mean_days = delivered["mean_days_to_deliver"][0] if delivered.height else None
        rows: list[tuple[str, float | int | str | None]] = [
            ("batch_number", self.batch_number),
            ("last_batch_date", self.last_date),
            ("purchases", int(sales["sales"].sum())),
            ("revenue", float(sales["revenue"].sum())),
            ("customers", cust["customers"]),
            ("repeat_customers", cust["repeat_customers"]),
            ("repeat_customer_share", cust["repeat_customer_share"]),
            ("repeat_purchase_share", cust["repeat_purchase_share"]),
            ("disputes", int(self.dispute_rates["disputes"].sum())),
            ("dispute_rate", _ratio(self.dispute_rates["disputes"].sum(), sales["sales"].sum())),
            ("refunds", float(self.dispute_rates["refunds"].sum())),
            ("mean_days_to_deliver", mean_days),
        ]
        return pl.DataFrame({"metric": [r[0] for r in rows], "value": [_text(r[1]) for r in rows]})


def _ratio(a: float | Decimal, b: float | Decimal) -> float | None:
    return float(a) / float(b) if b else None


def _text(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) < 1000 else f"{value:.2f}"
    return "" if value is None else str(value)


def read_figures(data_dir: str) -> Figures:
    path = mart_path(data_dir)
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: no mart yet — run `python -m first_temporal.mart apply --data-dir {data_dir}`"
        )
    con = connect(path, read_only=True)
    try:

        def frame(sql: str) -> pl.DataFrame:
            result: pl.DataFrame = con.sql(sql).pl()
            return result

        state = con.execute("SELECT batch_number, previous_date FROM mart_state").fetchall()
        days = con.execute("SELECT count(*) FROM v_daily_activity").fetchall()[0][0]
        unit = "week" if days > WEEKLY_AFTER_DAYS else "day"
        period = "week_start" if unit == "week" else "date"
        return Figures(
            batch_number=state[0][0] if state else 0,
            last_date=str(state[0][1]) if state else "",
            revenue_by_make=frame(
                "SELECT make, sales, revenue::DOUBLE AS revenue, revenue_share::DOUBLE"
                " AS revenue_share FROM v_revenue_by_make ORDER BY revenue DESC"
            ),
            revenue_by_make_month=frame(
                "SELECT year_month, make, sales, revenue::DOUBLE AS revenue"
                " FROM v_revenue_by_make_month ORDER BY year_month, make"
            ),
            dispute_rates=frame(
                "SELECT dispute_type, disputes, purchases, dispute_rate::DOUBLE AS dispute_rate,"
                " matured_dispute_rate::DOUBLE AS matured_dispute_rate,"
                " refunds::DOUBLE AS refunds FROM v_dispute_rate_by_type ORDER BY dispute_type"
            ),
            customers=frame(
                "SELECT customers, repeat_customers,"
                " repeat_customer_share::DOUBLE AS repeat_customer_share,"
                " repeat_purchase_share::DOUBLE AS repeat_purchase_share FROM v_repeat_customers"
            ),
            delivery=frame(
                "SELECT status, purchases, mean_days_to_deliver::DOUBLE AS mean_days_to_deliver"
                " FROM v_delivery_status ORDER BY status"
            ),
            timeline=frame(
                f"SELECT {period} AS period, sum(sales)::BIGINT AS sales,"
                " sum(revenue)::DOUBLE AS revenue, sum(disputes)::BIGINT AS disputes,"
                " sum(refunds)::DOUBLE AS refunds FROM v_daily_activity"
                " WHERE date <= (SELECT max(previous_date) FROM mart_state)"
                f" GROUP BY {period} HAVING sum(sales) > 0 OR sum(disputes) > 0"
                " ORDER BY period"  # batch days only: no zeros between them, nor past the last
            ),
            timeline_unit=unit,
        )
    finally:
        con.close()


def write_csvs(figures: Figures, out: Path) -> list[Path]:
    files = {
        "key_figures.csv": figures.key_figures(),
        "revenue_by_make.csv": figures.revenue_by_make,
        "revenue_by_make_month.csv": figures.revenue_by_make_month,
        "revenue_by_make_recent_months.csv": figures.recent_months_pivot(),
        "dispute_rate_by_type.csv": figures.dispute_rates,
        "repeat_customers.csv": figures.customers,
        "delivery_status.csv": figures.delivery,
        f"revenue_and_disputes_by_{figures.timeline_unit}.csv": figures.timeline,
    }
    written = []
    for name, frame in files.items():
        frame.write_csv(out / name)
        written.append(out / name)
    return written

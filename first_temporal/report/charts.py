"""The report's picture: revenue over time with disputes, and revenue by make."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, MaxNLocator

from first_temporal.report.figures import Figures

REVENUE_COLOUR = "#2f6f9f"
DISPUTE_COLOUR = "#d1495b"
MAKE_COLOURS = ["#2f6f9f", "#edae49", "#66a182", "#8d6a9f", "#00798c", "#9c6644"]


def money(value: float, _pos: object = None) -> str:
    """$1.2M / $350K / $900: short enough for tick labels."""
    if abs(value) >= 1e6:
        return f"${value / 1e6:,.1f}M"
    if abs(value) >= 1e3:
        return f"${value / 1e3:,.0f}K"
    return f"${value:,.0f}"


def draw_timeline(ax: Axes, figures: Figures) -> None:
    t = figures.timeline
    periods, revenue, disputes = t["period"].to_list(), t["revenue"].to_list(), t["disputes"]
    width = 6 if figures.timeline_unit == "week" else 0.8
    bars = ax.bar(periods, revenue, width=width, color=REVENUE_COLOUR, alpha=0.85,
                  label=f"Revenue per {figures.timeline_unit}")  # fmt: skip
    ax.yaxis.set_major_formatter(FuncFormatter(money))
    ax.set_ylabel(f"Revenue per {figures.timeline_unit}")
    ax.set_title(f"Revenue and disputes per {figures.timeline_unit}", loc="left", fontweight="bold")
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    twin = ax.twinx()
    dispute_label = f"Disputes filed per {figures.timeline_unit}"
    (line,) = twin.plot(periods, disputes.to_list(), color=DISPUTE_COLOUR, marker="o",
                        markersize=3, linewidth=1.6, label=dispute_label)  # fmt: skip
    twin.set_ylabel("Disputes filed", color=DISPUTE_COLOUR)
    twin.tick_params(axis="y", colors=DISPUTE_COLOUR)
    twin.set_ylim(0, max([1, *disputes.to_list()]) * 1.25)
    twin.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend([bars, line], [str(bars.get_label()), dispute_label], loc="upper left",
              frameon=False)  # fmt: skip
    for side in ("top",):
        ax.spines[side].set_visible(False)
        twin.spines[side].set_visible(False)


def draw_by_make(ax: Axes, figures: Figures) -> None:
    frame = figures.revenue_by_make.sort("revenue")
    makes, revenue = frame["make"].to_list(), frame["revenue"].to_list()
    colours = [MAKE_COLOURS[i % len(MAKE_COLOURS)] for i in range(len(makes))][::-1]
    ax.barh(makes, revenue, color=colours)
    ax.xaxis.set_major_formatter(FuncFormatter(money))
    ax.set_xlabel("Revenue, all time")
    ax.set_title("Revenue by make", loc="left", fontweight="bold")
    peak = max(revenue) if revenue else 1.0
    ax.set_xlim(0, peak * 1.3)
    for y, (value, share, sales) in enumerate(
        zip(revenue, frame["revenue_share"], frame["sales"], strict=True)
    ):
        ax.text(value + peak * 0.01, y, f"{money(value)}  ({share:.0%}, {sales:,} sold)",
                va="center", fontsize=9)  # fmt: skip
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)


def draw_recent_months(ax: Axes, figures: Figures) -> None:
    pivot = figures.recent_months_pivot()
    months = pivot["year_month"].to_list()
    bottom = [0.0] * len(months)
    makes = [c for c in pivot.columns if c not in ("year_month", "total")]
    for i, make in enumerate(makes):
        values = pivot[make].to_list()
        ax.bar(months, values, bottom=bottom, color=MAKE_COLOURS[i % len(MAKE_COLOURS)],
               label=make)  # fmt: skip
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    for x, total in enumerate(bottom):
        ax.text(x, total, money(total), ha="center", va="bottom", fontsize=8)
    ax.yaxis.set_major_formatter(FuncFormatter(money))
    ax.set_ylabel("Revenue per month")
    ax.set_xlabel("Month (the last one is month to date)")
    ax.set_title(f"Monthly revenue by make (last {len(months)} months)", loc="left",
                 fontweight="bold")  # fmt: skip
    ax.tick_params(axis="x", rotation=45)
    ax.legend(fontsize=8, frameon=False, loc="upper left", ncols=2)
    ax.set_ylim(0, (max(bottom) if bottom else 1.0) * 1.3)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)


def write_chart(figures: Figures, path: Path) -> Path:
    fig = plt.figure(figsize=(14, 9), dpi=110, layout="constrained")
    grid = fig.add_gridspec(2, 2, height_ratios=[1.1, 1])
    draw_timeline(fig.add_subplot(grid[0, :]), figures)
    draw_by_make(fig.add_subplot(grid[1, 0]), figures)
    draw_recent_months(fig.add_subplot(grid[1, 1]), figures)
    total = float(figures.revenue_by_make["revenue"].sum())
    fig.suptitle(
        f"Dealership sales through {figures.last_date} (batch {figures.batch_number}):"
        f" {money(total)} revenue from {figures.revenue_by_make['sales'].sum():,} purchases",
        fontsize=14,
    )
    fig.savefig(path)
    plt.close(fig)
    return path

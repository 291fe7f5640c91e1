"""The report as one self-contained page (index.html): figures, charts inline as SVG,
styles inline, nothing fetched, so it opens from a file, a mail or an artifact store."""

from __future__ import annotations

import html
import io
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import matplotlib.pyplot as plt
import polars as pl
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter

from first_temporal.domain import ledger, schema
from first_temporal.domain.checkpoint import parse_checkpoint
from first_temporal.report.charts import (
    DISPUTE_COLOUR,
    REVENUE_COLOUR,
    draw_by_make,
    draw_recent_months,
    draw_timeline,
    money,
)
from first_temporal.report.figures import Figures
from first_temporal.storage.local import LocalStorage

PAGE_FILE = "index.html"
PLURAL = {"purchase": "purchases", "customer": "customers", "dispute": "disputes",
          "delivery": "deliveries"}  # fmt: skip
STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2733}
header{background:#1d2733;color:#fff;padding:18px 32px}
header h1{margin:0;font-size:22px} header p{margin:4px 0 0;color:#c9d3de}
main{padding:20px 32px;display:grid;gap:18px;
grid-template-columns:repeat(auto-fit,minmax(520px,1fr))}
section{background:#fff;border-radius:8px;padding:14px 18px;box-shadow:0 1px 3px #0002}
section.wide{grid-column:1/-1} h2{font-size:16px;margin:0 0 8px}
.kpis{display:flex;flex-wrap:wrap;gap:12px} .kpi{flex:1;min-width:130px;background:#eef3f8;
border-radius:6px;padding:10px} .kpi b{display:block;font-size:22px}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{padding:4px 8px;border-bottom:1px solid #e3e7ec;text-align:right}
th:first-child,td:first-child{text-align:left} svg{width:100%;height:auto}
.stale{color:#b3261e}
"""


def write_page(figures: Figures, data_dir: str, out: Path) -> Path:
    path = out / PAGE_FILE
    sections = [
        _section("Key figures", _kpis(figures), wide=True),
        _section(
            f"Revenue and disputes per {figures.timeline_unit}",
            _svg(lambda ax: draw_timeline(ax, figures), (13, 4)),
            wide=True,
        ),
        _section("Revenue by make", _svg(lambda ax: draw_by_make(ax, figures), (7, 3.6))),
        _section(
            "Monthly revenue by make", _svg(lambda ax: draw_recent_months(ax, figures), (7, 3.6))
        ),
        _section(
            "Dispute rate by type",
            _svg(lambda ax: _dispute_rates(ax, figures), (7, 3.2)) + _table(figures.dispute_rates),
        ),
        _section(
            "Delivery times",
            _svg(lambda ax: _delivery(ax, figures), (7, 3.2)) + _table(figures.delivery),
        ),
        _section("Recent batches and freshness", _recent_batches(data_dir), wide=True),
    ]
    title = f"Dealership report — through {figures.last_date} (batch {figures.batch_number})"
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    page = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<header><h1>{html.escape(title)}</h1><p>generated {generated} from"
        f" {html.escape(data_dir)}</p></header><main>{''.join(sections)}</main></body></html>"
    )
    path.write_text(page, encoding="utf-8")
    return path


def _section(title: str, body: str, wide: bool = False) -> str:
    css = ' class="wide"' if wide else ""
    return f"<section{css}><h2>{html.escape(title)}</h2>{body}</section>"


def _kpis(figures: Figures) -> str:
    key = dict(figures.key_figures().iter_rows())
    revenue = float(figures.revenue_by_make["revenue"].sum())
    mean = key["mean_days_to_deliver"]
    items = [
        ("Purchases", f"{int(key['purchases']):,}"),
        ("Revenue", money(revenue)),
        ("Customers", f"{int(key['customers']):,}"),
        ("Disputes", f"{int(key['disputes']):,}"),
        ("Days to deliver", f"{float(mean):.2f}" if mean is not None else "-"),
    ]
    return (
        '<div class="kpis">'
        + "".join(
            f'<div class="kpi">{html.escape(name)}<b>{html.escape(value)}</b></div>'
            for name, value in items
        )
        + "</div>"
    )


def _svg(draw: Callable[[Axes], None], size: tuple[float, float]) -> str:
    fig = plt.figure(figsize=size, layout="constrained")
    draw(fig.add_subplot())
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # inline: no XML prolog


def _dispute_rates(ax: Axes, figures: Figures) -> None:
    frame = figures.dispute_rates
    kinds = [str(k).replace("_", " ") for k in frame["dispute_type"].to_list()]
    rates = [float(r or 0) * 100 for r in frame["dispute_rate"].to_list()]
    ax.bar(kinds, rates, color=DISPUTE_COLOUR)
    ax.set_ylabel("% of purchases")
    ax.spines[["top", "right"]].set_visible(False)


def _delivery(ax: Axes, figures: Figures) -> None:
    frame = figures.delivery
    ax.bar([str(s) for s in frame["status"].to_list()], frame["purchases"].to_list(),
           color=REVENUE_COLOUR)  # fmt: skip
    ax.set_ylabel("Purchases")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,.0f}"))
    ax.spines[["top", "right"]].set_visible(False)


def _table(frame: pl.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(c.replace('_', ' '))}</th>" for c in frame.columns)
    rows = []
    for record in frame.iter_rows(named=True):
        cells = []
        for column, value in record.items():
            if value is not None and ("refund" in column or "revenue" in column):
                text = money(float(value))
            elif isinstance(value, float):
                text = f"{value:,.3f}" if abs(value) < 10 else f"{value:,.0f}"
            elif isinstance(value, int):
                text = f"{value:,}"
            else:
                text = "-" if value is None else str(value)
            cells.append(f"<td>{html.escape(text)}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _recent_batches(data_dir: str, count: int = 10) -> str:
    """The ledger's last batches, and how long ago the last commit was."""
    root = Path(data_dir)
    checkpoint = root / schema.CHECKPOINT_FILE
    try:
        storage = LocalStorage(root)
        cp = storage.read_checkpoint(_seed(checkpoint))
        lines, before = storage.ledger_tail(cp, count)
    except Exception as exc:  # the figures still help without it
        return f"<p>batches unreadable: {html.escape(str(exc))}</p>"
    age = time.time() - checkpoint.stat().st_mtime
    stale = ' class="stale"' if age > 26 * 3600 else ""
    fresh = f"<p{stale}>last commit {_ago(age)} ({html.escape(_when(checkpoint))})</p>"
    previous = None if before == ledger.HEADER else ledger.parse(before, 0)
    head = (
        "<tr><th>batch</th><th>date</th>"
        + "".join(f"<th>{PLURAL[t]}</th>" for t in schema.BATCH_TABLES)
        + "</tr>"
    )
    body = []
    for line in lines:  # rows added = the difference with the row before
        row = ledger.parse(line, 0)
        added = [
            row.tables[t].rows - (previous.tables[t].rows if previous else 0)
            for t in schema.BATCH_TABLES
        ]
        cells = "".join(f"<td>{n:,}</td>" for n in added)
        body.append(f"<tr><td>{row.batch_number}</td><td>{row.batch_date}</td>{cells}</tr>")
        previous = row
    return fresh + f"<table>{head}{''.join(reversed(body[-count:]))}</table>"


def _seed(checkpoint: Path) -> int:
    return parse_checkpoint(checkpoint.read_bytes()).seed


def _when(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _ago(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} seconds ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} minutes ago"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} hours ago"
    return f"{seconds / 86400:.0f} days ago"

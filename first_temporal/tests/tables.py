"""Real tables without a Temporal server (the activities, run in-process), and ways to
break them for the validator's tests."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from unittest.mock import patch

from first_temporal.config import Pipeline
from first_temporal.domain import schema
from first_temporal.domain.checkpoint import Checkpoint, parse_checkpoint
from first_temporal.domain.rates import Rates
from first_temporal.tests.batches import read_checkpoint, run_batches
from first_temporal.tests.snapshots import UNCOMMITTED
from first_temporal.validation.report import Report

COLS = {t: list(cols) for t, cols in schema.COLUMNS.items()}


def make_tables(
    directory: Path,
    batches: int = 30,
    seed: int = 7,
    rates: Rates | None = None,
    purchases_per_batch: int | None = None,
    durable: bool = False,
) -> Checkpoint:
    """Run `batches` batches into `directory`; returns the last committed checkpoint.

    fsync is skipped unless `durable`: crash safety is not what these tables test."""
    if durable:
        return _run(directory, batches, seed, rates or Rates(), purchases_per_batch)
    with patch("os.fsync"):
        return _run(directory, batches, seed, rates or Rates(), purchases_per_batch)


def _run(directory: Path, batches: int, seed: int, rates: Rates, count: int | None) -> Checkpoint:
    pipeline = Pipeline(location=str(directory.absolute()), seed=seed, rates=rates)
    run_batches(pipeline, batches, count)
    return read_checkpoint(pipeline)


# -- breaking tables, for the validator's tests -------------------------------------


def shift(day: str, days: int) -> str:
    return (date.fromisoformat(day) + timedelta(days=days)).isoformat()


def copy_tables(source: Path, target: Path) -> Path:
    """A private copy of generated tables, to break."""
    shutil.copytree(source, target, ignore=UNCOMMITTED)
    return target


def read_rows(data: Path, table: str) -> list[list[str]]:
    """All lines, split; index 0 is the header, so rows[n - 1] is line n."""
    text = (data / f"{table}.csv").read_text()
    return [line.split(",") for line in text.split("\n")[:-1]]


def write_rows(data: Path, table: str, rows: list[list[str]], commit: bool = True) -> None:
    """Rewrite a table; with `commit`, the checkpoint records its new length and row count,
    so only the edited rule breaks, not the commit record."""
    path = data / f"{table}.csv"
    path.write_bytes(("\n".join(",".join(r) for r in rows) + "\n").encode())
    if commit:
        recommit(data, table, len(rows) - 1)


def recommit(data: Path, table: str, rows: int) -> None:
    cp_path = data / schema.CHECKPOINT_FILE
    cp = parse_checkpoint(cp_path.read_bytes())
    size = (data / f"{table}.csv").stat().st_size
    # Edits are in old rows, before the open window: the window moves with them.
    offset = cp.window_offset + (size - cp.ends[table] if table == schema.PURCHASE else 0)
    cp = replace(
        cp, ends={**cp.ends, table: size}, rows={**cp.rows, table: rows}, window_offset=offset
    )
    cp_path.write_bytes(cp.to_csv())


def edit(data: Path, table: str, line: int, **values: str) -> list[str]:
    rows = read_rows(data, table)
    old = list(rows[line - 1])
    for column, value in values.items():
        rows[line - 1][COLS[table].index(column)] = value
    write_rows(data, table, rows)
    return old


def find_line(data: Path, table: str, test: Callable[[dict[str, str]], bool]) -> int:
    """The first (old) data line whose row passes `test`."""
    for n, row in enumerate(read_rows(data, table)[1:], start=2):
        if test(dict(zip(COLS[table], row, strict=True))):
            return n
    raise AssertionError(f"no such row in {table}")


def purchase_line(data: Path, transaction_id: str) -> int:
    return int(transaction_id) + 1


def assert_caught(
    report: Report, rule: str, file: str, line: int | None, column: str | None = None
) -> None:
    hits = [v for v in report.find(rule) if v.file == file and v.line == line]
    assert hits, f"{rule} not reported at {file} line {line}: {report.lines()}"
    if column is not None:
        assert any(v.column == column for v in hits), report.lines()

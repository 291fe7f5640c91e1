"""Check every invariant of every table, across the whole history, not just the last batch.

    python -m first_temporal.validate [--data-dir DIR]

Exit 0 when clean, 1 when rules are broken, 2 when the data dir is unusable.
Only the committed part of each table (the checkpoint's byte lengths) is validated;
bytes past it are an interrupted load's leftover and only warned about. Tables are
streamed into DuckDB, which spills to disk, so memory stays bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from first_temporal import environment
from first_temporal.config import resolve_location
from first_temporal.domain import schema
from first_temporal.domain.checkpoint import Checkpoint
from first_temporal.validation import rules_dates, rules_keys
from first_temporal.validation.report import Report
from first_temporal.validation.rules_checkpoint import (
    checkpoint_rules,
    file_rules,
    read_checkpoint,
)
from first_temporal.validation.rules_rows import Ctx, flush, product_rules, row_rules
from first_temporal.validation.table_load import Scanned, file_name, load, scan

TABLES = (*schema.BATCH_TABLES, schema.PRODUCT)
SMALL_BYTES = 32 << 20


class Unusable(Exception):
    """The data dir is missing or holds no tables: there is nothing to validate."""


def validate(data_dir: str | os.PathLike[str]) -> Report:
    """Check every rule over the committed part of every table; raises Unusable."""
    started = time.monotonic()
    root = Path(data_dir)
    if not root.is_dir():
        raise Unusable(f"{root}: no such directory — set ETL_DATA_DIR or --data-dir")
    names = (schema.CHECKPOINT_FILE, *map(file_name, TABLES))
    if not any((root / name).is_file() for name in names):
        raise Unusable(f"{root}: holds neither {schema.CHECKPOINT_FILE} nor any table")
    report = Report(str(root))
    cp = read_checkpoint(root, report)
    with tempfile.TemporaryDirectory(prefix="etl-validate-") as tmp:
        scans = _scan_all(root, Path(tmp), cp, report)
        config: dict[str, str | bool | int | float | list[str]] = {
            "memory_limit": environment.text("ETL_VALIDATE_MEMORY"),
            "temp_directory": str(Path(tmp) / "spill"),
        }
        if sum(s.validated for s in scans.values()) < SMALL_BYTES:
            config["threads"] = 1  # per-query start-up dominates on small tables
        con = duckdb.connect(config=config)
        try:
            for table in TABLES:
                load(con, table, scans.get(table))
            _check(con, report, cp, scans)
        finally:
            con.close()
    report.seconds = time.monotonic() - started
    return report


def _scan_all(root: Path, tmp: Path, cp: Checkpoint | None, report: Report) -> dict[str, Scanned]:
    scans: dict[str, Scanned] = {}
    for table in TABLES:
        path = root / file_name(table)
        if not path.is_file():
            report.add_one("missing_file", path.name, None, None, "missing")
            report.rows[table] = 0
            continue
        committed = cp.ends.get(table) if cp is not None else None
        scans[table] = scan(path, committed, tmp, report)
        report.rows[table] = max(scans[table].lines - 1, 0)
    return scans


def _check(
    con: duckdb.DuckDBPyConnection,
    report: Report,
    cp: Checkpoint | None,
    scans: dict[str, Scanned],
) -> None:
    last_date = con.execute(f"SELECT max(purchase_date) FROM {schema.PURCHASE}").fetchone()
    fallback = last_date[0].isoformat() if last_date and last_date[0] else "0001-01-01"
    ctx = Ctx(con, report, cp.previous_date if cp and cp.previous_date else fallback)
    for table in TABLES:
        row_rules(ctx, table)
    product_rules(ctx)
    rules_keys.prepare(ctx)
    rules_keys.key_rules(ctx)
    rules_keys.customer_rules(ctx)
    rules_dates.purchase_date_rules(ctx)
    rules_dates.dispute_rules(ctx)
    rules_dates.delivery_rules(ctx)
    flush(ctx)
    if cp is not None:
        for table in schema.BATCH_TABLES:
            if table in scans:
                file_rules(report, cp, table, scans[table])
        checkpoint_rules(ctx, cp)


def main(argv: list[str] | None = None) -> int:
    environment.check()
    parser = argparse.ArgumentParser(
        prog="python -m first_temporal.validate",
        description="Check every rule of every table; exit 0 clean, 1 violations, 2 unusable.",
    )
    parser.add_argument(
        "--data-dir", help="the tables' directory (default: $ETL_STORAGE, $ETL_DATA_DIR or ./data)"
    )
    parser.add_argument("--show", type=int, default=20, help="violations printed per rule")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    location = resolve_location(args.data_dir)
    if location.startswith("s3://"):
        print(f"error: {location}: validate reads local data dirs only", file=sys.stderr)
        return 2
    try:
        report = validate(location)
    except Unusable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.to_json(show=args.show)))
    else:
        for line in report.lines(show=args.show):
            print(line)
    return 0 if report.clean else 1


if __name__ == "__main__":
    sys.exit(main())

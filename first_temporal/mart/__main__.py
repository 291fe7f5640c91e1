"""python -m first_temporal.mart {apply,rebuild,reconcile,export} [--data-dir DIR]."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from first_temporal import environment
from first_temporal.config import resolve_location
from first_temporal.domain.errors import BadInput
from first_temporal.mart.build import MartResult, apply_pending, rebuild
from first_temporal.mart.export import export_parquet
from first_temporal.mart.reconcile import reconcile


def _describe(verb: str, result: MartResult) -> str:
    rows = ", ".join(f"{n} {t}" for t, n in result.new_rows.items())
    return (
        f"{verb} {result.mart_path}: batches {result.from_batch} -> {result.to_batch}"
        f" ({rows or 'no new rows'}) in {result.elapsed_seconds:.2f}s"
    )


def main(argv: list[str] | None = None) -> int:
    environment.check()
    parser = argparse.ArgumentParser(prog="python -m first_temporal.mart", description=__doc__)
    parser.add_argument("command", choices=("apply", "rebuild", "reconcile", "export"))
    parser.add_argument("--data-dir", help="the tables' directory (default: ETL_DATA_DIR or data)")
    parser.add_argument("--out", help="export: directory for the Parquet files")
    parser.add_argument("--json", action="store_true", help="reconcile: print one JSON object")
    args = parser.parse_args(argv)
    data_dir = resolve_location(args.data_dir)
    if data_dir.startswith("s3://"):
        parser.error("the mart is built from a local data directory")
    if not Path(data_dir).is_dir():  # nothing to apply or read: create nothing
        print(f"error: {data_dir}: no such data directory", file=sys.stderr)
        return 2
    try:
        if args.command == "apply":
            print(_describe("applied to", apply_pending(data_dir)))
        elif args.command == "rebuild":
            print(_describe("rebuilt", rebuild(data_dir)))
        elif args.command == "reconcile":
            problems = reconcile(data_dir)
            if args.json:
                print(json.dumps({"reconciled": not problems, "mismatches": problems}))
                return 1 if problems else 0
            for problem in problems:
                print(f"MISMATCH {problem}")
            print("reconciled" if not problems else f"{len(problems)} mismatches")
            return 1 if problems else 0
        else:
            if not args.out:
                parser.error("export needs --out DIR")
            for path in export_parquet(data_dir, args.out):
                print(f"wrote {path}")
    except (BadInput, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

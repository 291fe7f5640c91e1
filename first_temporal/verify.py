"""Proof by recomputation: the committed history is what the pure source produces.

    python -m first_temporal.verify [--data-dir DIR] [--from N] [--to M]

Checks the ledger's hash chain, then regenerates batches N..M (default: all) from the
seed with the pipeline's own functions, and compares them byte for byte with the
committed tables and with the ledger's digests. Exit 0 when every byte matches, 1 naming
the first batch, table and line that differ, 2 when the data dir is unusable.

Batches are regenerated many days at a time, like a span, with each day's volume taken
from the ledger (a bulk day's too), so a decade verifies in seconds.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import polars as pl

from first_temporal import environment
from first_temporal.config import resolve_location
from first_temporal.domain import ledger, lifecycle, schema, source
from first_temporal.domain.checkpoint import Checkpoint, parse_checkpoint
from first_temporal.domain.errors import BadInput
from first_temporal.domain.rates import Rates
from first_temporal.storage import csv, local_ledger
from first_temporal.storage.files import first_line_since
from first_temporal.storage.local import LocalStorage

CHUNK_PURCHASES = 200_000  # regenerated at a time: bounds memory on a bulk day
CHUNK_DAYS = 1_000


class Unusable(Exception):
    """Exit 2: nothing can be verified (with the reason and the fix)."""


@dataclass
class Mismatch(Exception):
    """Exit 1: the first difference found."""

    message: str


def main(argv: list[str] | None = None) -> int:
    environment.check()
    parser = argparse.ArgumentParser(
        prog="python -m first_temporal.verify",
        description="Recompute committed batches from the source and compare every byte.",
    )
    parser.add_argument("--data-dir", help="the pipeline's data dir (default: ETL_DATA_DIR)")
    parser.add_argument("--from", dest="first", type=int, default=1, help="first batch")
    parser.add_argument("--to", dest="last", type=int, help="last batch (default: the last)")
    args = parser.parse_args(argv)
    root = Path(resolve_location(args.data_dir))
    started = time.monotonic()
    try:
        done = verify(root, args.first, args.last)
    except Unusable as exc:
        print(f"verify: {exc}", file=sys.stderr)
        return 2
    except Mismatch as exc:
        print(f"verify: MISMATCH {exc.message}", file=sys.stderr)
        return 1
    seconds = time.monotonic() - started
    print(f"verify: {done} — every byte matches ({seconds:.1f} s)")
    return 0


def verify(root: Path, first: int = 1, last: int | None = None) -> str:
    if str(root).startswith("s3:"):
        raise Unusable("verify reads a local data dir; S3 is not supported yet")
    checkpoint_file = root / schema.CHECKPOINT_FILE
    if not checkpoint_file.is_file():
        raise Unusable(f"{root}: no {schema.CHECKPOINT_FILE} — nothing is committed there")
    try:
        seed = parse_checkpoint(checkpoint_file.read_bytes()).seed
        cp = LocalStorage(root).read_checkpoint(seed)
        lines = local_ledger.committed_lines(root, cp.batch_number)
        rows = [ledger.parse(line, i + 2) for i, line in enumerate(lines)]
    except BadInput as exc:
        raise Unusable(str(exc)) from None
    last = cp.batch_number if last is None else last
    if not 1 <= first <= last <= cp.batch_number:
        raise Unusable(f"batches {first}-{last}: {root} has batches 1-{cp.batch_number}")
    broken = ledger.broken_link(lines)
    if broken is not None:
        raise Mismatch(
            f"{ledger.LEDGER_FILE} line {broken + 2} (batch {rows[broken].batch_number}): its"
            " previous_sha256 is not the digest of the line before — the ledger was edited"
        )
    by_number = {row.batch_number: row for row in rows}
    missing = [n for n in range(max(first - 1, 1), last + 1) if n not in by_number]
    if missing:
        start = rows[0].batch_number if rows else cp.batch_number + 1
        raise Unusable(
            f"{ledger.LEDGER_FILE} has no row for batch {missing[0]} (it starts at batch"
            f" {start}): verify --from {start + 1}"
        )
    Verifier(root, seed, by_number).run(first, last)
    purchases = by_number[last].tables[schema.PURCHASE].rows
    return f"batches {first}-{last} ({purchases:,} purchases committed by batch {last})"


class Verifier:
    def __init__(self, root: Path, seed: int, rows: dict[int, ledger.LedgerRow]) -> None:
        self.root, self.seed, self.rows, self.rates = root, seed, rows, Rates()

    def state_before(self, number: int) -> Checkpoint:
        if number == 1:
            return Checkpoint.initial(self.seed)
        return self.rows[number - 1].checkpoint(self.seed, window_offset=0)

    def run(self, first: int, last: int) -> None:
        cp = self.state_before(first)
        window = self.committed_window(cp, first)
        for numbers in self.chunks(first, last):
            plan = self.plan(cp, numbers)
            bought = source.purchases(self.seed, self.rates, plan)
            dates = [d.date for d in plan]
            open_rows = pl.concat([window, bought.select(lifecycle.OPEN_COLUMNS)])
            deliveries, disputes = lifecycle.events(
                self.seed, self.rates, cp.previous, dates, open_rows
            )
            tables = {
                schema.PURCHASE: bought,
                schema.CUSTOMER: source.new_customers(bought),
                schema.DISPUTE: disputes,
                schema.DELIVERY: deliveries,
            }
            for table, frame in tables.items():
                self.compare(table, csv.encode(table, frame), cp, numbers)
            cp = self.rows[numbers[-1]].checkpoint(self.seed, window_offset=0)
            since = dates[-1] - timedelta(days=schema.DISPUTE_WINDOW_DAYS)
            window = open_rows.filter(pl.col("purchase_date") >= since)

    def chunks(self, first: int, last: int) -> Iterator[list[int]]:
        chunk: list[int] = []
        purchases = 0
        for number in range(first, last + 1):
            count = self.purchases_of(number)
            if chunk and (purchases + count > CHUNK_PURCHASES or len(chunk) >= CHUNK_DAYS):
                yield chunk
                chunk, purchases = [], 0
            chunk.append(number)
            purchases += count
        if chunk:
            yield chunk

    def purchases_of(self, number: int) -> int:
        before = self.rows[number - 1].tables[schema.PURCHASE].rows if number > 1 else 0
        return self.rows[number].tables[schema.PURCHASE].rows - before

    def plan(self, cp: Checkpoint, numbers: list[int]) -> list[source.Day]:
        """The days as the pipeline planned them, each with the volume it committed."""
        plan, previous = [], cp.previous
        customer, transaction = cp.last_customer_id, cp.last_transaction_id
        for number in numbers:
            count = self.purchases_of(number)
            [day] = source.plan_days(
                self.seed, self.rates, previous, customer, transaction, 1, count
            )
            plan.append(day)
            customer += day.new_customers(self.rates)
            previous, transaction = day.date, transaction + count
        return plan

    def committed_window(self, cp: Checkpoint, first: int) -> pl.DataFrame:
        """The open purchases of the 90 days before batch `first`, as committed."""
        empty = csv.empty(schema.PURCHASE, lifecycle.OPEN_COLUMNS)
        if cp.previous is None:
            return empty
        since = source.next_batch_date(self.seed, cp.previous) - timedelta(
            days=schema.DISPUTE_WINDOW_DAYS
        )
        header = len(schema.header_line(schema.PURCHASE))
        with open(self.root / f"{schema.PURCHASE}.csv", "rb") as fh:
            offset = first_line_since(fh, header, cp.ends[schema.PURCHASE], since.isoformat())
        at = cp.advanced(window_offset=offset)
        return LocalStorage(self.root).read_window(at, since, lifecycle.OPEN_COLUMNS)

    def compare(self, table: str, expected: bytes, cp: Checkpoint, numbers: list[int]) -> None:
        start = cp.ends[table]
        with open(self.root / f"{table}.csv", "rb") as fh:
            fh.seek(start)
            found = fh.read(len(expected))
        if found != expected:
            self.report(table, start, expected, found, cp, numbers)
        low = 0
        for number in numbers:  # the ledger's digests of the very same bytes
            done = self.rows[number].tables[table]
            high = done.end - start
            if ledger.digest(expected[low:high]) != done.sha256:
                raise Mismatch(
                    f"batch {number}: {ledger.LEDGER_FILE} holds another digest of its"
                    f" {table}.csv rows than their bytes' — the ledger was edited"
                )
            low = high

    def report(
        self,
        table: str,
        start: int,
        expected: bytes,
        found: bytes,
        cp: Checkpoint,
        numbers: list[int],
    ) -> None:
        at = next(
            (i for i, (a, b) in enumerate(zip(expected, found, strict=False)) if a != b),
            min(len(expected), len(found)),
        )
        offset = start + at
        number = next(n for n in numbers if self.rows[n].tables[table].end > offset)
        line_start = expected.rfind(b"\n", 0, at) + 1
        line = cp.rows[table] + 2 + expected.count(b"\n", 0, line_start)
        want = expected[line_start:].split(b"\n", 1)[0].decode("utf-8", "replace")
        got = found[line_start:].split(b"\n", 1)[0].decode("utf-8", "replace")
        row = self.rows[number]
        raise Mismatch(
            f"batch {number} ({row.batch_date}), {table}.csv line {line}, byte {offset}:"
            f"\n  committed:  {got}\n  recomputed: {want}"
        )


if __name__ == "__main__":
    sys.exit(main())

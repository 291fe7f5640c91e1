"""The new committed bytes of a table, staged for DuckDB to read: line-aligned pieces
copied to a file, a view over it, and what the apply must know of them (count, ids, dates).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import BinaryIO

import duckdb
import polars as pl

from first_temporal.domain import schema
from first_temporal.domain.errors import BadInput
from first_temporal.mart.db import one
from first_temporal.storage.csv import SCHEMAS
from first_temporal.storage.files import LINE_PROBE, copy_range, line_start

# How many of a table's new bytes one statement reads. The inserts of new customers and
# purchases stream a piece into the table, so its size costs disk, not memory: big enough
# for DuckDB's threads to share (READ_BUFFER_BYTES at a time each), small enough that a
# rebuild never copies a whole table at once. Disputes and deliveries are joined with the
# facts they name: the join holds the whole piece, so theirs stay small (the day after a
# 1,000,000-purchase day updates 585,000 deliveries, 16 MB, which one statement could not
# do within the writer's memory limit).
PIECE_BYTES = {
    schema.CUSTOMER: 64 << 20,
    schema.PURCHASE: 64 << 20,
    schema.DISPUTE: 2 << 20,
    schema.DELIVERY: 2 << 20,
}
# The CSV reader's unit of work per thread; its 32 MiB default would not fit the
# writer's memory limit twice over (db.WRITER_MEMORY_MIB).
READ_BUFFER_BYTES = 4 << 20
# The view each table's new rows are read through, one piece at a time (see Stage).
STAGES = {table: f"mart_new_{table}" for table in schema.BATCH_TABLES}


def pieces(fh: BinaryIO, start: int, end: int, size: int) -> Iterator[tuple[int, int]]:
    """Line-aligned byte ranges that cover the committed [start, end) of a table."""
    name, length = Path(fh.name).name, os.fstat(fh.fileno()).st_size
    if length < end:
        raise BadInput(f"{name}: ends at byte {length}, before the committed {end}")
    if end > start and os.pread(fh.fileno(), 1, end - 1) != b"\n":
        raise BadInput(f"{name}: committed data does not end at a line boundary")
    while start < end:
        cut = min(start + size, end)
        if cut < end:
            cut = _line_end(fh, name, start, cut)
        yield start, cut
        start = cut


def _line_end(fh: BinaryIO, name: str, start: int, cut: int) -> int:
    """Just past the last line break before `cut`, or the first after it (a line longer
    than the piece)."""
    if (back := line_start(fh, cut, start)) > start:
        return back
    fh.seek(cut)
    if (newline := fh.read(LINE_PROBE).find(b"\n")) >= 0:
        return cut + newline + 1
    raise BadInput(f"{name}: no line break in bytes {start}..{cut + LINE_PROBE}")


class Stage:
    """A table's piece being applied, as the view STAGES[table] reads it: a CSV file that
    DuckDB reads itself (read_csv, the tables' own types), rewritten for each piece.

    Not a Python object registered with the connection: registering one, or scanning it
    through its Arrow C stream, raised std::bad_cast inside DuckDB whenever the worker's
    other threads were busy with batches (tests/test_mart_alongside.py: 3 runs of 3),
    hidden by the activity's retry. With the file, no Python object crosses into DuckDB.
    """

    def __init__(self, table: str, folder: Path) -> None:
        self.path = folder / f"{table}.csv"
        self.clear()

    def fill(self, fh: BinaryIO, start: int, end: int) -> None:
        """The table's bytes [start, end), copied in the kernel (no Python buffer)."""
        with open(self.path, "wb") as out:
            copy_range(fh.fileno(), start, end, out.fileno())

    def clear(self) -> None:
        self.path.write_bytes(b"")


# DuckDB's CSV errors quote the offending line and value: customers' data, which must not
# reach a Temporal failure (histories keep it). Only the line number and column are kept.
_CSV_LINE = re.compile(r"CSV Error on Line: (\d+)")
_CSV_COLUMN = re.compile(r'converting column "(\w+)"')
_CSV_FIELDS = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")


@contextmanager
def parsed(fh: BinaryIO, table: str, start: int) -> Iterator[None]:
    """DuckDB's refusal of a staged piece as a BadInput naming the table's line."""
    try:
        yield
    except (duckdb.ConversionException, duckdb.InvalidInputException) as exc:
        text = str(exc)
        where = f"{table}.csv"
        if found := _CSV_LINE.search(text):  # counted within the piece
            lines_before = sum(chunk.count(b"\n") for chunk in _bytes(fh, 0, start))
            where += f" line {lines_before + int(found[1])}"
        if column := _CSV_COLUMN.search(text):
            reason = f"column {column[1]} does not hold its type"
        elif fields := _CSV_FIELDS.search(text):
            reason = f"{fields[2]} fields, not {fields[1]}"
        else:
            reason = "not a row of the table"
        raise BadInput(f"{where}: {reason} — the committed table was edited; restore it") from None


def _bytes(fh: BinaryIO, start: int, end: int, size: int = 8 << 20) -> Iterator[bytes]:
    for low in range(start, end, size):
        yield os.pread(fh.fileno(), min(size, end - low), low)


@dataclass(frozen=True)
class NewRows:
    """What the apply needs to know of a staged piece, read by DuckDB in one scan."""

    count: int
    first_id: int | None
    last_id: int | None
    low: date | None  # the earliest and latest date the rows refer to (dim_date covers them)
    high: date | None


DATE_COLUMNS: dict[str, tuple[str, ...]] = {
    schema.CUSTOMER: ("first_purchase_date",),
    schema.PURCHASE: ("purchase_date", "delivery_date"),
    schema.DISPUTE: ("dispute_date",),
    schema.DELIVERY: ("status_date",),
}


def survey(con: duckdb.DuckDBPyConnection, table: str) -> NewRows:
    key = "customer_id" if table == schema.CUSTOMER else "transaction_id"
    dates = DATE_COLUMNS[table]
    row = one(
        con,
        f"SELECT count(*), min({key}), max({key}), least({', '.join(f'min({c})' for c in dates)}),"
        f" greatest({', '.join(f'max({c})' for c in dates)}) FROM {STAGES[table]}",
    )
    return NewRows(*row)


DUCKDB_TYPES = {pl.Int64: "BIGINT", pl.Date: "DATE", pl.Utf8: "VARCHAR"}


def register_stages(con: duckdb.DuckDBPyConnection, folder: Path) -> dict[str, Stage]:
    """One view per table over its stage file, created before the apply's transaction."""
    stages = {table: Stage(table, folder) for table in schema.BATCH_TABLES}
    for table, stage in stages.items():
        columns = ", ".join(f"'{c}': '{DUCKDB_TYPES[t]}'" for c, t in SCHEMAS[table].items())
        path = str(stage.path).replace("'", "''")
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {STAGES[table]} AS SELECT * FROM read_csv('{path}',"
            f" header = false, columns = {{{columns}}}, auto_detect = false, delim = ',',"
            " quote = '', escape = '', dateformat = '%Y-%m-%d',"
            f" buffer_size = {READ_BUFFER_BYTES})"
        )
    return stages

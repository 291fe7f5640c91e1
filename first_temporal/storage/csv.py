"""The tables' CSV format, written and read in one place for every backend: no quoting
(values never hold commas, quotes or newlines), ISO dates, '\\n' line ends."""

from __future__ import annotations

import io
from typing import IO

import polars as pl

from first_temporal.domain import schema
from first_temporal.domain.errors import BadInput

_TYPED: dict[str, type[pl.DataType]] = {
    "customer_id": pl.Int64,
    "transaction_id": pl.Int64,
    "product_id": pl.Int64,
    "purchase_date": pl.Date,
    "delivery_date": pl.Date,
    "refund_till": pl.Date,
    "first_purchase_date": pl.Date,
    "dispute_date": pl.Date,
    "status_date": pl.Date,
}
# Every batch table's columns with their polars types (the rest are text): the one schema
# the loads, the mart and its reconciliation read the tables with.
SCHEMAS: dict[str, dict[str, type[pl.DataType]]] = {
    table: {c: _TYPED.get(c, pl.Utf8) for c in schema.COLUMNS[table]}
    for table in schema.BATCH_TABLES
}


def write(table: str, frame: pl.DataFrame, target: str | IO[bytes], header: bool = False) -> None:
    """The table's columns of `frame`, in table order (extra columns are left out). A path
    is written through a file opened here (see `opened`)."""
    if isinstance(target, str):
        with opened(target) as out:
            write(table, frame, out, header)
        return
    frame.select(schema.COLUMNS[table]).write_csv(
        target, include_header=header, line_terminator="\n"
    )


def opened(path: str) -> IO[bytes]:
    """A new file for polars to write into. Given the path instead, polars opens it twice,
    truncating it the second time, and on ext4 a file truncated to nothing starts its
    writeback as it is closed (auto_da_alloc): a bulk day's staged parts, deleted a second
    later, went to disk with the tables and made the load's fsync wait for them."""
    return open(path, "wb")


def encode(table: str, frame: pl.DataFrame, header: bool = False) -> bytes:
    out = io.BytesIO()
    write(table, frame, out, header)
    return out.getvalue()


def read(
    table: str,
    source: str | bytes,
    where: str,
    columns: tuple[str, ...] | None = None,
    header: bool = False,
) -> pl.DataFrame:
    """Rows of `table` (only `columns`, when given) from a file or bytes; BadInput names
    `where` when they do not parse."""
    wanted = list(columns or schema.COLUMNS[table])
    data = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        return pl.scan_csv(data, has_header=header, schema=SCHEMAS[table]).select(wanted).collect()
    except (pl.exceptions.PolarsError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BadInput(f"{where}: cannot parse the {table} rows: {first}") from None


def empty(table: str, columns: tuple[str, ...] | None = None) -> pl.DataFrame:
    wanted = columns or schema.COLUMNS[table]
    return pl.DataFrame(schema={c: SCHEMAS[table][c] for c in wanted})

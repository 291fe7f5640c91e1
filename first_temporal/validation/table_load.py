"""Getting the committed part of each table into DuckDB, with exact line numbers.

A byte pre-pass (streamed in chunks) finds what DuckDB's CSV reader would choke on
or silently mangle: invalid UTF-8, control characters, quotes. DuckDB then reads each
line as one string (no quoting, NUL as the delimiter), so a malformed row is just a
row with the wrong number of fields, and blank lines keep their place. The row order
of that read is the file order, which gives line numbers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

from first_temporal.domain import schema
from first_temporal.validation.report import Report, Violation

CHUNK = 8 << 20
BAD_BYTES = re.compile(rb'[\x00-\x09\x0b-\x1f\x7f"]')
# Printable ASCII but the quote, and newline: deleting these from a clean chunk leaves
# nothing (bytes.translate is ~10x faster than the regex over a whole chunk).
PLAIN = bytes(range(0x20, 0x7F)).replace(b'"', b"") + b"\n"

INT = "int"
DATE = "date"
NAME = "name"
EMAIL = "email"
TEXT = "text"
MONEY = "money"

# Per column: a kind, or the tuple of allowed values.
KINDS: dict[str, dict[str, str | tuple[str, ...]]] = {
    schema.PURCHASE: {
        "customer_id": INT,
        "first_name": NAME,
        "last_name": NAME,
        "email_address": EMAIL,
        "checkout_type": schema.CHECKOUT_TYPES,
        "transaction_id": INT,
        "product_id": INT,
        "purchase_date": DATE,
        "delivery_date": DATE,
        "refund_till": DATE,
        "delivered": ("False",),
    },
    schema.CUSTOMER: {
        "customer_id": INT,
        "first_name": NAME,
        "last_name": NAME,
        "email_address": EMAIL,
        "first_purchase_date": DATE,
    },
    schema.DISPUTE: {
        "customer_id": INT,
        "transaction_id": INT,
        "product_id": INT,
        "dispute_type": schema.DISPUTE_TYPES,
        "dispute_date": DATE,
    },
    schema.DELIVERY: {
        "transaction_id": INT,
        "status": schema.DELIVERY_STATUSES,
        "status_date": DATE,
    },
    schema.PRODUCT: {
        "product_id": INT,
        "year": INT,
        "make": TEXT,
        "model": TEXT,
        "exterior_color": TEXT,
        "interior_color": TEXT,
        "cost": MONEY,
    },
}

PATTERNS = {
    INT: ("0|[1-9][0-9]{0,17}", "an integer"),
    DATE: ("[0-9]{4}-[0-9]{2}-[0-9]{2}", "a valid YYYY-MM-DD date"),
    NAME: ("[A-Za-z][A-Za-z' .-]*", "a name"),
    EMAIL: ("[a-z0-9._'+-]+@[a-z0-9-]+(\\.[a-z0-9-]+)+", "an email address"),
    TEXT: ("[^,]+", "a non-empty text"),
    MONEY: ("[0-9]+\\.[0-9]{2}", "an amount like 125215.00"),
}


@dataclass(frozen=True)
class Scanned:
    source: Path | None  # what DuckDB reads: the file, a cleaned copy, or None (no lines)
    lines: int  # lines in the validated part, header and an unterminated last line included
    size: int  # bytes on disk
    validated: int  # bytes validated (the committed length, or the whole file)
    ends_clean: bool  # the validated part is empty or ends with a newline


def file_name(table: str) -> str:
    return f"{table}.csv"


def _problem(line: bytes) -> str | None:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"invalid UTF-8 at byte {exc.start + 1} of the line"
    bad = BAD_BYTES.search(line)
    if bad is None:
        return None
    char = bad.group()
    what = "a double quote" if char == b'"' else f"control character 0x{char[0]:02x}"
    return f"{what} at byte {bad.start() + 1} of the line"


def _stream(path: Path, length: int) -> Iterator[tuple[int, bytes]]:
    """(first line number, whole lines) pieces of the first `length` bytes of `path`."""
    line = 1
    carry = b""
    remaining = length
    with open(path, "rb") as fh:
        while remaining > 0:
            chunk = fh.read(min(CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            buf = carry + chunk
            cut = len(buf) if remaining <= 0 else buf.rfind(b"\n") + 1
            body, carry = buf[:cut], buf[cut:]
            if body:
                yield line, body
                line += body.count(b"\n")
    if carry:
        yield line, carry


def _clean(body: bytes) -> bytes:
    text = body.decode("utf-8", "replace").encode()
    return BAD_BYTES.sub(b"?", text)


def scan(path: Path, committed: int | None, tmp: Path, report: Report) -> Scanned:
    """Count the lines of the committed part and report unreadable bytes by line."""
    name = path.name
    size = path.stat().st_size
    length = size if committed is None else min(committed, size)
    lines, last = 0, b"\n"
    dirty = False
    found: list[Violation] = []
    total = 0
    for first, body in _stream(path, length):
        lines += body.count(b"\n")
        last = body[-1:]
        if not body.translate(None, PLAIN) or _problem(body) is None:
            continue
        dirty = True
        for offset, raw in enumerate(body.split(b"\n")):
            msg = _problem(raw)
            if msg is not None:
                total += 1
                if len(found) < 100:
                    found.append(Violation("bytes", name, first + offset, None, msg))
    if last != b"\n":
        lines += 1
    report.add(found, total)
    if length == 0:
        return Scanned(None, 0, size, 0, True)
    source = path
    if dirty or length != size:
        source = tmp / name
        with open(source, "wb") as out:
            for _, body in _stream(path, length):
                out.write(_clean(body) if dirty else body)
    return Scanned(source, lines, size, length, last == b"\n")


def _parsed(kind: str | tuple[str, ...], field: str) -> str:
    """First step of typing a field: the cast alone (its canonical form is checked next)."""
    if kind == INT:
        return f"TRY_CAST({field} AS BIGINT)"
    if kind == DATE:
        return f"TRY_CAST({field} AS DATE)"
    return field


def _typed(kind: str | tuple[str, ...], column: str, field: str) -> str:
    """The typed value, or NULL when the text is not exactly its canonical form."""
    if isinstance(kind, tuple):
        values = ", ".join(f"'{v}'" for v in kind)
        return f"CASE WHEN {column} IN ({values}) THEN {column} END"
    if kind in (INT, DATE):  # rejects '07', '+7', ' 7', '2020-7-3'
        return f"CASE WHEN CAST({column} AS VARCHAR) = {field} THEN {column} END"
    pattern = PATTERNS[kind][0].replace("'", "''")
    return f"CASE WHEN regexp_full_match({column}, '{pattern}') THEN {column} END"


def describe(kind: str | tuple[str, ...]) -> str:
    if isinstance(kind, tuple):
        return "one of " + ", ".join(kind)
    return PATTERNS[kind][1]


def field_sql(table: str, column: str) -> str:
    """The raw text of a column, for messages (rare: only rows that break a rule)."""
    index = list(KINDS[table]).index(column) + 1
    return f"split_part(text, ',', {index})"


def load(con: duckdb.DuckDBPyConnection, table: str, scanned: Scanned | None) -> None:
    """Create `<table>` (data rows: line, text, nf, each column typed or NULL) and
    `<table>_header` (the first line)."""
    if scanned is None or scanned.source is None:
        source = "(SELECT NULL::VARCHAR AS text WHERE false)"
    else:
        path = str(scanned.source).replace("'", "''")
        source = (
            f"read_csv('{path}', columns={{'text': 'VARCHAR'}}, header=false, delim='\\0',"
            " quote='', escape='', new_line='\\n', auto_detect=false, strict_mode=false)"
        )
    kinds = KINDS[table]
    n = len(kinds)
    fields = ", ".join(
        f"{_parsed(kind, f'f[{i}]')} AS {column}"
        for i, (column, kind) in enumerate(kinds.items(), start=1)
    )
    raw = ", ".join(f"f[{i}] AS {column}__raw" for i, column in enumerate(kinds, start=1))
    typed = ", ".join(
        f"CASE WHEN nf = {n} THEN {_typed(kind, column, column + '__raw')} END AS {column}"
        for column, kind in kinds.items()
    )
    # A plain read keeps the file's order (insertion order is preserved), so rowid is the
    # line number - 1. (row_number() OVER () would too, but single-threaded: 2x slower.)
    con.execute(
        f"""
        CREATE OR REPLACE TABLE raw_{table} AS SELECT text FROM {source};
        CREATE OR REPLACE TABLE {table}_header AS SELECT text FROM raw_{table} WHERE rowid = 0;
        CREATE OR REPLACE TABLE {table} AS
        WITH split AS (
            SELECT rowid + 1 AS line, text,
                   CASE WHEN text IS NULL THEN [] ELSE string_split(text, ',') END AS f
            FROM raw_{table} WHERE rowid > 0
        ), parsed AS (
            SELECT line, text, len(f) AS nf, {fields}, {raw} FROM split
        )
        SELECT line, text, nf, {typed} FROM parsed;
        DROP TABLE raw_{table};
        """
    )

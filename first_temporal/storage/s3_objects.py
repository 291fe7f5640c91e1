"""The CSV objects of the S3 layout: one batch's rows split by partition, and read back.

Kept apart from the S3 calls so the format rules (header, field count, the partition
value inside the row matching the one in the key) live in one place.
"""

from __future__ import annotations

import re
from datetime import date

from first_temporal.domain import schema
from first_temporal.domain.errors import BadInput
from first_temporal.storage.base import Manifest

# `<column>=<value>/batch-<number>.csv` at the end of a table object's key.
BATCH_KEY = re.compile(r"=([^/]*)/batch-(\d{6})\.csv$")


def is_date(value: str) -> bool:
    """YYYY-MM-DD exactly (fromisoformat alone also takes 20200703 and week dates)."""
    try:
        return date.fromisoformat(value).isoformat() == value
    except ValueError:
        return False


def partition_index(table: str) -> int:
    return schema.COLUMNS[table].index(schema.PARTITION_COLUMN[table])


def split_rows(table: str, manifest: Manifest, data: bytes, where: str) -> dict[str, bytes]:
    """Object body (header + rows, in batch order) per partition value of one table.

    Refuses the whole batch, before anything is written, if a row cannot be placed.
    """
    label = f"batch {manifest.batch_number} {table} (for {where})"
    if data and not data.endswith(b"\n"):
        raise BadInput(f"{label}: rows do not end with a newline — nothing was written")
    column, width = partition_index(table), len(schema.COLUMNS[table])
    groups: dict[str, list[bytes]] = {}
    lines = data.split(b"\n")[:-1]
    for number, line in enumerate(lines, start=1):
        fields = line.decode("utf-8", "replace").split(",")
        if len(fields) != width or not is_date(fields[column]):
            raise BadInput(
                f"{label} row {number}: expected {width} fields with a YYYY-MM-DD"
                f" {schema.PARTITION_COLUMN[table]}, found {line[:120]!r} — nothing was written"
            )
        groups.setdefault(fields[column], []).append(line + b"\n")
    if len(lines) != manifest.rows.get(table, 0):
        raise BadInput(
            f"{label}: {len(lines)} rows, but the batch says {manifest.rows.get(table, 0)}"
            " — nothing was written"
        )
    return {value: schema.header_line(table) + b"".join(rows) for value, rows in groups.items()}


def object_rows(url: str, body: bytes, table: str) -> list[list[str]]:
    """The data rows of one table object; BadInput names the object, line and fault."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(
            f"{url}: not UTF-8 text (byte {exc.start}) — the object is corrupt"
        ) from None
    header = schema.header_line(table).decode()
    if not text.startswith(header):
        found = text.split("\n", 1)[0][:120]
        raise BadInput(f"{url} line 1: expected the header {header.strip()!r}, found {found!r}")
    if not text.endswith("\n"):
        raise BadInput(f"{url}: does not end with a newline — the object is truncated")
    rows = [line.split(",") for line in text[len(header) :].split("\n")[:-1]]
    if not rows:
        raise BadInput(f"{url}: holds no rows — a batch never writes an empty object")
    width, column = len(schema.COLUMNS[table]), partition_index(table)
    match = BATCH_KEY.search(url)
    for number, fields in enumerate(rows, start=2):
        if len(fields) != width:
            raise BadInput(f"{url} line {number}: expected {width} fields, found {len(fields)}")
        if match and fields[column] != match.group(1):
            raise BadInput(
                f"{url} line {number} column {column + 1} ({schema.PARTITION_COLUMN[table]}):"
                f" {fields[column]!r} does not match the object's partition {match.group(1)}"
            )
    return rows

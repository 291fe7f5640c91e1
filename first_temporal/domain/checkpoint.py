"""The checkpoint (placeholder.csv): where the pipeline stands, and the commit record.

Besides the three columns of the original design it records, per table, how many
rows and bytes are committed. Anything past those lengths is a crash leftover; a
table shorter than them has lost data.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field, replace
from datetime import date

from first_temporal.domain import schema
from first_temporal.domain.errors import BadInput

BASE_COLUMNS = ("previous_date", "last_customer_id", "last_transaction_id")
EXTRA_COLUMNS = (
    "batch_number",
    "seed",
    "window_offset",
    *(f"{table}_{kind}" for table in schema.BATCH_TABLES for kind in ("rows", "bytes")),
)
COLUMNS = BASE_COLUMNS + EXTRA_COLUMNS


@dataclass(frozen=True)
class Checkpoint:
    previous_date: str  # "" before the first batch
    last_customer_id: int
    last_transaction_id: int
    batch_number: int
    seed: int
    window_offset: int  # where the purchases of the last 90 days start (bytes, local CSV)
    rows: dict[str, int] = field(default_factory=dict)
    ends: dict[str, int] = field(default_factory=dict)  # committed length of each table

    @staticmethod
    def initial(seed: int) -> Checkpoint:
        ends = {t: len(schema.header_line(t)) for t in schema.BATCH_TABLES}
        return Checkpoint(
            previous_date="",
            last_customer_id=schema.FIRST_CUSTOMER_ID - 1,
            last_transaction_id=schema.FIRST_TRANSACTION_ID - 1,
            batch_number=0,
            seed=seed,
            window_offset=ends[schema.PURCHASE],
            rows={t: 0 for t in schema.BATCH_TABLES},
            ends=ends,
        )

    @property
    def previous(self) -> date | None:
        return date.fromisoformat(self.previous_date) if self.previous_date else None

    def advanced(self, **changes: object) -> Checkpoint:
        return replace(self, **changes)  # type: ignore[arg-type]

    def to_csv(self) -> bytes:
        values: list[object] = [
            self.previous_date,
            self.last_customer_id,
            self.last_transaction_id,
            self.batch_number,
            self.seed,
            self.window_offset,
        ]
        for table in schema.BATCH_TABLES:
            values += [self.rows[table], self.ends[table]]
        return (",".join(COLUMNS) + "\n" + ",".join(str(v) for v in values) + "\n").encode()


def parse_checkpoint(raw: bytes, name: str = schema.CHECKPOINT_FILE) -> Checkpoint:
    """Parse and sanity-check a checkpoint file; BadInput names line, column and fault."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(
            f"{name} line 1: not UTF-8 text (byte {exc.start}) — the file is corrupt"
        ) from None
    if "\x00" in text:
        raise BadInput(f"{name} line 1: contains binary data — the file is corrupt")
    lines = list(csv.reader(io.StringIO(text)))
    if not lines:
        raise BadInput(f"{name}: empty")
    header = tuple(lines[0])
    if header[: len(BASE_COLUMNS)] != BASE_COLUMNS:
        raise BadInput(
            f"{name} line 1: header is {','.join(header)!r}, expected it to start with "
            f"{','.join(BASE_COLUMNS)!r}"
        )
    if header != COLUMNS:
        missing = [c for c in COLUMNS if c not in header]
        raise BadInput(
            f"{name} line 1: header lacks the commit columns"
            f" {','.join(missing) or '(order differs)'}"
            " — it was not written by this version of first_temporal"
        )
    if len(lines) != 2:
        raise BadInput(f"{name}: expected exactly one data row, found {len(lines) - 1}")
    row = lines[1]
    if len(row) != len(COLUMNS):
        raise BadInput(f"{name} line 2: expected {len(COLUMNS)} fields, found {len(row)}")
    values = dict(zip(COLUMNS, row, strict=True))

    def integer(column: str) -> int:
        text = values[column]
        try:
            value = int(text)
        except ValueError:
            col = COLUMNS.index(column) + 1
            raise BadInput(
                f"{name} line 2 column {col} ({column}): {text!r} is not an integer"
            ) from None
        if value < 0:
            raise BadInput(f"{name} line 2 column {COLUMNS.index(column) + 1} ({column}): negative")
        return value

    previous = values["previous_date"]
    if previous:
        try:
            date.fromisoformat(previous)
        except ValueError:
            raise BadInput(
                f"{name} line 2 column 1 (previous_date): {previous!r} is not a valid"
                " YYYY-MM-DD date"
            ) from None
    cp = Checkpoint(
        previous_date=previous,
        last_customer_id=integer("last_customer_id"),
        last_transaction_id=integer("last_transaction_id"),
        batch_number=integer("batch_number"),
        seed=integer("seed"),
        window_offset=integer("window_offset"),
        rows={t: integer(f"{t}_rows") for t in schema.BATCH_TABLES},
        ends={t: integer(f"{t}_bytes") for t in schema.BATCH_TABLES},
    )
    _check_consistent(cp, name)
    return cp


def _check_consistent(cp: Checkpoint, name: str) -> None:
    """Ids are contiguous from their first value, so the counts follow from the last ids."""
    purchases = cp.last_transaction_id - schema.FIRST_TRANSACTION_ID + 1
    customers = cp.last_customer_id - schema.FIRST_CUSTOMER_ID + 1
    problems = []
    if cp.rows[schema.PURCHASE] != purchases:
        problems.append(
            f"purchase_rows={cp.rows[schema.PURCHASE]} but last_transaction_id implies {purchases}"
        )
    if cp.rows[schema.CUSTOMER] != customers:
        problems.append(
            f"customer_rows={cp.rows[schema.CUSTOMER]} but last_customer_id implies {customers}"
        )
    if (cp.batch_number == 0) != (cp.previous_date == ""):
        problems.append("previous_date must be empty exactly when batch_number is 0")
    if problems:
        raise BadInput(f"{name} line 2: inconsistent checkpoint: {'; '.join(problems)}")

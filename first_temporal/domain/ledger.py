"""The load ledger (ledger.csv): one row per committed batch, written in the commit that
advances the checkpoint, so the history of loads outlives Temporal's retention.

Each row says where every table ended after the batch (rows and bytes), the SHA-256 of
the bytes the batch appended to it, and the SHA-256 of the ledger line before it: a hash
chain, anchored at the header, so an edited or removed row is evident. A row also holds
everything the checkpoint of its batch holds, bar the window offset (found again in the
table), so a rewind can restore the checkpoint of any batch. No clock: the ledger is a
function of the tables, so a rewound and replayed pipeline has the same ledger too.
"""

from __future__ import annotations

from dataclasses import dataclass
from hashlib import sha256

from first_temporal.domain import schema
from first_temporal.domain.checkpoint import Checkpoint
from first_temporal.domain.errors import BadInput

LEDGER_FILE = "ledger.csv"
TABLE_FIELDS = ("rows", "end", "sha256")
COLUMNS = (
    "batch_number",
    "batch_date",
    "last_customer_id",
    "last_transaction_id",
    *(f"{table}_{f}" for table in schema.BATCH_TABLES for f in TABLE_FIELDS),
    "previous_sha256",
)
HEADER = (",".join(COLUMNS) + "\n").encode()


@dataclass(frozen=True)
class Appended:
    """What one batch left in one table: its rows and byte end after the batch, and the
    digest of the bytes it appended."""

    rows: int
    end: int
    sha256: str


@dataclass(frozen=True)
class LedgerRow:
    batch_number: int
    batch_date: str
    last_customer_id: int
    last_transaction_id: int
    tables: dict[str, Appended]
    previous_sha256: str

    def line(self) -> bytes:
        fields = [
            str(self.batch_number),
            self.batch_date,
            str(self.last_customer_id),
            str(self.last_transaction_id),
        ]
        for table in schema.BATCH_TABLES:
            done = self.tables[table]
            fields += [str(done.rows), str(done.end), done.sha256]
        return (",".join([*fields, self.previous_sha256]) + "\n").encode()

    def checkpoint(self, seed: int, window_offset: int) -> Checkpoint:
        """The checkpoint the commit of this batch wrote."""
        return Checkpoint(
            previous_date=self.batch_date,
            last_customer_id=self.last_customer_id,
            last_transaction_id=self.last_transaction_id,
            batch_number=self.batch_number,
            seed=seed,
            window_offset=window_offset,
            rows={t: self.tables[t].rows for t in schema.BATCH_TABLES},
            ends={t: self.tables[t].end for t in schema.BATCH_TABLES},
        )


def commit_lines(
    current: Checkpoint,
    dates: list[str],
    day_rows: dict[str, list[int]],
    runs: dict[str, list[tuple[int, str]]],
    previous: bytes,
) -> list[bytes]:
    """The ledger lines of a commit after `current`: one per batch date, each table's
    (end, digest) per date in `runs`, chained from the `previous` line (or HEADER)."""
    rows = dict(current.rows)
    customer, transaction = current.last_customer_id, current.last_transaction_id
    lines = []
    for day, batch_date in enumerate(dates):
        tables = {}
        for t in schema.BATCH_TABLES:
            rows[t] += day_rows[t][day]
            end, hashed = runs[t][day]
            tables[t] = Appended(rows[t], end, hashed)
        customer += day_rows[schema.CUSTOMER][day]
        transaction += day_rows[schema.PURCHASE][day]
        row = LedgerRow(
            current.batch_number + 1 + day,
            batch_date,
            customer,
            transaction,
            tables,
            digest(previous),
        )
        previous = row.line()
        lines.append(previous)
    return lines


def digest(line: bytes) -> str:
    return sha256(line).hexdigest()


def parse(line: bytes, number: int) -> LedgerRow:
    """One ledger line (`number` counts from 1, the header); BadInput names what is wrong."""
    where = f"{LEDGER_FILE} line {number}"
    fields = line.rstrip(b"\n").decode("utf-8", "replace").split(",")
    if len(fields) != len(COLUMNS):
        raise BadInput(f"{where}: expected {len(COLUMNS)} fields, found {len(fields)}")
    try:
        numbers = [int(f) for f in (fields[0], *fields[2:4])]
        tables = {}
        for i, table in enumerate(schema.BATCH_TABLES):
            rows, end, hashed = fields[4 + 3 * i : 7 + 3 * i]
            tables[table] = Appended(int(rows), int(end), hashed)
    except ValueError:
        raise BadInput(f"{where}: a count or byte offset is not an integer") from None
    return LedgerRow(numbers[0], fields[1], numbers[1], numbers[2], tables, fields[-1])


def lines_of(data: bytes) -> list[bytes]:
    """The ledger's lines after its header, each with its newline."""
    if not data.startswith(HEADER):
        raise BadInput(f"{LEDGER_FILE} line 1: not the ledger's header")
    body = data[len(HEADER) :]
    if body and not body.endswith(b"\n"):
        raise BadInput(f"{LEDGER_FILE}: the last line is cut short")
    return [line + b"\n" for line in body.split(b"\n")[:-1]]


def broken_link(lines: list[bytes], before: bytes = HEADER) -> int | None:
    """Index of the first line whose previous_sha256 is not the digest of the line
    before it (`before` before the first); None when the chain holds."""
    for index, line in enumerate(lines):
        if not line.rstrip(b"\n").endswith(b"," + digest(before).encode()):
            return index
        before = line
    return None


def last_lines(lines: list[bytes], count: int) -> tuple[list[bytes], bytes]:
    """The last `count` of `lines` (oldest first) and the line the first of them chains to:
    the one before them, or the header when `lines` holds no more."""
    if len(lines) > count:
        return lines[-count:], lines[-count - 1]
    return lines, HEADER


def check_committed(batch: int, current: Checkpoint, where: str) -> None:
    """BadInput, naming what is committed, unless `batch` is 0 or a committed batch."""
    if not 0 <= batch <= current.batch_number:
        held = f"batches 1-{current.batch_number}" if current.batch_number else "no batch"
        raise BadInput(f"batch {batch} is not a committed batch: {where} holds {held}")

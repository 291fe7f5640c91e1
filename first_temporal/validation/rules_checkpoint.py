"""The checkpoint against the tables: committed lengths, row counts, last date and ids."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from pathlib import Path

from first_temporal.domain import schema
from first_temporal.domain.checkpoint import COLUMNS, Checkpoint, parse_checkpoint
from first_temporal.domain.errors import BadInput
from first_temporal.validation.report import Report
from first_temporal.validation.rules_rows import Ctx
from first_temporal.validation.table_load import Scanned, file_name

CP = schema.CHECKPOINT_FILE


def read_checkpoint(root: Path, report: Report) -> Checkpoint | None:
    """The checkpoint; when it breaks a rule, report that and still use what it says if it
    can be read at all, so the committed lengths are honoured."""
    path = root / CP
    if not path.is_file():
        report.add_one("checkpoint", CP, None, None, "missing: nothing says what is committed")
        return None
    raw = path.read_bytes()
    try:
        return parse_checkpoint(raw)
    except BadInput as exc:
        report.add_one("checkpoint", CP, None, None, str(exc).removeprefix(f"{CP}: "))
    return _lenient(raw)


def _lenient(raw: bytes) -> Checkpoint | None:
    try:
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8"))))
        values = dict(zip(COLUMNS, rows[1], strict=True))
        number = {k: int(v) for k, v in values.items() if k != "previous_date"}
        if values["previous_date"]:
            date.fromisoformat(values["previous_date"])
    except (ValueError, IndexError, UnicodeDecodeError):
        return None
    return Checkpoint(
        previous_date=values["previous_date"],
        last_customer_id=number["last_customer_id"],
        last_transaction_id=number["last_transaction_id"],
        batch_number=number["batch_number"],
        seed=number["seed"],
        window_offset=number["window_offset"],
        rows={t: number[f"{t}_rows"] for t in schema.BATCH_TABLES},
        ends={t: number[f"{t}_bytes"] for t in schema.BATCH_TABLES},
    )


def file_rules(report: Report, cp: Checkpoint, table: str, scanned: Scanned) -> None:
    """Committed bytes and rows of one table file."""
    name = file_name(table)
    end, rows = cp.ends[table], cp.rows[table]
    if scanned.size < end:
        report.add_one(
            "committed_bytes",
            name,
            None,
            None,
            f"holds {scanned.size} bytes but {CP} says {end} are committed — data was lost",
        )
    elif scanned.size > end:
        report.warnings.append(
            f"{name}: {scanned.size - end} bytes past the committed {end} (an uncommitted"
            " leftover of an interrupted load, ignored)"
        )
    if not scanned.ends_clean:
        report.add_one(
            "committed_bytes",
            name,
            scanned.lines,
            None,
            f"the committed part (byte {scanned.validated}) does not end at a line boundary",
        )
    if scanned.size >= end and max(scanned.lines - 1, 0) != rows:
        report.add_one(
            "checkpoint",
            CP,
            2,
            f"{table}_rows",
            f"{rows}, but the committed part of {name} holds {max(scanned.lines - 1, 0)} rows",
        )


def checkpoint_rules(ctx: Ctx, cp: Checkpoint) -> None:
    con = ctx.con

    def check(column: str, said: object, found: object, what: str) -> None:
        if str(said) != str(found):
            ctx.report.add_one("checkpoint", CP, 2, column, f"{said!r}, but {what} is {found!r}")

    last = con.execute(
        f"SELECT max(purchase_date), max(transaction_id), count(DISTINCT purchase_date)"
        f" FROM {schema.PURCHASE}"
    ).fetchone()
    customers = con.execute(f"SELECT max(customer_id) FROM {schema.CUSTOMER}").fetchone()
    assert last is not None and customers is not None
    last_date = last[0].isoformat() if last[0] else ""
    check("previous_date", cp.previous_date, last_date, "the last purchase_date")
    first_tid = schema.FIRST_TRANSACTION_ID - 1
    check(
        "last_transaction_id",
        cp.last_transaction_id,
        last[1] or first_tid,
        "the largest transaction_id",
    )
    check(
        "last_customer_id",
        cp.last_customer_id,
        customers[0] or schema.FIRST_CUSTOMER_ID - 1,
        "the largest customer_id",
    )
    check("batch_number", cp.batch_number, last[2], "the number of batch dates")
    header = len(schema.header_line(schema.PURCHASE))
    if cp.previous is None:
        check("window_offset", cp.window_offset, header, "the header's length")
        return
    since = (cp.previous - timedelta(days=schema.DISPUTE_WINDOW_DAYS)).isoformat()
    before = con.execute(
        f"SELECT coalesce(sum(strlen(text) + 1), 0) FROM {schema.PURCHASE}"
        f" WHERE purchase_date < DATE '{since}'"
    ).fetchone()
    assert before is not None
    check(
        "window_offset",
        cp.window_offset,
        header + int(before[0]),
        f"the byte offset of the first purchase on or after {since}",
    )

"""A local data dir's checkpoint, verified against its tables with a few small reads
(each table's header and last committed line, never a scan): what every batch does first,
so damage is reported as bad input naming file, line and column, before anything is written.
"""

from __future__ import annotations

from pathlib import Path

from first_temporal.domain import schema
from first_temporal.domain.checkpoint import Checkpoint, parse_checkpoint
from first_temporal.domain.errors import BadInput
from first_temporal.storage.base import key_column

TAIL_PROBE = 4096  # longer than any table line


def table_path(root: Path, table: str) -> Path:
    return root / f"{table}.csv"


def recorded_checkpoint(root: Path) -> Checkpoint | None:
    """The checkpoint file as written, not checked against the tables (None: absent or
    empty, nothing committed yet)."""
    cp_path = root / schema.CHECKPOINT_FILE
    raw = cp_path.read_bytes() if cp_path.is_file() else b""
    return parse_checkpoint(raw) if raw else None


def verified_checkpoint(root: Path, seed: int) -> Checkpoint:
    """The committed checkpoint, checked against the tables: BadInput naming file, line
    and column when they disagree."""
    if root.exists() and not root.is_dir():
        raise BadInput(
            f"{root}: the data directory is a file — set ETL_DATA_DIR or --data-dir to a directory"
        )
    cp = recorded_checkpoint(root)
    if cp is None:
        _check_no_rows_without_checkpoint(root, (root / schema.CHECKPOINT_FILE).exists())
        return Checkpoint.initial(seed)
    if cp.seed != seed:
        raise BadInput(
            f"{schema.CHECKPOINT_FILE}: these tables were built with seed {cp.seed}, not {seed}"
            f" — run with --seed {cp.seed} or use another data directory"
        )
    for table in schema.BATCH_TABLES:
        _verify_table(root, table, cp)
    if cp.batch_number > 0:
        _verify_header(root, schema.PRODUCT, required=True)
    return cp


def _check_no_rows_without_checkpoint(root: Path, exists: bool) -> None:
    state = "empty" if exists else "missing"
    for table in (*schema.BATCH_TABLES, schema.PRODUCT):
        path = table_path(root, table)
        if not path.is_file():
            continue
        _verify_header(root, table, required=False)
        if table != schema.PRODUCT and path.stat().st_size > len(schema.header_line(table)):
            raise BadInput(
                f"{schema.CHECKPOINT_FILE}: {state} while {path.name} holds rows — restore the"
                " checkpoint from a backup, or move the tables away to start over"
            )


def _verify_header(root: Path, table: str, required: bool) -> None:
    path = table_path(root, table)
    if not path.is_file():
        if required:
            raise BadInput(f"{path.name}: missing — the tables are incomplete")
        return
    expected = schema.header_line(table)
    with open(path, "rb") as fh:
        head = fh.read(len(expected) + 200)
    first = head.split(b"\n", 1)[0]
    if head[: len(expected)] == expected:
        return
    try:
        found = first.decode("utf-8").split(",")
    except UnicodeDecodeError:
        raise BadInput(f"{path.name} line 1: not UTF-8 text — the file is corrupt") from None
    columns = schema.COLUMNS[table]
    for i, name in enumerate(columns):
        if i >= len(found) or found[i] != name:
            got = found[i] if i < len(found) else "nothing"
            hint = " (no header row?)" if found and found[0][:1].isdigit() else ""
            raise BadInput(
                f"{path.name} line 1 column {i + 1}: expected column {name!r}, found {got!r}{hint}"
            )
    raise BadInput(f"{path.name} line 1: header has unexpected extra columns")


def _verify_table(root: Path, table: str, cp: Checkpoint) -> None:
    path = table_path(root, table)
    rows, end = cp.rows[table], cp.ends[table]
    if not path.is_file():
        if rows > 0:
            raise BadInput(
                f"{path.name}: missing while {schema.CHECKPOINT_FILE} says it holds {rows} rows"
                " — restore it from a backup"
            )
        return
    _verify_header(root, table, required=True)
    size = path.stat().st_size
    if size < end:
        raise BadInput(
            f"{path.name}: holds {size} bytes but {schema.CHECKPOINT_FILE} says {end} are"
            f" committed ({rows} rows) — data was lost; restore it from a backup"
        )
    if rows == 0:
        return
    with open(path, "rb") as fh:
        start = max(len(schema.header_line(table)), end - TAIL_PROBE)
        fh.seek(start)
        tail = fh.read(end - start)
    if not tail.endswith(b"\n"):
        raise BadInput(
            f"{path.name}: the committed data does not end at a line boundary (byte {end})"
            " — the table or the checkpoint was edited; restore from a backup"
        )
    last = tail[:-1].rsplit(b"\n", 1)[-1].decode("utf-8", "replace").split(",")
    _verify_last_row(root, table, cp, last)


def _verify_last_row(root: Path, table: str, cp: Checkpoint, last: list[str]) -> None:
    name = table_path(root, table).name
    expected: dict[int, str] = {}
    if table == schema.PURCHASE:
        expected = {5: str(cp.last_transaction_id), 7: cp.previous_date}
    elif table == schema.CUSTOMER:
        expected = {0: str(cp.last_customer_id)}
    columns = schema.COLUMNS[table]
    if len(last) != len(columns):
        raise BadInput(
            f"{name} line {cp.rows[table] + 1}: expected {len(columns)} fields, found"
            f" {len(last)} — the table and {schema.CHECKPOINT_FILE} disagree"
        )
    for index, value in expected.items():
        if last[index] != value:
            raise BadInput(
                f"{name} line {cp.rows[table] + 1} column {index + 1} ({columns[index]}):"
                f" found {last[index]!r}, but {schema.CHECKPOINT_FILE} says {value!r}"
                " — the checkpoint claims data the table does not hold"
            )
    key = key_column(table)
    if not last[key].isdigit():
        raise BadInput(
            f"{name} line {cp.rows[table] + 1} column {key + 1} ({columns[key]}):"
            f" {last[key]!r} is not an integer"
        )

"""ledger.csv of a local data dir: cut back to the committed batch, appended, read.

Rows past the checkpoint's batch are a crash leftover of a commit that did not reach its
checkpoint (or of a rewind): readers ignore them and the next commit cuts them off,
like the tables' bytes past their committed ends. Cutting reads the file from its end,
so a commit's cost does not grow with the ledger.
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path
from typing import BinaryIO

from first_temporal.domain import schema
from first_temporal.domain.checkpoint import Checkpoint
from first_temporal.domain.errors import BadInput
from first_temporal.domain.ledger import HEADER, LEDGER_FILE, check_committed, lines_of, parse
from first_temporal.storage.files import about, atomic_write, first_line_since, line_start


def ledger_path(root: Path) -> Path:
    return root / LEDGER_FILE


def cut_after(root: Path, batch_number: int) -> bytes:
    """Drop every row past `batch_number`; return the line the next row chains to (the
    last row kept, or the header). Creates the ledger when there is none: a data dir of
    an older version starts its ledger at its next batch."""
    path = ledger_path(root)
    if not path.is_file() or path.stat().st_size == 0:
        atomic_write(path, HEADER)
        return HEADER
    with open(path, "r+b") as fh:
        end = _whole_lines_end(fh)
        while end > len(HEADER):
            start = line_start(fh, end - 1)
            fh.seek(start)
            line = fh.read(end - start)
            if int(line.split(b",", 1)[0]) <= batch_number:
                break
            end = start
        else:
            line = HEADER
        if fh.seek(0, os.SEEK_END) > end:
            fh.truncate(end)
            os.fsync(fh.fileno())
        return line


def append(root: Path, lines: list[bytes]) -> None:
    path = ledger_path(root)
    with about(path), open(path, "ab") as fh:
        fh.write(b"".join(lines))
        fh.flush()
        os.fsync(fh.fileno())


def committed_lines(root: Path, batch_number: int) -> list[bytes]:
    """The ledger's rows up to `batch_number` (the checkpoint's); [] without a ledger."""
    path = ledger_path(root)
    if not path.is_file():
        return []
    data = path.read_bytes()
    lines = lines_of(data[: data.rfind(b"\n") + 1])  # a part of a row past them is no row
    while lines and parse(lines[-1], len(lines) + 1).batch_number > batch_number:
        lines.pop()
    return lines


def checkpoint_after(root: Path, seed: int, batch: int, current: Checkpoint) -> Checkpoint:
    """The checkpoint the commit of `batch` wrote (0: a new pipeline's), from its ledger
    row; BadInput, naming what is committed, when `batch` is not."""
    check_committed(batch, current, str(root))
    if batch == 0:
        return Checkpoint.initial(seed)
    if batch == current.batch_number:
        return current
    lines = committed_lines(root, current.batch_number)
    rows = {r.batch_number: r for r in (parse(x, i + 2) for i, x in enumerate(lines))}
    if batch not in rows:
        first = min(rows, default=current.batch_number + 1)
        raise BadInput(
            f"{LEDGER_FILE} has no row for batch {batch} (it starts at batch {first}):"
            " what the tables held then is not recorded"
        )
    row = rows[batch]
    since = date.fromisoformat(row.batch_date) - timedelta(days=schema.DISPUTE_WINDOW_DAYS)
    header = len(schema.header_line(schema.PURCHASE))
    with open(root / f"{schema.PURCHASE}.csv", "rb") as fh:  # as the commit found it
        offset = first_line_since(fh, header, row.tables[schema.PURCHASE].end, since.isoformat())
    return row.checkpoint(seed, offset)


def tail(root: Path, count: int) -> list[bytes]:
    """The ledger's last `count` + 1 lines (the extra one to check the chain), read from
    its end: what a status line needs, whatever the ledger's length."""
    path = ledger_path(root)
    if not path.is_file():
        return []
    lines: list[bytes] = []
    with open(path, "rb") as fh:
        end = _whole_lines_end(fh)
        while end > len(HEADER) and len(lines) <= count:
            start = line_start(fh, end - 1)
            fh.seek(start)
            lines.insert(0, fh.read(end - start))
            end = start
    return lines


def _whole_lines_end(fh: BinaryIO) -> int:
    """The end of the ledger's last whole line: a commit that died in its append (a full
    disk) can leave part of a row, which is no row at all."""
    end = fh.seek(0, os.SEEK_END)
    if end > len(HEADER):
        fh.seek(end - 1)
        if fh.read(1) != b"\n":
            return line_start(fh, end - 1)
    return end

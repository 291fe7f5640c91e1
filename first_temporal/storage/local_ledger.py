"""ledger.csv of a local data dir: cut back to the committed batch, appended, read.

Rows past the checkpoint's batch are a crash leftover of a commit that did not reach its
checkpoint (or of a rewind): readers ignore them and the next commit cuts them off,
like the tables' bytes past their committed ends. Cutting reads the file from its end,
so a commit's cost does not grow with the ledger.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from first_temporal.domain.ledger import HEADER, LEDGER_FILE, lines_of, parse
from first_temporal.storage.files import atomic_write

BLOCK = 64 << 10


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
        end = fh.seek(0, os.SEEK_END)
        while end > len(HEADER):
            line_start = _line_start(fh, end)
            fh.seek(line_start)
            line = fh.read(end - line_start)
            if int(line.split(b",", 1)[0]) <= batch_number:
                break
            end = line_start
        else:
            line = HEADER
        if fh.seek(0, os.SEEK_END) > end:
            fh.truncate(end)
            os.fsync(fh.fileno())
        return line


def append(root: Path, lines: list[bytes]) -> None:
    with open(ledger_path(root), "ab") as fh:
        fh.write(b"".join(lines))
        fh.flush()
        os.fsync(fh.fileno())


def committed_lines(root: Path, batch_number: int) -> list[bytes]:
    """The ledger's rows up to `batch_number` (the checkpoint's); [] without a ledger."""
    path = ledger_path(root)
    if not path.is_file():
        return []
    lines = lines_of(path.read_bytes())
    while lines and parse(lines[-1], len(lines) + 1).batch_number > batch_number:
        lines.pop()
    return lines


def _line_start(fh: BinaryIO, end: int) -> int:
    """Where the line that ends at `end` (just past its newline) starts."""
    position = end - 1
    while position > 0:
        low = max(0, position - BLOCK)
        fh.seek(low)
        cut = fh.read(position - low).rfind(b"\n")
        if cut >= 0:
            return low + cut + 1
        position = low
    return 0

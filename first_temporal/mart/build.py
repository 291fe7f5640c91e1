"""apply_pending: bring the mart up to the committed checkpoint, exactly once.

Everything a call changes (new dimension and fact rows, delivery statuses, and the
byte offsets in mart_state) commits in one DuckDB transaction, so a crash or a retry
either finds the batch applied, offsets included, or not at all.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from first_temporal.domain.errors import BadInput
from first_temporal.filelock import exclusive_lock
from first_temporal.mart import load, stage
from first_temporal.mart.db import connect, fit_to_apply, one
from first_temporal.mart.ddl import TABLES, VIEWS
from first_temporal.mart.state import (
    MART_FILE,
    check_in_sync,
    load_state,
    read_committed,
    save_state,
)

LOCK_FILE = ".mart.lock"
LOCK_WAIT_SECONDS = 60.0
Progress = Callable[[], None]


@dataclass
class MartResult:
    """What one apply did; plain fields so it crosses Temporal as JSON."""

    mart_path: str
    created: bool
    from_batch: int
    to_batch: int
    new_rows: dict[str, int] = field(default_factory=dict)
    new_bytes: int = 0
    elapsed_seconds: float = 0.0

    @property
    def applied(self) -> int:
        return self.to_batch - self.from_batch


def mart_path(data_dir: str | os.PathLike[str]) -> Path:
    return Path(data_dir).absolute() / MART_FILE


@contextmanager
def mart_lock(data_dir: Path) -> Iterator[None]:
    """One writer at a time per data dir (apply, rebuild's swap), across threads and processes."""
    busy = f"{data_dir}: the mart is locked by another writer"
    with exclusive_lock(data_dir / LOCK_FILE, LOCK_WAIT_SECONDS, busy):
        yield


def apply_pending(data_dir: str, progress: Progress | None = None) -> MartResult:
    """Apply every committed batch the mart has not seen, in one transaction.

    `progress` (e.g. temporalio's activity.heartbeat) is called between chunks.
    """
    root = existing(data_dir)
    with mart_lock(root):
        return apply_to(root, mart_path(root), progress)


def existing(data_dir: str) -> Path:
    """The data dir, which a mart refresh queued behind a deletion must not recreate."""
    root = Path(data_dir).absolute()
    if not root.is_dir():
        raise BadInput(
            f"{root}: the data directory is gone — the mart has no tables to follow; restore"
            " it from a backup, or start the pipeline again"
        )
    return root


def apply_to(data_dir: Path, target: Path, progress: Progress | None = None) -> MartResult:
    """apply_pending with the mart file named: rebuild applies to a temp file."""
    started = time.monotonic()
    tick = progress or (lambda: None)
    cp = read_committed(data_dir)
    con = connect(target)
    folder = Path(tempfile.mkdtemp(prefix=f".{target.name}.stage-", dir=target.parent))
    try:
        stages = stage.register_stages(con, folder)
        # A file without the schema (an interrupted first apply) is a new mart too.
        created = not one(
            con,
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'mart_state'",
        )[0]
        con.begin()
        try:
            if created:
                con.execute(TABLES)
                con.execute(VIEWS)
                load.seed_dimensions(con, data_dir)
            state = load_state(con)
            result = MartResult(str(target), created, state.batch_number, state.batch_number)
            if cp is not None:
                check_in_sync(state, cp, data_dir)
                fit_to_apply(con, sum(cp.ends[t] - state.offsets[t] for t in load.LOAD_ORDER))
                spans: list[tuple[date, date]] = []
                for table in load.LOAD_ORDER:
                    start, end = state.offsets[table], cp.ends[table]
                    result.new_rows[table] = _apply_table(
                        con, stages[table], data_dir, table, (start, end), spans, tick
                    )
                    result.new_bytes += end - start
                if spans:
                    load.extend_dates(con, min(s[0] for s in spans), max(s[1] for s in spans))
                if cp.batch_number != state.batch_number or created:
                    save_state(con, cp, data_dir)
                result.to_batch = cp.batch_number
            con.commit()
        except BaseException:
            with suppress(duckdb.TransactionException):  # a failed COMMIT has ended it
                con.rollback()
            raise
    finally:
        con.close()
        shutil.rmtree(folder, ignore_errors=True)
    result.elapsed_seconds = round(time.monotonic() - started, 3)
    return result


def _apply_table(
    con: duckdb.DuckDBPyConnection,
    staged: stage.Stage,
    data_dir: Path,
    table: str,
    span: tuple[int, int],
    dates: list[tuple[date, date]],
    tick: Progress,
) -> int:
    """Load the table's bytes in [start, end); note the dates they refer to in `dates`."""
    rows = 0
    with open(data_dir / f"{table}.csv", "rb") as fh:
        for start, end in stage.pieces(fh, *span, stage.PIECE_BYTES[table]):
            staged.fill(fh, start, end)
            with stage.parsed(fh, table, start):
                new = stage.survey(con, table)
                load.LOADERS[table](con, new)
            if new.low is not None and new.high is not None:
                dates.append((new.low, new.high))
            rows += new.count
            staged.clear()
            tick()
    return rows


def rebuild(data_dir: str, progress: Progress | None = None) -> MartResult:
    """A fresh mart from all committed rows, swapped in only when complete."""
    root = existing(data_dir)
    final = mart_path(root)
    temp = final.with_name(f".{MART_FILE}.rebuild-{os.getpid()}")
    for leftover in root.glob(f".{MART_FILE}.rebuild-*"):  # of a process that died mid-way
        pid = leftover.name.rsplit("-", 1)[-1]
        if pid.isdigit() and leftover.is_file() and not _alive(int(pid)):
            _remove(leftover)
    _remove(temp)  # this process's, of an earlier attempt
    try:
        result = apply_to(root, temp, progress)
        with mart_lock(root):
            catch_up = apply_to(root, temp, progress)  # batches committed meanwhile
            con = connect(temp)
            try:
                con.execute("CHECKPOINT")
            finally:
                con.close()
            _remove(Path(f"{final}.wal"))  # a stale log must never replay onto the new file
            os.replace(temp, final)
    finally:
        _remove(temp)
    result.mart_path, result.to_batch = str(final), catch_up.to_batch
    for table, count in catch_up.new_rows.items():
        result.new_rows[table] = result.new_rows.get(table, 0) + count
    result.new_bytes += catch_up.new_bytes
    return result


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _remove(path: Path) -> None:
    for p in (path, Path(f"{path}.wal")):
        p.unlink(missing_ok=True)

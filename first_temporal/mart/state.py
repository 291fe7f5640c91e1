"""What the mart has applied (its mart_state row), checked against the committed tables."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from first_temporal.domain import schema
from first_temporal.domain.checkpoint import Checkpoint
from first_temporal.domain.errors import BadInput
from first_temporal.mart.db import one
from first_temporal.storage.local import LocalStorage
from first_temporal.storage.local_checks import recorded_checkpoint

MART_FILE = "mart.duckdb"
TAIL_BYTES = 256
REBUILD_HINT = "rebuild it with `python -m first_temporal.mart rebuild --data-dir {dir}`"


class MartOutOfSync(BadInput):
    """The mart records data the tables no longer hold: only a rebuild can fix it."""


@dataclass(frozen=True)
class MartState:
    seed: int | None
    batch_number: int
    previous_date: date | None
    offsets: dict[str, int]
    rows: dict[str, int]
    tail_digest: str | None = None

    @staticmethod
    def empty() -> MartState:
        return MartState(
            seed=None,
            batch_number=0,
            previous_date=None,
            offsets={t: len(schema.header_line(t)) for t in schema.BATCH_TABLES},
            rows={t: 0 for t in schema.BATCH_TABLES},
        )


def read_committed(data_dir: Path) -> Checkpoint | None:
    """The verified checkpoint, or None before the pipeline's first commit."""
    recorded = recorded_checkpoint(data_dir)
    if recorded is None:
        return None
    return LocalStorage(data_dir).read_checkpoint(recorded.seed)


def load_state(con: duckdb.DuckDBPyConnection) -> MartState:
    columns = ", ".join(f"{t}_{kind}" for kind in ("offset", "rows") for t in schema.BATCH_TABLES)
    row = one(
        con,
        f"SELECT seed, batch_number, previous_date, tail_digest, {columns}"
        " FROM mart_state WHERE id = 1",
    )
    if row is None:
        return MartState.empty()
    n = len(schema.BATCH_TABLES)
    return MartState(
        seed=row[0],
        batch_number=row[1],
        previous_date=row[2],
        tail_digest=row[3],
        offsets=dict(zip(schema.BATCH_TABLES, row[4 : 4 + n], strict=True)),
        rows=dict(zip(schema.BATCH_TABLES, row[4 + n :], strict=True)),
    )


def tail_digest(data_dir: Path, offsets: dict[str, int]) -> str:
    """A fingerprint of the bytes just before each offset: the same tables give the same one,
    tables rewritten since (other rates, restored backup) almost surely do not."""
    digest = hashlib.blake2b(digest_size=16)
    for table in schema.BATCH_TABLES:
        start = max(0, offsets[table] - TAIL_BYTES)
        path = data_dir / f"{table}.csv"
        if offsets[table] > len(schema.header_line(table)):
            with open(path, "rb") as fh:
                fh.seek(start)
                digest.update(fh.read(offsets[table] - start))
        digest.update(b"|")
    return digest.hexdigest()


def save_state(con: duckdb.DuckDBPyConnection, cp: Checkpoint, data_dir: Path) -> None:
    tables = schema.BATCH_TABLES
    columns = [f"{t}_offset" for t in tables] + [f"{t}_rows" for t in tables]
    values = [cp.ends[t] for t in tables] + [cp.rows[t] for t in tables]
    placeholders = ", ".join("?" for _ in columns)
    con.execute(
        f"INSERT OR REPLACE INTO mart_state (id, seed, batch_number, previous_date, tail_digest,"
        f" {', '.join(columns)}, applied_at) VALUES (1, ?, ?, ?, ?, {placeholders}, now())",
        [cp.seed, cp.batch_number, cp.previous, tail_digest(data_dir, cp.ends), *values],
    )


def check_in_sync(state: MartState, cp: Checkpoint, data_dir: Path) -> None:
    """Refuse to apply on top of tables that are not the ones the mart was built from."""
    hint = REBUILD_HINT.format(dir=data_dir)
    mart = data_dir / MART_FILE
    if state.seed is not None and state.seed != cp.seed:
        raise MartOutOfSync(
            f"{mart}: built from tables with seed {state.seed}, but {schema.CHECKPOINT_FILE}"
            f" has seed {cp.seed} — the tables were replaced; {hint}"
        )
    if state.batch_number > cp.batch_number:
        raise MartOutOfSync(
            f"{mart}: has applied batch {state.batch_number}, but the tables are committed only"
            f" up to batch {cp.batch_number} — the tables were reset or restored; {hint}"
        )
    for table in schema.BATCH_TABLES:
        offset, end = state.offsets[table], cp.ends[table]
        same_batch = state.batch_number == cp.batch_number
        if offset > end or (same_batch and offset != end):
            raise MartOutOfSync(
                f"{mart}: has applied {table}.csv up to byte {offset}, but batch"
                f" {cp.batch_number} commits {end} bytes — the tables changed under the mart;"
                f" {hint}"
            )
    if state.tail_digest is not None and tail_digest(data_dir, state.offsets) != state.tail_digest:
        raise MartOutOfSync(
            f"{mart}: the rows it applied last are no longer where it left off in the tables"
            f" — the tables were rewritten since batch {state.batch_number}; {hint}"
        )

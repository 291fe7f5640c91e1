"""DuckDB access the mart modules share."""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path
from typing import Any

import duckdb

from first_temporal.domain.errors import OPERATOR_FIXES

# A writer (apply, rebuild) runs inside the worker after each batch, so its memory must not
# follow the size of the day it applies. Past its limit DuckDB spills what it can (the
# transaction's new rows, join tables) to the temp directory. The process's peak sits
# above the limit: DuckDB's allocations outside its buffer pool, polars and Python are not
# counted. Readers (reports, exports) keep DuckDB's defaults: a partitioned export needs
# more than this, and nothing of theirs grows with a day.
WRITER_MEMORY_MIB = 32
# What DuckDB cannot spill: the primary-key index entries of every row a transaction
# inserts, held until it commits, a fifth to a quarter of the CSV bytes applied. The
# facts have no key any more (ddl.py); a mart created while they had one keeps it until
# `mart rebuild`, and its applies raise their limit by a quarter of those bytes (the
# commit of a 2,500,000-purchase day, 405 MB of CSV, failed at a limit of 80 MiB).
UNSPILLABLE_SHARE = 4
MIB = 1 << 20
# A bulk day's apply reads and inserts on two threads. A daily batch's few KB fill no
# second read buffer (stage.READ_BUFFER_BYTES): a thread more would only add its start-up.
WRITER_THREADS = 2
PARALLEL_BYTES = 8 * MIB
# The on-disk format the mart is written in: the one the DuckDB shell users install reads
# (`pip install duckdb-cli`, 1.5.x reads up to 1.5's format; 2.0's own is newer). Fixed when
# the file is created; `mart rebuild` rewrites an older mart in it.
STORAGE_VERSION = "v1.5.0"


def connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    # Spill files next to the mart, in the data dir, not in a shared /tmp.
    config: dict[str, str | bool | int | float | list[str]] = {"temp_directory": f"{path}.tmp"}
    if not read_only:
        config["storage_compatibility_version"] = STORAGE_VERSION
        config["memory_limit"] = f"{WRITER_MEMORY_MIB}MiB"
        config["threads"] = 1  # until fit_to_apply knows there is enough to share
        # The dynamic filter a hash join pushes into its probe-side scan is sized by the
        # build side's key range, not its rows: a bulk day's disputes span a million ids,
        # and that one statement took 45 MB more than the whole rest of the apply. The
        # static id range of each statement already prunes row groups.
        config["disabled_optimizers"] = "join_filter_pushdown"
        with suppress(FileNotFoundError):
            if path.stat().st_size == 0:  # a creation that a full disk stopped before its
                path.unlink()  # header: no data, and DuckDB would call it "not valid"
    try:
        return duckdb.connect(str(path), read_only=read_only, config=config)
    except duckdb.IOException as exc:
        if (refused := refused_write(exc, path)) is not None:
            raise refused from exc
        raise duckdb.IOException(
            f"{path}: cannot open the mart ({exc}) — is it open in another process"
            " (a DuckDB shell or notebook)? Close it and retry"
        ) from exc


def refused_write(exc: duckdb.Error, path: Path | str) -> OSError | None:
    """DuckDB's "Could not write file ...: No space left on device" as the OSError it
    was, so the mart's refusals read like the tables' (one line, the file, the fix)."""
    for code in OPERATOR_FIXES:  # DuckDB reports them in words only, without an errno
        if os.strerror(code) in str(exc):
            return OSError(code, os.strerror(code), str(path))
    return None


def fit_to_apply(con: duckdb.DuckDBPyConnection, pending_bytes: int) -> None:
    """Room for one apply of `pending_bytes` of CSV in one transaction (until close)."""
    limit = WRITER_MEMORY_MIB
    if keyed_facts(con):
        limit += pending_bytes // UNSPILLABLE_SHARE // MIB
    con.execute(f"SET memory_limit = '{limit}MiB'")
    if pending_bytes >= PARALLEL_BYTES:
        # Each thread appends the rows it read to row groups of its own: facts stay in id
        # order within a few row groups, all the zone maps of load.py need.
        con.execute(f"SET threads = {WRITER_THREADS}; SET preserve_insertion_order = false")


def keyed_facts(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the mart's facts still have the primary key that older marts were made with."""
    return bool(
        one(
            con,
            "SELECT count(*) FROM duckdb_constraints()"
            " WHERE table_name = 'fact_sales' AND constraint_type = 'PRIMARY KEY'",
        )[0]
    )


def one(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Any:
    """The first row of a query, with the result drained (DuckDB 2 refuses other work on a
    connection whose last result is unfinished)."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0] if rows else None

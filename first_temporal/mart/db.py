"""DuckDB access the mart modules share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb


def connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        raise duckdb.IOException(
            f"{path}: cannot open the mart ({exc}) — is it open in another process"
            " (a DuckDB shell or notebook)? Close it and retry"
        ) from exc


def one(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Any:
    """The first row of a query, with the result drained (DuckDB 2 refuses other work on a
    connection whose last result is unfinished)."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0] if rows else None

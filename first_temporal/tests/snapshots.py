"""Byte snapshots of a data dir, for "nothing changed" and "identical to a clean run" checks."""

from __future__ import annotations

import shutil
from pathlib import Path

# What a copy of a data dir leaves out: staged parts of uncommitted work, which a
# committing worker may be deleting while the copy runs (drop_staged).
UNCOMMITTED = shutil.ignore_patterns("_staging")

TABLE_FILES = (
    "placeholder.csv",
    "purchase.csv",
    "customer.csv",
    "dispute.csv",
    "delivery.csv",
    "product.csv",
    "ledger.csv",
)


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file's bytes (the lock file excepted: it is empty and carries no data)."""
    if not directory.is_dir():
        return {}
    return {
        p.name: p.read_bytes()
        for p in sorted(directory.iterdir())
        if p.is_file() and p.name != ".etl.lock"
    }


def tables(directory: Path) -> dict[str, bytes]:
    return {name: (directory / name).read_bytes() for name in TABLE_FILES}


def batch_number(directory: Path) -> int:
    """The committed batch number (0 before the first commit, or mid-way through it)."""
    path = directory / "placeholder.csv"
    try:
        return int(path.read_text().splitlines()[1].split(",")[3])
    except (FileNotFoundError, IndexError, ValueError):
        return 0

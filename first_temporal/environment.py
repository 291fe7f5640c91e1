"""Every ETL_* setting, parsed in one place.

Each entry point calls `check()` first, before it parses its flags or connects to
anything: a bad value is one line naming the variable and what it must be, exit 2
(`ETL_SEED='abc' must be an integer`), even for --help. The typed getters below are
what the rest of the code reads; the README's settings table lists the same names.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True)
class Setting:
    what: str  # what the value must be, for the one-line error
    parse: Callable[[str], object]
    default: str | None
    doc: str


def _integer(text: str) -> int:
    return int(text.strip())


def _port(text: str) -> int:
    port = int(text.strip())
    if not 1 <= port <= 65535:
        raise ValueError(text)
    return port


MIN_ACTIVITY_THREADS = 4  # a quarter for local activities, the rest for the task queue's


def _threads(text: str) -> int:
    threads = int(text.strip())
    if threads < MIN_ACTIVITY_THREADS:
        raise ValueError(text)
    return threads


def _level(text: str) -> str:
    if text.strip().upper() not in LOG_LEVELS:
        raise ValueError(text)
    return text.strip().upper()


def _size(text: str) -> str:
    if not re.fullmatch(r"\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*", text, re.I):
        raise ValueError(text)
    return text.strip()


def _name(text: str) -> str:
    if not text.strip():
        raise ValueError(text)
    return text.strip()


def split_roots(text: str) -> list[str]:
    """`:`-separated, keeping the `:` of s3:// inside an entry."""
    return [part for part in re.split(r":(?!//)", text) if part.strip()]


def _roots(text: str) -> list[str]:
    return [_location(part) for part in split_roots(text)]


def _location(text: str) -> str:
    if not text.strip() or (text.startswith("s3://") and not re.match(r"s3://[^/]+", text)):
        raise ValueError(text)
    return text.strip()


SETTINGS: dict[str, Setting] = {
    "ETL_DATA_DIR": Setting("a directory path", _location, "data", "where the tables live"),
    "ETL_STORAGE": Setting(
        "a directory path or s3://bucket/prefix", _location, None, "overrides ETL_DATA_DIR"
    ),
    "ETL_DATA_ROOTS": Setting(
        "`:`-separated directories or s3://bucket/prefix entries",
        _roots,
        None,
        "where a worker may read and write (besides its cwd and own data dir)",
    ),
    "ETL_SEED": Setting("an integer", _integer, "42", "the simulated source's seed"),
    "ETL_TASK_QUEUE": Setting("a non-empty name", _name, "first-temporal", "the task queue"),
    "ETL_METRICS_PORT": Setting(
        "a TCP port, 1-65535", _port, None, "the worker's Prometheus port (none: no metrics)"
    ),
    "ETL_ACTIVITY_THREADS": Setting(
        "an integer, 4 or more",
        _threads,
        "24",
        "the worker's activity threads: how many steps it runs at once (worker_main.py)",
    ),
    "ETL_LOG_LEVEL": Setting("one of " + ", ".join(LOG_LEVELS), _level, "INFO", "worker logs"),
    "ETL_VALIDATE_MEMORY": Setting(
        "a size such as 512MB or 2GB", _size, "1GB", "the validator's DuckDB memory limit"
    ),
}


class SettingError(ValueError):
    """A variable's value cannot be used: the message names it and what it must be."""


def value(name: str) -> object:
    """The parsed value of `name` (its default when unset); SettingError when invalid."""
    setting = SETTINGS[name]
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return setting.parse(setting.default) if setting.default is not None else None
    try:
        return setting.parse(raw)
    except ValueError:
        raise SettingError(f"{name}={raw!r} must be {setting.what}") from None


def check() -> None:
    """Every variable that is set, parsed; the first bad one ends the process (exit 2)."""
    for name in SETTINGS:
        try:
            value(name)
        except SettingError as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(2)


def text(name: str) -> str:
    found = value(name)
    return "" if found is None else str(found)


def roots(name: str) -> list[str]:
    found = value(name)
    return [str(r) for r in found] if isinstance(found, list) else []


def integer(name: str) -> int | None:
    found = value(name)
    return found if isinstance(found, int) else None

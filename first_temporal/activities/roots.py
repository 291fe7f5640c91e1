"""The locations a worker may touch: only under the roots it was started with.

The data location travels in the workflow input, so without this whoever can start a
workflow on the task queue chooses where the worker creates, appends to and cuts files.
A location is checked before any file or object is touched: resolved (symlinks and `..`
followed) and compared with each resolved root at a path boundary; S3 locations with
s3:// roots, by bucket and key prefix. A refusal is non-retryable and names the flag.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from temporalio.exceptions import ApplicationError

from first_temporal import environment
from first_temporal.activities.errors import BAD_INPUT
from first_temporal.activities.staging import OpenStorage
from first_temporal.storage.base import Storage


def default_roots() -> list[str]:
    """The worker's working directory, and its own ETL_DATA_DIR / ETL_STORAGE if set: the
    README's flows keep working without a flag."""
    roots = [os.getcwd()]
    roots += [text for name in ("ETL_DATA_DIR", "ETL_STORAGE") if (text := environment.text(name))]
    return roots + environment.roots("ETL_DATA_ROOTS")


class Roots:
    def __init__(self, roots: Iterable[str]) -> None:
        self.local = [Path(r).expanduser().resolve() for r in roots if not r.startswith("s3://")]
        self.s3 = [r.rstrip("/") + "/" for r in roots if r.startswith("s3://")]

    def allows(self, location: str) -> bool:
        if location.startswith("s3://"):
            return any((location.rstrip("/") + "/").startswith(root) for root in self.s3)
        resolved = Path(location).expanduser().resolve()
        return any(resolved == root or resolved.is_relative_to(root) for root in self.local)

    def check(self, location: str) -> None:
        if not self.allows(location):
            shown = ", ".join([*map(str, self.local), *self.s3]) or "none"
            raise ApplicationError(
                f"{location}: outside this worker's data roots ({shown}) — start the worker"
                f" with --data-root {location} (or ETL_DATA_ROOTS) to allow it",
                type=BAD_INPUT,
                non_retryable=True,
            )

    def guard(self, open_storage: OpenStorage) -> OpenStorage:
        """`open_storage` that refuses locations outside the roots before opening them."""

        def guarded(location: str) -> Storage:
            self.check(location)
            return open_storage(location)

        return guarded

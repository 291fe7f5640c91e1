"""Activities: thin adapters between Temporal and the domain, their storage handed in.

`all_activities` is what a worker registers: one object per stage, each given the
function that opens a pipeline's storage (the worker decides what it may open).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from first_temporal.activities.extractor import Extractor
from first_temporal.activities.loader import Loader
from first_temporal.activities.mart import MartActivities
from first_temporal.activities.roots import Roots
from first_temporal.activities.staging import OpenStorage
from first_temporal.activities.transformer import Transformer


def all_activities(
    open_storage: OpenStorage, roots: Roots, cleanup: Executor | None = None
) -> list[Callable[..., Any]]:
    """Every activity opens locations through `roots`: none outside the worker's roots.
    `cleanup` runs what may follow a step's completion (see Loader)."""
    guarded = roots.guard(open_storage)
    extractor, transformer = Extractor(guarded), Transformer(guarded)
    loader, mart = Loader(guarded, cleanup), MartActivities(roots.check)
    return [
        extractor.read_checkpoint,
        extractor.batches_until,
        extractor.extract_purchases,
        transformer.derive_lifecycle_events,
        loader.load_batch,
        loader.wait_for_batch,
        loader.rewind_tables,
        mart.follow_rewind,
        mart.update_mart,
        mart.refresh_mart,
    ]

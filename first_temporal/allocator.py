"""Polars' allocator (jemalloc, in its own namespace) for a worker process: one arena per
core instead of jemalloc's four. Imported before anything loads polars, which reads it once.

A worker runs its steps on many threads (ETL_ACTIVITY_THREADS). With four arenas per core
each step draws on an arena of its own whose freed pages the last step left in another:
every part of a bulk day faults in fresh pages, and every arena keeps its freed pages for
seconds, which the mart refresh after the day then adds to. A value the user set in
_RJEM_MALLOC_CONF wins.
"""

from __future__ import annotations

import os
import sys

CONF = "_RJEM_MALLOC_CONF"  # jemalloc's MALLOC_CONF under polars' symbol prefix


def one_arena_per_core() -> None:
    if "polars" in sys.modules:  # too late: its allocator has read its settings
        return
    os.environ.setdefault(CONF, f"narenas:{os.cpu_count() or 1}")


one_arena_per_core()

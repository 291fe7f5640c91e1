"""A worker process's allocators, so that what a bulk day frees is reused or given back.

Polars' allocator (jemalloc, in its own namespace): one arena per core instead of
jemalloc's four, set on import, before anything loads polars, which reads it once. A
worker runs its steps on many threads (ETL_ACTIVITY_THREADS). With four arenas per core
each step draws on an arena of its own whose freed pages the last step left in another:
every part of a bulk day faults in fresh pages, and every arena keeps its freed pages for
seconds, which the mart refresh after the day then adds to. A value the user set in
_RJEM_MALLOC_CONF wins.
"""

from __future__ import annotations

import ctypes
import os
import sys

CONF = "_RJEM_MALLOC_CONF"  # jemalloc's MALLOC_CONF under polars' symbol prefix
ARENAS = os.cpu_count() or 1  # for either allocator: one arena per core
# glibc serves a buffer above its mmap threshold with its own mapping, given back to the
# kernel when freed; but each such free raises the threshold (up to 32 MiB), after which a
# bulk day's numpy and hashing buffers come from the heap and stay resident. Held at 1 MiB.
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 1 << 20
# glibc gives threads up to eight arenas per core; a bulk day's parts run on whichever
# activity threads are free, and what one part freed in its arena the next part, on
# another arena, could not reuse. One per core, as for polars (MALLOC_ARENA_MAX wins).
M_ARENA_MAX = -8


def one_arena_per_core() -> None:
    if "polars" in sys.modules:  # too late: its allocator has read its settings
        return
    os.environ.setdefault(CONF, f"narenas:{ARENAS}")


def tune_glibc() -> None:
    """Big freed buffers go back to the kernel, and threads share one arena per core
    (glibc only; elsewhere a no-op). Before the threads that allocate start."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
        if "MALLOC_ARENA_MAX" not in os.environ:
            libc.mallopt(M_ARENA_MAX, ARENAS)
    except (OSError, AttributeError):  # not glibc (musl has no mallopt): keep its defaults
        return


one_arena_per_core()

"""Every tuning knob of a run in one place: how batches are shaped and timed.

It travels in the run's input (a few numbers), so every workflow and worker of a run
agrees on it; fields have defaults, so new knobs can be added compatibly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Tuning:
    bulk_threshold: int = 100_000
    """A day with more purchases than this is generated in parts, by any worker."""
    part_rows: int = 125_000
    """Purchases per part of a bulk day: bounds a worker's memory per part."""
    piece_rows: int = 62_500
    """Purchases a part generates and stages at a time: a part's memory is a piece's."""
    parts_in_flight: int = 3
    """Parts of one bulk day generated at once: one more than a 2-core worker's cores, so
    a core never waits out the round trip between two steps; raise it for more workers."""
    span_min: int = 25
    """Runs of at least this many days go through spans (many days, one commit)."""
    span_days: int = 1000
    """Days per span: fewer spans, less fixed cost; the progress bar moves per span."""
    batches_per_run: int = 500
    """Batches a run workflow starts before it continues as new (bounds its history)."""
    step_seconds: float = 600.0
    """start-to-close timeout of one activity."""
    heartbeat_seconds: float = 4.0
    """A killed worker's activity is retried after at most this long."""
    local_step_seconds: float = 30.0
    """start-to-close timeout of a local activity (checkpoint read, mart signal)."""
    restage_rounds: int = 2
    """Times a batch stages its parts again when one is gone before its load; then it fails."""
    restage_seconds: float = 10.0
    """Pause before staging again, times the round: a shared file system may list a file late."""

    @property
    def step_timeout(self) -> timedelta:
        return timedelta(seconds=self.step_seconds)

    @property
    def heartbeat_timeout(self) -> timedelta:
        return timedelta(seconds=self.heartbeat_seconds)

    @property
    def local_step_timeout(self) -> timedelta:
        return timedelta(seconds=self.local_step_seconds)

    @property
    def restage_pause(self) -> timedelta:
        return timedelta(seconds=self.restage_seconds)

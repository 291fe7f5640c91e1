"""The dataclasses that cross Temporal: one input per workflow and activity.

Only small values travel: the checkpoint, a day's rows, counts. Fields may be added
(with defaults) without breaking running workflows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from first_temporal.checkpoint import Checkpoint
from first_temporal.config import Pipeline
from first_temporal.rows import Customer, Delivery, Dispute, Purchase


@dataclass(frozen=True)
class PipelineRef:
    pipeline: Pipeline


@dataclass(frozen=True)
class ExtractJob:
    pipeline: Pipeline
    checkpoint: Checkpoint
    purchases: int | None = None  # override the day's volume


@dataclass(frozen=True)
class Extracted:
    batch_date: str
    purchases: list[Purchase]


@dataclass(frozen=True)
class CustomersJob:
    purchases: list[Purchase]


@dataclass(frozen=True)
class LifecycleJob:
    pipeline: Pipeline
    checkpoint: Checkpoint
    batch_date: str
    purchases: list[Purchase]


@dataclass(frozen=True)
class LifecycleEvents:
    deliveries: list[Delivery]
    disputes: list[Dispute]
    window_offset: int
    # A big window (the days after a bulk day) stages its events instead of returning them.
    staged: dict[str, list[str]] = field(default_factory=dict)
    staged_rows: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ChunkJob:
    pipeline: Pipeline
    checkpoint: Checkpoint
    batch_date: str
    chunk_index: int
    start: int
    end: int


@dataclass(frozen=True)
class ChunkProgress:
    """A chunk's heartbeat: the parts staged so far, so a retry resumes after them."""

    parts: int
    rows: dict[str, int]
    staged: dict[str, list[str]]
    new_before: int  # first-time buyers before the next part (its customer ids start there)


@dataclass(frozen=True)
class StagedChunk:
    chunk_index: int
    rows: dict[str, int]
    staged: dict[str, list[str]]


@dataclass(frozen=True)
class LoadJob:
    pipeline: Pipeline
    checkpoint: Checkpoint
    batch_date: str
    purchases: list[Purchase]
    customers: list[Customer]
    disputes: list[Dispute]
    deliveries: list[Delivery]
    window_offset: int
    events_staged: dict[str, list[str]] = field(default_factory=dict)
    events_staged_rows: dict[str, int] = field(default_factory=dict)
    chunks: list[StagedChunk] = field(default_factory=list)  # a bulk day's purchases
    preappended: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class AppendJob:
    """Append a bulk day's staged purchase and customer parts as they appear."""

    pipeline: Pipeline
    checkpoint: Checkpoint
    total: int  # the day's purchases
    chunk_rows: int


@dataclass(frozen=True)
class BatchSummary:
    batch_number: int
    batch_date: str
    purchases: int
    new_customers: int
    repeat_purchases: int
    disputes: int
    deliveries: int
    committed: bool  # False: an earlier attempt or another run had already committed it
    elapsed_seconds: float = 0.0


@dataclass(frozen=True)
class MartSummary:
    applied: bool
    to_batch: int
    new_rows: int


@dataclass(frozen=True)
class BatchJob:
    pipeline: Pipeline
    checkpoint: Checkpoint
    purchases: int | None = None
    days: int = 1  # more than one: a backfill span, committed together
    bulk_threshold: int = 100_000  # more purchases than this: generated in chunks
    chunk_rows: int = 250_000
    chunks_in_flight: int = 2


@dataclass(frozen=True)
class BatchOutcome:
    """What a batch workflow did. Not committed: its checkpoint had moved before it began."""

    committed: bool
    summaries: list[BatchSummary] = field(default_factory=list)


@dataclass(frozen=True)
class SpanJob:
    pipeline: Pipeline
    checkpoint: Checkpoint
    days: int
    purchases: int | None = None


@dataclass(frozen=True)
class SpanResult:
    summaries: list[BatchSummary]
    declined: bool = False  # the open window is too big for a span: run the day alone


@dataclass(frozen=True)
class RunJob:
    pipeline: Pipeline
    runs: int
    purchases: int | None = None
    done_before: int = 0  # batches finished by earlier runs of this chain (continue-as-new)
    bulk_threshold: int = 100_000
    chunk_rows: int = 250_000
    chunks_in_flight: int = 2  # per bulk day; raise it when more workers share the chunks
    span_min: int = 25  # runs of at least this many days go through backfill spans
    span_days: int = 500  # fewer spans, less fixed cost each; the bar moves per span


@dataclass(frozen=True)
class RunProgress:
    done: int
    total: int
    stage: str
    summaries: list[BatchSummary] = field(default_factory=list)
    first_index: int = 0  # index (0-based, in the whole run) of summaries[0]


@dataclass(frozen=True)
class RunResult:
    batches: int
    last: BatchSummary | None
    # The last batches' summaries (a bounded buffer), so a starter need not ask again.
    recent: list[BatchSummary] = field(default_factory=list)


@dataclass(frozen=True)
class WaitJob:
    workflow_id: str

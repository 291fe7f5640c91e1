"""The dataclasses that cross Temporal: one input per workflow and activity.

Only references, counts and checkpoints travel: never a table value (a name, an e-mail
address, a row), since histories are kept and shown in the Web UI. Fields may be added
(with defaults) without breaking running workflows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from first_temporal.config import Pipeline
from first_temporal.domain.checkpoint import Checkpoint
from first_temporal.settings import Tuning


@dataclass(frozen=True)
class PipelineRef:
    pipeline: Pipeline


@dataclass(frozen=True)
class BatchJob:
    """One batch: the next `days` business days after `checkpoint`, committed together."""

    pipeline: Pipeline
    checkpoint: Checkpoint
    days: int = 1
    purchases: int | None = None  # overrides each day's volume
    tuning: Tuning = field(default_factory=Tuning)


@dataclass(frozen=True)
class PartJob:
    """Purchases [start, end) of a batch (end None: to the batch's last), generated and
    staged `piece_rows` at a time."""

    pipeline: Pipeline
    checkpoint: Checkpoint
    days: int
    purchases: int | None
    start: int = 0
    end: int | None = None
    piece_rows: int = Tuning.piece_rows


@dataclass(frozen=True)
class Staged:
    """What one step staged: file references per table, and rows per day and table."""

    files: dict[str, list[str]]
    rows: dict[str, list[int]]
    dates: list[str] = field(default_factory=list)  # the batch's dates (from extract)
    open_purchases: list[str] = field(default_factory=list)  # for transform (hand_over)


def joined(staged: Sequence[Staged], days: int) -> Staged:
    """Several steps' output as one (a part's pieces, a batch's parts): each table's files
    in order, its rows per day summed; tables none of them has stay out."""
    with_files = dict.fromkeys(t for s in staged for t in s.files)
    with_rows = dict.fromkeys(t for s in staged for t in s.rows)
    return Staged(
        files={t: [n for s in staged for n in s.files.get(t, [])] for t in with_files},
        rows={
            t: [sum(s.rows[t][d] for s in staged if t in s.rows) for d in range(days)]
            for t in with_rows
        },
        open_purchases=[n for s in staged for n in s.open_purchases],
    )


@dataclass(frozen=True)
class TransformJob:
    part: PartJob
    purchases: list[str]  # the part's open purchases, as extract handed them over
    with_window: bool  # the committed window's events go with the batch's first part


@dataclass(frozen=True)
class LoadJob:
    pipeline: Pipeline
    checkpoint: Checkpoint
    dates: list[str]
    parts: list[Staged]  # in table order


@dataclass(frozen=True)
class BatchSummary:
    batch_number: int
    batch_date: str
    purchases: int
    new_customers: int
    repeat_purchases: int
    disputes: int
    deliveries: int
    committed: bool  # the batch is committed (by this attempt or an earlier one)
    elapsed_seconds: float = 0.0


@dataclass(frozen=True)
class MartSummary:
    applied: bool
    to_batch: int
    new_rows: int


@dataclass(frozen=True)
class BatchOutcome:
    """What a batch workflow did. Not committed: its checkpoint had moved before it began."""

    committed: bool
    summaries: list[BatchSummary] = field(default_factory=list)


@dataclass(frozen=True)
class RunJob:
    pipeline: Pipeline
    runs: int
    purchases: int | None = None
    done_before: int = 0  # batches finished by earlier runs of this chain (continue-as-new)
    tuning: Tuning = field(default_factory=Tuning)
    until: str | None = None  # instead of `runs`: every batch dated up to this day


@dataclass(frozen=True)
class RewindJob:
    pipeline: Pipeline
    batch: int  # back to right after this committed batch (0: before the first)


@dataclass(frozen=True)
class Rewound:
    batch: int
    batch_date: str  # "" for 0
    removed: int  # batches undone


@dataclass(frozen=True)
class UntilJob:
    seed: int
    previous_date: str  # the checkpoint's ("" before the first batch)
    until: str


@dataclass(frozen=True)
class Until:
    batches: int
    next_date: str  # the first batch date past `until`


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
    next_date: str = ""  # with --until: the first batch date past it


@dataclass(frozen=True)
class WaitJob:
    workflow_id: str

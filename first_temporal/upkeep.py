"""The workflows beside the pipeline's story (workflow.py): the mart that follows the
batches, and a rewind. Deterministic, no I/O: every read and write is an activity."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from first_temporal.activities.loader import Loader
    from first_temporal.activities.mart import MartActivities
    from first_temporal.jobs import MartSummary, PipelineRef, RewindJob, Rewound
    from first_temporal.settings import Tuning
    from first_temporal.workflow import step


@workflow.defn
class EtlMartWorkflow:
    """Keeps a pipeline's DuckDB mart in step with its tables, one refresh at a time.

    Every committed batch signals it (signal-with-start on a per-pipeline id); refreshes
    requested while one runs are coalesced into the next, which applies everything
    committed so far. Signals are handled before the loop re-checks, so none is lost.
    """

    def __init__(self) -> None:
        self._pending = True  # a start is a request too

    @workflow.signal
    def refresh(self) -> None:
        self._pending = True

    @workflow.run
    async def run(self, job: PipelineRef) -> MartSummary:
        summary = MartSummary(applied=False, to_batch=0, new_rows=0)
        rounds = 0
        while self._pending:
            self._pending = False
            summary = await step(MartActivities.update_mart, job, Tuning())
            rounds += 1
            if rounds >= 200 and self._pending:
                workflow.continue_as_new(job)
        return summary


@workflow.defn
class EtlRewindWorkflow:
    """Puts a pipeline back to right after a committed batch, then its mart.

    One per pipeline at a time (workflow id <pipeline>-rewind). The rewind holds the data
    dir's lock, like a commit: a batch commits wholly before it or after it, and a batch
    computed before it is refused at its commit (its checkpoint is gone) and recomputed.
    """

    @workflow.run
    async def run(self, job: RewindJob) -> Rewound:
        tuning = Tuning()
        rewound = await step(Loader.rewind_tables, job, tuning)
        await step(MartActivities.follow_rewind, job, tuning)
        return rewound

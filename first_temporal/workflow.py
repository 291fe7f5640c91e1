"""The ETL as Temporal workflows. Deterministic, no I/O: every read and write is an activity.

EtlBatchWorkflow is one business day: extract -> transform -> load -> mart.
EtlRunWorkflow runs N days in order, one batch workflow each, and survives any number
of days by continuing as new.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    ChildWorkflowError,
    WorkflowAlreadyStartedError,
)

with workflow.unsafe.imports_passed_through():
    from first_temporal.activities.extractor import pull_recent_purchases, read_checkpoint
    from first_temporal.activities.loader import load_batch, wait_for_batch
    from first_temporal.activities.mart import update_mart
    from first_temporal.activities.source import Customer
    from first_temporal.activities.transformer import (
        define_customers_from_purchases,
        derive_lifecycle_events,
    )
    from first_temporal.checkpoint import Checkpoint
    from first_temporal.errors import BAD_INPUT, STALE_BATCH
    from first_temporal.jobs import (
        BatchJob,
        BatchSummary,
        CustomersJob,
        ExtractJob,
        LifecycleJob,
        LoadJob,
        PipelineRef,
        RunJob,
        RunProgress,
        RunResult,
        WaitJob,
    )

# Retries: quick first retry, capped backoff; bad input is non-retryable by type.
RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=10),
    non_retryable_error_types=[BAD_INPUT, STALE_BATCH],
)
STEP_TIMEOUT = timedelta(seconds=60)
# A killed worker's activity is retried after at most this long, not the default minutes.
HEARTBEAT_TIMEOUT = timedelta(seconds=4)
# A workflow task held by a killed worker is handed to another after this long.
WORKFLOW_TASK_TIMEOUT = timedelta(seconds=4)
SUMMARY_BUFFER = 100
MART_STEP = "mart-step"  # patch id: histories recorded before the mart step still replay

In = TypeVar("In")
Out = TypeVar("Out")


def step(activity: Callable[[In], Out], arg: In) -> Awaitable[Out]:
    """Run one pipeline step with the pipeline's timeouts and retry policy."""
    return workflow.execute_activity(
        activity,
        arg,
        start_to_close_timeout=STEP_TIMEOUT,
        heartbeat_timeout=HEARTBEAT_TIMEOUT,
        retry_policy=RETRY,
    )


BATCHES_PER_RUN = 500  # bound on a run's history before it continues as new


@workflow.defn
class EtlBatchWorkflow:
    """One business day, from the checkpoint it was given to the next."""

    def __init__(self) -> None:
        self._stage = "starting"

    @workflow.query
    def stage(self) -> str:
        return self._stage

    @workflow.run
    async def run(self, job: BatchJob) -> BatchSummary:
        started = workflow.now()
        pipeline, checkpoint = job.pipeline, job.checkpoint

        self._stage = "extract"
        extracted = await step(
            pull_recent_purchases, ExtractJob(pipeline, checkpoint, job.purchases)
        )

        self._stage = "transform"
        customers: list[Customer] = await step(
            define_customers_from_purchases, CustomersJob(extracted.purchases)
        )
        events = await step(
            derive_lifecycle_events,
            LifecycleJob(pipeline, checkpoint, extracted.batch_date, extracted.purchases),
        )

        self._stage = "load"
        summary = await step(
            load_batch,
            LoadJob(
                pipeline=pipeline,
                checkpoint=checkpoint,
                batch_date=extracted.batch_date,
                purchases=extracted.purchases,
                customers=customers,
                disputes=events.disputes,
                deliveries=events.deliveries,
                window_offset=events.window_offset,
            ),
        )
        if workflow.patched(MART_STEP):
            self._stage = "mart"
            await step(update_mart, PipelineRef(pipeline))
        self._stage = "done"
        elapsed = (workflow.now() - started).total_seconds()
        return BatchSummary(**{**vars(summary), "elapsed_seconds": round(elapsed, 3)})


@workflow.defn
class EtlRunWorkflow:
    """Runs `runs` batches of one pipeline in order; concurrent runs share the work safely.

    Each batch gets the workflow id <pipeline>-batch-<number>. Two runs racing for the
    same batch are serialised by that id (the loser waits for it) and by the load's
    compare-and-swap on the checkpoint (a batch computed from a stale checkpoint is
    refused), so N concurrent runs equal one sequential run of the same total.
    """

    def __init__(self) -> None:
        self._done = 0
        self._total = 0
        self._stage = "starting"
        self._summaries: list[BatchSummary] = []

    @workflow.query
    def progress(self, since: int) -> RunProgress:
        first = self._done - len(self._summaries)
        start = max(since - first, 0)
        return RunProgress(
            done=self._done,
            total=self._total,
            stage=self._stage,
            summaries=self._summaries[start:],
            first_index=first + start,
        )

    @workflow.run
    async def run(self, job: RunJob) -> RunResult:
        self._done, self._total = job.done_before, job.runs
        pipeline = job.pipeline
        last: BatchSummary | None = None
        started_here = 0
        while self._done < job.runs:
            if started_here >= BATCHES_PER_RUN or workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(
                    RunJob(pipeline, job.runs, job.purchases, done_before=self._done)
                )
            started_here += 1
            self._stage = "reading checkpoint"
            checkpoint: Checkpoint = await step(read_checkpoint, PipelineRef(pipeline))
            number = checkpoint.batch_number + 1
            self._stage = f"batch {number}"
            batch_id = pipeline.batch_workflow_id(number)
            try:
                summary = await workflow.execute_child_workflow(
                    EtlBatchWorkflow.run,
                    BatchJob(pipeline, checkpoint, job.purchases),
                    id=batch_id,
                    task_timeout=WORKFLOW_TASK_TIMEOUT,
                )
            except (WorkflowAlreadyStartedError, ChildWorkflowError) as exc:
                if await self._lost_race(exc, batch_id):
                    continue
                raise
            if not summary.committed:
                continue  # another run committed this batch first; ours was a no-op
            self._done += 1
            last = summary
            self._summaries = [*self._summaries, summary][-SUMMARY_BUFFER:]
        self._stage = "done"
        return RunResult(batches=self._done, last=last)

    async def _lost_race(self, exc: BaseException, batch_id: str) -> bool:
        """True when another run owns this batch (now finished): re-read and go on."""
        if isinstance(exc, WorkflowAlreadyStartedError):
            self._stage = f"waiting for {batch_id} (another run)"
            await workflow.execute_activity(
                wait_for_batch,
                WaitJob(batch_id),
                start_to_close_timeout=timedelta(minutes=30),
                retry_policy=RETRY,
            )
            return True
        if isinstance(exc, ChildWorkflowError) and isinstance(exc.cause, ActivityError):
            cause = exc.cause.cause
            return isinstance(cause, ApplicationError) and cause.type == STALE_BATCH
        return False

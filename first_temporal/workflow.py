"""The ETL as Temporal workflows. Deterministic, no I/O: every read and write is an activity.

EtlBatchWorkflow is one business day: extract -> transform -> load -> mart. A bulk day
(--purchases over BULK_THRESHOLD) extracts in chunks that any worker may take; a
backfill span runs many days in one activity and commits them together.
EtlMartWorkflow keeps the DuckDB mart in step, off the batches' critical path.
EtlRunWorkflow runs N days in order, one batch workflow each (or one per span), and
survives any number of days by continuing as new.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    ChildWorkflowError,
    WorkflowAlreadyStartedError,
)

with workflow.unsafe.imports_passed_through():
    from first_temporal.activities.backfill import backfill_days
    from first_temporal.activities.bulk import chunk_bounds, generate_chunk
    from first_temporal.activities.extractor import pull_recent_purchases, read_checkpoint
    from first_temporal.activities.loader import append_staged_parts, load_batch, wait_for_batch
    from first_temporal.activities.mart import refresh_mart, update_mart
    from first_temporal.activities.source import Customer, Purchase, next_batch_date
    from first_temporal.activities.transformer import (
        define_customers_from_purchases,
        derive_lifecycle_events,
    )
    from first_temporal.checkpoint import Checkpoint
    from first_temporal.config import WORKFLOW_TASK_TIMEOUT
    from first_temporal.errors import BAD_INPUT, STALE_BATCH
    from first_temporal.jobs import (
        AppendJob,
        BatchJob,
        BatchOutcome,
        BatchSummary,
        ChunkJob,
        CustomersJob,
        ExtractJob,
        LifecycleEvents,
        LifecycleJob,
        LoadJob,
        MartSummary,
        PipelineRef,
        RunJob,
        RunProgress,
        RunResult,
        SpanJob,
        StagedChunk,
        WaitJob,
    )
    from first_temporal.search_attributes import BATCH_DATE, PIPELINE, batch_datetime

# Retries: quick first retry, capped backoff; bad input is non-retryable by type.
RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=10),
    non_retryable_error_types=[BAD_INPUT, STALE_BATCH],
)
STEP_TIMEOUT = timedelta(minutes=10)
LOCAL_STEP_TIMEOUT = timedelta(seconds=30)
# A killed worker's activity is retried after at most this long, not the default minutes.
HEARTBEAT_TIMEOUT = timedelta(seconds=4)
SUMMARY_BUFFER = 100
APPEND_GRACE = timedelta(seconds=60)  # for the appender, after the last chunk is staged
BATCHES_PER_RUN = 500  # bound on a run's history before it continues as new

In = TypeVar("In")
Out = TypeVar("Out")


def step(activity: Callable[[In], Out], arg: In) -> workflow.ActivityHandle[Out]:
    """Start one pipeline step with the pipeline's timeouts and retry policy (await it for
    its result; it is a task, so it can run alongside others and be cancelled)."""
    return workflow.start_activity(
        activity,
        arg,
        start_to_close_timeout=STEP_TIMEOUT,
        heartbeat_timeout=HEARTBEAT_TIMEOUT,
        retry_policy=RETRY,
    )


def local_step(activity: Callable[[In], Out], arg: In) -> Awaitable[Out]:
    """A few hundred bytes read, or one signal: run by this workflow's worker and recorded
    as a marker, without a round trip through the task queue (a fifth of a short batch)."""
    return workflow.execute_local_activity(
        activity, arg, start_to_close_timeout=LOCAL_STEP_TIMEOUT, retry_policy=RETRY
    )


def _pipeline_attribute() -> TypedSearchAttributes | None:
    """The run's Pipeline attribute, for its batches (None when the server lacks it)."""
    value = workflow.info().typed_search_attributes.get(PIPELINE)
    return TypedSearchAttributes([SearchAttributePair(PIPELINE, value)]) if value else None


def _tag_batch_date(day: str) -> None:
    """BatchDate, only when started with Pipeline (a server that registered both)."""
    if workflow.info().typed_search_attributes.get(PIPELINE) is not None:
        workflow.upsert_search_attributes([BATCH_DATE.value_set(batch_datetime(day))])


@workflow.defn
class EtlBatchWorkflow:
    """One business day (or a backfill span), from the checkpoint it was given to the next."""

    def __init__(self) -> None:
        self._stage = "starting"

    @workflow.query
    def stage(self) -> str:
        return self._stage

    @workflow.run
    async def run(self, job: BatchJob) -> BatchOutcome:
        pipeline, checkpoint = job.pipeline, job.checkpoint
        self._stage = "checkpoint"
        current = await local_step(read_checkpoint, PipelineRef(pipeline))
        if current != checkpoint:  # another run got here first: not ours to load
            return BatchOutcome(committed=False)
        if job.days > 1:
            self._stage = f"backfill of {job.days} days"
            span = await step(backfill_days, SpanJob(pipeline, checkpoint, job.days, job.purchases))
            summaries = span.summaries if not span.declined else [await self._day(job)]
            _tag_batch_date(summaries[0].batch_date)
        elif job.purchases is not None and job.purchases > job.bulk_threshold:
            summaries = [await self._bulk_day(job)]
        else:
            summaries = [await self._day(job)]
        self._stage = "mart"
        await workflow.execute_local_activity(  # one signal: local, like local_step
            refresh_mart,
            PipelineRef(pipeline),
            start_to_close_timeout=LOCAL_STEP_TIMEOUT,
            retry_policy=RETRY,
        )
        self._stage = "done"
        return BatchOutcome(committed=True, summaries=summaries)

    async def _day(self, job: BatchJob) -> BatchSummary:
        pipeline, checkpoint = job.pipeline, job.checkpoint
        started = workflow.now()

        self._stage = "extract"
        extracted = await step(
            pull_recent_purchases, ExtractJob(pipeline, checkpoint, job.purchases)
        )
        _tag_batch_date(extracted.batch_date)

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
            _load_job(job, extracted.batch_date, events, extracted.purchases, customers),
        )
        return _timed(summary, started)

    async def _bulk_day(self, job: BatchJob) -> BatchSummary:
        """Chunks are staged in parallel by any worker and appended as they land; only
        references cross Temporal."""
        pipeline, checkpoint = job.pipeline, job.checkpoint
        total = job.purchases or 0
        started = workflow.now()
        day = next_batch_date(pipeline.seed, checkpoint.previous).isoformat()  # pure: no I/O
        _tag_batch_date(day)
        bounds = chunk_bounds(total, job.chunk_rows)
        self._stage = f"extract: {len(bounds)} chunks"
        # Bounded fan-out: enough chunks in flight for every worker, not so many that one
        # worker holds them all in memory at once.
        slots = asyncio.Semaphore(job.chunks_in_flight)

        async def chunk(index: int, low: int, high: int) -> StagedChunk:
            async with slots:
                return await step(
                    generate_chunk, ChunkJob(pipeline, checkpoint, day, index, low, high)
                )

        chunks = [asyncio.create_task(chunk(i, low, high)) for i, (low, high) in enumerate(bounds)]
        # Alongside: append the parts in order as they land, and derive the earlier days'
        # events (the chunks file today's own cancellations), so the load only commits.
        appender = step(append_staged_parts, AppendJob(pipeline, checkpoint, total, job.chunk_rows))
        events = step(derive_lifecycle_events, LifecycleJob(pipeline, checkpoint, day, []))
        try:
            staged = list(await asyncio.gather(*chunks))
        except BaseException:
            for task in (*chunks, appender, events):  # the batch is given up
                task.cancel()
            raise
        heads = await _appended(appender)
        self._stage = "load"
        summary = await step(
            load_batch, _load_job(job, day, await events, chunks=staged, preappended=heads)
        )
        return _timed(summary, started)


async def _appended(appender: workflow.ActivityHandle[dict[str, int]]) -> dict[str, int]:
    """The appender's table ends once it caught up with the last chunk; {} (the load then
    copies the staged parts itself) when it failed or is not done within APPEND_GRACE,
    e.g. a worker of another version names parts differently."""
    try:
        await workflow.wait_condition(appender.done, timeout=APPEND_GRACE)
    except TimeoutError:
        appender.cancel()
        return {}
    try:
        return appender.result()
    except ActivityError:
        return {}


def _load_job(
    job: BatchJob,
    batch_date: str,
    events: LifecycleEvents,
    purchases: list[Purchase] | None = None,
    customers: list[Customer] | None = None,
    chunks: list[StagedChunk] | None = None,
    preappended: dict[str, int] | None = None,
) -> LoadJob:
    """The load step's input: the day's rows inline, or a bulk day's staged chunks."""
    return LoadJob(
        pipeline=job.pipeline,
        checkpoint=job.checkpoint,
        batch_date=batch_date,
        purchases=purchases or [],
        customers=customers or [],
        disputes=events.disputes,
        deliveries=events.deliveries,
        window_offset=events.window_offset,
        events_staged=events.staged,
        events_staged_rows=events.staged_rows,
        chunks=chunks or [],
        preappended=preappended or {},
    )


def _timed(summary: BatchSummary, started: object) -> BatchSummary:
    elapsed = (workflow.now() - started).total_seconds()  # type: ignore[operator]
    return BatchSummary(**{**vars(summary), "elapsed_seconds": round(elapsed, 3)})


@workflow.defn
class EtlRunWorkflow:
    """Runs `runs` batches of one pipeline in order; concurrent runs share the work safely.

    Each batch gets the workflow id <pipeline>-batch-<number> (a span:
    <pipeline>-batch-<first>-<last>). Two runs racing for the same batch are serialised by
    that id (the loser waits for it), by the batch's check that its checkpoint is still
    current, and by the load's compare-and-swap on the checkpoint, so N concurrent runs
    equal one sequential run of the same total.
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
                workflow.continue_as_new(replace(job, done_before=self._done))
            started_here += 1
            self._stage = "reading checkpoint"
            checkpoint: Checkpoint = await local_step(read_checkpoint, PipelineRef(pipeline))
            number = checkpoint.batch_number + 1
            remaining = job.runs - self._done
            bulk = job.purchases is not None and job.purchases > job.bulk_threshold
            days = min(remaining, job.span_days) if remaining >= job.span_min and not bulk else 1
            batch_id = pipeline.batch_workflow_id(number)
            if days > 1:
                batch_id += f"-{number + days - 1:06d}"
            self._stage = (
                f"batch {number}" if days == 1 else f"batches {number}-{number + days - 1}"
            )
            try:
                outcome = await workflow.execute_child_workflow(
                    EtlBatchWorkflow.run,
                    BatchJob(
                        pipeline,
                        checkpoint,
                        job.purchases,
                        days,
                        bulk_threshold=job.bulk_threshold,
                        chunk_rows=job.chunk_rows,
                        chunks_in_flight=job.chunks_in_flight,
                    ),
                    id=batch_id,
                    task_timeout=WORKFLOW_TASK_TIMEOUT,
                    search_attributes=_pipeline_attribute(),
                )
            except (WorkflowAlreadyStartedError, ChildWorkflowError) as exc:
                if await self._lost_race(exc, batch_id):
                    continue
                raise
            if not outcome.committed:
                continue  # another run committed this batch first
            self._done += len(outcome.summaries)
            last = outcome.summaries[-1]
            self._summaries = [*self._summaries, *outcome.summaries][-SUMMARY_BUFFER:]
        self._stage = "done"
        return RunResult(batches=self._done, last=last, recent=self._summaries)

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
            summary = await step(update_mart, job)
            rounds += 1
            if rounds >= 200 and self._pending:
                workflow.continue_as_new(job)
        return summary

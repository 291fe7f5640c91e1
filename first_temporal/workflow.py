"""The ETL as Temporal workflows. Deterministic, no I/O: every read and write is an activity.

EtlBatchWorkflow is one batch: extract -> transform -> load -> mart, for one day, a span
of many days, or a bulk day whose parts any worker may take; each step stages its rows
and hands the next only references and counts.
EtlRunWorkflow runs N days in order, one batch workflow per day or span, and survives
any number of days by continuing as new. The workflows beside the story (the mart, a
rewind) are in upkeep.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    ChildWorkflowError,
    WorkflowAlreadyStartedError,
)

with workflow.unsafe.imports_passed_through():
    from first_temporal.activities.errors import BAD_INPUT, STAGED_PART_LOST, STALE_BATCH
    from first_temporal.activities.extractor import Extractor
    from first_temporal.activities.loader import Loader
    from first_temporal.activities.mart import MartActivities
    from first_temporal.activities.transformer import Transformer
    from first_temporal.config import WORKFLOW_TASK_TIMEOUT
    from first_temporal.domain.checkpoint import Checkpoint
    from first_temporal.jobs import (
        BatchJob,
        BatchOutcome,
        BatchSummary,
        LoadJob,
        PartJob,
        PipelineRef,
        RunJob,
        RunProgress,
        RunResult,
        Staged,
        TransformJob,
        UntilJob,
        WaitJob,
    )
    from first_temporal.search_attributes import BATCH_DATE, PIPELINE, batch_datetime
    from first_temporal.settings import Tuning

# Retries: quick first retry, capped backoff; bad input is non-retryable by type.
RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=10),
    non_retryable_error_types=[BAD_INPUT, STALE_BATCH],
)
SUMMARY_BUFFER = 100

In = TypeVar("In")
Out = TypeVar("Out")


def _pipeline_attribute() -> TypedSearchAttributes | None:
    """The run's Pipeline attribute, for its batches (None when the server lacks it)."""
    value = workflow.info().typed_search_attributes.get(PIPELINE)
    return TypedSearchAttributes([SearchAttributePair(PIPELINE, value)]) if value else None


def _tag_batch_date(day: str) -> None:
    """BatchDate, only when started with Pipeline (a server that registered both)."""
    if workflow.info().typed_search_attributes.get(PIPELINE) is not None:
        workflow.upsert_search_attributes([BATCH_DATE.value_set(batch_datetime(day))])


async def step(
    activity: Callable[[Any, In], Out], arg: In, tuning: Tuning, summary: str | None = None
) -> Out:
    """One pipeline step with the pipeline's timeouts and retry policy; `summary` is what
    the Web UI shows for it (counts and ranges only, never a table value)."""
    return await workflow.execute_activity_method(
        activity,
        arg,
        start_to_close_timeout=tuning.step_timeout,
        heartbeat_timeout=tuning.heartbeat_timeout,
        retry_policy=RETRY,
        summary=summary,
    )


async def local_step(activity: Callable[[Any, In], Out], arg: In, tuning: Tuning) -> Out:
    """A few hundred bytes read, or one signal: run by this workflow's worker and recorded
    as a marker, without a round trip through the task queue (a fifth of a short batch)."""
    return await workflow.execute_local_activity_method(
        activity, arg, start_to_close_timeout=tuning.local_step_timeout, retry_policy=RETRY
    )


def refused_as(failure: ActivityError, kind: str) -> bool:
    """The activity failed with the refusal `kind` (a type of activities/errors.py)."""
    return isinstance(failure.cause, ApplicationError) and failure.cause.type == kind


def committed_details(summaries: list[BatchSummary]) -> str:
    """What the Web UI shows of a committed batch: dates and counts, no table value."""
    first, last = summaries[0], summaries[-1]
    days = first.batch_date if first is last else f"{first.batch_date} to {last.batch_date}"
    total = {
        "purchases": sum(s.purchases for s in summaries),
        "new customers": sum(s.new_customers for s in summaries),
        "disputes": sum(s.disputes for s in summaries),
        "deliveries": sum(s.deliveries for s in summaries),
    }
    counts = ", ".join(f"{n:,} {what}" for what, n in total.items())
    return f"committed {days}: {counts}"


def part_bounds(job: BatchJob) -> list[tuple[int, int | None]]:
    """A bulk day's parts (row ranges); any other batch is one part."""
    total, rows = job.purchases or 0, job.tuning.part_rows
    if job.days != 1 or total <= job.tuning.bulk_threshold:
        return [(0, None)]
    return [(low, min(low + rows, total)) for low in range(0, total, rows)]


def part_jobs(job: BatchJob) -> list[PartJob]:
    """The batch's parts as extract and transform take them."""
    cp, pieces = job.checkpoint, job.tuning.piece_rows
    return [
        PartJob(job.pipeline, cp, job.days, job.purchases, start, end, pieces)
        for start, end in part_bounds(job)
    ]


@workflow.defn
class EtlBatchWorkflow:
    """One batch: a business day, a span of days, or a bulk day in parts."""

    def __init__(self) -> None:
        self._stage = "starting"

    @workflow.query
    def stage(self) -> str:
        return self._stage

    @workflow.run
    async def run(self, job: BatchJob) -> BatchOutcome:
        pipeline, tuning = job.pipeline, job.tuning
        started = workflow.now()
        self._stage = "checkpoint"
        current = await local_step(Extractor.read_checkpoint, PipelineRef(pipeline), tuning)
        if current != job.checkpoint:  # another run got here first: not ours to load
            return BatchOutcome(committed=False)
        summaries = await self._stage_and_load(job)
        self._stage = "mart"
        await workflow.execute_local_activity_method(  # one signal: local, like local_step
            MartActivities.refresh_mart,
            PipelineRef(pipeline),
            start_to_close_timeout=tuning.local_step_timeout,
            retry_policy=RETRY,
        )
        self._stage = "done"
        workflow.set_current_details(committed_details(summaries))
        elapsed = round((workflow.now() - started).total_seconds(), 3)
        if len(summaries) == 1:
            summaries = [replace(summaries[0], elapsed_seconds=elapsed)]
        return BatchOutcome(committed=True, summaries=summaries)

    async def _stage_and_load(self, job: BatchJob) -> list[BatchSummary]:
        """Every part staged, then loaded. A part lost before the load has every part
        staged again (each is idempotent), a few times, then the batch fails."""
        rounds = 0
        while True:
            try:
                staged = await self._stage_parts(job)
                self._stage = "load"
                workflow.set_current_details(f"loading {len(staged) // 2} staged part(s)")
                load = LoadJob(job.pipeline, job.checkpoint, staged[0].dates, staged)
                return await step(Loader.load_batch, load, job.tuning)
            except ActivityError as exc:
                if not refused_as(exc, STAGED_PART_LOST) or rounds == job.tuning.restage_rounds:
                    raise
            rounds += 1
            workflow.logger.warning(
                "batch %d: a staged part is gone, staging the parts again (%d of %d)",
                job.checkpoint.batch_number + 1,
                rounds,
                job.tuning.restage_rounds,
            )
            await workflow.sleep(job.tuning.restage_pause * rounds)

    async def _stage_parts(self, job: BatchJob) -> list[Staged]:
        tuning, parts = job.tuning, part_jobs(job)
        self._stage = "extract" if len(parts) == 1 else f"extract: {len(parts)} parts"
        # Bounded fan-out: enough parts in flight for every worker, not so many that one
        # worker holds them all in memory at once.
        slots = asyncio.Semaphore(tuning.parts_in_flight)

        done = 0

        async def stage_part(index: int, part: PartJob) -> list[Staged]:
            nonlocal done
            start, end = part.start, part.end
            label = f"part {index + 1}/{len(parts)}: purchases {start:,}-{end:,}" if end else None
            async with slots:
                extracted = await step(Extractor.extract_purchases, part, tuning, label)
                if index == 0:
                    _tag_batch_date(extracted.dates[0])
                if len(parts) == 1:
                    self._stage = "transform"
                events = await step(
                    Transformer.derive_lifecycle_events,
                    TransformJob(part, extracted.open_purchases, with_window=index == 0),
                    tuning,
                    label,
                )
                done += 1
                if len(parts) > 1:
                    workflow.set_current_details(f"{done}/{len(parts)} parts staged; then load")
                return [extracted, events]

        tasks = [asyncio.create_task(stage_part(i, p)) for i, p in enumerate(parts)]
        try:
            return [s for pair in await asyncio.gather(*tasks) for s in pair]
        except BaseException:
            for task in tasks:  # the batch is given up
                task.cancel()
            raise


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
        pipeline, tuning = job.pipeline, job.tuning
        next_date = ""
        if job.until is not None:  # counted once, then a run of that many, like --runs
            self._stage = "counting the batches"
            current = await local_step(Extractor.read_checkpoint, PipelineRef(pipeline), tuning)
            until = UntilJob(pipeline.seed, current.previous_date, job.until)
            counted = await local_step(Extractor.batches_until, until, tuning)
            job = replace(job, runs=job.done_before + counted.batches, until=None)
            next_date = counted.next_date
        self._done, self._total = job.done_before, job.runs
        last: BatchSummary | None = None
        started_here = 0
        while self._done < job.runs:
            if (
                started_here >= tuning.batches_per_run
                or workflow.info().is_continue_as_new_suggested()
            ):
                workflow.continue_as_new(replace(job, done_before=self._done))
            started_here += 1
            self._stage = "reading checkpoint"
            checkpoint: Checkpoint = await local_step(
                Extractor.read_checkpoint, PipelineRef(pipeline), tuning
            )
            number = checkpoint.batch_number + 1
            remaining = job.runs - self._done
            bulk = job.purchases is not None and job.purchases > tuning.bulk_threshold
            spans = remaining >= tuning.span_min and not bulk
            days = min(remaining, tuning.span_days) if spans else 1
            batch_id = pipeline.batch_workflow_id(number)
            if days > 1:
                batch_id += f"-{number + days - 1:06d}"
            self._stage = (
                f"batch {number}" if days == 1 else f"batches {number}-{number + days - 1}"
            )
            workflow.set_current_details(f"{self._done}/{self._total} done; now {self._stage}")
            shape = f"span of {days} days" if days > 1 else "one day"
            if bulk:
                shape = f"bulk day of {job.purchases:,} purchases"
            try:
                outcome = await workflow.execute_child_workflow(
                    EtlBatchWorkflow.run,
                    BatchJob(pipeline, checkpoint, days, job.purchases, tuning),
                    id=batch_id,
                    task_timeout=WORKFLOW_TASK_TIMEOUT,
                    search_attributes=_pipeline_attribute(),
                    static_summary=f"{self._stage} of {pipeline.pipeline_id}: {shape}",
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
        workflow.set_current_details(f"done: {self._done}/{self._total} batches")
        return RunResult(batches=self._done, last=last, recent=self._summaries, next_date=next_date)

    async def _lost_race(self, exc: BaseException, batch_id: str) -> bool:
        """True when another run owns this batch (now finished): re-read and go on."""
        if isinstance(exc, WorkflowAlreadyStartedError):
            self._stage = f"waiting for {batch_id} (another run)"
            await workflow.execute_activity_method(
                Loader.wait_for_batch,
                WaitJob(batch_id),
                start_to_close_timeout=timedelta(minutes=30),
                retry_policy=RETRY,
            )
            return True
        if isinstance(exc, ChildWorkflowError) and isinstance(exc.cause, ActivityError):
            return refused_as(exc.cause, STALE_BATCH)
        return False

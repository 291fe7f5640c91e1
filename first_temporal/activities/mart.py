"""Mart: apply the committed batches to the DuckDB star schema (local tables only)."""

from __future__ import annotations

import threading

from temporalio import activity
from temporalio.common import WorkflowIDConflictPolicy

from first_temporal.errors import as_application_error
from first_temporal.jobs import MartSummary, PipelineRef
from first_temporal.mart import MartOutOfSync, apply_pending

# DuckDB raised sporadic std::bad_cast errors when two marts were applied at once in one
# process (seen under the benchmark); one apply at a time per worker process avoids it.
_ONE_MART_AT_A_TIME = threading.Lock()


@activity.defn
def update_mart(job: PipelineRef) -> MartSummary:
    """Exactly once: the mart records the byte offsets it applied, in the same transaction."""
    location = job.pipeline.location
    if location.startswith("s3://"):
        return MartSummary(applied=False, to_batch=0, new_rows=0)  # S3: Glue/Athena instead
    try:
        with _ONE_MART_AT_A_TIME:
            result = apply_pending(location, progress=activity.heartbeat)
    except MartOutOfSync as exc:
        raise as_application_error(exc) from None
    return MartSummary(
        applied=True, to_batch=result.to_batch, new_rows=sum(result.new_rows.values())
    )


@activity.defn
async def refresh_mart(job: PipelineRef) -> None:
    """Ask the pipeline's mart workflow to catch up (signal-with-start, coalescing).

    The mart trails the tables by one refresh: a batch is done when its tables and
    checkpoint are committed, and a slow mart never holds the next batch back.
    """
    from first_temporal.workflow import EtlMartWorkflow

    info = activity.info()
    await activity.client().start_workflow(
        EtlMartWorkflow.run,
        job,
        id=job.pipeline.mart_workflow_id,
        task_queue=info.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        start_signal="refresh",
    )

"""Mart: apply the committed batches to the DuckDB star schema (local tables only)."""

from __future__ import annotations

from temporalio import activity

from first_temporal.errors import as_application_error
from first_temporal.jobs import MartSummary, PipelineRef
from first_temporal.mart import MartOutOfSync, apply_pending


@activity.defn
def update_mart(job: PipelineRef) -> MartSummary:
    """Exactly once: the mart records the byte offsets it applied, in the same transaction."""
    location = job.pipeline.location
    if location.startswith("s3://"):
        return MartSummary(applied=False, to_batch=0, new_rows=0)  # S3: Glue/Athena instead
    try:
        result = apply_pending(location, progress=activity.heartbeat)
    except MartOutOfSync as exc:
        raise as_application_error(exc) from None
    return MartSummary(
        applied=True, to_batch=result.to_batch, new_rows=sum(result.new_rows.values())
    )

"""ETL metrics on the SDK's own meter, so one Prometheus endpoint serves everything.

The worker installs `EtlMetrics` as an interceptor: it counts the rows each committed load
wrote, bad-input rejections and each batch's duration, so activities and workflows stay
free of metrics code. The `record_*` helpers work from an activity or a workflow (where
the SDK drops metrics during replay) and do nothing elsewhere.
"""

from __future__ import annotations

import time
from typing import Any

from temporalio import activity, workflow
from temporalio.common import MetricMeter
from temporalio.exceptions import ApplicationError
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    ExecuteWorkflowInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from first_temporal import logging_setup
from first_temporal.activities.errors import BAD_INPUT
from first_temporal.domain import schema
from first_temporal.jobs import BatchOutcome, BatchSummary, LoadJob, RewindJob, Rewound

ROWS = "etl_rows_written"
BATCHES = "etl_batches_committed"
BAD_INPUTS = "etl_bad_input_rejections"
DURATION = "etl_batch_duration_seconds"
# Freshness, per pipeline: what an alert compares with time() (ops/prometheus/).
LAST_COMMIT = "etl_last_commit_timestamp_seconds"
LAST_BATCH = "etl_last_batch_number"
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)


def prometheus_runtime(port: int, host: str = "127.0.0.1") -> Runtime:
    """A runtime whose meter is scraped at http://host:port/metrics."""
    config = PrometheusConfig(
        bind_address=f"{host}:{port}",
        # Counters end in _total, as Prometheus' own linter (promtool check metrics) wants:
        # the SDK's and ours (etl_rows_written_total, etl_batches_committed_total, ...).
        counters_total_suffix=True,
        histogram_bucket_overrides={DURATION: DURATION_BUCKETS},
    )
    return Runtime(telemetry=TelemetryConfig(metrics=config))


def _meter() -> MetricMeter | None:
    if activity.in_activity():
        return activity.metric_meter()
    if workflow.in_workflow():
        return workflow.metric_meter()
    return None


def record_rows(table: str, rows: int) -> None:
    """Committed rows appended to `table`."""
    meter = _meter()
    if meter is not None and rows:
        meter.create_counter(ROWS, "rows appended to a table by committed batches", "rows").add(
            rows, {"table": table}
        )


def record_batch_committed(summary: BatchSummary) -> None:
    """Everything a committed load wrote (a retry that found it committed wrote nothing)."""
    meter = _meter()
    if meter is None or not summary.committed:
        return
    meter.create_counter(BATCHES, "batches committed", "batches").add(1)
    record_rows(schema.PURCHASE, summary.purchases)
    record_rows(schema.CUSTOMER, summary.new_customers)
    record_rows(schema.DISPUTE, summary.disputes)
    record_rows(schema.DELIVERY, summary.deliveries)


def record_position(pipeline: str, batch_number: int) -> None:
    """Where a pipeline stands after a commit or a rewind, and when it got there."""
    meter = _meter()
    if meter is None:
        return
    labels = {"pipeline": pipeline}
    meter.create_gauge(LAST_BATCH, "the last committed batch number", "batches").set(
        batch_number, labels
    )
    meter.create_gauge_float(
        LAST_COMMIT, "when this worker last committed a batch (Unix time)", "s"
    ).set(time.time(), labels)


def record_bad_input() -> None:
    """A table or checkpoint was refused as unreadable or inconsistent."""
    meter = _meter()
    if meter is not None:
        meter.create_counter(BAD_INPUTS, "activities that refused bad input", "errors").add(1)


def record_batch_duration(seconds: float) -> None:
    """Workflow time from a batch's start to its commit."""
    meter = _meter()
    if meter is not None:
        meter.create_histogram_float(DURATION, "batch duration, start to commit", "s").record(
            seconds
        )


class _Activities(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        job = input.args[0] if input.args else None
        token = logging_setup.set_batch_date(job.dates[-1] if isinstance(job, LoadJob) else None)
        try:
            result = await super().execute_activity(input)
        except ApplicationError as exc:
            if exc.type == BAD_INPUT:
                record_bad_input()
            raise
        finally:
            logging_setup.reset_batch_date(token)
        if isinstance(job, LoadJob):  # load_batch: a span commits many days at once
            for summary in result:
                record_batch_committed(summary)
            if result:
                record_position(job.pipeline.pipeline_id, result[-1].batch_number)
        elif isinstance(job, RewindJob) and isinstance(result, Rewound):
            record_position(job.pipeline.pipeline_id, result.batch)
        return result


class _Workflows(WorkflowInboundInterceptor):
    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        result = await super().execute_workflow(input)
        if isinstance(result, BatchOutcome) and result.committed:
            for summary in result.summaries:
                if summary.committed:
                    record_batch_duration(summary.elapsed_seconds)
        return result


class EtlMetrics(Interceptor):
    """Worker interceptor that records the ETL metrics (see module docstring)."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Activities(next)

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        return _Workflows

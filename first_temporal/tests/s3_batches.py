"""Batches through the real activities into S3 on a moto server (shared by the S3 tests)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import boto3
import pytest
from temporalio.testing import ActivityEnvironment

from first_temporal import schema
from first_temporal.activities.extractor import pull_recent_purchases, read_checkpoint
from first_temporal.activities.loader import load_batch
from first_temporal.activities.transformer import (
    define_customers_from_purchases,
    derive_lifecycle_events,
)
from first_temporal.config import Pipeline
from first_temporal.jobs import (
    BatchSummary,
    CustomersJob,
    ExtractJob,
    LifecycleJob,
    LoadJob,
    PipelineRef,
)
from first_temporal.storage.base import BatchPayload, encode_rows
from first_temporal.tests.moto_server import REGION, MotoServer, moto_server, use_moto

BUCKET = "ft-s3-storage-test"
LOCATION = f"s3://{BUCKET}/etl"
SEED = 7


def module_server() -> Iterator[MotoServer]:
    """Body of a module-scoped fixture: one server per test module."""
    with moto_server() as running:
        yield running


def fresh(running: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Empty the server, point the AWS environment at it, create the bucket."""
    running.reset()
    use_moto(monkeypatch, running)
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    return client


def next_job(pipeline: Pipeline, purchases: int | None = None) -> LoadJob:
    """The load step's input, built the way the batch workflow builds it."""
    act = ActivityEnvironment()
    cp = act.run(read_checkpoint, PipelineRef(pipeline))
    extracted = act.run(pull_recent_purchases, ExtractJob(pipeline, cp, purchases))
    customers = act.run(define_customers_from_purchases, CustomersJob(extracted.purchases))
    events = act.run(
        derive_lifecycle_events,
        LifecycleJob(pipeline, cp, extracted.batch_date, extracted.purchases),
    )
    return LoadJob(
        pipeline, cp, extracted.batch_date, extracted.purchases, customers,
        events.disputes, events.deliveries, events.window_offset,
    )  # fmt: skip


def run_batches(pipeline: Pipeline, count: int) -> list[BatchSummary]:
    act = ActivityEnvironment()
    return [
        replace(act.run(load_batch, next_job(pipeline)), elapsed_seconds=0) for _ in range(count)
    ]


def payload_of(job: LoadJob) -> BatchPayload:
    """What load_batch hands to Storage.commit."""
    tables: dict[str, list[Any]] = {
        schema.PURCHASE: job.purchases,
        schema.CUSTOMER: job.customers,
        schema.DISPUTE: job.disputes,
        schema.DELIVERY: job.deliveries,
    }
    cp = job.checkpoint
    return BatchPayload(
        batch_number=cp.batch_number + 1,
        batch_date=job.batch_date,
        last_customer_id=cp.last_customer_id + len(job.customers),
        last_transaction_id=cp.last_transaction_id + len(job.purchases),
        window_offset=job.window_offset,
        data={t: encode_rows(rows) for t, rows in tables.items()},
        rows={t: len(rows) for t, rows in tables.items()},
    )


def objects(s3: Any) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for obj in page.get("Contents", []):
            found[obj["Key"]] = s3.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read()
    return found

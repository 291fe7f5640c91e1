"""Batches through the real activities into S3 on a moto server (shared by the S3 tests).

`run_batches` and `stage_batch` are re-exported from tests.batches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from first_temporal.activities.loader import manifest_of
from first_temporal.config import Pipeline
from first_temporal.jobs import LoadJob
from first_temporal.storage.base import Manifest
from first_temporal.tests.batches import run_batches as run_batches
from first_temporal.tests.batches import stage_batch as stage_batch
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


def staged_manifest(pipeline: Pipeline, purchases: int | None = None) -> tuple[LoadJob, Manifest]:
    """The next batch extracted and transformed (its parts staged), and the Manifest the
    load step would commit: the S3 tests commit it themselves."""
    job = stage_batch(pipeline, purchases=purchases)
    return job, manifest_of(job)


def objects(s3: Any) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for obj in page.get("Contents", []):
            found[obj["Key"]] = s3.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read()
    return found

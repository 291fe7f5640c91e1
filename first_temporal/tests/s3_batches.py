"""Batches through the real activities into S3 on a moto server (shared by the S3 tests).

`run_batches` is re-exported from tests.batches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from first_temporal.activities.loader import batch_payload
from first_temporal.tests.batches import load_job
from first_temporal.tests.batches import run_batches as run_batches
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


# The S3 tests drive batches exactly like the local ones, and commit what load_batch would.
next_job = load_job
payload_of = batch_payload


def objects(s3: Any) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for obj in page.get("Contents", []):
            found[obj["Key"]] = s3.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read()
    return found

"""The cloud path end to end: real worker and starter processes, ETL_STORAGE=s3://...,
a moto S3 server on loopback standing in for AWS (no code change, only the environment)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from temporalio.testing import WorkflowEnvironment

from first_temporal.tests.moto_server import MotoServer, moto_server, use_moto
from first_temporal.tests.processes import WorkerProcess, starter, wait_for


@pytest.fixture
def moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoServer]:
    with moto_server() as server:
        use_moto(monkeypatch, server)  # the worker and starter processes inherit it
        yield server


def test_starter_with_s3_storage_leaves_hive_partitioned_objects(
    dev_env: WorkflowEnvironment, moto: MotoServer, task_queue: str, tmp_path: Path
):
    address = dev_env.client.service_client.config.target_host
    s3 = boto3.client("s3")
    s3.create_bucket(
        Bucket="dealer-lake", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
    )
    worker = WorkerProcess(address, task_queue, tmp_path / "worker.log")
    try:
        result = starter(
            address,
            "--task-queue",
            task_queue,
            "--runs",
            "3",
            "--seed",
            "5",
            ETL_STORAGE="s3://dealer-lake/lake",
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines()[-1].startswith("done: 3 batch(es)")

        def listed() -> set[str]:
            pages = s3.get_paginator("list_objects_v2").paginate(Bucket="dealer-lake")
            return {o["Key"] for page in pages for o in page.get("Contents", [])}

        # The staged parts go once the load has completed, on the worker's cleanup thread.
        wait_for(lambda: not any("_staging" in k for k in listed()), 30, "the staging to go")
        keys = listed()
        assert "lake/_checkpoint/placeholder.csv" in keys
        assert "lake/purchase/purchase_date=2020-07-03/batch-000001.csv" in keys
        assert "lake/customer/first_purchase_date=2020-07-03/batch-000001.csv" in keys
        assert any(k.startswith("lake/delivery/status_date=") for k in keys)
        checkpoint = s3.get_object(Bucket="dealer-lake", Key="lake/_checkpoint/placeholder.csv")
        row = checkpoint["Body"].read().decode().splitlines()[1].split(",")
        assert row[3] == "3"  # batch_number
        purchases = sum(
            s3.get_object(Bucket="dealer-lake", Key=k)["Body"].read().count(b"\n") - 1
            for k in keys
            if k.startswith("lake/purchase/")
        )
        assert purchases == int(row[2])  # last_transaction_id: contiguous from 1

        s3.put_object(Bucket="dealer-lake", Key="lake/_checkpoint/placeholder.csv", Body=b"junk")
        bad = starter(
            address, "--task-queue", task_queue, "--seed", "5", ETL_STORAGE="s3://dealer-lake/lake"
        )
        assert bad.returncode == 1 and "Traceback" not in bad.stderr
        assert "s3://dealer-lake/lake/_checkpoint/placeholder.csv" in bad.stderr
    finally:
        assert worker.stop() == 0
    log = (tmp_path / "worker.log").read_text()
    assert "batch 3 (" in log and "committed" in log  # the ETL's own lines are there
    assert "Found endpoint" not in log and " botocore" not in log  # boto3's INFO chatter


def test_the_days_after_a_bulk_day_run_on_s3(
    dev_env: WorkflowEnvironment, moto: MotoServer, task_queue: str, tmp_path: Path
):
    """The user's path that once retried forever: the day after a bulk day returned its
    3.4 MB of events through Temporal. Now every step hands on references only."""
    address = dev_env.client.service_client.config.target_host
    s3 = boto3.client("s3")
    s3.create_bucket(
        Bucket="bulk-lake", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
    )
    worker = WorkerProcess(address, task_queue, tmp_path / "worker.log")
    lake = {"ETL_STORAGE": "s3://bulk-lake/lake"}
    try:
        for args in (("--runs", "20"), ("--purchases", "200000"), ("--runs", "2")):
            result = starter(address, "--task-queue", task_queue, *args, timeout=180, **lake)
            assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines()[-1].startswith("done: 2 batch(es)")
        checkpoint = s3.get_object(Bucket="bulk-lake", Key="lake/_checkpoint/placeholder.csv")
        row = checkpoint["Body"].read().decode().splitlines()[1].split(",")
        assert row[3] == "23"  # batch_number
        delivered = sum(
            s3.get_object(Bucket="bulk-lake", Key=o["Key"])["Body"].read().count(b"\n") - 1
            for page in s3.get_paginator("list_objects_v2").paginate(
                Bucket="bulk-lake", Prefix="lake/delivery/"
            )
            for o in page.get("Contents", [])
        )
        assert delivered > 100_000  # the bulk day's purchases were delivered on the days after
    finally:
        assert worker.stop() == 0

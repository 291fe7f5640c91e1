"""Flaky S3 end to end: real worker and starter processes talk to moto through a proxy
that answers a share of requests with 500/503, resets connections and cuts bodies; the
tables must come out exactly as a clean run's, object for object and byte for byte.

Every test starts its own servers. What was injected, and what came of it, is written to
.run/test-artifacts/s3_faults.json (the README's reliability figures come from there).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from temporalio.testing import WorkflowEnvironment

from first_temporal.config import DEFAULT_SEED, Pipeline
from first_temporal.search_attributes import BATCH_DATE, PIPELINE
from first_temporal.tests.batches import run_batches
from first_temporal.tests.fault_proxy import FAULTS, FaultPlan, FaultProxy
from first_temporal.tests.moto_server import REGION, MotoServer, moto_server, use_moto
from first_temporal.tests.processes import ROOT, TEMPORAL_CLI, WorkerProcess, start_starter, starter

ARTIFACT = ROOT / ".run" / "test-artifacts" / "s3_faults.json"
FAILED_ATTEMPT = "Completing activity as failed"  # the SDK's line for a failed attempt
BULK = 150_000  # above Tuning.bulk_threshold: a bulk day in two parts, kept small for speed
# About one request in twelve faulted: each costs botocore a backoff of up to a second
# (standard mode), so a higher share mostly makes the tests slower, not harder.
RUN_PLAN = {
    "internal_error": 0.025,
    "slow_down": 0.025,
    "reset_before": 0.01,
    "reset_after": 0.01,
    "cut_body": 0.015,
}
# Few, large requests: twice the share, and cut bodies often enough to hit a large GET.
BULK_PLAN = {**{kind: share * 2 for kind, share in RUN_PLAN.items()}, "cut_body": 0.15}


@pytest.fixture(scope="module")
def clean() -> dict[str, dict[str, bytes]]:
    """What clean runs leave, computed once, in-process through the same activities,
    against moto directly (its own server, gone before any test starts one)."""
    with moto_server() as server, pytest.MonkeyPatch.context() as patch:
        use_moto(patch, server)
        s3 = direct(server, "clean-lake")
        run_batches(Pipeline("s3://clean-lake/days", seed=DEFAULT_SEED), 20)
        bulk = Pipeline("s3://clean-lake/bulk", seed=DEFAULT_SEED)
        run_batches(bulk, 1, purchases=BULK)
        run_batches(bulk, 1)
        return {"days": lake(s3, "clean-lake", "days"), "bulk": lake(s3, "clean-lake", "bulk")}


@pytest.fixture
def flaky(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[MotoServer, FaultProxy]]:
    """moto, and the fault proxy in front of it; the worker and starter processes inherit
    an AWS environment that reaches S3 only through the proxy (faults off until a test
    turns them on)."""
    with moto_server() as server:
        proxy = FaultProxy(server.endpoint, FaultPlan(seed=15, shares=dict(RUN_PLAN)))
        proxy.start()
        try:
            use_moto(monkeypatch, server)
            monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint)
            monkeypatch.delenv("AWS_MAX_ATTEMPTS")  # the default attempts, as in production
            yield server, proxy
        finally:
            proxy.stop()


def direct(server: MotoServer, bucket: str) -> Any:
    """A client that bypasses the proxy (the test's own reads must not be faulted)."""
    s3 = boto3.client("s3", endpoint_url=server.endpoint)
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    return s3


def lake(s3: Any, bucket: str, prefix: str) -> dict[str, bytes]:
    """Every object under s3://bucket/prefix/, keyed without the prefix."""
    found: dict[str, bytes] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/"):
        for obj in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            found[obj["Key"][len(prefix) + 1 :]] = body
    return found


def run(address: str, task_queue: str, location: str, *args: str) -> str:
    result = starter(address, "--task-queue", task_queue, *args, timeout=180, ETL_STORAGE=location)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()[-1]


def faulted_runs(
    address: str, queue: str, proxy: FaultProxy, log: Path, location: str, *runs: tuple[str, ...]
) -> tuple[str, float]:
    """Each of `runs` (starter flags) in turn on `location` with faults on, through one
    worker logging to `log`: the last run's last line, and the seconds they all took."""
    worker = WorkerProcess(address, queue, log)
    try:
        proxy.faults(on=True)
        started = time.monotonic()
        last = [run(address, queue, location, *args) for args in runs][-1]
        seconds = time.monotonic() - started
        proxy.faults(on=False)
    finally:
        assert worker.stop() == 0
    return last, seconds


def assert_same_lake(flaky_objects: dict[str, bytes], clean: dict[str, bytes]) -> None:
    assert sorted(flaky_objects) == sorted(clean)  # no extra, no missing, no staging left
    assert not any(key.startswith("_staging/") for key in clean)
    differ = [key for key in clean if flaky_objects[key] != clean[key]]
    assert not differ, f"objects whose bytes differ from the clean run's: {differ[:5]}"


def record(test: str, proxy: FaultProxy, batches: int, outcome: dict[str, Any]) -> dict[str, int]:
    """Keep what was injected and what came of it; every batch committed exactly once
    (written once, or written and then found done by its own retry)."""
    counts = proxy.report()
    assert sum(counts.get(kind, 0) for kind in FAULTS) > 0, counts
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    figures = json.loads(ARTIFACT.read_text()) if ARTIFACT.exists() else {}
    figures[test] = {
        "requests": counts.get("requests", 0),
        "faults": {kind: counts.get(kind, 0) for kind in FAULTS},
        "faults_by_operation": {k: n for k, n in sorted(counts.items()) if " " in k},
        "shares": proxy.plan.shares,
        **outcome,
    }
    ARTIFACT.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"{test}: {json.dumps(figures[test])}")
    assert outcome["commits"] + outcome["commits_found_done_by_their_retry"] == batches
    return counts


def outcomes(*logs: Path) -> dict[str, int]:
    """From the workers' logs: commits written; commits a retry found already done (its
    first compare-and-swap took effect, the answer was lost); bodies read again; activity
    attempts lost to a race (StaleBatch, final: the batch is the other pipeline's); and
    the other failed attempts, which Temporal retried."""
    text = "".join(log.read_text() for log in logs)
    lost = text.count("ApplicationError: StaleBatch")
    return {
        "commits": text.count(") committed\n"),
        "commits_found_done_by_their_retry": text.count("was already committed (a retry)"),
        "bodies_read_again": text.count("body cut off"),
        "lost_races": lost,
        "activity_attempts_retried": text.count(FAILED_ATTEMPT) - lost,
    }


def test_a_20_batch_run_on_flaky_s3_leaves_exactly_the_objects_of_a_clean_run(
    dev_env: WorkflowEnvironment,
    flaky: tuple[MotoServer, FaultProxy],
    clean: dict[str, dict[str, bytes]],
    task_queue: str,
    tmp_path: Path,
):
    server, proxy = flaky
    address = dev_env.client.service_client.config.target_host
    s3 = direct(server, "dealer-lake")
    log = tmp_path / "worker.log"
    last, seconds = faulted_runs(
        address, task_queue, proxy, log, "s3://dealer-lake/flaky", ("--runs", "20")
    )
    assert last.startswith("done: 20 batch(es)")
    assert_same_lake(lake(s3, "dealer-lake", "flaky"), clean["days"])
    counts = record(
        "twenty_batches",
        proxy,
        20,
        {
            "outcome": f"done: 20 batches; {len(clean['days'])} objects equal the clean run's",
            **outcomes(log),
            "seconds": round(seconds, 1),
        },
    )
    assert all(counts.get(kind, 0) > 0 for kind in FAULTS), counts  # ~1,000 requests


def test_a_bulk_day_and_the_next_on_flaky_s3_leave_exactly_the_objects_of_a_clean_run(
    dev_env: WorkflowEnvironment,
    flaky: tuple[MotoServer, FaultProxy],
    clean: dict[str, dict[str, bytes]],
    task_queue: str,
    tmp_path: Path,
):
    server, proxy = flaky
    proxy.plan.shares = dict(BULK_PLAN)
    address = dev_env.client.service_client.config.target_host
    s3 = direct(server, "bulk-lake")
    log = tmp_path / "worker.log"
    last, seconds = faulted_runs(
        address,
        task_queue,
        proxy,
        log,
        "s3://bulk-lake/flaky",
        ("--purchases", str(BULK)),
        ("--runs", "1"),
    )
    assert last.startswith("done: 1 batch(es)")
    assert_same_lake(lake(s3, "bulk-lake", "flaky"), clean["bulk"])
    record(
        "bulk_day",
        proxy,
        2,
        {
            "outcome": f"bulk day of {BULK:,} purchases, then a day;"
            f" {len(clean['bulk'])} objects equal the clean run's",
            **outcomes(log),
            "seconds": round(seconds, 1),
        },
    )


async def test_two_pipelines_racing_on_one_prefix_commit_each_batch_exactly_once(
    dev_env: WorkflowEnvironment,
    flaky: tuple[MotoServer, FaultProxy],
    clean: dict[str, dict[str, bytes]],
    task_queue: str,
    tmp_path: Path,
):
    """Two Temporal clusters (no shared workflow ids to serialise them), a worker and a
    starter each, 10 batches each on one prefix, through the faults: the S3 commit alone
    must give every batch to exactly one of them."""
    server, proxy = flaky
    s3 = direct(server, "dealer-lake")
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(TEMPORAL_CLI),
        ip="127.0.0.1",
        search_attributes=[BATCH_DATE, PIPELINE],
    ) as other:
        addresses = [
            dev_env.client.service_client.config.target_host,
            other.client.service_client.config.target_host,
        ]
        logs = [tmp_path / f"worker-{i}.log" for i in range(2)]
        workers = [
            WorkerProcess(a, task_queue, log) for a, log in zip(addresses, logs, strict=True)
        ]
        try:
            proxy.faults(on=True)
            started = time.monotonic()
            procs = [
                start_starter(
                    a,
                    "--task-queue",
                    task_queue,
                    "--runs",
                    "10",
                    ETL_STORAGE="s3://dealer-lake/race",
                )
                for a in addresses
            ]
            outputs = [p.communicate(timeout=240) for p in procs]
            seconds = time.monotonic() - started
            proxy.faults(on=False)
        finally:
            codes = [w.stop() for w in workers]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outputs]
    assert codes == [0, 0]
    claimed = [
        {int(line.split()[1]) for line in out.splitlines() if line.startswith("batch ")}
        for out, _ in outputs
    ]
    assert [len(c) for c in claimed] == [10, 10], claimed
    assert not claimed[0] & claimed[1], f"batches both pipelines claim: {claimed[0] & claimed[1]}"
    assert claimed[0] | claimed[1] == set(range(1, 21))
    assert_same_lake(lake(s3, "dealer-lake", "race"), clean["days"])
    record(
        "two_pipelines_racing",
        proxy,
        20,
        {
            "outcome": "each of batches 1-20 committed by exactly one pipeline"
            f" ({len(claimed[0])} and {len(claimed[1])}); objects equal a 20-batch clean run's",
            **outcomes(*logs),
            "seconds": round(seconds, 1),
        },
    )

"""No table value ever travels through Temporal: histories are kept and shown in the Web UI.

Runs daily batches, a span, a bulk day in parts and the days after it through a real
worker process on the dev server, on local storage and on S3 (moto), then reads every
workflow history of the task queue and fails if any payload (inputs, results, markers,
heartbeats, signals, search attributes, failures) carries an e-mail address, a customer's
first and last name, a whole table row or a categorical table value.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import csv
import io
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from google.protobuf.json_format import MessageToDict
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

from first_temporal.config import Pipeline
from first_temporal.domain import schema
from first_temporal.jobs import RunJob, RunResult
from first_temporal.search_attributes import start_attributes
from first_temporal.settings import Tuning
from first_temporal.tests.moto_server import moto_server, use_moto
from first_temporal.workflow import EtlRunWorkflow

BUCKET, PREFIX = "dealer-lake", "lake"
WORDS = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*")
EMAILS = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)+")
# Categorical values only a table row (or a header) would carry.
CATEGORIES = {*schema.DISPUTE_TYPES, *schema.DELIVERY_STATUSES}


# -- the scanner -------------------------------------------------------------------------


@dataclass
class Needles:
    """What must never appear in a history, taken from the committed tables."""

    emails: set[str] = field(default_factory=set)
    last_names: dict[str, set[str]] = field(default_factory=dict)  # first -> lasts
    rows: set[str] = field(default_factory=set)
    phrases: set[str] = field(default_factory=lambda: set(schema.CHECKOUT_TYPES))
    words: set[str] = field(default_factory=lambda: set(CATEGORIES))

    def add(self, table: str, body: str) -> int:
        """Add one CSV body (header + rows) of `table`; returns its number of rows."""
        lines = body.splitlines()
        assert lines and lines[0] == ",".join(schema.COLUMNS[table])
        for line in lines[1:]:
            self.rows.add(line)
        records = list(csv.DictReader(io.StringIO(body)))
        for record in records:
            if "email_address" in record:
                self.emails.add(record["email_address"])
                self.last_names.setdefault(record["first_name"], set()).add(record["last_name"])
        return len(records)


def _strings(value: Any) -> Iterator[tuple[str, bool]]:
    """Every key and string leaf of a JSON value, and whether it is a key."""
    if isinstance(value, str):
        yield value, False
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key, True
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _decoded(value: Any) -> Iterator[tuple[str, bool]]:
    """The strings of a history event (and whether each is a key or holds keys), with
    every payload's data and metadata decoded from base64 and, when it is JSON, parsed,
    so escaped characters count too."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("data", "metadata") and _is_payload(value):
                for raw in [item] if key == "data" else item.values():
                    text = _b64(raw)
                    yield text, True  # the raw JSON: its keys too
                    try:
                        yield from _strings(json.loads(text))
                    except ValueError:
                        yield text, False
            else:
                yield key, True
                yield from _decoded(item)
    elif isinstance(value, list):
        for item in value:
            yield from _decoded(item)
    elif isinstance(value, str):
        yield value, False


def _is_payload(value: dict[str, Any]) -> bool:
    metadata = value.get("metadata", {})
    return (
        isinstance(metadata, dict)
        and all(isinstance(v, str) for v in metadata.values())
        and isinstance(value.get("data", ""), str)
    )


def _b64(raw: str) -> str:
    try:
        return base64.b64decode(raw, validate=True).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError):
        return raw


def event_texts(history: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(event id and type, its decoded text, the decoded text of its string values only:
    no field names) for every event of a history's JSON."""
    for event in history["events"]:
        where = f"event {event.get('eventId')} {event.get('eventType')}"
        strings = list(_decoded(event))
        yield where, "\n".join(s for s, _ in strings), "\n".join(s for s, k in strings if not k)


def leaks(history: dict[str, Any], needles: Needles) -> list[str]:
    found = []
    for where, text, values in event_texts(history):
        words = set(WORDS.findall(text))
        lines = {line.strip() for line in text.splitlines()}
        for email in sorted(needles.emails.intersection(EMAILS.findall(text))):
            found.append(f"{where}: e-mail address {email!r}")
        for first in sorted(words.intersection(needles.last_names)):
            for last in sorted(words & needles.last_names[first]):
                found.append(f"{where}: customer name {first} {last}")
        for row in sorted(lines & needles.rows):
            found.append(f"{where}: table row {row!r}")
        # Categorical values are also field names (Rates.cancellation): only values count.
        for phrase in sorted(p for p in needles.phrases if p in values):
            found.append(f"{where}: table value {phrase!r}")
        for word in sorted(needles.words.intersection(WORDS.findall(values))):
            found.append(f"{where}: table value {word!r}")
    return found


def payload_json(value: Any) -> dict[str, Any]:
    """A value as Temporal's default converter puts it in a history's JSON."""
    (payload,) = DataConverter.default.payload_converter.to_payloads([value])
    return MessageToDict(payload)


def plant(history: dict[str, Any], value: Any) -> dict[str, Any]:
    """A copy of `history` whose first activity result is `value`."""
    copy: dict[str, Any] = json.loads(json.dumps(history))
    for event in copy["events"]:
        completed = event.get("activityTaskCompletedEventAttributes")
        if completed is not None:
            completed["result"] = {"payloads": [payload_json(value)]}
            return copy
    raise AssertionError("no completed activity to plant a value in")


# -- the scanner can fail ----------------------------------------------------------------

CUSTOMERS = (
    "customer_id,first_name,last_name,email_address,first_purchase_date\n"
    "100000,Zoë,Quimby-Ardent,zoe.quimby@example.org,2020-07-03\n"
)
DELIVERIES = "transaction_id,status,status_date\n17,delivered,2020-07-08\n"
FAKE = {
    "events": [
        {
            "eventId": "1",
            "eventType": "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED",
            "workflowExecutionStartedEventAttributes": {
                "input": {
                    "payloads": [
                        payload_json({"location": "/tmp/x", "rates": {"cancellation": 0.05}})
                    ]
                }
            },
        },
        {
            "eventId": "2",
            "eventType": "EVENT_TYPE_ACTIVITY_TASK_COMPLETED",
            "activityTaskCompletedEventAttributes": {
                "result": {"payloads": [payload_json({"files": {}, "rows": {"purchase": [3]}})]}
            },
        },
    ]
}


def fake_needles() -> Needles:
    needles = Needles()
    needles.add(schema.CUSTOMER, CUSTOMERS)
    needles.add(schema.DELIVERY, DELIVERIES)
    return needles


def test_the_scanner_passes_a_clean_history():
    assert leaks(FAKE, fake_needles()) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"note": "mail zoe.quimby@example.org"}, "e-mail address 'zoe.quimby@example.org'"),
        ({"first_name": "Zoë", "last_name": "Quimby-Ardent"}, "customer name Zoë Quimby-Ardent"),
        (["Zoë", "Quimby-Ardent"], "customer name Zoë Quimby-Ardent"),
        ({"chunk": DELIVERIES}, "table row '17,delivered,2020-07-08'"),
        ({"checkout": "Repeat Customer"}, "table value 'Repeat Customer'"),
        ({"status": "delivered"}, "table value 'delivered'"),
    ],
)
def test_the_scanner_finds_a_planted_value(value: Any, expected: str):
    found = leaks(plant(FAKE, value), fake_needles())
    assert any(f.endswith(expected) for f in found), found
    assert all(f.startswith("event 2 EVENT_TYPE_ACTIVITY_TASK_COMPLETED") for f in found)


def test_the_scanner_reads_failures_and_search_attributes_too():
    event = {
        "eventId": "3",
        "eventType": "EVENT_TYPE_ACTIVITY_TASK_FAILED",
        "activityTaskFailedEventAttributes": {
            "failure": {"message": "bad row: 100000,Zoë,Quimby-Ardent,zoe.quimby@example.org"}
        },
        "upsertWorkflowSearchAttributesEventAttributes": {
            "searchAttributes": {"indexedFields": {"Who": payload_json("Repeat Customer")}}
        },
    }
    found = leaks({"events": [event]}, fake_needles())
    assert any("e-mail address" in f for f in found)
    assert any("Repeat Customer" in f for f in found)


# -- the pipeline on the dev server ------------------------------------------------------


@pytest.fixture(params=["local", "s3"])
def location(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Where the tables live. Requested before `worker`, so the worker process inherits
    the moto environment."""
    if request.param == "local":
        yield str(tmp_path / "data")
        return
    with moto_server() as server:
        use_moto(monkeypatch, server)
        boto3.client("s3").create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
        )
        yield f"s3://{BUCKET}/{PREFIX}"


def committed_tables(location: str) -> Needles:
    needles, rows = Needles(), dict.fromkeys(schema.BATCH_TABLES, 0)
    if location.startswith("s3://"):
        s3 = boto3.client("s3")
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=f"{PREFIX}/")
        for key in (o["Key"] for page in pages for o in page.get("Contents", [])):
            table = key.split("/")[1]
            if table in schema.BATCH_TABLES:
                body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
                rows[table] += needles.add(table, body)
    else:
        for table in schema.BATCH_TABLES:
            rows[table] = needles.add(table, (Path(location) / f"{table}.csv").read_text())
    assert all(rows.values()), rows  # every table has rows to look for
    return needles


RUNS = (  # 3 days, a span of 30, a bulk day in 3 parts, then 2 days reading its window
    ("daily", 3, None, Tuning()),
    ("span", 30, None, Tuning(span_min=25)),
    ("bulk", 1, 3_000, Tuning(bulk_threshold=1_000, part_rows=1_000)),
    ("after", 2, None, Tuning()),
)


async def run_pipeline(client: Client, pipeline: Pipeline, task_queue: str) -> list[str]:
    """Every run of RUNS, as the starter would start it; returns the workflow ids."""
    attributes = await start_attributes(client, pipeline.pipeline_id)
    ids = []
    for name, runs, purchases, tuning in RUNS:
        workflow_id = f"{pipeline.pipeline_id}-run-{name}"
        result: RunResult = await client.execute_workflow(
            EtlRunWorkflow.run,
            RunJob(pipeline, runs, purchases=purchases, tuning=tuning),
            id=workflow_id,
            task_queue=task_queue,
            search_attributes=attributes,
            execution_timeout=timedelta(seconds=60),
        )
        assert result.batches == runs
        ids.append(workflow_id)
    assert result.last is not None and result.last.batch_number == 36
    ids += [pipeline.batch_workflow_id(n) for n in (1, 2, 3, 34, 35, 36)]
    ids += [pipeline.batch_workflow_id(4) + "-000033", pipeline.mart_workflow_id]
    # The mart retries a failing refresh forever: give up rather than hang.
    mart = client.get_workflow_handle(pipeline.mart_workflow_id)
    await asyncio.wait_for(mart.result(), timeout=30)
    return ids


async def closed_executions(
    client: Client, task_queue: str, ids: list[str]
) -> set[tuple[str, str | None]]:
    """(id, run id) of every workflow on the queue, once visibility lists them all closed."""
    deadline = time.monotonic() + 15
    while True:
        listed = [w async for w in client.list_workflows(f'TaskQueue = "{task_queue}"')]
        closed = all(w.status != WorkflowExecutionStatus.RUNNING for w in listed)
        if closed and set(ids) <= {w.id for w in listed}:
            return {(w.id, w.run_id) for w in listed}
        assert time.monotonic() < deadline, f"visibility lists {[w.id for w in listed]}"
        await asyncio.sleep(0.2)


async def test_no_table_value_in_any_history(
    location: str, worker, dev_env: WorkflowEnvironment, task_queue: str
):
    client = dev_env.client
    pipeline = Pipeline(location=location, seed=13)
    ids = await run_pipeline(client, pipeline, task_queue)
    needles = committed_tables(location)
    assert len(needles.emails) > 1_000 and len(needles.rows) > 5_000

    histories = {}
    for workflow_id, run_id in sorted(await closed_executions(client, task_queue, ids)):
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        histories[f"{workflow_id} ({run_id})"] = json.loads(history.to_json())
    assert len(histories) >= len(ids)

    found = [f"{name} {leak}" for name, h in histories.items() for leak in leaks(h, needles)]
    assert found == [], "\n".join(found[:20])

    # The scan saw what it should: every step's payloads, decoded.
    texts = [text for h in histories.values() for _, text, _ in event_texts(h)]
    assert sum(location in text for text in texts) > 50  # a decoded PipelineRef / job
    activities = {
        e["activityTaskScheduledEventAttributes"]["activityType"]["name"]
        for h in histories.values()
        for e in h["events"]
        if "activityTaskScheduledEventAttributes" in e
    }
    assert {"extract_purchases", "derive_lifecycle_events", "load_batch", "update_mart"} <= (
        activities
    )
    kinds = {e["eventType"] for h in histories.values() for e in h["events"]}
    assert {
        "EVENT_TYPE_MARKER_RECORDED",  # local activities: checkpoint reads, mart signals
        "EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED",
        "EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED",
        "EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED",
    } <= kinds

    # ...and would have failed on one real row planted in a real history.
    bulk = histories[next(n for n in histories if n.startswith(pipeline.batch_workflow_id(34)))]
    email = sorted(needles.emails)[0]
    assert any(email in f for f in leaks(plant(bulk, {"note": email}), needles))

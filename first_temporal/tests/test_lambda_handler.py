"""Unit tests of terraform/lambda/glue_partitions/handler.py against moto's Glue.

moto patches botocore in-process, so nothing leaves the machine; fake
credentials make sure no real account could be reached even if it did not.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

HANDLER_PATH = (
    Path(__file__).resolve().parents[2] / "terraform" / "lambda" / "glue_partitions" / "handler.py"
)
DATABASE = "first_temporal_test"
BUCKET = "ft-data-bucket"
INPUT_FORMAT = "org.apache.hadoop.mapred.TextInputFormat"
OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
SERDE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
TABLES = {
    "purchase": "purchase_date",
    "customer": "first_purchase_date",
    "dispute": "dispute_date",
    "delivery": "status_date",
}


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials/region; no profile or config file can point elsewhere."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("GLUE_DATABASE", DATABASE)


@pytest.fixture
def glue(aws_env: None) -> Iterator[Any]:
    """A mocked Glue catalog with the four ETL tables."""
    with mock_aws():
        client = boto3.client("glue", region_name="eu-central-1")
        client.create_database(DatabaseInput={"Name": DATABASE})
        for table, partition_key in TABLES.items():
            client.create_table(
                DatabaseName=DATABASE,
                TableInput={
                    "Name": table,
                    "TableType": "EXTERNAL_TABLE",
                    "Parameters": {"skip.header.line.count": "1", "classification": "csv"},
                    "PartitionKeys": [{"Name": partition_key, "Type": "date"}],
                    "StorageDescriptor": {
                        "Columns": [{"Name": "id", "Type": "bigint"}],
                        "Location": f"s3://{BUCKET}/etl/{table}/",
                        "InputFormat": INPUT_FORMAT,
                        "OutputFormat": OUTPUT_FORMAT,
                        "SerdeInfo": {
                            "SerializationLibrary": SERDE,
                            "Parameters": {"field.delim": ",", "skip.header.line.count": "1"},
                        },
                    },
                },
            )
        yield client


@pytest.fixture
def mod(glue: Any) -> Iterator[ModuleType]:
    """A fresh import of the handler per test, so its cached client is the mocked one."""
    spec = importlib.util.spec_from_file_location("glue_partitions_handler", HANDLER_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses need the module registered
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


class Spy:
    """Wraps the Glue client, recording batch_create_partition sizes; can inject errors."""

    def __init__(self, client: Any, fail_values: set[str] | None = None) -> None:
        self._client = client
        self.calls: list[int] = []
        self.fail_values = fail_values or set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def batch_create_partition(self, **kwargs: Any) -> dict[str, Any]:
        inputs = kwargs["PartitionInputList"]
        self.calls.append(len(inputs))
        bad = [p for p in inputs if p["Values"][0] in self.fail_values]
        kwargs["PartitionInputList"] = [p for p in inputs if p not in bad]
        response = (
            self._client.batch_create_partition(**kwargs) if kwargs["PartitionInputList"] else {}
        )
        errors = list(response.get("Errors", []))
        errors += [
            {
                "PartitionValues": p["Values"],
                "ErrorDetail": {"ErrorCode": "InternalServiceException"},
            }
            for p in bad
        ]
        return {"Errors": errors}


def use_client(module: ModuleType, client: Any) -> None:
    """Swap the handler's cached Glue client (e.g. for a Spy)."""
    vars(module)["_glue_client"] = client


def s3_body(*keys: str, bucket: str = BUCKET, event: str = "ObjectCreated:Put") -> str:
    """An S3 event notification as S3 sends it to SQS (keys already URL-encoded)."""
    return json.dumps(
        {
            "Records": [
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "eventName": event,
                    "s3": {"bucket": {"name": bucket}, "object": {"key": key, "size": 10}},
                }
                for key in keys
            ]
        }
    )


def sqs_event(*bodies: str) -> dict[str, Any]:
    """An SQS batch event; message ids are m0, m1, ..."""
    return {
        "Records": [
            {
                "messageId": f"m{i}",
                "receiptHandle": f"rh{i}",
                "body": body,
                "eventSource": "aws:sqs",
            }
            for i, body in enumerate(bodies)
        ]
    }


def partitions(client: Any, table: str) -> dict[tuple[str, ...], str]:
    """All partitions of a table: values -> location."""
    found: dict[tuple[str, ...], str] = {}
    for page in client.get_paginator("get_partitions").paginate(
        DatabaseName=DATABASE, TableName=table
    ):
        for part in page["Partitions"]:
            found[tuple(part["Values"])] = part["StorageDescriptor"]["Location"]
    return found


def failures(result: dict[str, Any]) -> list[str]:
    return [item["itemIdentifier"] for item in result["batchItemFailures"]]


def test_one_partition_per_table_and_date(mod: ModuleType, glue: Any) -> None:
    event = sqs_event(
        s3_body(
            "etl/purchase/purchase_date=2024-01-01/part-0.csv",
            "etl/purchase/purchase_date=2024-01-01/part-1.csv",
            "etl/purchase/purchase_date=2024-01-02/part-0.csv",
        ),
        s3_body("etl/purchase/purchase_date=2024-01-01/part-2.csv"),
        s3_body(
            "etl/customer/first_purchase_date=2024-01-01/part-0.csv",
            "etl/dispute/dispute_date=2024-01-03/part-0.csv",
            "etl/delivery/status_date=2024-01-04/part-0.csv",
        ),
    )
    assert mod.handler(event, None) == {"batchItemFailures": []}
    assert partitions(glue, "purchase") == {
        ("2024-01-01",): f"s3://{BUCKET}/etl/purchase/purchase_date=2024-01-01/",
        ("2024-01-02",): f"s3://{BUCKET}/etl/purchase/purchase_date=2024-01-02/",
    }
    assert partitions(glue, "customer") == {
        ("2024-01-01",): f"s3://{BUCKET}/etl/customer/first_purchase_date=2024-01-01/"
    }
    assert list(partitions(glue, "dispute")) == [("2024-01-03",)]
    assert list(partitions(glue, "delivery")) == [("2024-01-04",)]


def test_partition_copies_table_storage_descriptor(mod: ModuleType, glue: Any) -> None:
    mod.handler(sqs_event(s3_body("etl/dispute/dispute_date=2024-02-01/x.csv")), None)
    part = glue.get_partition(
        DatabaseName=DATABASE, TableName="dispute", PartitionValues=["2024-02-01"]
    )
    descriptor = part["Partition"]["StorageDescriptor"]
    assert descriptor["Location"] == f"s3://{BUCKET}/etl/dispute/dispute_date=2024-02-01/"
    assert descriptor["SerdeInfo"]["SerializationLibrary"].endswith("LazySimpleSerDe")
    assert descriptor["SerdeInfo"]["Parameters"]["skip.header.line.count"] == "1"
    assert descriptor["Columns"] == [{"Name": "id", "Type": "bigint"}]


def test_redelivery_changes_nothing(mod: ModuleType, glue: Any) -> None:
    event = sqs_event(s3_body("etl/delivery/status_date=2024-03-01/a.csv"))
    assert failures(mod.handler(event, None)) == []
    before = glue.get_partition(
        DatabaseName=DATABASE, TableName="delivery", PartitionValues=["2024-03-01"]
    )
    assert failures(mod.handler(event, None)) == []
    assert failures(mod.handler(event, None)) == []
    after = glue.get_partition(
        DatabaseName=DATABASE, TableName="delivery", PartitionValues=["2024-03-01"]
    )
    assert after["Partition"] == before["Partition"]
    assert list(partitions(glue, "delivery")) == [("2024-03-01",)]


def test_malformed_body_fails_only_its_message(mod: ModuleType, glue: Any) -> None:
    event = sqs_event(
        s3_body("etl/purchase/purchase_date=2024-04-01/a.csv"),
        "{not json",
        s3_body("etl/purchase/purchase_date=2024-04-02/a.csv"),
        json.dumps(["not", "an", "object"]),
        json.dumps({"Records": [{"eventName": "ObjectCreated:Put", "s3": {}}]}),
    )
    assert failures(mod.handler(event, None)) == ["m1", "m3", "m4"]
    assert sorted(partitions(glue, "purchase")) == [("2024-04-01",), ("2024-04-02",)]


def test_key_without_partition_fails_its_message(mod: ModuleType, glue: Any) -> None:
    event = sqs_event(
        s3_body("etl/purchase/part-0.csv"),
        s3_body("etl/purchase/purchase_date=2024-05-01/a.csv"),
        s3_body("purchase_date=2024-05-02/a.csv"),  # no table segment before it
        s3_body("etl/purchase/purchase_date=2024-05-03"),  # the object name is never a partition
    )
    assert failures(mod.handler(event, None)) == ["m0", "m2", "m3"]
    assert list(partitions(glue, "purchase")) == [("2024-05-01",)]


def test_test_event_is_ignored(mod: ModuleType, glue: Any) -> None:
    test_event = json.dumps(
        {
            "Service": "Amazon S3",
            "Event": "s3:TestEvent",
            "Time": "2024-01-01T00:00:00.000Z",
            "Bucket": BUCKET,
            "RequestId": "r",
            "HostId": "h",
        }
    )
    spy = Spy(glue)
    use_client(mod, spy)
    assert mod.handler(sqs_event(test_event), None) == {"batchItemFailures": []}
    assert spy.calls == []
    assert all(partitions(glue, table) == {} for table in TABLES)


def test_more_than_100_partitions_are_split(mod: ModuleType, glue: Any) -> None:
    keys = [
        f"etl/customer/first_purchase_date=2023-{1 + d // 28:02d}-{1 + d % 28:02d}/p.csv"
        for d in range(250)
    ]
    spy = Spy(glue)
    use_client(mod, spy)
    event = sqs_event(*(s3_body(*keys[i : i + 25]) for i in range(0, 250, 25)))
    assert failures(mod.handler(event, None)) == []
    assert spy.calls == [100, 100, 50]
    assert len(partitions(glue, "customer")) == 250


def test_url_encoded_keys(mod: ModuleType, glue: Any) -> None:
    event = sqs_event(
        s3_body("etl/purchase/purchase_date%3D2024-06-01/part+0.csv"),
        s3_body("my+data/dispute/dispute_date=2024-06-02/file%2B1.csv"),
    )
    assert failures(mod.handler(event, None)) == []
    assert partitions(glue, "purchase") == {
        ("2024-06-01",): f"s3://{BUCKET}/etl/purchase/purchase_date=2024-06-01/"
    }
    assert partitions(glue, "dispute") == {
        ("2024-06-02",): f"s3://{BUCKET}/my data/dispute/dispute_date=2024-06-02/"
    }


def test_glue_error_fails_only_messages_carrying_that_partition(mod: ModuleType, glue: Any) -> None:
    use_client(mod, Spy(glue, fail_values={"2024-07-02"}))
    event = sqs_event(
        s3_body("etl/purchase/purchase_date=2024-07-01/a.csv"),
        s3_body("etl/purchase/purchase_date=2024-07-02/a.csv"),
        s3_body(
            "etl/purchase/purchase_date=2024-07-01/b.csv",
            "etl/purchase/purchase_date=2024-07-02/b.csv",
        ),
        s3_body("etl/unknown_table/some_date=2024-07-01/a.csv"),  # get_table fails
    )
    assert failures(mod.handler(event, None)) == ["m1", "m2", "m3"]
    assert list(partitions(glue, "purchase")) == [("2024-07-01",)]


def test_partition_names_must_match_table_keys(mod: ModuleType, glue: Any) -> None:
    event = sqs_event(
        s3_body("etl/purchase/dispute_date=2024-08-01/a.csv"),
        s3_body("etl/purchase/purchase_date=2024-08-02/a.csv"),
    )
    assert failures(mod.handler(event, None)) == ["m0"]
    assert list(partitions(glue, "purchase")) == [("2024-08-02",)]


def test_parse_key_multi_level_partition(mod: ModuleType) -> None:
    assert mod.parse_key("b", "p/q/sales/year=2024/month=01/x=y.csv") == (
        "sales",
        ["year", "month"],
        ["2024", "01"],
        "s3://b/p/q/sales/year=2024/month=01/",
    )


def test_a_removed_object_drops_its_partition_once_the_prefix_is_empty(
    mod: ModuleType, glue: Any
) -> None:
    """A rewind deletes the objects of later batches: their partitions go, not others."""
    s3 = boto3.client("s3", region_name="eu-central-1")
    s3.create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
    )
    keys = [
        "etl/purchase/purchase_date=2020-07-03/batch-000001.csv",
        "etl/purchase/purchase_date=2020-07-06/batch-000002.csv",
        "etl/purchase/purchase_date=2020-07-06/batch-000003.csv",
    ]
    for key in keys:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x\n")
    assert not failures(mod.handler(sqs_event(s3_body(*keys)), None))
    assert set(partitions(glue, "purchase")) == {("2020-07-03",), ("2020-07-06",)}
    for key in keys[1:]:
        s3.delete_object(Bucket=BUCKET, Key=key)
    s3.delete_object(Bucket=BUCKET, Key=keys[0])
    s3.put_object(Bucket=BUCKET, Key=keys[0], Body=b"x\n")  # written again since
    removed = sqs_event(s3_body(*keys, event="ObjectRemoved:Delete"))
    assert not failures(mod.handler(removed, None))
    assert set(partitions(glue, "purchase")) == {("2020-07-03",)}  # its prefix holds one
    assert not failures(mod.handler(removed, None))  # a repeated event changes nothing
    assert set(partitions(glue, "purchase")) == {("2020-07-03",)}

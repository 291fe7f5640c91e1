"""End to end without Temporal: S3Storage batches -> S3 notifications -> SQS -> the Lambda.

The Glue partition Lambda (terraform/lambda/glue_partitions/handler.py) must register
exactly one partition per (table, date) the storage writes, and re-delivery is harmless.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import boto3
import pytest

from first_temporal.config import Pipeline
from first_temporal.domain import schema
from first_temporal.storage.s3 import S3Storage
from first_temporal.tests.s3_batches import (
    BUCKET,
    LOCATION,
    SEED,
    objects,
    run_batches,
)

SERDE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
HANDLER_PATH = (
    Path(__file__).resolve().parents[2] / "terraform" / "lambda" / "glue_partitions" / "handler.py"
)


def load_handler() -> Any:
    spec = importlib.util.spec_from_file_location("glue_partitions_handler_s3", HANDLER_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses need the module registered
    spec.loader.exec_module(module)
    return module


def create_catalog(glue: Any, database: str) -> None:
    glue.create_database(DatabaseInput={"Name": database})
    for table, column in schema.PARTITION_COLUMN.items():
        glue.create_table(
            DatabaseName=database,
            TableInput={
                "Name": table,
                "TableType": "EXTERNAL_TABLE",
                "PartitionKeys": [{"Name": column, "Type": "date"}],
                "StorageDescriptor": {
                    "Columns": [{"Name": c, "Type": "string"} for c in schema.COLUMNS[table]],
                    "Location": f"s3://{BUCKET}/etl/{table}/",
                    "SerdeInfo": {
                        "SerializationLibrary": SERDE,
                        "Parameters": {"field.delim": ",", "skip.header.line.count": "1"},
                    },
                },
            },
        )


def receive_all(sqs: Any, url: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        records += [
            {"messageId": m["MessageId"], "body": m["Body"], "eventSource": "aws:sqs"}
            for m in batch
        ]
        for m in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return records


def all_partitions(glue: Any, database: str, table: str) -> dict[str, str]:
    pages = glue.get_paginator("get_partitions").paginate(DatabaseName=database, TableName=table)
    return {
        p["Values"][0]: p["StorageDescriptor"]["Location"]
        for page in pages
        for p in page["Partitions"]
    }


def test_notifications_register_one_glue_partition_per_table_and_date(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqs, glue = boto3.client("sqs"), boto3.client("glue")
    url = sqs.create_queue(QueueName="ft-partitions")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    s3.put_bucket_notification_configuration(
        Bucket=BUCKET,
        NotificationConfiguration={
            "QueueConfigurations": [  # as terraform/modules/s3 configures it
                {
                    "Id": f"object-created-etl-{table}",
                    "QueueArn": arn["QueueArn"],
                    "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
                    "Filter": {
                        "Key": {
                            "FilterRules": [
                                {"Name": "prefix", "Value": f"etl/{table}/"},
                                {"Name": "suffix", "Value": ".csv"},
                            ]
                        }
                    },
                }
                for table in schema.BATCH_TABLES
            ]
        },
    )
    create_catalog(glue, "ft_e2e")
    monkeypatch.setenv("GLUE_DATABASE", "ft_e2e")
    receive_all(sqs, url)  # drop the s3:TestEvent, if any
    run_batches(Pipeline(location=LOCATION, seed=SEED), 3)
    records = receive_all(sqs, url)
    keys = [
        unquote_plus(rec["s3"]["object"]["key"])
        for r in records
        for rec in json.loads(r["body"]).get("Records", [])
    ]
    data_keys = sorted(k for k in objects(s3) if k.split("/")[1] in schema.BATCH_TABLES)
    assert sorted(keys) == data_keys  # one event per data object, none for the rest

    handler = load_handler()
    try:
        assert handler.handler({"Records": records}, None) == {"batchItemFailures": []}
        expected = {
            table: {
                k.split("/")[2].split("=")[1]: f"s3://{BUCKET}/{k.rsplit('/', 1)[0]}/"
                for k in data_keys
                if k.split("/")[1] == table
            }
            for table in schema.BATCH_TABLES
        }
        found = {t: all_partitions(glue, "ft_e2e", t) for t in schema.BATCH_TABLES}
        assert found == expected
        assert handler.handler({"Records": records}, None) == {"batchItemFailures": []}
        assert {t: all_partitions(glue, "ft_e2e", t) for t in schema.BATCH_TABLES} == found

        # A rewind to batch 1 deletes the later objects: their partitions go too.
        S3Storage(LOCATION).rewind(SEED, 1)
        removed = receive_all(sqs, url)
        assert removed and handler.handler({"Records": removed}, None) == {"batchItemFailures": []}
        left = sorted(k for k in objects(s3) if k.split("/")[1] in schema.BATCH_TABLES)
        assert left and all(k.endswith("/batch-000001.csv") for k in left)
        after = {t: all_partitions(glue, "ft_e2e", t) for t in schema.BATCH_TABLES}
        assert after == {
            table: {
                k.split("/")[2].split("=")[1]: f"s3://{BUCKET}/{k.rsplit('/', 1)[0]}/"
                for k in left
                if k.split("/")[1] == table
            }
            for table in schema.BATCH_TABLES
        }
        assert after != found  # some partitions held batches 2-3 only
    finally:
        sys.modules.pop("glue_partitions_handler_s3", None)

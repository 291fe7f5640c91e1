"""Keep Glue partitions in step with ETL objects announced by S3 -> SQS notifications.

Why: the ETL writes Hive-style paths (``<prefix>/<table>/<name>=<value>/file.csv``)
and Athena only reads partitions the Glue catalog knows. Registering them from
the object-created event keeps the catalog current without crawlers or
``MSCK REPAIR TABLE``. Re-delivery is harmless: an existing partition counts as
registered. A removed object (a rewind deletes the objects of later batches) drops its
partition once the partition's prefix holds no object: decided by listing it when the
event is handled, so late or repeated events still leave the catalog matching the bucket.
Only boto3 is needed (it ships with the Lambda Python runtime).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, unquote_plus

import boto3
from botocore.exceptions import BotoCoreError, ClientError

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)

MAX_PARTITIONS_PER_CALL = 100  # Glue BatchCreatePartition limit
MAX_DELETES_PER_CALL = 25  # Glue BatchDeletePartition limit
_glue_client: Any = None
_s3_client: Any = None


class BadMessage(ValueError):
    """A message that can never succeed as is; it fails alone, not the batch."""


@dataclass
class Wanted:
    """One partition to register, plus the messages whose fate depends on it."""

    names: list[str]
    location: str
    message_ids: set[str] = field(default_factory=set)


def _glue() -> Any:
    """Reuse one client across warm invocations (created lazily, so tests can mock)."""
    global _glue_client
    if _glue_client is None:
        _glue_client = boto3.client("glue")
    return _glue_client


def _s3() -> Any:
    global _s3_client
    if _s3_client is None:
        _s3_client = boto3.client("s3")
    return _s3_client


def _is_pair(segment: str) -> bool:
    name, sep, value = segment.partition("=")
    return bool(sep and name and value)


def parse_key(bucket: str, raw_key: str) -> tuple[str, list[str], list[str], str]:
    """Return (table, partition names, values, partition location) for an S3 key.

    Why this shape: the table is the segment right before the first ``name=value``
    directory, and the partition is every consecutive ``name=value`` directory.
    The file name itself is never a partition segment.
    """
    key = unquote_plus(raw_key)  # notifications URL-encode keys, space as '+'
    dirs = key.split("/")[:-1]
    start = next((i for i, seg in enumerate(dirs) if _is_pair(seg)), None)
    if start is None or start == 0 or not dirs[start - 1]:
        raise BadMessage(f"no <table>/<name>=<value>/ in key {key!r}")
    end = start
    while end < len(dirs) and _is_pair(dirs[end]):
        end += 1
    pairs = [seg.split("=", 1) for seg in dirs[start:end]]
    names = [name for name, _ in pairs]
    values = [unquote(value) for _, value in pairs]  # Hive %XX-escapes values in paths
    location = f"s3://{bucket}/{'/'.join(dirs[:end])}/"
    return dirs[start - 1], names, values, location


def s3_objects(body: str, kind: str = "ObjectCreated:") -> list[tuple[str, str]]:
    """Return (bucket, raw key) of each record of `kind` (ObjectCreated: or
    ObjectRemoved:); [] for s3:TestEvent."""
    doc = json.loads(body)
    if not isinstance(doc, dict):
        raise BadMessage("body is not a JSON object")
    if doc.get("Event") == "s3:TestEvent":
        return []
    records = doc.get("Records")
    if not isinstance(records, list) or not records:
        raise BadMessage("body has no S3 Records")
    return [
        (rec["s3"]["bucket"]["name"], rec["s3"]["object"]["key"])
        for rec in records
        if str(rec.get("eventName", "")).startswith(kind)
    ]


def _get_table(database: str, table: str, cache: dict[str, Any]) -> Any:
    """get_table once per table per invocation; returns the Table dict."""
    if table not in cache:
        cache[table] = _glue().get_table(DatabaseName=database, Name=table)["Table"]
    return cache[table]


def _register(
    database: str, table: str, wanted: dict[tuple[str, ...], Wanted], cache: dict[str, Any]
) -> set[str]:
    """Create the table's partitions in chunks; return ids of messages that failed."""
    try:
        glue_table = _get_table(database, table, cache)
    except (ClientError, BotoCoreError) as exc:
        LOG.error("get_table %s.%s failed: %s", database, table, exc)
        return {mid for w in wanted.values() for mid in w.message_ids}
    key_names = [k["Name"] for k in glue_table.get("PartitionKeys", [])]
    failed: set[str] = set()
    inputs: list[dict[str, Any]] = []
    for values, want in wanted.items():
        if want.names != key_names:
            LOG.error("%s: partition %s does not match keys %s", table, want.names, key_names)
            failed |= want.message_ids
            continue
        descriptor = {**glue_table["StorageDescriptor"], "Location": want.location}
        inputs.append({"Values": list(values), "StorageDescriptor": descriptor})
    for start in range(0, len(inputs), MAX_PARTITIONS_PER_CALL):
        chunk = inputs[start : start + MAX_PARTITIONS_PER_CALL]
        try:
            response = _glue().batch_create_partition(
                DatabaseName=database, TableName=table, PartitionInputList=chunk
            )
        except (ClientError, BotoCoreError) as exc:
            LOG.error("batch_create_partition %s failed: %s", table, exc)
            for item in chunk:
                failed |= wanted[tuple(item["Values"])].message_ids
            continue
        for error in response.get("Errors", []):
            if error.get("ErrorDetail", {}).get("ErrorCode") == "AlreadyExistsException":
                continue  # re-delivery or a second file in the same partition
            values = tuple(error.get("PartitionValues", []))
            LOG.error("%s partition %s failed: %s", table, values, error.get("ErrorDetail"))
            owner = wanted.get(values)  # unknown values: blame the whole table batch
            failed |= (
                owner.message_ids if owner else {m for w in wanted.values() for m in w.message_ids}
            )
    return failed


def _drop_emptied(
    database: str, table: str, emptied: dict[tuple[str, ...], Wanted], bucket_of: dict[str, str]
) -> set[str]:
    """Delete the partitions whose prefix holds no object any more; return failed ids."""
    failed: set[str] = set()
    gone: list[tuple[str, ...]] = []
    for values, want in emptied.items():
        prefix = want.location.split("/", 3)[3]  # s3://bucket/<prefix>
        try:
            listed = _s3().list_objects_v2(
                Bucket=bucket_of[want.location], Prefix=prefix, MaxKeys=1
            )
        except (ClientError, BotoCoreError) as exc:
            LOG.error("list %s failed: %s", want.location, exc)
            failed |= want.message_ids
            continue
        if not listed.get("KeyCount", 0):
            gone.append(values)
    for start in range(0, len(gone), MAX_DELETES_PER_CALL):
        chunk = gone[start : start + MAX_DELETES_PER_CALL]
        try:
            response = _glue().batch_delete_partition(
                DatabaseName=database,
                TableName=table,
                PartitionsToDelete=[{"Values": list(values)} for values in chunk],
            )
        except (ClientError, BotoCoreError) as exc:
            LOG.error("batch_delete_partition %s failed: %s", table, exc)
            failed |= {m for values in chunk for m in emptied[values].message_ids}
            continue
        for error in response.get("Errors", []):
            if error.get("ErrorDetail", {}).get("ErrorCode") == "EntityNotFoundException":
                continue  # already gone: a repeated event
            values = tuple(error.get("PartitionValues", []))
            LOG.error("%s partition %s not deleted: %s", table, values, error.get("ErrorDetail"))
            failed |= emptied[values].message_ids if values in emptied else set()
    return failed


def handler(event: dict[str, Any], context: Any) -> dict[str, list[dict[str, str]]]:
    """SQS batch entry point; reports only failed messages (ReportBatchItemFailures)."""
    database = os.environ["GLUE_DATABASE"]
    failed: set[str] = set()
    by_table: dict[str, dict[tuple[str, ...], Wanted]] = {}
    removed: dict[str, dict[tuple[str, ...], Wanted]] = {}
    bucket_of: dict[str, str] = {}
    message_ids: list[str] = []
    for record in event.get("Records", []):
        message_id = record["messageId"]
        message_ids.append(message_id)
        try:
            for bucket, raw_key in s3_objects(record["body"]):
                table, names, values, location = parse_key(bucket, raw_key)
                want = by_table.setdefault(table, {}).setdefault(
                    tuple(values), Wanted(names, location)
                )
                if want.names != names or want.location != location:
                    raise BadMessage(f"{raw_key!r} conflicts with {want.location}")
                want.message_ids.add(message_id)
            for bucket, raw_key in s3_objects(record["body"], "ObjectRemoved:"):
                table, names, values, location = parse_key(bucket, raw_key)
                want = removed.setdefault(table, {}).setdefault(
                    tuple(values), Wanted(names, location)
                )
                want.message_ids.add(message_id)
                bucket_of[location] = bucket
        except (ValueError, KeyError, TypeError, AttributeError) as exc:  # incl. JSON errors
            LOG.warning("message %s is malformed: %s", message_id, exc)
            failed.add(message_id)
    cache: dict[str, Any] = {}
    for table, wanted in by_table.items():
        failed |= _register(database, table, wanted, cache)
    for table, emptied in removed.items():  # after the creates: the listing decides
        failed |= _drop_emptied(database, table, emptied, bucket_of)
    LOG.info(
        "messages=%d partitions=%d failed=%d",
        len(message_ids),
        sum(len(w) for w in by_table.values()),
        len(failed),
    )
    return {"batchItemFailures": [{"itemIdentifier": m} for m in message_ids if m in failed]}

"""Load: append the batch to every table and advance the checkpoint, exactly once."""

from __future__ import annotations

import time
from typing import Any

from temporalio import activity
from temporalio.exceptions import CancelledError

from first_temporal import schema
from first_temporal.activities.bulk import chunk_bounds, part_labels
from first_temporal.activities.heartbeat import keep_alive
from first_temporal.config import open_storage
from first_temporal.errors import BadInput, StaleBatch, as_application_error
from first_temporal.jobs import AppendJob, BatchSummary, LoadJob, WaitJob
from first_temporal.storage.base import BatchPayload, encode_rows, staged_name, staging_folder
from first_temporal.storage.local import LocalStorage
from first_temporal.validation.batch import check_batch


def batch_payload(job: LoadJob) -> BatchPayload:
    """Inline rows first, then the window's staged events, then a bulk day's chunks."""
    cp = job.checkpoint
    inline: dict[str, list[Any]] = {
        schema.PURCHASE: job.purchases,
        schema.CUSTOMER: job.customers,
        schema.DISPUTE: job.disputes,
        schema.DELIVERY: job.deliveries,
    }
    rows = {t: len(r) + job.events_staged_rows.get(t, 0) for t, r in inline.items()}
    staged = {t: list(job.events_staged.get(t, [])) for t in schema.BATCH_TABLES}
    for chunk in sorted(job.chunks, key=lambda c: c.chunk_index):
        for table in schema.BATCH_TABLES:
            rows[table] += chunk.rows.get(table, 0)
            staged[table] += chunk.staged.get(table, [])
    return BatchPayload(
        batch_number=cp.batch_number + 1,
        batch_date=job.batch_date,
        last_customer_id=cp.last_customer_id + rows[schema.CUSTOMER],
        last_transaction_id=cp.last_transaction_id + rows[schema.PURCHASE],
        window_offset=job.window_offset,
        data={t: encode_rows(r) for t, r in inline.items()},
        rows=rows,
        staged=staged,
        preappended=dict(job.preappended),
    )


@activity.defn
def load_batch(job: LoadJob) -> BatchSummary:
    """Data first, checkpoint last; a retry after the checkpoint moved is a no-op."""
    storage = open_storage(job.pipeline.location)
    try:
        check_batch(job)
        payload = batch_payload(job)
        with keep_alive():  # a bulk day copies hundreds of MB before its fsync
            _, wrote = storage.commit(job.checkpoint, payload)
    except (BadInput, StaleBatch) as exc:
        raise as_application_error(exc) from None
    storage.drop_staged(payload.batch_number)
    activity.logger.info(
        "batch %d (%s) %s",
        payload.batch_number,
        job.batch_date,
        "committed" if wrote else "was already committed (a retry)",
    )
    return BatchSummary(
        batch_number=payload.batch_number,
        batch_date=job.batch_date,
        purchases=payload.rows[schema.PURCHASE],
        new_customers=payload.rows[schema.CUSTOMER],
        repeat_purchases=payload.rows[schema.PURCHASE] - payload.rows[schema.CUSTOMER],
        disputes=payload.rows[schema.DISPUTE],
        deliveries=payload.rows[schema.DELIVERY],
        committed=True,
    )


APPENDED_AHEAD = (schema.PURCHASE, schema.CUSTOMER)  # the big ones; events are small
PART_POLL_SECONDS = 0.01
WAITING_HEARTBEAT_SECONDS = 1.0


def _parts_in_order(job: AppendJob) -> list[tuple[str, bool]]:
    """Every part label of the day, in table order, and whether it ends its chunk."""
    parts: list[tuple[str, bool]] = []
    for low, high in chunk_bounds(job.total, job.chunk_rows):
        labels = part_labels(low, high)
        parts += [(label, i == len(labels) - 1) for i, label in enumerate(labels)]
    return parts


@activity.defn
def append_staged_parts(job: AppendJob) -> dict[str, int]:
    """A bulk day's head start: while the chunks are generated, append each staged part of
    purchases and customers in order as soon as it is whole, past the committed end (not
    data until the checkpoint moves). The load then only verifies the ends and commits.

    Returns each table's end, fsynced; {} when the storage cannot (S3) or the files moved
    under it (the load then copies the parts itself). It fsyncs at chunk ends and
    heartbeats only fsynced points, so a retry resumes from durable bytes.
    """
    storage = open_storage(job.pipeline.location)
    if not isinstance(storage, LocalStorage):
        return {}
    folder = staging_folder(job.pipeline.seed, job.pipeline.rates, job.checkpoint)
    parts = _parts_in_order(job)
    details = activity.info().heartbeat_details
    done, heads = (
        (int(details[0]), dict(details[1]))
        if details
        else (0, {t: job.checkpoint.ends[t] for t in APPENDED_AHEAD})
    )
    synced: tuple[int, dict[str, int]] = (done, dict(heads))
    beaten = time.monotonic()
    try:
        while done < len(parts):
            ready = 0  # whole parts from `done` on, up to the end of their chunk
            while done + ready < len(parts) and storage.has_staged(
                staged_name(folder, schema.PURCHASE, parts[done + ready][0])
            ):
                ready += 1
                if parts[done + ready - 1][1]:
                    break
            if not ready:
                if time.monotonic() - beaten >= WAITING_HEARTBEAT_SECONDS:
                    activity.heartbeat(*synced)
                    beaten = time.monotonic()
                activity.wait_for_cancelled_sync(PART_POLL_SECONDS)
                if activity.is_cancelled():  # a chunk failed: the batch is given up
                    raise CancelledError("cancelled while waiting for staged parts")
                continue
            batch = parts[done : done + ready]
            chunk_end = batch[-1][1]  # fsync there: the disk writes keep pace
            with keep_alive(*synced):  # the lock may be busy, the disk slow
                for table in APPENDED_AHEAD:
                    names = [staged_name(folder, table, label) for label, _ in batch]
                    names = [n for n in names if storage.has_staged(n)]  # no new customers
                    end = storage.pre_append(job.checkpoint, table, names, heads[table], chunk_end)
                    if end < 0:
                        return {}
                    heads[table] = end
            done += ready
            if chunk_end:  # the last part ends a chunk: the result is always fsynced
                synced = (done, dict(heads))  # a snapshot: the SDK encodes it later
                activity.heartbeat(*synced)
                beaten = time.monotonic()
    except (BadInput, StaleBatch) as exc:
        raise as_application_error(exc) from None
    return heads


@activity.defn
async def wait_for_batch(job: WaitJob) -> None:
    """Another run is executing this batch: wait for it to end, whatever its outcome."""
    handle = activity.client().get_workflow_handle(job.workflow_id)
    try:
        await handle.result()
    except Exception:  # its failure is that run's to report; we re-read the checkpoint
        activity.logger.info("batch workflow %s ended without success", job.workflow_id)

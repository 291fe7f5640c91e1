"""Load: append a batch's staged parts to every table and advance the checkpoint,
exactly once (data first, checkpoint last; a retry after the checkpoint moved is a no-op)."""

from __future__ import annotations

import logging
from concurrent.futures import Executor, Future
from dataclasses import replace

from temporalio import activity

from first_temporal.activities.errors import terminal
from first_temporal.activities.heartbeat import keep_alive
from first_temporal.activities.staging import OpenStorage
from first_temporal.domain import schema
from first_temporal.jobs import BatchSummary, LoadJob, RewindJob, Rewound, WaitJob, joined
from first_temporal.storage.base import Manifest, Storage

log = logging.getLogger(__name__)


def day_rows(job: LoadJob) -> dict[str, list[int]]:
    """Each table's rows per batch date, over all parts."""
    rows = joined(job.parts, len(job.dates)).rows
    return {t: rows.get(t, [0] * len(job.dates)) for t in schema.BATCH_TABLES}


def manifest_of(job: LoadJob) -> Manifest:
    cp = job.checkpoint
    per_day = day_rows(job)
    files = joined(job.parts, len(job.dates)).files
    totals = {t: sum(per_day[t]) for t in schema.BATCH_TABLES}
    return Manifest(
        batch_number=cp.batch_number + len(job.dates),
        batch_date=job.dates[-1],
        last_customer_id=cp.last_customer_id + totals[schema.CUSTOMER],
        last_transaction_id=cp.last_transaction_id + totals[schema.PURCHASE],
        rows=totals,
        staged={t: files.get(t, []) for t in schema.BATCH_TABLES},
        dates=job.dates,
        day_rows=per_day,
    )


def summaries_of(job: LoadJob) -> list[BatchSummary]:
    per_day = day_rows(job)

    def on(table: str, day: int) -> int:
        return per_day[table][day]

    return [
        BatchSummary(
            batch_number=job.checkpoint.batch_number + 1 + day,
            batch_date=batch_date,
            purchases=on(schema.PURCHASE, day),
            new_customers=on(schema.CUSTOMER, day),
            repeat_purchases=on(schema.PURCHASE, day) - on(schema.CUSTOMER, day),
            disputes=on(schema.DISPUTE, day),
            deliveries=on(schema.DELIVERY, day),
            committed=True,
        )
        for day, batch_date in enumerate(job.dates)
    ]


class Loader:
    """`cleanup` deletes a committed batch's staged parts after its load completes (the
    worker's own thread: a bulk day's 200 MB take 0.05 s, a twentieth of the day, that
    the run need not wait for). Without it they are deleted before the load completes."""

    def __init__(self, open_storage: OpenStorage, cleanup: Executor | None = None) -> None:
        self.open_storage = open_storage
        self.cleanup = cleanup

    @activity.defn(name="load_batch")
    def load_batch(self, job: LoadJob) -> list[BatchSummary]:
        storage = self.open_storage(job.pipeline.location)
        # The run id tells this batch's own retries from another cluster's same batch.
        manifest = replace(manifest_of(job), writer=activity.info().workflow_run_id or "")
        with keep_alive(), terminal():  # a bulk day copies hundreds of MB
            _, wrote = storage.commit(job.checkpoint, manifest)
        self._drop_staged(storage, manifest.batch_number)
        activity.logger.info(
            "batch %d (%s) %s",
            manifest.batch_number,
            manifest.batch_date,
            "committed" if wrote else "was already committed (a retry)",
        )
        return summaries_of(job)

    def _drop_staged(self, storage: Storage, batch_number: int) -> None:
        """Whatever a killed worker leaves staged, the next batch's load deletes: each
        load drops every staged part up to its own batch."""
        if self.cleanup is None:
            storage.drop_staged(batch_number)
            return

        def failed(dropped: Future[None]) -> None:
            if (exc := dropped.exception()) is not None:
                log.warning("staged parts of batch %d not deleted yet (%s)", batch_number, exc)

        self.cleanup.submit(storage.drop_staged, batch_number).add_done_callback(failed)

    @activity.defn(name="rewind_tables")
    def rewind_tables(self, job: RewindJob) -> Rewound:
        storage = self.open_storage(job.pipeline.location)
        with terminal(), keep_alive():
            before, after = storage.rewind(job.pipeline.seed, job.batch)
        activity.logger.info("rewound from batch %d to %d", before.batch_number, job.batch)
        return Rewound(job.batch, after.previous_date, before.batch_number - job.batch)

    @activity.defn(name="wait_for_batch")
    async def wait_for_batch(self, job: WaitJob) -> None:
        """Another run is executing this batch: wait for it to end, whatever its outcome."""
        handle = activity.client().get_workflow_handle(job.workflow_id)
        try:
            await handle.result()
        except Exception:  # its failure is that run's to report; we re-read the checkpoint
            activity.logger.info("batch workflow %s ended without success", job.workflow_id)

"""Writers racing for one S3 prefix, step by step: two clusters' same batch, a day
against a span of the same days, a transform whose staged part the winner dropped, and
a reader racing a new pipeline's first commit (see storage/s3_race.py). The same races
end to end, through faults, are in test_s3_faults.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from first_temporal.activities.errors import STALE_BATCH
from first_temporal.activities.extractor import Extractor
from first_temporal.activities.loader import manifest_of
from first_temporal.activities.transformer import Transformer
from first_temporal.config import Pipeline, open_storage
from first_temporal.domain.checkpoint import Checkpoint
from first_temporal.domain.errors import StaleBatch
from first_temporal.jobs import PartJob, TransformJob
from first_temporal.storage.s3 import S3Storage
from first_temporal.tests.s3_batches import (
    LOCATION,
    SEED,
    run_batches,
    stage_batch,
    staged_manifest,
)


class Meanwhile(S3Storage):
    """Runs `meanwhile` right before its checkpoint compare-and-swap: a racing commit."""

    def __init__(self, location: str, meanwhile: Callable[[], object]) -> None:
        super().__init__(location)
        self.meanwhile: Callable[[], object] | None = meanwhile

    def _put(self, key: str, body: bytes, **extra: Any) -> str:
        run, self.meanwhile = self.meanwhile, None
        if key == self.checkpoint_key and "IfMatch" in extra and run is not None:
            run()
        else:
            self.meanwhile = run
        return super()._put(key, body, **extra)


def test_the_same_batch_committed_by_another_writer_is_refused_not_counted(s3: Any) -> None:
    """Two clusters compute the same bytes for a batch: only the writer of the commit may
    take it as done (its own retry); the other gets StaleBatch, before or after its
    compare-and-swap, and moves on to the next batch."""
    pipeline = Pipeline(LOCATION, seed=SEED)
    job, manifest = staged_manifest(pipeline)
    a, b = replace(manifest, writer="run-a"), replace(manifest, writer="run-b")
    storage = S3Storage(pipeline.location)

    won: list[tuple[Checkpoint, bool]] = []
    loser = Meanwhile(pipeline.location, lambda: won.append(storage.commit(job.checkpoint, a)))
    with pytest.raises(StaleBatch, match="another writer moved"):
        loser.commit(job.checkpoint, b)  # its compare-and-swap finds a's commit
    [(committed, wrote)] = won
    assert wrote and committed.batch_number == 1
    with pytest.raises(StaleBatch, match="committed by another writer"):
        storage.commit(job.checkpoint, b)  # it reads a's commit first
    assert storage.commit(job.checkpoint, a) == (committed, False)  # a's own retry

    # A retry whose first put took effect but whose answer was lost finds its own
    # commit at its compare-and-swap: done, not refused.
    job, manifest = staged_manifest(pipeline)
    mine = replace(manifest, writer="run-c")
    earlier = Meanwhile(pipeline.location, lambda: storage.commit(job.checkpoint, mine))
    done, wrote = earlier.commit(job.checkpoint, mine)
    assert (done.batch_number, wrote) == (2, False)
    assert S3Storage(pipeline.location).read_checkpoint(SEED) == done


def test_a_transform_whose_staged_part_another_run_committed_and_dropped_is_stale(s3: Any) -> None:
    """Clusters running one pipeline stage a batch under the same names; when one commits
    it and drops them, the other's transform must give the batch up, not retry forever."""
    pipeline = Pipeline(LOCATION, seed=SEED)
    part = PartJob(pipeline, Checkpoint.initial(SEED), 1, None, 0, None)
    extracted = ActivityEnvironment().run(Extractor(open_storage).extract_purchases, part)
    run_batches(pipeline, 1)  # the other run: the same batch, committed and dropped
    transform = TransformJob(part, extracted.open_purchases, with_window=True)
    with pytest.raises(ApplicationError, match="another run committed it") as refused:
        ActivityEnvironment().run(Transformer(open_storage).derive_lifecycle_events, transform)
    assert refused.value.type == STALE_BATCH and refused.value.non_retryable


@pytest.mark.parametrize("loser", ["day", "span"])
def test_a_commit_that_loses_to_another_shape_leaves_no_rows_behind(s3: Any, loser: str) -> None:
    """Runs of different lengths on one prefix race with different shapes (`--runs 30`
    commits a span, `--runs 3` single days; their batch workflow ids differ, so Temporal
    does not serialise them). The loser's objects must never count as committed rows."""
    pipeline = Pipeline(LOCATION, seed=SEED)
    span, day = stage_batch(pipeline, days=30), stage_batch(pipeline)
    first, second = (day, span) if loser == "day" else (span, day)
    storage = S3Storage(pipeline.location)
    racing = Meanwhile(
        pipeline.location, lambda: storage.commit(second.checkpoint, manifest_of(second))
    )
    with pytest.raises(StaleBatch, match="another writer moved"):
        racing.commit(first.checkpoint, manifest_of(first))
    if loser == "span":  # the day won: the other 29 days, as one span
        rest = stage_batch(pipeline, days=29)
        storage.commit(rest.checkpoint, manifest_of(rest))
    committed = storage.read_checkpoint(SEED)
    assert committed.batch_number == 30
    window = storage.read_window(committed, date(2020, 1, 1), ("transaction_id",))
    assert sorted(window["transaction_id"]) == list(
        range(1, committed.last_transaction_id + 1)
    )  # every purchase once


def test_a_checkpoint_created_between_a_readers_get_and_its_listing_is_read(s3: Any) -> None:
    """A new pipeline: the reader's GET finds no checkpoint, a racing writer then creates
    it and commits batch 1, and the reader's listing finds objects. That is a race, not
    a lost checkpoint (the writer creates checkpoint 0 before any object)."""
    pipeline = Pipeline(LOCATION, seed=SEED)
    job, manifest = staged_manifest(pipeline)
    storage = S3Storage(pipeline.location)

    class Late(S3Storage):
        def _fetch(self, key: str) -> tuple[bytes, Any] | None:
            found = super()._fetch(key)
            if key == self.checkpoint_key and not won:
                won.append(storage.commit(job.checkpoint, manifest))
            return found

    won: list[tuple[Checkpoint, bool]] = []
    assert Late(pipeline.location).read_checkpoint(SEED) == won[0][0]

"""Rewind on S3 (moto): back to the end of a commit, objects and ledger included; replay."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from first_temporal.activities.loader import Loader
from first_temporal.config import Pipeline, open_storage
from first_temporal.jobs import RewindJob
from first_temporal.status import ledger_lines
from first_temporal.tests.batches import run_batch
from first_temporal.tests.s3_batches import BUCKET, SEED, objects, run_batches

rewind_tables = Loader(open_storage).rewind_tables


def pipeline(name: str) -> Pipeline:
    return Pipeline(location=f"s3://{BUCKET}/{name}", seed=SEED)


def history(p: Pipeline, upto: int) -> None:
    """Up to 25 batches: 10 days, a 10-day span (batches 11-20), 5 days."""
    run_batches(p, min(upto, 10))
    if upto >= 20:
        run_batch(p, days=10)
    if upto > 20:
        run_batches(p, upto - 20)


def under(s3: Any, name: str) -> dict[str, bytes]:
    return {k.split("/", 1)[1]: v for k, v in objects(s3).items() if k.startswith(f"{name}/")}


def rewind(p: Pipeline, batch: int) -> int:
    return ActivityEnvironment().run(rewind_tables, RewindJob(p, batch)).removed


@pytest.mark.parametrize("batch", [10, 20, 25])
def test_rewind_to_the_end_of_a_commit_leaves_what_a_pipeline_that_stopped_there_has(
    s3: Any, batch: int
):
    history(pipeline("a"), 25)
    history(pipeline("b"), batch)
    assert rewind(pipeline("a"), batch) == 25 - batch
    assert under(s3, "a") == under(s3, "b")
    assert not any(key.startswith("_staging/") for key in under(s3, "b"))  # a span's too


def test_rewind_to_0_leaves_the_catalogue_and_checkpoint_0(s3: Any):
    history(pipeline("a"), 25)
    assert rewind(pipeline("a"), 0) == 25
    left = under(s3, "a")
    assert sorted(left) == ["_checkpoint/placeholder.csv", "product/product.csv"]
    run_batches(pipeline("a"), 3)
    run_batches(pipeline("b"), 3)
    assert under(s3, "a") == under(s3, "b")  # and the replay starts from the first day


def test_rewind_then_replay_gives_the_same_objects(s3: Any):
    history(pipeline("a"), 25)
    before = under(s3, "a")
    rewind(pipeline("a"), 10)
    run_batch(pipeline("a"), days=10)
    run_batches(pipeline("a"), 5)
    assert under(s3, "a") == before


@pytest.mark.parametrize(("batch", "says"), [(15, "span that ends at batch 20"), (26, "1-25")])
def test_a_batch_that_cannot_be_restored_is_refused_and_nothing_changes(
    s3: Any, batch: int, says: str
):
    history(pipeline("a"), 25)
    before = under(s3, "a")
    with pytest.raises(ApplicationError) as err:
        rewind(pipeline("a"), batch)
    assert err.value.non_retryable and says in str(err.value)
    assert under(s3, "a") == before


def test_status_shows_the_s3_ledger_and_a_broken_link(s3: Any):
    history(pipeline("a"), 25)
    lines = ledger_lines(pipeline("a"))
    assert lines[0].startswith("ledger:     last 5 row(s) to batch 25: ok")
    assert [line.split()[0] for line in lines[2:]] == ["21", "22", "23", "24", "25"]
    key = "a/_ledger/batch-000023.csv"
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    s3.put_object(Bucket=BUCKET, Key=key, Body=body.replace(b",", b",1", 1))  # batch 23's
    assert "BROKEN: a row does not chain" in ledger_lines(pipeline("a"))[0]

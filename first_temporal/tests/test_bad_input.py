"""Bad input ends the batch at once with one line naming file, line/column and fault,
and changes not one byte (nor creates a table)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from first_temporal.activities.errors import BAD_INPUT
from first_temporal.activities.extractor import Extractor
from first_temporal.activities.loader import Loader
from first_temporal.config import Pipeline, open_storage
from first_temporal.jobs import PipelineRef
from first_temporal.tests.batches import run_batches, stage_batch
from first_temporal.tests.snapshots import snapshot

read_checkpoint = Extractor(open_storage).read_checkpoint
load_batch = Loader(open_storage).load_batch


def edit(name: str, change: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def apply(directory: Path) -> None:
        path = directory / name
        path.write_bytes(change(path.read_bytes()))

    return apply


def replace_line(name: str, index: int, new: bytes) -> Callable[[Path], None]:
    def change(raw: bytes) -> bytes:
        lines = raw.split(b"\n")
        lines[index] = new
        return b"\n".join(lines)

    return edit(name, change)


def field(raw: bytes, line: int, column: int, value: bytes) -> bytes:
    lines = raw.split(b"\n")
    cells = lines[line].split(b",")
    cells[column] = value
    lines[line] = b",".join(cells)
    return b"\n".join(lines)


CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    "checkpoint wrong header": (
        replace_line("placeholder.csv", 0, b"date,last_customer,last_txn"),
        "placeholder.csv line 1",
    ),
    "checkpoint non-numeric id": (
        edit("placeholder.csv", lambda raw: field(raw, 1, 1, b"10a0")),
        "placeholder.csv line 2 column 2 (last_customer_id): '10a0' is not an integer",
    ),
    "checkpoint impossible date": (
        edit("placeholder.csv", lambda raw: field(raw, 1, 0, b"2020-02-30")),
        "placeholder.csv line 2 column 1 (previous_date): '2020-02-30' is not a valid",
    ),
    "checkpoint binary garbage": (
        edit("placeholder.csv", lambda raw: b"\x89PNG\r\n\x1a\n\x00\xff\xfe" * 20),
        "placeholder.csv line 1: not UTF-8",
    ),
    "checkpoint empty while tables hold rows": (
        edit("placeholder.csv", lambda raw: b""),
        "placeholder.csv: empty while purchase.csv holds rows",
    ),
    "checkpoint missing while tables hold rows": (
        lambda d: (d / "placeholder.csv").unlink(),
        "placeholder.csv: missing while purchase.csv holds rows",
    ),
    "table missing while the checkpoint says it has rows": (
        lambda d: (d / "customer.csv").unlink(),
        "customer.csv: missing while placeholder.csv says it holds",
    ),
    "table with a renamed column": (
        edit("purchase.csv", lambda raw: raw.replace(b"last_name", b"surname", 1)),
        "purchase.csv line 1 column 3: expected column 'last_name', found 'surname'",
    ),
    "table without a header": (
        edit("customer.csv", lambda raw: raw.split(b"\n", 1)[1]),
        "customer.csv line 1 column 1: expected column 'customer_id', found '100000'",
    ),
    "table shorter than the checkpoint says": (
        edit("purchase.csv", lambda raw: raw[: len(raw) - 200]),
        "purchase.csv: holds",
    ),
    "checkpoint claims more rows and higher ids than the tables hold": (
        edit(
            "placeholder.csv",
            lambda raw: field(field(raw, 1, 2, b"40"), 1, 6, b"40"),
        ),
        "purchase.csv line",
    ),
    "checkpoint claims a later date than the tables hold": (
        edit("placeholder.csv", lambda raw: field(raw, 1, 0, b"2020-07-30")),
        "the checkpoint claims data the table does not hold",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_refused_with_one_clear_line_and_nothing_changes(
    case: str, pipeline: Pipeline, data_dir: Path
):
    run_batches(pipeline, 2)
    damage, expected_message = CASES[case]
    damage(data_dir)
    before = snapshot(data_dir)
    with pytest.raises(ApplicationError) as err:
        ActivityEnvironment().run(read_checkpoint, PipelineRef(pipeline))
    assert err.value.type == BAD_INPUT and err.value.non_retryable
    assert expected_message in str(err.value)
    assert "\n" not in str(err.value)
    assert snapshot(data_dir) == before


def test_a_load_refuses_damage_that_appeared_after_extraction(pipeline: Pipeline, data_dir: Path):
    run_batches(pipeline, 1)
    job = stage_batch(pipeline)
    (data_dir / "dispute.csv").write_bytes(b"garbage\n")
    before = snapshot(data_dir)
    with pytest.raises(ApplicationError) as err:
        ActivityEnvironment().run(load_batch, job)
    assert err.value.type == BAD_INPUT and err.value.non_retryable
    assert "dispute.csv line 1 column 1" in str(err.value)
    assert "\n" not in str(err.value)
    assert snapshot(data_dir) == before


def test_a_data_dir_that_is_a_file_is_refused_and_no_table_is_created(tmp_path: Path):
    target = tmp_path / "not-a-dir"
    target.write_text("hello")
    pipeline = Pipeline(location=str(target), seed=1)
    with pytest.raises(ApplicationError) as err:
        ActivityEnvironment().run(read_checkpoint, PipelineRef(pipeline))
    assert "the data directory is a file" in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not-a-dir"]


def test_a_different_seed_on_existing_tables_is_refused(pipeline: Pipeline, data_dir: Path):
    run_batches(pipeline, 1)
    other = Pipeline(location=pipeline.location, seed=pipeline.seed + 1)
    with pytest.raises(ApplicationError) as err:
        ActivityEnvironment().run(read_checkpoint, PipelineRef(other))
    assert f"built with seed {pipeline.seed}" in str(err.value)


def test_a_new_pipeline_reads_the_initial_checkpoint_and_writes_nothing(data_dir: Path):
    pipeline = Pipeline(location=str(data_dir), seed=1)
    cp = ActivityEnvironment().run(read_checkpoint, PipelineRef(pipeline))
    assert (cp.batch_number, cp.last_customer_id, cp.last_transaction_id) == (0, 99999, 0)
    assert not data_dir.exists()

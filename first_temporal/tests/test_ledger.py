"""The load ledger and proof by recomputation (python -m first_temporal.verify)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from first_temporal import verify
from first_temporal.config import Pipeline
from first_temporal.domain import ledger, schema
from first_temporal.settings import Tuning
from first_temporal.storage.local import LocalStorage
from first_temporal.tests.batches import read_checkpoint, run_batch, run_batches
from first_temporal.tests.snapshots import UNCOMMITTED

BULK = Tuning(bulk_threshold=1_000, part_rows=1_500)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 daily batches, a 40-day span, a bulk day in four parts, 5 more days."""
    root = tmp_path_factory.mktemp("history") / "data"
    pipeline = Pipeline(location=str(root), seed=7)
    run_batches(pipeline, 20)
    run_batch(pipeline, days=40)
    run_batch(pipeline, purchases=5_000, tuning=BULK)
    run_batches(pipeline, 5)
    return root


def copy_of(history: Path, tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(history, target, ignore=UNCOMMITTED)
    return target


def rows_of(root: Path) -> tuple[list[bytes], list[ledger.LedgerRow]]:
    lines = ledger.lines_of((root / ledger.LEDGER_FILE).read_bytes())
    return lines, [ledger.parse(line, i + 2) for i, line in enumerate(lines)]


def test_one_row_per_batch_chained_and_matching_the_tables(history: Path):
    lines, rows = rows_of(history)
    cp = read_checkpoint(Pipeline(location=str(history), seed=7))
    assert [r.batch_number for r in rows] == list(range(1, 67)) and cp.batch_number == 66
    assert ledger.broken_link(lines) is None
    assert rows[-1].checkpoint(7, cp.window_offset) == cp
    assert rows[60].tables[schema.PURCHASE].rows - rows[59].tables[schema.PURCHASE].rows == 5_000
    for table in schema.BATCH_TABLES:
        data = (history / f"{table}.csv").read_bytes()
        start = len(schema.header_line(table))
        for row in rows:
            end = row.tables[table].end
            assert hashlib.sha256(data[start:end]).hexdigest() == row.tables[table].sha256
            start = end
        assert start == len(data)


def test_verify_passes_on_an_untouched_history(history: Path, capsys: pytest.CaptureFixture[str]):
    assert verify.main(["--data-dir", str(history)]) == 0
    assert "batches 1-66" in capsys.readouterr().out
    assert verify.main(["--data-dir", str(history), "--from", "21", "--to", "62"]) == 0


@pytest.mark.parametrize("table", schema.BATCH_TABLES)
def test_verify_names_one_changed_character_in_a_middle_batch(
    history: Path, tmp_path: Path, table: str, capsys: pytest.CaptureFixture[str]
):
    root = copy_of(history, tmp_path)
    path = root / f"{table}.csv"
    lines = path.read_bytes().split(b"\n")
    number = len(lines) // 2  # 0-based index: file line number + 1
    line = bytearray(lines[number])
    # A digit for another digit, a letter for another: the row still looks valid.
    at = len(line) - 2
    line[at] = ord("1") if line[at] != ord("1") else ord("2")
    lines[number] = bytes(line)
    path.write_bytes(b"\n".join(lines))
    assert verify.main(["--data-dir", str(root)]) == 1
    err = capsys.readouterr().err
    assert f"{table}.csv line {number + 1}," in err and "MISMATCH batch " in err


def test_verify_finds_an_edited_ledger_row(
    history: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    root = copy_of(history, tmp_path)
    path = root / ledger.LEDGER_FILE
    lines = path.read_bytes().split(b"\n")
    lines[30] = lines[30].replace(b",", b",9", 1)  # batch 30's number
    path.write_bytes(b"\n".join(lines))
    assert verify.main(["--data-dir", str(root)]) == 1
    assert "ledger.csv line 32" in capsys.readouterr().err  # the row after it


def test_verify_refuses_what_it_cannot_check(
    history: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    assert verify.main(["--data-dir", str(tmp_path / "nothing")]) == 2
    assert verify.main(["--data-dir", str(history), "--from", "60", "--to", "70"]) == 2
    assert "has batches 1-66" in capsys.readouterr().err


def test_a_data_dir_without_a_ledger_starts_one_at_its_next_batch(
    history: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    root = copy_of(history, tmp_path)
    (root / ledger.LEDGER_FILE).unlink()  # as a data dir of an older version
    run_batches(Pipeline(location=str(root), seed=7), 3)
    lines, rows = rows_of(root)
    assert [r.batch_number for r in rows] == [67, 68, 69] and ledger.broken_link(lines) is None
    assert verify.main(["--data-dir", str(root), "--from", "68"]) == 0
    assert verify.main(["--data-dir", str(root)]) == 2
    assert "verify --from 68" in capsys.readouterr().err


@pytest.mark.parametrize("leftover", [b"6", b"67,2021-0", b"67,"])
def test_part_of_a_row_left_by_a_full_disk_is_no_row(
    history: Path, tmp_path: Path, leftover: bytes
):
    """A commit that died in the ledger's append (ENOSPC) leaves part of a line past the
    checkpoint: readers skip it and the next commit cuts it, as with the tables."""
    root, clean = copy_of(history, tmp_path / "cut"), copy_of(history, tmp_path / "clean")
    with open(root / ledger.LEDGER_FILE, "ab") as fh:
        fh.write(leftover)
    pipeline = Pipeline(location=str(root), seed=7)
    cp = read_checkpoint(pipeline)
    lines, _ = LocalStorage(root).ledger_tail(cp, 2)
    assert [ledger.parse(line, 0).batch_number for line in lines] == [65, 66]
    assert verify.main(["--data-dir", str(root)]) == 0
    run_batches(pipeline, 1)
    run_batches(Pipeline(location=str(clean), seed=7), 1)
    assert (root / ledger.LEDGER_FILE).read_bytes() == (clean / ledger.LEDGER_FILE).read_bytes()

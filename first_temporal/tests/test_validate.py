"""The table validator: clean on real generated tables, and each rule caught on an old row."""

from __future__ import annotations

from pathlib import Path

import pytest

from first_temporal.domain import schema
from first_temporal.domain.checkpoint import parse_checkpoint
from first_temporal.tests.tables import (
    assert_caught,
    edit,
    make_tables,
    read_rows,
    write_rows,
)
from first_temporal.validate import Unusable, main, validate

# -- clean -----------------------------------------------------------------------------


def test_generated_tables_are_clean(clean_dir: Path) -> None:
    report = validate(clean_dir)
    assert report.clean, "\n".join(report.lines())
    cp = parse_checkpoint((clean_dir / schema.CHECKPOINT_FILE).read_bytes())
    assert report.rows[schema.PURCHASE] == cp.last_transaction_id
    assert report.rows[schema.PRODUCT] == len(schema.CATALOGUE)
    assert report.summary().startswith("clean: 5 tables (purchase ")


def test_cli_exit_codes(
    clean_dir: Path, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--data-dir", str(clean_dir)]) == 0
    assert "clean:" in capsys.readouterr().out
    assert main(["--data-dir", str(tmp_path / "nowhere")]) == 2
    assert "no such directory" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["--data-dir", str(tmp_path / "empty")]) == 2
    with pytest.raises(Unusable):
        validate(tmp_path / "empty")
    edit(data, schema.PURCHASE, 3, refund_till="2020-01-01")
    assert main(["--data-dir", str(data)]) == 1
    out = capsys.readouterr().out
    assert (
        "purchase.csv line 3 column refund_till: 2020-01-01 is not purchase_date + 30 days" in out
    )
    assert out.strip().splitlines()[-1].startswith("1 violation in 5 tables (purchase ")


def test_output_is_capped_but_everything_is_counted(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = read_rows(data, schema.PURCHASE)
    for row in rows[1:]:
        row[10] = "FALSE"  # same length: the window offset stays right
    write_rows(data, schema.PURCHASE, rows)
    assert main(["--data-dir", str(data)]) == 1
    out = capsys.readouterr().out.splitlines()
    shown = [line for line in out if line.startswith("purchase.csv line ")]
    assert len(shown) == 20
    assert shown[0] == "purchase.csv line 2 column delivered: 'FALSE' is not one of False [type]"
    n = len(rows) - 1
    assert f"  ... and {n - 20} more type violations in purchase.csv column delivered" in out
    assert out[-1].startswith(f"{n} violations in 5 tables")


def test_uncommitted_leftover_is_a_warning_and_ignored(data: Path) -> None:
    with open(data / "purchase.csv", "ab") as fh:
        fh.write(b"garbage,half a row\n\xff\xfe")
    report = validate(data)
    assert report.clean, report.lines()
    assert any("purchase.csv" in w and "leftover" in w for w in report.warnings)


def test_lost_committed_bytes(data: Path) -> None:
    path = data / "dispute.csv"
    path.write_bytes(path.read_bytes()[:-10])
    report = validate(data)
    assert_caught(report, "committed_bytes", "dispute.csv", None)


# -- the generator, over many batches and seeds ------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3, 2024])
def test_generator_keeps_every_rule(seed: int, tmp_path: Path) -> None:
    cp = make_tables(tmp_path, batches=120, seed=seed)
    report = validate(tmp_path)
    assert report.clean, f"seed {seed}:\n" + "\n".join(report.lines())
    purchases = read_rows(tmp_path, schema.PURCHASE)[1:]
    kinds = {row[3] for row in read_rows(tmp_path, schema.DISPUTE)[1:]}
    assert kinds == set(schema.DISPUTE_TYPES), f"seed {seed}: dispute types {kinds}"
    repeat = sum(row[4] == schema.REPEAT for row in purchases) / len(purchases)
    assert 0.15 <= repeat <= 0.50, f"seed {seed}: repeat share {repeat:.2f}"
    settled = {row[0] for row in read_rows(tmp_path, schema.DELIVERY)[1:]}
    due = [row[5] for row in purchases if row[8] <= cp.previous_date]
    assert due and not [t for t in due if t not in settled], f"seed {seed}: undelivered"

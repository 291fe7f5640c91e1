"""The mart against real tables made by the pipeline's own generator and storage."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pytest
from temporalio.exceptions import CancelledError
from temporalio.testing import ActivityEnvironment

from first_temporal.config import Pipeline
from first_temporal.domain import schema
from first_temporal.domain.checkpoint import Checkpoint
from first_temporal.domain.errors import BadInput
from first_temporal.domain.rates import Rates
from first_temporal.mart import MartOutOfSync, apply_pending, mart_path, rebuild, reconcile
from first_temporal.mart import db as mart_db
from first_temporal.mart import ddl as mart_ddl
from first_temporal.mart import load as mart_load
from first_temporal.mart import stage as mart_stage
from first_temporal.mart.__main__ import main as mart_main
from first_temporal.storage.local import LocalStorage
from first_temporal.tests import tables as shared_tables
from first_temporal.tests.batches import run_batch as run_batch_of
from first_temporal.tests.batches import run_batches

SEED = 7
# Higher dispute shares than the defaults so every type shows up within a few batches.
RATES = Rates(cancellation=0.10, return_for_refund=0.10, return_for_no_refund=0.05)


def run_batch(data_dir: Path, seed: int = SEED, rates: Rates = RATES) -> Checkpoint:
    """One business day, as the activities do it (see tests/tables.py)."""
    return shared_tables.make_tables(data_dir, 1, seed, rates)


def make_tables(data_dir: Path, batches: int, seed: int = SEED, rates: Rates = RATES) -> Checkpoint:
    return shared_tables.make_tables(data_dir, batches, seed, rates)


def mart_counts(data_dir: Path) -> dict[str, int]:
    con = duckdb.connect(str(mart_path(data_dir)), read_only=True)
    try:
        return {
            table: int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]
            for table in ("fact_sales", "fact_dispute", "fact_delivery", "dim_customer")
        }
    finally:
        con.close()


def test_sixty_batches_applied_one_at_a_time_reconcile(tmp_path: Path) -> None:
    first = apply_pending(str(tmp_path))  # no tables yet: an empty mart
    assert first.created and first.to_batch == 0
    for number in range(1, 61):
        run_batch(tmp_path)
        result = apply_pending(str(tmp_path))
        assert (result.from_batch, result.to_batch) == (number - 1, number)
        if number in (1, 30, 60):
            assert reconcile(str(tmp_path)) == []
    counts = mart_counts(tmp_path)
    cp = LocalStorage(tmp_path).read_checkpoint(SEED)
    assert counts["fact_sales"] == cp.rows[schema.PURCHASE] == counts["fact_delivery"]
    assert counts["fact_dispute"] == cp.rows[schema.DISPUTE] > 0
    assert counts["dim_customer"] == cp.rows[schema.CUSTOMER]
    con = duckdb.connect(str(mart_path(tmp_path)), read_only=True)
    try:
        types = dict(
            con.execute("SELECT dispute_type, disputes FROM v_dispute_rate_by_type").fetchall()
        )
        assert set(types) == set(schema.DISPUTE_TYPES) and all(types.values())
        statuses = dict(con.execute("SELECT status, purchases FROM v_delivery_status").fetchall())
        assert set(statuses) == {"pending", "delivered", "cancelled"}
        days = con.execute("SELECT min(date), max(date), count(*) FROM dim_date").fetchone()
        assert days is not None and (days[1] - days[0]).days + 1 == days[2]  # contiguous
    finally:
        con.close()


def snapshot(data_dir: Path) -> dict[str, list[tuple[object, ...]]]:
    con = duckdb.connect(str(mart_path(data_dir)), read_only=True)
    try:
        return {
            table: con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
            for table in (
                "fact_sales",
                "fact_dispute",
                "fact_delivery",
                "dim_customer",
                "dim_date",
                "dim_product",
            )
        }
    finally:
        con.close()


def test_rebuild_matches_incremental_and_leaves_no_temp_files(tmp_path: Path) -> None:
    for _ in range(4):
        make_tables(tmp_path, 3)
        apply_pending(str(tmp_path))  # several batches per apply, as after a paused mart
    incremental = snapshot(tmp_path)
    result = rebuild(str(tmp_path))
    assert result.created and (result.from_batch, result.to_batch) == (0, 12)
    assert reconcile(str(tmp_path)) == []
    assert snapshot(tmp_path) == incremental
    assert sorted(p.name for p in tmp_path.glob("*mart.duckdb*")) == ["mart.duckdb"]


def test_crash_inside_the_transaction_rolls_back_and_retry_applies_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_tables(tmp_path, 6)
    apply_pending(str(tmp_path))
    make_tables(tmp_path, 5)  # five batches pending, with deliveries and disputes among them
    before = snapshot(tmp_path)

    def crash(con: duckdb.DuckDBPyConnection, rows: object) -> None:
        raise RuntimeError("worker killed mid-transaction")

    # Customers, purchases and disputes are already inserted when the deliveries step dies.
    monkeypatch.setitem(mart_load.LOADERS, schema.DELIVERY, crash)
    with pytest.raises(RuntimeError, match="worker killed"):
        apply_pending(str(tmp_path))
    assert snapshot(tmp_path) == before  # nothing of the failed attempt is visible
    monkeypatch.undo()
    retried = apply_pending(str(tmp_path))
    assert (retried.from_batch, retried.to_batch) == (6, 11)
    assert reconcile(str(tmp_path)) == []


def test_a_cancelled_apply_stays_retryable_and_the_retry_applies_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SDK cancels a thread-pool activity by raising CancelledError inside it, wherever
    it is (here: while a staged piece is read). That must not read as bad input
    (non-retryable)."""
    make_tables(tmp_path, 4)

    def cancelled(con: duckdb.DuckDBPyConnection, table: str) -> object:
        raise CancelledError("Cancelled")

    monkeypatch.setattr(mart_stage, "survey", cancelled)
    with pytest.raises(CancelledError):
        apply_pending(str(tmp_path))
    monkeypatch.undo()
    assert apply_pending(str(tmp_path)).to_batch == 4
    assert reconcile(str(tmp_path)) == []


def test_applying_twice_is_a_no_op(tmp_path: Path) -> None:
    make_tables(tmp_path, 5)
    first = apply_pending(str(tmp_path))
    once = snapshot(tmp_path)
    again = apply_pending(str(tmp_path))
    assert (again.from_batch, again.to_batch, again.new_bytes) == (5, 5, 0)
    assert set(again.new_rows.values()) == {0} and first.applied == 5
    assert snapshot(tmp_path) == once
    assert reconcile(str(tmp_path)) == []


def test_leftover_bytes_past_the_checkpoint_are_ignored(tmp_path: Path) -> None:
    make_tables(tmp_path, 4)
    leftovers = {
        schema.PURCHASE: b"100001,Ann,Lee,ann@x.com,Repeat Customer,99999,1,2030-01-01,20",
        schema.CUSTOMER: b"199999,Ann,Lee,ann@x.com,2030-01-01\n",
        schema.DISPUTE: b"100000,1,1,cancellation,2030-01-01\n100000,2,1,canc",
        schema.DELIVERY: b"1,delivered,2030-01-02\n",
    }
    for table, junk in leftovers.items():  # what a load that died before its checkpoint leaves
        with open(tmp_path / f"{table}.csv", "ab") as fh:
            fh.write(junk)
    apply_pending(str(tmp_path))
    assert reconcile(str(tmp_path)) == []
    run_batch(tmp_path)  # the next load cuts the leftovers and appends the real batch
    assert apply_pending(str(tmp_path)).to_batch == 5
    assert reconcile(str(tmp_path)) == []


def test_tables_reset_behind_the_mart_ask_for_a_rebuild(tmp_path: Path) -> None:
    make_tables(tmp_path, 4)
    apply_pending(str(tmp_path))
    for table in (*schema.BATCH_TABLES, schema.PRODUCT):
        (tmp_path / f"{table}.csv").unlink()
    (tmp_path / schema.CHECKPOINT_FILE).unlink()
    make_tables(tmp_path, 2, rates=Rates())  # the same seed with other rates: other rows
    with pytest.raises(MartOutOfSync, match=r"batch 4.*up to batch 2.*rebuild"):
        apply_pending(str(tmp_path))
    make_tables(tmp_path, 3, rates=Rates())  # at batch 5 now, but not the batches it applied
    with pytest.raises(MartOutOfSync, match=r"changed under the mart.*rebuild"):
        apply_pending(str(tmp_path))
    rebuild(str(tmp_path))
    assert reconcile(str(tmp_path)) == []


def test_rows_edited_before_the_marts_offset_ask_for_a_rebuild(tmp_path: Path) -> None:
    make_tables(tmp_path, 3)
    apply_pending(str(tmp_path))
    path = tmp_path / f"{schema.CUSTOMER}.csv"
    raw = bytearray(path.read_bytes())
    name_at = raw.rindex(b"\n", 0, len(raw) - 1) + len("\n100000,")  # last row's first name
    raw[name_at] = ord("Z") if raw[name_at] != ord("Z") else ord("Y")
    path.write_bytes(bytes(raw))  # same length, still a valid table: only the mart can tell
    run_batch(tmp_path)
    with pytest.raises(MartOutOfSync, match=r"rewritten since batch 3.*rebuild"):
        apply_pending(str(tmp_path))


def test_progress_is_reported_and_cli_applies_reconciles_and_exports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_tables(tmp_path, 5)
    ticks: list[int] = []
    apply_pending(str(tmp_path), progress=lambda: ticks.append(1))
    assert len(ticks) == len(schema.BATCH_TABLES)  # one chunk per table here
    make_tables(tmp_path, 2)
    assert mart_main(["apply", "--data-dir", str(tmp_path)]) == 0
    assert mart_main(["reconcile", "--data-dir", str(tmp_path)]) == 0
    out = tmp_path / "parquet"
    assert mart_main(["export", "--data-dir", str(tmp_path), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "batches 5 -> 7" in printed and "reconciled" in printed
    assert list((out / "fact_sales").glob("year=2020/month=7/*.parquet"))
    con = duckdb.connect()
    try:
        exported = con.execute(
            f"SELECT count(*) FROM read_parquet('{out}/fact_sales/**/*.parquet')"
        ).fetchall()[0][0]
    finally:
        con.close()
    assert exported == mart_counts(tmp_path)["fact_sales"]


def test_large_backlogs_are_applied_in_line_aligned_pieces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_tables(tmp_path, 6)
    monkeypatch.setattr(mart_stage, "PIECE_BYTES", dict.fromkeys(schema.BATCH_TABLES, 700))
    ticks: list[int] = []
    result = apply_pending(str(tmp_path), progress=lambda: ticks.append(1))
    assert result.to_batch == 6 and len(ticks) > 2 * len(schema.BATCH_TABLES)
    assert reconcile(str(tmp_path)) == []
    assert not list(tmp_path.glob(".mart.duckdb.stage-*"))  # the staged pieces are gone
    path = tmp_path / f"{schema.PURCHASE}.csv"
    data = path.read_bytes()
    start = len(schema.header_line(schema.PURCHASE))
    with open(path, "rb") as fh:
        ranges = list(mart_stage.pieces(fh, start, len(data), 100))
    assert [low for low, _ in ranges[1:]] == [high for _, high in ranges[:-1]]
    assert (ranges[0][0], ranges[-1][1]) == (start, len(data))
    assert all(data[high - 1 : high] == b"\n" for _, high in ranges)


def test_a_bulk_apply_on_two_threads_holds_the_same_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A big backlog is read and inserted by two threads, in no set order: the same mart."""
    make_tables(tmp_path, 12)
    apply_pending(str(tmp_path))
    ordered = snapshot(tmp_path)
    mart_path(tmp_path).unlink()
    monkeypatch.setattr(mart_db, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(mart_stage, "READ_BUFFER_BYTES", 4096)  # many buffers to share
    apply_pending(str(tmp_path))
    assert snapshot(tmp_path) == ordered
    assert reconcile(str(tmp_path)) == []


def test_the_day_after_a_million_purchase_day_applies_within_the_memory_limit(
    tmp_path: Path,
) -> None:
    """That day delivers 585,000 of the bulk day's purchases: one statement joining all of
    them ran out of the writer's memory (DuckDB's OutOfMemoryException, retried forever)."""
    pipeline = Pipeline(location=str(tmp_path), seed=42)
    run_batch_of(pipeline, purchases=1_000_000)
    assert apply_pending(str(tmp_path)).new_rows[schema.PURCHASE] == 1_000_000
    run_batch_of(pipeline)
    result = apply_pending(str(tmp_path))
    cp = LocalStorage(tmp_path).read_checkpoint(42)
    assert result.to_batch == cp.batch_number == 2
    assert result.new_rows[schema.DELIVERY] == 585_323
    assert mart_counts(tmp_path)["fact_delivery"] == cp.rows[schema.PURCHASE]
    con = duckdb.connect(str(mart_path(tmp_path)), read_only=True)
    try:
        final = con.execute("SELECT count(*) FROM fact_delivery WHERE status <> 'pending'")
        assert final.fetchone() == (cp.rows[schema.DELIVERY],)
    finally:
        con.close()


def memory_limit(con: duckdb.DuckDBPyConnection) -> str:
    return str(mart_db.one(con, "SELECT current_setting('memory_limit')")[0])


def test_an_applys_memory_does_not_grow_with_the_day_unless_its_facts_have_keys(
    tmp_path: Path,
) -> None:
    """DuckDB holds the index entries of a keyed table's new rows in memory it cannot
    spill. The facts have no key, so any apply gets the writer's 32 MiB; a mart made while
    they had one gets room for them, applies as before, and loses them on rebuild."""
    keyed = mart_ddl.TABLES.replace(
        "transaction_id BIGINT NOT NULL", "transaction_id BIGINT PRIMARY KEY"
    )
    for data_dir, tables in ((tmp_path / "new", mart_ddl.TABLES), (tmp_path / "old", keyed)):
        data_dir.mkdir()
        make_tables(data_dir, 4)
        con = mart_db.connect(mart_path(data_dir))
        try:
            con.execute(tables)
            con.execute(mart_ddl.VIEWS)
            mart_load.seed_dimensions(con, data_dir)
            mart_db.fit_to_apply(con, 400 << 20)
            expected = "132.0 MiB" if tables is keyed else "32.0 MiB"
            assert (mart_db.keyed_facts(con), memory_limit(con)) == (tables is keyed, expected)
        finally:
            con.close()
        assert apply_pending(str(data_dir)).to_batch == 4
        assert reconcile(str(data_dir)) == []
    assert snapshot(tmp_path / "old") == snapshot(tmp_path / "new")
    rebuild(str(tmp_path / "old"))
    con = mart_db.connect(mart_path(tmp_path / "old"), read_only=True)
    try:
        assert not mart_db.keyed_facts(con)
    finally:
        con.close()


@pytest.mark.parametrize(
    ("first_row", "last_row", "reason"),
    [
        (b"20x", b"", r"purchase\.csv line (\d+): column purchase_date does not hold its type"),
        (b"", b"\r", r"purchase\.csv: .*committed data does not end at a line boundary"),
    ],
)
def test_unreadable_committed_bytes_are_bad_input_naming_the_table(
    tmp_path: Path, first_row: bytes, last_row: bytes, reason: str
) -> None:
    """A pending batch's row that is no longer a row: its first (a date made text) or its
    last (the line break gone)."""
    make_tables(tmp_path, 2)
    apply_pending(str(tmp_path))
    start = (tmp_path / f"{schema.PURCHASE}.csv").stat().st_size
    make_tables(tmp_path, 1)
    path = tmp_path / f"{schema.PURCHASE}.csv"
    data = bytearray(path.read_bytes())
    if first_row:
        date = data.index(b",20", start) + 1  # the row's first date
        data[date : date + len(first_row)] = first_row
    if last_row:
        data[-1:] = last_row
    path.write_bytes(bytes(data))
    with pytest.raises(BadInput, match=reason) as raised:
        apply_pending(str(tmp_path))
    if first_row:  # the line of the damaged row, and none of the row's values
        line = data[:date].count(b"\n") + 1
        assert f" line {line}:" in str(raised.value) and "20x" not in str(raised.value)


def test_a_statement_failing_inside_the_transaction_reports_its_own_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not DuckDB's "transaction is aborted" from some cleanup after it."""
    make_tables(tmp_path, 3)

    def keyless(con: duckdb.DuckDBPyConnection, rows: object) -> None:
        con.execute("INSERT INTO fact_sales (transaction_id) VALUES (NULL)")

    monkeypatch.setitem(mart_load.LOADERS, schema.DELIVERY, keyless)
    with pytest.raises(duckdb.ConstraintException):
        apply_pending(str(tmp_path))
    monkeypatch.undo()
    assert apply_pending(str(tmp_path)).to_batch == 3
    assert reconcile(str(tmp_path)) == []


def test_the_worker_applies_the_mart_at_low_cpu_priority_heartbeating_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Background work: batches sharing the worker go first (Linux thread niceness)."""
    from first_temporal.activities import mart as mart_activity
    from first_temporal.config import Pipeline
    from first_temporal.jobs import PipelineRef
    from first_temporal.mart.build import MartResult

    base = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    beat = threading.Event()
    seen: dict[str, int] = {}

    def apply(location: str) -> MartResult:
        seen["niceness"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        assert beat.wait(10)  # the activity heartbeats while the apply runs
        return MartResult(location, False, 3, 4, {"purchase": 12})

    monkeypatch.setattr(mart_activity, "apply_pending", apply)
    env = ActivityEnvironment()
    env.on_heartbeat = lambda *details: beat.set()
    summary = env.run(
        mart_activity.MartActivities().update_mart, PipelineRef(Pipeline(str(tmp_path), seed=SEED))
    )
    assert (summary.applied, summary.to_batch, summary.new_rows) == (True, 4, 12)
    assert seen["niceness"] == min(base + mart_activity.MART_NICENESS, 19)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == base


def test_the_duckdb_shell_users_install_opens_the_mart(tmp_path: Path):
    """`pip install duckdb-cli` (1.5.x) reads the mart read-only: every table and view."""
    data = tmp_path / "data"
    run_batches(Pipeline(location=str(data), seed=3), 30)
    apply_pending(str(data))
    mart = str(data / "mart.duckdb")
    with duckdb.connect(mart, read_only=True) as con:
        names = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
            ).fetchall()
        ]
        expected = {n: con.execute(f"SELECT count(*) FROM {n}").fetchall()[0][0] for n in names}
    assert {"fact_sales", "dim_customer", "v_revenue_by_make_month"} <= set(names)
    shell = Path(sys.executable).parent / "duckdb"
    queries = "".join(f"SELECT '{n}', count(*) FROM {n};\n" for n in names)
    done = subprocess.run(
        [str(shell), "-readonly", "-csv", "-noheader", mart],
        input=queries,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    found = dict(line.split(",") for line in done.stdout.split())
    assert {n: int(c) for n, c in found.items()} == expected

"""A bulk day's activities on their own: a retried chunk resumes after its last heartbeat;
the appender appends parts as chunks stage them, resumes from its heartbeat, and gives way
to the load when the files moved under it. (test_scale.py: it is cancelled when a chunk
fails.)"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from temporalio.converter import DataConverter
from temporalio.testing import ActivityEnvironment

from first_temporal import schema
from first_temporal.activities import bulk
from first_temporal.activities.bulk import chunk_bounds, generate_chunk
from first_temporal.activities.loader import append_staged_parts
from first_temporal.checkpoint import Checkpoint
from first_temporal.config import Pipeline
from first_temporal.jobs import AppendJob, ChunkJob, StagedChunk
from first_temporal.storage.base import staged_name, staging_folder
from first_temporal.storage.local import LocalStorage
from first_temporal.tests.batches import commit_bulk_day, generate_chunks, next_bulk_day
from first_temporal.tests.processes import wait_for
from first_temporal.tests.snapshots import tables

TOTAL, CHUNK_ROWS = 2_500, 700
APPENDED = (schema.PURCHASE, schema.CUSTOMER)


@pytest.fixture(autouse=True)
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "PART_ROWS", 300)  # 11 parts in 4 chunks


def as_received(value: Any) -> Any:
    """A heartbeat detail as a retried attempt gets it: through JSON, without type hints."""
    converter = DataConverter.default.payload_converter
    return converter.from_payloads(converter.to_payloads([value]))[0]


def begin(root: Path) -> tuple[Pipeline, Checkpoint, str]:
    pipeline = Pipeline(location=str(root), seed=5)
    return pipeline, *next_bulk_day(pipeline)


def chunk_jobs(pipeline: Pipeline, checkpoint: Checkpoint, day: str) -> list[ChunkJob]:
    return [
        ChunkJob(pipeline, checkpoint, day, i, low, high)
        for i, (low, high) in enumerate(chunk_bounds(TOTAL, CHUNK_ROWS))
    ]


def appended_ahead(
    pipeline: Pipeline, cp: Checkpoint, day: str
) -> tuple[list[StagedChunk], AppendJob, dict[str, int], list[Any]]:
    """Every chunk staged, then the appender run through them: its ends and heartbeats."""
    chunks = generate_chunks(pipeline, cp, day, TOTAL, CHUNK_ROWS)
    job = AppendJob(pipeline, cp, TOTAL, CHUNK_ROWS)
    beats: list[Any] = []
    first = ActivityEnvironment()
    first.on_heartbeat = lambda *details: beats.append(details)
    return chunks, job, first.run(append_staged_parts, job), beats


def caught_up(beats: list[Any], parts: int) -> bool:
    return bool(beats) and beats[-1][0] == parts


def copied_by_the_load(tmp_path: Path) -> dict[str, bytes]:
    """The same bulk day committed without the appender: the load copies every part."""
    pipeline, cp, day = begin(tmp_path / "copied")
    commit_bulk_day(pipeline, cp, day, generate_chunks(pipeline, cp, day, TOTAL, CHUNK_ROWS))
    return tables(tmp_path / "copied")


def test_a_retried_chunk_resumes_after_its_last_heartbeat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    pipeline, cp, day = begin(tmp_path / "data")
    job = chunk_jobs(pipeline, cp, day)[1]  # not the first: customer ids depend on chunk 0
    beats: list[Any] = []
    first = ActivityEnvironment()
    first.on_heartbeat = lambda *details: beats.append(details[0])
    whole = first.run(generate_chunk, job)
    assert len(beats) == 3  # one per part

    calls: list[int] = []
    part_frames = bulk._part_frames
    monkeypatch.setattr(
        bulk,
        "_part_frames",
        lambda *a: calls.append(a[2]) or part_frames(*a),  # type: ignore[func-returns-value]
    )
    retry = ActivityEnvironment()
    retry.info = replace(retry.info, heartbeat_details=[as_received(beats[1])])
    assert retry.run(generate_chunk, job) == whole
    assert calls == [job.start + 600]  # only the third part was generated again

    calls.clear()  # a staged part is gone (another machine's disk, say): start over
    LocalStorage(Path(pipeline.location)).staged_path(whole.staged[schema.PURCHASE][0]).unlink()
    assert retry.run(generate_chunk, job) == whole
    assert calls == [job.start, job.start + 300, job.start + 600]


def test_the_appender_appends_parts_as_chunks_land_and_the_load_only_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    expected = copied_by_the_load(tmp_path)
    pipeline, cp, day = begin(tmp_path / "data")
    beats: list[Any] = []
    env = ActivityEnvironment()
    env.on_heartbeat = lambda *details: beats.append(details)
    with ThreadPoolExecutor(1) as pool:
        appending = pool.submit(
            env.run, append_staged_parts, AppendJob(pipeline, cp, TOTAL, CHUNK_ROWS)
        )
        chunks, parts = [], 0
        for job in chunk_jobs(pipeline, cp, day):
            chunks.append(ActivityEnvironment().run(generate_chunk, job))
            parts += len(bulk.part_labels(job.start, job.end))
            wait_for(partial(caught_up, beats, parts), 10, "the appender")  # before the next
        heads = appending.result(timeout=10)
    sizes = {t: (tmp_path / "data" / f"{t}.csv").stat().st_size for t in APPENDED}
    assert heads == sizes

    appended: list[str] = []
    append = LocalStorage._append
    monkeypatch.setattr(
        LocalStorage,
        "_append",
        lambda self, t, *a: appended.append(t) or append(self, t, *a),  # type: ignore[func-returns-value]
    )
    commit_bulk_day(pipeline, cp, day, chunks, heads)
    assert tables(tmp_path / "data") == expected
    assert set(appended) == {schema.DISPUTE, schema.DELIVERY}  # the big two were there
    staging = tmp_path / "data" / "_staging"
    wait_for(lambda: not any(staging.iterdir()), 10, "the staged parts to be deleted")


def test_a_retried_appender_resumes_from_its_heartbeat_and_cuts_what_follows(tmp_path: Path):
    pipeline, cp, day = begin(tmp_path / "data")
    chunks, job, heads, beats = appended_ahead(pipeline, cp, day)
    appended = tables(tmp_path / "data")
    # Crashed after the heartbeat of a first batch of parts, in the middle of the next one.
    done, at = beats[0]
    assert 0 < done < 11 and heads != at
    for table in APPENDED:
        with open(tmp_path / "data" / f"{table}.csv", "r+b") as fh:
            fh.truncate(at[table])
            fh.seek(at[table])
            fh.write(b"half a part\n12,")
    retry = ActivityEnvironment()
    retry.info = replace(retry.info, heartbeat_details=[done, as_received(at)])
    assert retry.run(append_staged_parts, job) == heads
    assert tables(tmp_path / "data") == appended
    commit_bulk_day(pipeline, cp, day, chunks, heads)
    assert tables(tmp_path / "data") == copied_by_the_load(tmp_path)


def test_the_appender_gives_way_when_the_files_moved_under_it(tmp_path: Path):
    pipeline, cp, day = begin(tmp_path / "data")
    chunks, job, _, beats = appended_ahead(pipeline, cp, day)
    done, at = beats[0]
    with open(tmp_path / "data" / f"{schema.PURCHASE}.csv", "r+b") as fh:
        fh.truncate(at[schema.PURCHASE] - 1)  # shorter than its last heartbeat says
    retry = ActivityEnvironment()
    retry.info = replace(retry.info, heartbeat_details=[done, at])
    assert retry.run(append_staged_parts, job) == {}  # the load copies the parts itself
    commit_bulk_day(pipeline, cp, day, chunks)
    assert tables(tmp_path / "data") == copied_by_the_load(tmp_path)


def test_a_part_is_whole_once_its_purchase_file_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The appender's only signal: each part's purchase file is staged after the others."""
    pipeline, cp, day = begin(tmp_path / "data")
    staged: list[str] = []
    stage = bulk._stage
    monkeypatch.setattr(bulk, "_stage", lambda s, name, f: staged.append(name) or stage(s, name, f))  # type: ignore[func-returns-value]
    chunk = ActivityEnvironment().run(generate_chunk, chunk_jobs(pipeline, cp, day)[0])
    parts = bulk.part_labels(0, CHUNK_ROWS)
    assert len(parts) == 3 and chunk.staged[schema.PURCHASE] == [
        staged_name(staging_folder(pipeline.seed, pipeline.rates, cp), schema.PURCHASE, p)
        for p in parts
    ]
    for part in parts:
        files = [name for name in staged if name.endswith(f"-{part}.csv")]
        assert files[-1].split("/")[-1].startswith(f"{schema.PURCHASE}-"), files
        assert len(files) >= 2  # its customers (and any events) came before

"""What extract and transform share: a part's batch spec, and staging its tables under
names that say which rows they hold."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from first_temporal.domain.batch import BatchSpec, rows_per_day
from first_temporal.domain.source import Day
from first_temporal.jobs import PartJob, Staged
from first_temporal.storage.base import Storage, staged_name, staging_folder

OpenStorage = Callable[[str], Storage]


def spec_of(job: PartJob) -> BatchSpec:
    return BatchSpec(job.pipeline.seed, job.pipeline.rates, job.checkpoint, job.days, job.purchases)


def part_name(job: PartJob, table: str, end: int, extension: str = "csv") -> str:
    """A part is named by its rows, in a folder named by everything its bytes depend on."""
    folder = staging_folder(spec_of(job).identity, job.checkpoint)
    return staged_name(folder, table, f"rows-{job.start:010d}-{end:010d}", extension)


def stage_tables(
    storage: Storage,
    job: PartJob,
    end: int,
    plan: list[Day],
    tables: dict[str, tuple[pl.DataFrame, str]],
) -> Staged:
    """Stage each table's rows of purchases [job.start, end) and count them per day (by
    the date column named beside each frame); tables without rows stage nothing."""
    files: dict[str, list[str]] = {}
    rows: dict[str, list[int]] = {}
    for table, (frame, day_column) in tables.items():
        rows[table] = rows_per_day(plan, frame[day_column])
        if frame.height:
            files[table] = [part_name(job, table, end)]
            storage.stage(files[table][0], table, frame)
    return Staged(files=files, rows=rows)

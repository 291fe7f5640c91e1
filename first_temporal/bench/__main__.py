"""`python -m first_temporal.bench`: every performance target of the README, measured in one
run on a dev server and worker it starts itself. Prints figures and ratios.

Whole-process timings run the real `starter.py` as a subprocess, as a user would.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from temporalio.client import Client

from first_temporal.bench.harness import QUEUE, SEED, Harness
from first_temporal.bench.load import load
from first_temporal.bench.noop import NoopRunWorkflow
from first_temporal.config import Pipeline
from first_temporal.jobs import RunJob


class Bench(Harness):
    """The measurements, each printed as it is taken."""

    async def overhead(self, client: Client, rounds: int) -> None:
        data = self.work / "overhead"
        pipeline = Pipeline(location=str(data), seed=SEED)
        etl, noop = [], []
        for i in range(rounds + 2):
            began = time.perf_counter()
            await client.execute_workflow(
                "EtlRunWorkflow",
                RunJob(pipeline, 1),
                id=f"bench-etl-{i}-{uuid.uuid4().hex}",
                task_queue=QUEUE,
            )
            etl.append(time.perf_counter() - began)
            began = time.perf_counter()
            await client.execute_workflow(
                NoopRunWorkflow.run,
                f"noop-{i}-{uuid.uuid4().hex}",
                id=f"bench-noop-{i}-{uuid.uuid4().hex}",
                task_queue=QUEUE,
            )
            noop.append(time.perf_counter() - began)
        e, n = statistics.median(etl[2:]), statistics.median(noop[2:])
        self.record("daily batch (median, same activities count as no-op)", f"{e * 1000:.0f} ms")
        self.record("no-op workflow with the same shape (median)", f"{n * 1000:.0f} ms")
        self.record("overhead ratio daily / no-op", f"{e / n:.2f}x", "target <= 1.30x")

    async def backfill(self, client: Client, days: int, repeats: int = 3) -> None:
        """Side by side: the bare span script, then the starter, medians of `repeats`."""
        references = self.reference("span", days, repeats)
        runs = [
            self.starter(self.work / f"backfill-{i}", "--runs", str(days)) for i in range(repeats)
        ]
        data = self.work / "backfill-0"
        reference, elapsed = statistics.median(references), statistics.median(runs)
        self.record(f"bare reference script, {days} days (median)", f"{reference:.2f} s")
        self.record(f"backfill: starter --runs {days} (whole process, median)", f"{elapsed:.2f} s")
        self.record(
            "backfill ratio starter / reference", f"{elapsed / reference:.2f}x", "target <= 8x"
        )
        split_a, split_b = self.work / "split-a", self.work / "split-b"
        self.starter(split_a, "--runs", "30")
        for _ in range(30):
            self.starter(split_b, "--runs", "1")
        same = all(
            (split_a / f"{t}.csv").read_bytes() == (split_b / f"{t}.csv").read_bytes()
            for t in ("placeholder", "purchase", "customer", "dispute", "delivery")
        )
        self.record("--runs 30 == thirty --runs 1 (bytes)", "identical" if same else "DIFFERENT")
        await self.mart_settled(client, data)

    async def bulk(self, client: Client, purchases: int, repeats: int = 7) -> Path:
        """Medians of `repeats` runs each, the reference and the starter taking turns: this
        machine's timings of either vary by a third from one run to the next."""
        references: list[float] = []
        runs: list[float] = []
        self.start_worker()  # a fresh worker, so its peak RSS is these batches'
        rss_batch = 0.0
        for i in range(repeats):
            references += self.reference("bulk", purchases, 1, first=i)
            data = self.work / ("bulk" if i == 0 else f"bulk-{i}")
            # Written back first: the last run's tables and mart, still dirty in the page
            # cache, would otherwise be flushed inside this run's fsyncs.
            os.sync()
            runs.append(self.starter(data, "--purchases", str(purchases)))
            if i == 0:  # before any mart refresh has run in this worker
                rss_batch = self.worker_peak_rss_mb()
            await self.mart_settled(client, data)
            if i > 0:  # the first of each is compared below and used by history()
                # Each run's 200 MB stayed cached: by the sixth, this virtual machine's
                # kernel copied into pages of memory never touched before, and the
                # worker's kernel time per day went from 0.3 s to 0.8 s.
                for done in (data, self.work / f"reference-bulk-{i}"):
                    shutil.rmtree(done)
        rss_mart = self.worker_peak_rss_mb()
        reference, elapsed = statistics.median(references), statistics.median(runs)
        spread = (
            " ".join(f"{t:.2f}" for t in references) + " / " + " ".join(f"{t:.2f}" for t in runs)
        )
        self.record(
            f"bare reference script, {purchases:,} purchases (median)", f"{reference:.2f} s"
        )
        self.record(f"starter --purchases {purchases} (whole process, median)", f"{elapsed:.2f} s")
        self.record("  each run, reference / starter", spread)
        self.record(
            "bulk ratio starter / reference", f"{elapsed / reference:.2f}x", "target <= 1.30x"
        )
        self.record(
            "worker peak RSS through the batches", f"{rss_batch:.0f} MB", "target <= 300 MB"
        )
        self.record(
            "worker peak RSS incl. the mart refreshes", f"{rss_mart:.0f} MB", "target <= 300 MB"
        )
        same = all(
            (self.work / "bulk" / f"{t}.csv").read_bytes()
            == (self.work / "reference-bulk-0" / f"{t}.csv").read_bytes()
            for t in ("purchase", "customer", "dispute", "delivery")
        )
        self.record("reference writes the starter's tables", "identical" if same else "DIFFERENT")
        return self.work / "bulk"

    async def history(self, client: Client, big: Path, rounds: int = 4) -> None:
        """10 daily batches on near-empty tables and on a million purchases, medians of
        `rounds` alternated runs each."""
        small = self.work / "small"
        self.starter(small, "--runs", "1")
        self.starter(big, "--runs", "60")  # move the 90-day window past the bulk day
        await self.mart_settled(client, small)
        await self.mart_settled(client, big)
        with open(big / "purchase.csv", "rb") as fh:
            rows = sum(1 for _ in fh) - 1
        smalls: list[float] = []
        bigs: list[float] = []
        pair = [(small, smalls), (big, bigs)]
        for round_ in range(rounds):  # a run after another is slower: take turns going first
            for data, times in pair if round_ % 2 == 0 else pair[::-1]:
                # Written back first: what the bulk day and the mart left dirty in the page
                # cache would otherwise be flushed during whichever timing comes next.
                os.sync()
                times.append(self.starter(data, "--runs", "10"))
                await self.mart_settled(client, data)
        t_small, t_big = statistics.median(smalls), statistics.median(bigs)
        self.record(
            "10 daily batches on near-empty tables (whole process, median)", f"{t_small:.2f} s"
        )
        self.record(f"10 daily batches on {rows:,} purchases (median)", f"{t_big:.2f} s")
        self.record("history ratio big / small", f"{t_big / t_small:.2f}x", "target <= 1.15x")


async def main(args: argparse.Namespace) -> int:
    work = Path(tempfile.mkdtemp(prefix="first-temporal-bench-"))
    bench = Bench(work)
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, work dir {work}")
    try:
        bench.start_server()
        bench.start_worker()
        client = await Client.connect(bench.address)
        bench.starter(work / "warmup", "--runs", "1")  # also waits for the worker to poll
        print("measurements:")
        only = set(args.only or ["overhead", "backfill", "load", "bulk", "history"])
        if "overhead" in only:
            await bench.overhead(client, args.rounds)
        if "backfill" in only:
            await bench.backfill(client, args.backfill)
        if "load" in only:  # its own workers: the bench's one would only take memory
            bench.stop_worker()
            assert bench.server is not None
            threads = {"ETL_ACTIVITY_THREADS": str(args.activity_threads)}
            await load(
                *(bench.address, client, bench.server.pid, work, bench.record),
                *(args.pipelines, args.days, args.load_rounds),
                worker_env=threads if args.activity_threads else None,
            )
        if only & {"bulk", "history"}:
            big = await bench.bulk(client, args.purchases)
            if "history" in only:
                await bench.history(client, big)
    finally:
        bench.close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="first-temporal bench", description=__doc__)
    parser.add_argument("--purchases", type=int, default=1_000_000)
    parser.add_argument("--backfill", type=int, default=3650)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--pipelines", type=int, default=10, help="load: pipelines at once")
    parser.add_argument("--days", type=int, default=30, help="load: daily batches each")
    parser.add_argument("--load-rounds", type=int, default=3, help="load: runs of each")
    parser.add_argument(
        "--activity-threads", type=int, help="load: the workers' ETL_ACTIVITY_THREADS"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work dir")
    parser.add_argument(
        "--only",
        action="append",
        choices=["overhead", "backfill", "bulk", "history", "load"],
        help="run only these measurements (repeatable); history includes bulk",
    )
    return asyncio.run(main(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(cli())

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
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from temporalio.client import Client

from first_temporal.bench.load import load
from first_temporal.bench.noop import NoopRunWorkflow
from first_temporal.bench.processes import ROOT, free_port, port_open, process_env, wait_for
from first_temporal.config import Pipeline
from first_temporal.jobs import RunJob

QUEUE = "bench"
SEED = 42


class Bench:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.server: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.rows: list[tuple[str, str, str]] = []

    # -- processes -----------------------------------------------------------------

    def start_server(self) -> None:
        cli = Path(sys.executable).parent / "temporal"
        self.server = subprocess.Popen(
            [
                str(cli),
                "server",
                "start-dev",
                "--ip",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--ui-port",
                str(free_port()),
                "--headless",
                "--log-level",
                "error",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: port_open(self.port), 60, "the dev server")

    def start_worker(self) -> None:
        self.stop_worker()
        log = self.work / f"worker-{uuid.uuid4().hex[:6]}.log"
        self.worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "first_temporal.bench.worker",
                "--task-queue",
                QUEUE,
                "--data-root",
                str(self.work),
            ],
            cwd=ROOT,
            env=process_env(self.address),
            stdout=open(log, "wb"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
        )
        wait_for(lambda: b"worker polling" in log.read_bytes(), 60, "the worker to poll")
        time.sleep(1.0)  # its sticky and activity pollers come up just after the first log line

    def stop_worker(self) -> None:
        if self.worker is not None and self.worker.poll() is None:
            self.worker.terminate()
            self.worker.wait(30)
        self.worker = None

    def worker_peak_rss_mb(self) -> float:
        assert self.worker is not None
        for line in Path(f"/proc/{self.worker.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def close(self) -> None:
        self.stop_worker()
        if self.server is not None:
            self.server.terminate()
            self.server.wait(30)

    def starter(self, data: Path, *args: str) -> float:
        began = time.perf_counter()
        result = subprocess.run(
            [
                sys.executable,
                str(ROOT / "starter.py"),
                "--task-queue",
                QUEUE,
                "--data-dir",
                str(data),
                "--seed",
                str(SEED),
                *args,
            ],
            cwd=ROOT,
            env=process_env(self.address),
            capture_output=True,
            text=True,
        )
        elapsed = time.perf_counter() - began
        if result.returncode != 0:
            raise RuntimeError(f"starter {' '.join(args)} failed: {result.stderr.strip()}")
        return elapsed

    async def mart_settled(self, client: Client, data: Path) -> None:
        pipeline = Pipeline(location=str(data), seed=SEED)
        await client.get_workflow_handle(pipeline.mart_workflow_id).result()

    def record(self, what: str, figure: str, target: str = "") -> None:
        self.rows.append((what, figure, target))
        print(f"  {what:<58} {figure:>22}  {target}", flush=True)

    # -- measurements --------------------------------------------------------------

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

    def reference(self, mode: str, amount: int, repeats: int) -> list[float]:
        """Whole-process times of the bare reference script (bench/reference.py)."""
        times = []
        for i in range(repeats):
            os.sync()  # see bulk()
            began = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "first_temporal.bench.reference",
                    mode,
                    str(self.work / f"reference-{mode}-{i}"),
                    str(amount),
                ],
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
            times.append(time.perf_counter() - began)
        return times

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
            references += self.reference("bulk", purchases, 1)
            data = self.work / ("bulk" if i == 0 else f"bulk-{i}")
            # Written back first: the last run's tables and mart, still dirty in the page
            # cache, would otherwise be flushed inside this run's fsyncs.
            os.sync()
            runs.append(self.starter(data, "--purchases", str(purchases)))
            if i == 0:  # before any mart refresh has run in this worker
                rss_batch = self.worker_peak_rss_mb()
            await self.mart_settled(client, data)
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

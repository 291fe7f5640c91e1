"""The load benchmark: many pipelines' daily batches at once, on one worker and on three.

Each pipeline (its own data dir and seed) runs `days` daily batches as one EtlRunWorkflow,
the workflow `starter.py --runs N` starts, all pipelines at the same time. Spans are off
(span_min above `days`): `--runs 30` would otherwise commit the 30 days as one span, and
this measures daily batches, one batch workflow per day. Every pipeline's tables are
compared byte for byte with the same pipeline run alone, one batch after another, first.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from temporalio.api.enums.v1 import TaskQueueKind, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from first_temporal.bench.processes import ROOT, process_env
from first_temporal.bench.timeline import Timeline, batch_timeline
from first_temporal.config import WORKFLOW_TASK_TIMEOUT, Pipeline
from first_temporal.jobs import RunJob, RunResult
from first_temporal.settings import Tuning

TABLES = ("placeholder", "purchase", "customer", "dispute", "delivery", "product", "ledger")
FIRST_SEED = 101
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Workers:
    """`count` bench worker processes on one task queue, as separate hosts would run them."""

    def __init__(
        self,
        address: str,
        queue: str,
        work: Path,
        count: int,
        module: str = "first_temporal.bench.worker",
        **env: str,
    ) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []
        for _ in range(count):
            log = work / f"worker-{uuid.uuid4().hex[:6]}.log"
            self.logs.append(log)
            self.procs.append(
                subprocess.Popen(
                    [
                        *(sys.executable, "-m", module),
                        *("--task-queue", queue, "--data-root", str(work)),
                    ],
                    cwd=ROOT,
                    env=process_env(address, **env),
                    stdout=open(log, "wb"),  # noqa: SIM115 - the child owns it
                    stderr=subprocess.STDOUT,
                )
            )

    def cpu_seconds(self) -> list[float]:
        return [cpu_seconds(p.pid) for p in self.procs]

    def peak_rss_mb(self) -> list[float]:
        return [peak_rss_mb(p.pid) for p in self.procs]

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            proc.wait(30)


async def pollers(client: Client, queue: str, kind: TaskQueueType.ValueType) -> int:
    response = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=queue, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
            task_queue_type=kind,
        )
    )
    return len({p.identity for p in response.pollers})


async def wait_polling(client: Client, queue: str, count: int, timeout: float = 120) -> None:
    """Until `count` workers poll both the workflow and the activity side of the queue.
    (Once, in a test session, three new workers took 52 s to show here: hence the margin.)"""
    deadline = time.monotonic() + timeout
    kinds = (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY)
    while min([await pollers(client, queue, k) for k in kinds]) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {count} worker(s) to poll {queue}")
        await asyncio.sleep(0.1)


@dataclass
class Load:
    """One load run's figures."""

    batches: int
    wall: float  # first start to the last batch committed
    settled: float  # ... to every pipeline's mart caught up too
    worker_cpu: list[float]
    server_cpu: float
    peak_rss: list[float]
    pipelines: list[Pipeline]
    together: bool


async def run_pipelines(client: Client, queue: str, pipelines: list[Pipeline], days: int) -> None:
    """Every pipeline's run of `days` daily batches, all at once; until all are done."""
    tuning = Tuning(span_min=days + 1)
    handles = [
        await client.start_workflow(
            "EtlRunWorkflow",
            RunJob(p, days, tuning=tuning),
            id=f"{p.pipeline_id}-run-{uuid.uuid4().hex[:12]}",
            task_queue=queue,
            task_timeout=WORKFLOW_TASK_TIMEOUT,
            result_type=RunResult,
        )
        for p in pipelines
    ]
    results = await asyncio.gather(*(h.result() for h in handles))
    short = [r.batches for r in results if r.batches != days]
    if short:
        raise RuntimeError(f"runs ended short of {days} batches: {short}")


async def measure(
    client: Client,
    queue: str,
    workers: Workers,
    server_pid: int,
    pipelines: list[Pipeline],
    days: int,
    together: bool = True,
) -> Load:
    """Run the pipelines (together, or one after another) on these workers, measured."""
    await wait_polling(client, queue, len(workers.procs))
    cpu0, server0 = workers.cpu_seconds(), cpu_seconds(server_pid)
    began = time.perf_counter()
    if together:
        await run_pipelines(client, queue, pipelines, days)
    else:
        for p in pipelines:
            await run_pipelines(client, queue, [p], days)
    wall = time.perf_counter() - began
    for p in pipelines:
        await client.get_workflow_handle(p.mart_workflow_id).result()
    settled = time.perf_counter() - began
    cpu = [b - a for a, b in zip(cpu0, workers.cpu_seconds(), strict=True)]
    return Load(
        batches=len(pipelines) * days,
        wall=wall,
        settled=settled,
        worker_cpu=cpu,
        server_cpu=cpu_seconds(server_pid) - server0,
        peak_rss=workers.peak_rss_mb(),
        pipelines=pipelines,
        together=together,
    )


def same_tables(a: Path, b: Path) -> bool:
    return all((a / f"{t}.csv").read_bytes() == (b / f"{t}.csv").read_bytes() for t in TABLES)


Record = Callable[[str, str, str], None]


def report(record: Record, how: str, runs: list[Load], timeline: Timeline) -> None:
    """A phase's figures: the median run's, each run's rate, and where a batch's time went
    (summed over every run of the phase)."""
    ranked = sorted(runs, key=lambda r: r.batches / r.wall)
    mid = ranked[len(ranked) // 2]
    median = f" (median of {len(runs)})" if len(runs) > 1 else ""
    record(how + median, f"{mid.wall:.1f} s {mid.batches / mid.wall:.2f} batch/s", "")
    if len(runs) > 1:
        record("  each run, batch/s", " ".join(f"{r.batches / r.wall:.2f}" for r in runs), "")
    record("  ... until every mart caught up", f"{mid.settled:.1f} s", "")
    cpu = " ".join(f"{c:.0f}" for c in mid.worker_cpu)
    busy = sum(mid.worker_cpu) / mid.wall
    record("  worker CPU s (cores busy)", f"{cpu} s ({busy:.2f})", "")
    record(
        "  server CPU s (cores busy)",
        f"{mid.server_cpu:.0f} s ({mid.server_cpu / mid.wall:.2f})",
        "",
    )
    rss = max(max(r.peak_rss) for r in runs)
    record("  worker peak RSS, highest of any worker and run", f"{rss:.0f} MB", "target <= 300 MB")
    per_pipeline = timeline.total / timeline.batches * mid.batches / len(mid.pipelines)
    # Each pipeline's batches run one after another: the rest of its time is spent between
    # them (the run workflow's checkpoint read and child start).
    chain = mid.wall if mid.together else mid.wall / len(mid.pipelines)
    record(
        "  per pipeline: inside its batch workflows", f"{per_pipeline:.1f} s of {chain:.1f} s", ""
    )
    record("  a batch, first event to last (mean)", f"{timeline.mean_ms():.0f} ms", "")
    for what, figure in timeline.lines():
        record(f"    {what}", figure, "")


async def load(
    address: str,
    client: Client,
    server_pid: int,
    work: Path,
    record: Record,
    pipelines: int = 10,
    days: int = 30,
    rounds: int = 3,
    worker_env: dict[str, str] | None = None,
) -> None:
    """The sequential reference first, then `rounds` of the load on one worker and on three,
    taking turns going first (a run right after another is slower on this machine)."""
    seeds = [FIRST_SEED + i for i in range(pipelines)]

    def dirs(name: str) -> list[Pipeline]:
        return [Pipeline(location=str(work / f"{name}-{s}"), seed=s) for s in seeds]

    async def phase(name: str, count: int, together: bool) -> tuple[Load, list[str]]:
        queue = f"load-{name}-{uuid.uuid4().hex[:6]}"
        workers = Workers(address, queue, work, count, **(worker_env or {}))
        try:
            run = await measure(client, queue, workers, server_pid, dirs(name), days, together)
        finally:
            workers.stop()
        return run, [p.batch_workflow_id(n) for p in dirs(name) for n in range(1, days + 1)]

    alone, ids = await phase("sequential", 1, together=False)
    how = f"{pipelines} pipelines x {days} daily batches"
    report(
        record, f"{how}, one after another, 1 worker", [alone], await batch_timeline(client, ids)
    )
    runs: dict[int, list[Load]] = {1: [], 3: []}
    all_ids: dict[int, list[str]] = {1: [], 3: []}
    same = True
    for round_ in range(rounds):
        for count in (1, 3) if round_ % 2 == 0 else (3, 1):
            name = f"{count}w-{round_}"
            run, ids = await phase(name, count, together=True)
            runs[count].append(run)
            all_ids[count] += ids
            for a, b in zip(dirs(name), dirs("sequential"), strict=True):
                same = same and same_tables(Path(a.location), Path(b.location))
    for count in (1, 3):
        timeline = await batch_timeline(client, all_ids[count])
        report(record, f"{how} at once, {count} worker(s)", runs[count], timeline)
    record("every pipeline's tables == its run alone", "identical" if same else "DIFFERENT", "")

"""`python -m first_temporal.bench.mart_memory DATA_DIR [--from DIR ...] [--compare CHECKOUT]`:
peak RSS and wall time of the mart's apply and rebuild over copies of DATA_DIR, medians of
--runs.

Each measurement runs in a fresh subprocess, on a fresh copy of the tables, so its
high-water mark is the apply's plus the interpreter and its imports (printed as
"baseline"). `--from DIR` (a copy of the same data dir taken at an earlier batch) measures
the incremental case: a mart built from DIR, then the batches DATA_DIR has since committed.
`--compare CHECKOUT` runs every measurement with another checkout's `first_temporal` too,
alternating with this one's (the machine's noise drifts), and prints time ratios this/other.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import first_temporal

MART_FILE = "mart.duckdb"
SKIP = shutil.ignore_patterns("_staging", ".etl.lock", ".mart*", f"{MART_FILE}*")
HERE = Path(first_temporal.__file__).parent.parent
Report = dict[str, float]


def _hwm_mb() -> float:
    """The process's peak resident set so far (VmHWM), in MB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _child(command: str, data_dir: str) -> None:
    from first_temporal.mart import apply_pending, rebuild

    wanted = Path(os.environ["PYTHONPATH"]).absolute()
    if wanted != HERE:
        raise RuntimeError(f"imported first_temporal from {HERE}, not {wanted}")
    baseline = _hwm_mb()
    started = time.perf_counter()
    result = (apply_pending if command == "apply" else rebuild)(data_dir)
    seconds = time.perf_counter() - started
    rows = sum(result.new_rows.values())
    print(
        json.dumps(
            {"peak_mb": _hwm_mb(), "baseline_mb": baseline, "seconds": seconds, "rows": rows}
        )
    )


def _run_child(checkout: Path, command: str, data_dir: Path) -> Report:
    # This file, not `-m`: the other checkout may not have it. PYTHONPATH picks the code.
    env = dict(os.environ, PYTHONPATH=str(checkout))
    argv = [sys.executable, __file__, "--child", command, str(data_dir)]
    out = subprocess.run(argv, env=env, check=True, capture_output=True, text=True, cwd="/")
    report: Report = json.loads(out.stdout.strip().splitlines()[-1])
    return report


def _copy(source: Path, target: Path) -> Path:
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, ignore=SKIP)
    return target


def _summary(reports: list[Report]) -> tuple[float, float, str]:
    peak = statistics.median(r["peak_mb"] for r in reports)
    seconds = statistics.median(r["seconds"] for r in reports)
    runs = " ".join(f"{r['peak_mb']:.0f}MB/{r['seconds']:.2f}s" for r in reports)
    base = statistics.median(r["baseline_mb"] for r in reports)
    return peak, seconds, f"baseline {base:.0f} MB, {int(reports[0]['rows'])} rows; {runs}"


def measure(label: str, runs: int, checkouts: list[Path], once: Callable[[Path], Report]) -> None:
    reports: dict[Path, list[Report]] = {c: [] for c in checkouts}
    for _ in range(runs):
        for checkout in checkouts:
            reports[checkout].append(once(checkout))
    times = []
    for checkout in checkouts:
        peak, seconds, detail = _summary(reports[checkout])
        times.append(seconds)
        print(f"{label:<24} {checkout!s:<28} peak {peak:5.0f} MB {seconds:6.2f} s  ({detail})")
    if len(times) == 2:
        print(f"{label:<24} time ratio this/other {times[0] / times[1]:.2f}")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m first_temporal.bench.mart_memory")
    parser.add_argument("data_dir", help="a data dir with committed tables (left untouched)")
    parser.add_argument(
        "--from",
        dest="bases",
        action="append",
        default=[],
        help="an earlier copy of the data dir: measure applying what DATA_DIR has since",
    )
    parser.add_argument("--compare", help="another checkout's root, e.g. a clone at HEAD")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-rebuild", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.data_dir)
        return 0
    source = Path(args.data_dir).absolute()
    checkouts = [HERE] + ([Path(args.compare).absolute()] if args.compare else [])
    with tempfile.TemporaryDirectory(prefix="mart-memory-") as tmp:
        scratch = Path(tmp)

        def full(command: str) -> Callable[[Path], Report]:
            return lambda checkout: _run_child(checkout, command, _copy(source, scratch / "d"))

        measure("apply (empty mart)", args.runs, checkouts, full("apply"))
        if not args.skip_rebuild:
            measure("rebuild", args.runs, checkouts, full("rebuild"))
        for base in args.bases:
            built: dict[Path, Path] = {}
            for checkout in checkouts:  # each checkout's own mart as the starting point
                built[checkout] = _copy(Path(base), scratch / f"base{len(built)}")
                _run_child(checkout, "apply", built[checkout])

            def incremental(checkout: Path, built: dict[Path, Path] = built) -> Report:
                data = _copy(source, scratch / "d")
                shutil.copy2(built[checkout] / MART_FILE, data / MART_FILE)
                return _run_child(checkout, "apply", data)

            measure(f"apply after {Path(base).name}", args.runs, checkouts, incremental)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`first-temporal`: one command for everything, like `temporal`, `dlt` and `dagster`.

Each subcommand is the module that does the work, with its own flags and --help;
`starter.py`, `worker.py` and `python -m first_temporal.<module>` stay as they were.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

from first_temporal import environment

Command = Callable[[list[str]], int]


def _main_of(module: str, function: str = "main") -> Command:
    """Imported when called: `first-temporal status` should not load polars and DuckDB."""

    def run(argv: list[str]) -> int:
        result: int = getattr(import_module(f"first_temporal.{module}"), function)(argv)
        return result

    return run


def _starter(*flags: str) -> Command:
    return lambda argv: _main_of("starter_main")([*flags, *argv])


def _schedule(argv: list[str]) -> int:
    actions = {"pause": "--pause", "unpause": "--unpause", "trigger": "--trigger"}
    usage = "usage: first-temporal schedule {create INTERVAL|pause|unpause|trigger|delete} [...]"
    if not argv or argv[0] not in (*actions, "create", "delete"):
        print(usage, file=sys.stderr)
        return 0 if argv[:1] in (["-h"], ["--help"]) else 2
    action, rest = argv[0], argv[1:]
    if action == "create":
        if not rest or rest[0].startswith("-"):
            print(
                f"{usage}\nerror: create needs an INTERVAL such as 1d, 6h or 30m", file=sys.stderr
            )
            return 2
        return _starter("--schedule", rest[0])(rest[1:])
    return _starter("--delete-schedule" if action == "delete" else actions[action])(rest)


def _rewind(argv: list[str]) -> int:
    if not argv or argv[0].startswith("-"):
        print("usage: first-temporal rewind N [--data-dir DIR] [...]", file=sys.stderr)
        return 0 if argv[:1] in (["-h"], ["--help"]) else 2
    return _starter("--rewind-to", argv[0])(argv[1:])


COMMANDS: dict[str, tuple[str, Command]] = {
    "worker": ("run a worker (every pipeline's activities and workflows)", _main_of("worker_main")),
    "run": ("run the next batch(es): --runs N, --until DATE, --purchases N", _starter()),
    "status": ("checkpoint, ledger, schedule, last batches, what runs now", _starter("--status")),
    "schedule": ("create INTERVAL | pause | unpause | trigger | delete the schedule", _schedule),
    "rewind": ("put tables, ledger and mart back to right after batch N", _rewind),
    "validate": ("check every rule of every table", _main_of("validate")),
    "verify": ("recompute committed batches and compare every byte", _main_of("verify")),
    "mart": ("the DuckDB mart: apply | rebuild | reconcile | export", _main_of("mart.__main__")),
    "report": ("key figures, CSVs and charts from the mart", _main_of("report.__main__")),
    "bench": ("measure every performance target of the README", _main_of("bench.__main__", "cli")),
}


def package_version() -> str:
    try:
        return version("first_temporal")
    except PackageNotFoundError:  # run from a clone without installing it
        return "unknown (not installed)"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    environment.check()
    listing = "\n".join(f"  {name:<10}{text}" for name, (text, _) in COMMANDS.items())
    parser = argparse.ArgumentParser(
        prog="first-temporal",
        description="A batch ETL orchestrated by Temporal.",
        epilog=f"commands:\n{listing}\n\n`first-temporal COMMAND --help` shows a command's flags.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    parser.add_argument("command", choices=COMMANDS, metavar="COMMAND")
    if not args or args[0] in ("-h", "--help", "--version"):
        parser.parse_args(args or ["--help"])
    if args[0] not in COMMANDS:
        parser.parse_args(args[:1])  # the usage error, exit 2
    sys.argv[0] = f"first-temporal {args[0]}"  # argparse's prog in the command's own help
    return COMMANDS[args[0]][1](args[1:])


def entry() -> None:
    """The console script. It leaves with os._exit, as starter.py does: a short-lived
    Temporal client can abort in interpreter finalisation while the SDK's runtime threads
    shut down (temporalio/sdk-python#300), after the work is done."""
    try:
        code = main()
    except SystemExit as exc:  # argparse's --help, --version and usage errors
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    entry()

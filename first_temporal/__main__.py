"""`python -m first_temporal`: the same as the `first-temporal` command."""

from first_temporal.cli import entry

entry()

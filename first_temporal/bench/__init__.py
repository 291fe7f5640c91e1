"""Benchmarks: `python -m first_temporal.bench` (see README, Performance)."""

"""A Kimball star schema over the ETL's tables, kept in <data_dir>/mart.duckdb.

apply_pending() is called after each committed batch and reads only the new bytes;
rebuild() starts over; reconcile() checks the mart against the tables.
"""

from first_temporal.mart.build import MartResult, apply_pending, mart_path, rebuild
from first_temporal.mart.reconcile import reconcile
from first_temporal.mart.state import MART_FILE, MartOutOfSync

__all__ = [
    "MART_FILE",
    "MartOutOfSync",
    "MartResult",
    "apply_pending",
    "mart_path",
    "rebuild",
    "reconcile",
]

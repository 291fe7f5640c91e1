"""What identifies a pipeline, and the settings every process reads from the environment."""

import hashlib
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, cast

from first_temporal import environment
from first_temporal.domain.rates import Rates

if TYPE_CHECKING:
    from first_temporal.storage.base import Storage

RUN_WORKFLOW = "EtlRunWorkflow"
REWIND_WORKFLOW = "EtlRewindWorkflow"
# A workflow task held by a killed worker is handed to another after this long.
WORKFLOW_TASK_TIMEOUT = timedelta(seconds=4)
DEFAULT_SEED = 42
DEFAULT_TASK_QUEUE = "first-temporal"
DEFAULT_DATA_DIR = "data"


@dataclass(frozen=True)
class Pipeline:
    """The workflow input that says which tables to work on and how the source behaves.

    One worker serves any number of pipelines: nothing here is fixed at worker start.
    """

    location: str  # absolute data directory, or s3://bucket/prefix
    seed: int = DEFAULT_SEED
    rates: Rates = field(default_factory=Rates)

    @property
    def pipeline_id(self) -> str:
        """Stable, readable and collision-free across data dirs on one server."""
        digest = hashlib.sha256(self.location.encode()).hexdigest()[:8]
        name = re.sub(r"[^A-Za-z0-9]+", "-", self.location.rstrip("/").rsplit("/", 1)[-1])
        return f"etl-{name.strip('-') or 'root'}-{digest}"

    @property
    def mart_workflow_id(self) -> str:
        return f"{self.pipeline_id}-mart"

    def batch_workflow_id(self, batch_number: int) -> str:
        return f"{self.pipeline_id}-batch-{batch_number:06d}"


def resolve_location(value: str | None) -> str:
    """A plain path becomes absolute (so every worker agrees on it); s3:// stays as is."""
    raw = (
        value
        or environment.text("ETL_STORAGE")
        or environment.text("ETL_DATA_DIR")
        or DEFAULT_DATA_DIR
    )
    if raw.startswith("s3://"):
        return raw.rstrip("/")
    return str(Path(raw).expanduser().absolute())


def resolve_seed(value: int | None) -> int:
    if value is not None:
        return value
    env = environment.integer("ETL_SEED")
    return DEFAULT_SEED if env is None else env


def task_queue() -> str:
    return environment.text("ETL_TASK_QUEUE") or DEFAULT_TASK_QUEUE


def open_storage(location: str) -> "Storage":
    if location.startswith("s3://"):
        from first_temporal.storage.s3 import S3Storage

        return cast("Storage", S3Storage(location))
    from first_temporal.storage.local import LocalStorage

    return LocalStorage(location)

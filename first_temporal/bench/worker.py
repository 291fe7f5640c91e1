"""The benchmark's worker: the real ETL worker plus the no-op twin on one task queue."""

from __future__ import annotations

import os
import sys

from first_temporal import worker_main
from first_temporal.bench.noop import NoopBatchWorkflow, NoopRunWorkflow, noop_step

if __name__ == "__main__":
    worker_main.WORKFLOWS.extend([NoopBatchWorkflow, NoopRunWorkflow])
    worker_main.ACTIVITIES.append(noop_step)
    code = worker_main.main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # see worker.py

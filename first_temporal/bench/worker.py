"""The benchmark's worker: the real ETL worker plus the no-op twin on one task queue."""

from __future__ import annotations

import os
import sys

from first_temporal import worker_main
from first_temporal.bench.noop import NoopBatchWorkflow, NoopRunWorkflow, noop_step

if __name__ == "__main__":
    code = worker_main.main(extras=([NoopBatchWorkflow, NoopRunWorkflow], [noop_step]))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # see worker.py

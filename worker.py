"""Start a worker in the foreground: `python worker.py` (Ctrl-C stops it cleanly)."""

import os
import sys

from first_temporal.worker_main import main

if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # The SDK's Rust threads can abort interpreter finalisation (temporalio/sdk-python#300);
    # the worker has shut down cleanly by now, so exit without finalising.
    os._exit(code)

"""Start a worker in the foreground: `python worker.py` (Ctrl-C stops it cleanly)."""

import sys

from first_temporal.worker_main import main

if __name__ == "__main__":
    sys.exit(main())

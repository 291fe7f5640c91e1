"""Run the next batch(es): `python starter.py [--runs N]`."""

import os
import sys

from first_temporal.starter_main import main

if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # A short-lived Temporal client can abort in interpreter finalisation while the SDK's Rust
    # runtime threads shut down (temporalio/sdk-python#300); the work is done, so leave now.
    os._exit(code)

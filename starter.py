"""Run the next batch(es): `python starter.py [--runs N]`."""

import sys

from first_temporal.starter_main import main

if __name__ == "__main__":
    sys.exit(main())

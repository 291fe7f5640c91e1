"""The S3 client and the one read botocore does not retry: riding out a flaky S3.

S3 answers a share of requests with 500 InternalError or 503 SlowDown and drops
connections, and expects clients to retry. botocore retries a call that failed before
its response arrived; Temporal retries an activity that still failed. Two gaps remain,
closed here, so a transient fault costs one more request instead of a whole step:

- botocore's default "legacy" mode: `standard` backs off with jitter and treats SlowDown
  as throttling. AWS_RETRY_MODE and AWS_MAX_ATTEMPTS (or the profile) still decide.
- A GET's body is read after botocore returned: a connection cut mid-body raises
  ResponseStreamingError (IncompleteReadError when it ends early but cleanly) to the
  caller. `read_object` asks again, a few times, before it gives up.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import IncompleteReadError, ResponseStreamingError

log = logging.getLogger(__name__)

BODY_ATTEMPTS = 4  # a GET whose body was cut off is asked for again this many times


def client() -> Any:
    """An S3 client from the standard AWS configuration (env, profile, endpoint)."""
    mode = os.environ.get("AWS_RETRY_MODE") or "standard"
    return boto3.client("s3", config=Config(retries={"mode": mode}))


def read_object(get: Callable[[], Any], url: str) -> tuple[bytes, Any]:
    """Body and response (ETag, Metadata) of the object `get` fetches (one GetObject)."""
    for attempt in range(1, BODY_ATTEMPTS + 1):
        response = get()
        try:
            return response["Body"].read(), response
        except (ResponseStreamingError, IncompleteReadError) as exc:
            if attempt == BODY_ATTEMPTS:
                raise
            log.info("%s: body cut off (%s), reading it again", url, type(exc).__name__)
    raise AssertionError("unreachable")

"""Worker log lines that say which workflow and which batch date they are about.

The SDK's loggers append a dict of context to every message; instead the worker prints
`[<workflow id> <batch date>]` in a fixed column. The batch date comes from the activity's
input (set by the metrics interceptor) or, in a workflow, from its BatchDate attribute.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar, Token

from temporalio import activity, workflow

from first_temporal.search_attributes import BATCH_DATE

FORMAT = "%(asctime)s %(levelname)s %(name)s [%(workflow_id)s %(batch_date)s] %(message)s"
_batch_date: ContextVar[str | None] = ContextVar("etl_batch_date", default=None)


def set_batch_date(value: str | None) -> Token[str | None]:
    return _batch_date.set(value)


def reset_batch_date(token: Token[str | None]) -> None:
    _batch_date.reset(token)


class TemporalContext(logging.Filter):
    """Adds `workflow_id` and `batch_date` ("-" when unknown) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        details = getattr(record, "temporal_activity", None) or getattr(
            record, "temporal_workflow", None
        )
        record.workflow_id = (details or {}).get("workflow_id", "-")
        batch_date = _batch_date.get()
        info = getattr(record, "workflow_info", None)
        if batch_date is None and isinstance(info, workflow.Info):
            when = info.typed_search_attributes.get(BATCH_DATE)
            batch_date = when.date().isoformat() if when else None
        record.batch_date = batch_date or "-"
        return True


NOISY_LIBRARIES = ("botocore", "boto3", "urllib3")


def configure(level: str) -> None:
    """Root logging for a worker process; raises ValueError on an unknown level name."""
    handler = logging.StreamHandler()
    handler.addFilter(TemporalContext())
    handler.setFormatter(logging.Formatter(FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    # boto3's clients log how they found their endpoint, at INFO, once per client: several
    # lines per batch on S3 that bury the ETL's own. Their warnings and errors still show.
    for noisy in NOISY_LIBRARIES:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    activity.logger.activity_info_on_message = False
    workflow.logger.workflow_info_on_message = False
    workflow.logger.full_workflow_info_on_extra = True

"""The custom search attributes (BatchDate, Pipeline) and whether this server has them.

A workflow may only set attributes the namespace has registered (an unknown one fails
every workflow task), and the time-skipping test server registers none. So the starter
and the schedule set `Pipeline` at start only when both are registered, and the workflows
set `BatchDate` only when they were started with `Pipeline`: that is the one signal a
workflow can read deterministically.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError

BATCH_DATE = SearchAttributeKey.for_datetime("BatchDate")
PIPELINE = SearchAttributeKey.for_keyword("Pipeline")
REQUIRED = {
    BATCH_DATE.name: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
    PIPELINE.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
}


async def registered(client: Client) -> bool:
    """Both attributes exist with the right types (False when the server will not say)."""
    try:
        response = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
    except RPCError:
        return False
    custom = dict(response.custom_attributes)
    return all(custom.get(name) == kind for name, kind in REQUIRED.items())


async def start_attributes(client: Client, pipeline_id: str) -> TypedSearchAttributes:
    """What a run workflow is started with: Pipeline when the server knows it, else nothing."""
    if not await registered(client):
        return TypedSearchAttributes.empty
    return TypedSearchAttributes([SearchAttributePair(PIPELINE, pipeline_id)])


def batch_datetime(batch_date: str) -> datetime:
    """A YYYY-MM-DD batch date as the UTC midnight BatchDate holds."""
    day = date.fromisoformat(batch_date)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)

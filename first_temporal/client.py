"""Connecting to Temporal the way every Temporal tool does (envconfig), with clear errors."""

from __future__ import annotations

import asyncio

from temporalio.api.enums.v1 import TaskQueueKind, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.envconfig import ClientConfig
from temporalio.runtime import Runtime

DEFAULT_ADDRESS = "localhost:7233"
CONNECT_TIMEOUT = 10.0


class UserError(Exception):
    """A problem the user can fix; printed as one line, no traceback."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def connect_config() -> dict[str, object]:
    config = dict(ClientConfig.load_client_connect_config())
    config.setdefault("target_host", DEFAULT_ADDRESS)
    return config


async def connect(runtime: Runtime | None = None) -> Client:
    config = connect_config()
    address = config["target_host"]
    try:
        return await asyncio.wait_for(
            Client.connect(**config, runtime=runtime),  # type: ignore[arg-type]
            timeout=CONNECT_TIMEOUT,
        )
    except (TimeoutError, RuntimeError, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else "timed out"
        raise UserError(
            f"Temporal is not reachable at {address} ({reason})"
            " — start it with ./build.sh (or ./build.sh server), or set TEMPORAL_ADDRESS",
            exit_code=3,
        ) from None


async def workflow_pollers(client: Client, task_queue: str) -> int:
    response = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    return len(response.pollers)


async def require_worker(client: Client, task_queue: str, wait: float = 10.0) -> None:
    """Fail fast, instead of hanging, when nobody polls the task queue."""
    deadline = asyncio.get_running_loop().time() + wait
    while True:
        if await workflow_pollers(client, task_queue) > 0:
            return
        if asyncio.get_running_loop().time() >= deadline:
            address = client.service_client.config.target_host
            raise UserError(
                f"no worker is polling task queue {task_queue!r} on {address}"
                " — start one with `python worker.py` (or ./build.sh)",
                exit_code=4,
            )
        await asyncio.sleep(0.5)

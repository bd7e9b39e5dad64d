"""Every code block of the seed SDK's README runs unchanged under ``useragent run``.

The blocks are copied verbatim from the seed (``002_bea8209263a6ce89.txt``); each runs
as a real ``useragent run`` process with a ``credentials.json`` pointing at the embedded
server, exactly as the README's folder structure shows.
"""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from user_agent_sdk.conductor import TaskStatus, WorkflowStatus
from user_agent_sdk.server import RunningServer

from .support import (
    REPO,
    WorkerProcess,
    finished,
    submit,
    task_logs,
    worker_process,
    write_credentials,
)

pytestmark = pytest.mark.slow

AGENT_ID = "00000000-0000-0000-0000-000000000000#user-agent"

QUICK_START = """
from logging import Logger
from user_agent_sdk import user_agent


@user_agent()
def sum_agent(input_data: dict, logger: Logger):
    # These logs will be visible in the akaBot 2.0 platform for monitoring
    logger.info("Processing task input")

    # Do some work with the input data
    num1 = input_data.get("num1", 0)
    num2 = input_data.get("num2", 0)
    total = num1 + num2

    return total
"""

CUSTOM_ERROR_HANDLING = """
from user_agent_sdk import user_agent
from user_agent_sdk.utils.exception import NonRetryableException


@user_agent()
def my_agent(input_data):
    user_name = input_data.get("user_name")
    if not user_name:
        raise NonRetryableException("'user_name' is required")

    # Regular processing...
"""

ASYNC_SUPPORT = """
from user_agent_sdk import user_agent


@user_agent()
async def sum_agent():
    # async processing logic here
    pass
"""

HIGH_WORKLOAD = """
from user_agent_sdk import user_agent


@user_agent(workers=4)
def sum_agent():
    # processing logic here
    pass
"""

MULTIPLE_AGENTS = """
from user_agent_sdk import user_agent


@user_agent(agent_id="sum agent id")
def sum_agent():
    # processing logic here
    pass


@user_agent(agent_id="minus agent id")
def minus_agent():
    # processing logic here
    pass
"""


@asynccontextmanager
async def useragent_run(
    server: RunningServer, project: Path, source: str, *flags: str
) -> AsyncIterator[WorkerProcess]:
    """``useragent run your_agent.py FLAGS`` in a project folder as the README lays it out."""
    write_credentials(project, server, clientId="your-client-id", agentId=AGENT_ID)
    (project / "your_agent.py").write_text(source)
    async with worker_process(["run", "your_agent.py", *flags], cwd=project) as worker:
        await worker.wait_for("serving agent id")
        yield worker
        worker.signal(signal.SIGINT)
        assert await worker.wait() == 0


async def outputs(
    api: httpx.AsyncClient, name: str, inputs: Sequence[dict[str, object]]
) -> list[object]:
    return [(await finished(api, await submit(api, name, data))).output for data in inputs]


def test_the_example_sum_agent_is_the_quick_start_block() -> None:
    example = (REPO / "examples" / "sum_agent.py").read_text()
    body = QUICK_START.split("from user_agent_sdk import user_agent\n", 1)[1]
    assert body in example


async def test_quick_start_sum_agent(
    server: RunningServer, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    async with useragent_run(server, tmp_path, QUICK_START):
        done = await finished(api, await submit(api, AGENT_ID, {"num1": 2, "num2": 40}))
    assert done.status is WorkflowStatus.COMPLETED
    assert done.output == {"result": 42}
    assert await task_logs(api, done.tasks[0]) == ["INFO Processing task input"]


async def test_custom_error_handling(
    server: RunningServer, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    async with useragent_run(server, tmp_path, CUSTOM_ERROR_HANDLING):
        refused = await finished(api, await submit(api, AGENT_ID, {}))
        accepted = await finished(api, await submit(api, AGENT_ID, {"user_name": "ada"}))
    assert refused.status is WorkflowStatus.FAILED
    assert [task.status for task in refused.tasks] == [TaskStatus.FAILED_WITH_TERMINAL_ERROR]
    assert refused.reason_for_incompletion == "'user_name' is required"
    assert accepted.status is WorkflowStatus.COMPLETED


async def test_async_support(server: RunningServer, api: httpx.AsyncClient, tmp_path: Path) -> None:
    async with useragent_run(server, tmp_path, ASYNC_SUPPORT):
        assert await outputs(api, AGENT_ID, [{}]) == [{"result": None}]


@pytest.mark.parametrize(("flags", "workers"), [((), 4), (("--workers", "8"), 8)])
async def test_high_workload_flag_takes_precedence_over_the_parameter(
    server: RunningServer,
    api: httpx.AsyncClient,
    tmp_path: Path,
    flags: tuple[str, ...],
    workers: int,
) -> None:
    async with useragent_run(server, tmp_path, HIGH_WORKLOAD, *flags) as worker:
        await worker.wait_for(f"sum_agent: serving agent id '{AGENT_ID}' with {workers} workers")
        assert await outputs(api, AGENT_ID, [{}]) == [{"result": None}]


async def test_multiple_user_agents(
    server: RunningServer, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    async with useragent_run(server, tmp_path, MULTIPLE_AGENTS) as worker:
        await worker.wait_for("minus_agent: serving agent id 'minus agent id'")
        assert await outputs(api, "sum agent id", [{}]) == [{"result": None}]
        assert await outputs(api, "minus agent id", [{}]) == [{"result": None}]

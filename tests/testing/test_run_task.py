"""run_task under pytest-trio, in process: one task through the real runtime and server."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sniffio
import trio

from user_agent_sdk import NonRetryableException, Registry, register_user_agent, user_agent
from user_agent_sdk.conductor import TaskResultStatus, Workflow, WorkflowStatus, from_json_obj
from user_agent_sdk.server import RunningServer
from user_agent_sdk.testing import embedded_server, run_task


@pytest.fixture
async def server() -> AsyncIterator[RunningServer]:
    """The fixture the README shows for pytest-trio."""
    async with embedded_server() as running:
        yield running


async def workflow_of(server: RunningServer, workflow_id: str | None) -> Workflow:
    async with httpx.AsyncClient(base_url=server.api_url) as api:
        response = await api.get(f"/workflow/{workflow_id}", params={"includeTasks": "true"})
    response.raise_for_status()
    return from_json_obj(response.json(), Workflow)


@user_agent(agent_id="testing-trio-double", event_loop="trio")
async def double(input_data: dict[str, Any]) -> dict[str, Any]:
    await trio.sleep(0.01)
    return {"doubled": input_data["n"] * 2}


@user_agent(agent_id="testing-asyncio-squares")
async def squares(input_data: dict[str, Any]) -> dict[str, Any]:
    async def square(n: int) -> int:
        await asyncio.sleep(0.01)
        return n * n

    found = await asyncio.gather(*(square(n) for n in input_data["numbers"]))
    return {"squares": found, "library": sniffio.current_async_library()}


@user_agent(agent_id="testing-sync-sum")
def total(input_data: dict[str, Any]) -> int:
    return sum(input_data["numbers"])


@user_agent(agent_id="testing-broken")
def broken(input_data: dict[str, Any]) -> None:
    raise ValueError(f"cannot use {input_data['value']!r}")


@user_agent(agent_id="testing-refuse", event_loop="trio")
async def refuse(input_data: dict[str, Any]) -> None:
    raise NonRetryableException("nothing to do")


@user_agent(agent_id="testing-chatty", event_loop="trio")
async def chatty(input_data: dict[str, Any], logger: logging.Logger) -> dict[str, Any]:
    logger.debug("details of %s", input_data)
    logger.info("starting with %d", input_data["n"])
    logger.warning("almost done")
    return {}


@user_agent(agent_id="testing-stuck", event_loop="trio")
async def stuck(input_data: dict[str, Any]) -> None:
    await trio.sleep_forever()


async def test_a_trio_handler_completes_with_its_output(server: RunningServer) -> None:
    result = await run_task(double, {"n": 21}, server=server)
    assert (result.status, result.output, result.reason) == (
        TaskResultStatus.COMPLETED,
        {"doubled": 42},
        None,
    )


async def test_an_asyncio_handler_runs_on_a_loop_of_the_runtimes_own_under_trio(
    server: RunningServer,
) -> None:
    result = await run_task(squares, {"numbers": [1, 2, 3]}, server=server)
    assert result.status is TaskResultStatus.COMPLETED
    assert result.output == {"squares": [1, 4, 9], "library": "asyncio"}
    assert sniffio.current_async_library() == "trio"


async def test_a_sync_handler_completes_with_its_value_as_result(server: RunningServer) -> None:
    result = await run_task(total, {"numbers": [1, 2, 3]}, server=server)
    assert (result.status, result.output) == (TaskResultStatus.COMPLETED, {"result": 6})


async def test_a_raising_handler_fails_after_one_attempt_with_its_reason(
    server: RunningServer,
) -> None:
    result = await run_task(broken, {"value": 7}, server=server)
    assert (result.status, result.reason) == (TaskResultStatus.FAILED, "ValueError: cannot use 7")
    assert result.logs[-1].startswith("Traceback (most recent call last):")
    workflow = await workflow_of(server, result.task.workflow_instance_id)
    assert workflow.status is WorkflowStatus.FAILED
    assert [task.task_id for task in workflow.tasks] == [result.task.task_id]


async def test_a_non_retryable_exception_fails_with_a_terminal_error(
    server: RunningServer,
) -> None:
    result = await run_task(refuse, {}, server=server)
    assert (result.status, result.reason) == (
        TaskResultStatus.FAILED_WITH_TERMINAL_ERROR,
        "nothing to do",
    )


async def test_the_lines_a_handler_logs_come_back_in_order(server: RunningServer) -> None:
    result = await run_task(chatty, {"n": 3}, server=server)
    assert result.logs == ["INFO starting with 3", "WARNING almost done"]


async def test_settings_apply_to_the_run(server: RunningServer) -> None:
    result = await run_task(chatty, {"n": 3}, server=server, task_log_level=logging.DEBUG)
    assert result.logs[0] == "DEBUG details of {'n': 3}"


async def test_a_decorated_function_serves_the_agent_id_it_was_registered_with(
    server: RunningServer,
) -> None:
    result = await run_task(double, {"n": 1}, server=server)
    assert result.task.task_type == "testing-trio-double"


async def test_a_plain_function_serves_a_task_type_named_after_it(server: RunningServer) -> None:
    def plain_agent(input_data: dict[str, Any]) -> dict[str, Any]:
        return {"seen": input_data}

    result = await run_task(plain_agent, {"a": 1}, server=server)
    assert (result.task.task_type, result.output) == ("plain_agent", {"seen": {"a": 1}})


async def test_an_agent_spec_runs_with_its_own_options(server: RunningServer) -> None:
    async def named(input_data: dict[str, Any]) -> str:
        await trio.sleep(0)
        return "ok"

    spec = register_user_agent(named, agent_id="spec-agent", event_loop="trio", registry=Registry())
    result = await run_task(spec, {}, server=server)
    assert (result.task.task_type, result.output) == ("spec-agent", {"result": "ok"})


async def test_without_a_server_run_task_starts_its_own() -> None:
    result = await run_task(double, {"n": 2})
    assert result.output == {"doubled": 4}


async def test_a_server_that_requires_tokens_is_served() -> None:
    async with embedded_server(auth_required=True) as server:
        result = await run_task(double, {"n": 3}, server=server)
    assert result.output == {"doubled": 6}


async def test_a_stuck_handler_times_out_without_waiting_out_the_grace(
    server: RunningServer,
) -> None:
    with trio.fail_after(10), pytest.raises(TimeoutError, match=r"stuck .* after 0\.3 s"):
        await run_task(stuck, {}, server=server, timeout=0.3)


async def test_settings_that_come_from_the_server_are_refused(server: RunningServer) -> None:
    with pytest.raises(TypeError, match="api_url come from the server"):
        await run_task(double, {"n": 1}, server=server, api_url="http://elsewhere/api")


async def test_input_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(TypeError, match=r"input_data must be a mapping .* got list"):
        await run_task(double, [1, 2])  # type: ignore[arg-type]

"""``async with open_runtime(settings, agents) as runtime``: serves while the block runs,
drains when it is left (normally, by an exception, by a cancellation), under trio and
asyncio; the block's ``runtime`` is typed (this module is checked by ``mypy --strict``)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import trio

import user_agent_sdk
import user_agent_sdk.runtime
from user_agent_sdk import Runtime, open_runtime, running
from user_agent_sdk.conductor import WorkflowStatus
from user_agent_sdk.server import RunningServer

from ..runtime.support import agents, settings_for, submit, workflow


def slow_doubler(started: trio.Event | None = None, seconds: float = 0.3) -> Any:
    async def double(input_data: dict[str, Any]) -> dict[str, Any]:
        if started is not None:
            started.set()
        await trio.sleep(seconds)
        return {"n": input_data["n"] * 2}

    return double


def test_open_runtime_is_exported_and_running_is_the_same_function() -> None:
    assert user_agent_sdk.open_runtime is user_agent_sdk.runtime.open_runtime is open_runtime
    assert running is open_runtime


async def test_a_block_serves_a_task_and_leaving_it_drains(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    started = trio.Event()
    async with open_runtime(
        settings_for(server, grace_s=5), agents(slow_doubler(started))
    ) as runtime:
        typed: Runtime = runtime
        # mypy (warn_unused_ignores) fails here if ``runtime`` is Any: then this ignore
        # would be unused. It proves the block's target is inferred as Runtime.
        not_an_int: int = runtime  # type: ignore[assignment]
        del not_an_int
        workflow_id = await submit(api, "double", {"n": 21})
        with trio.fail_after(10):
            await started.wait()
        assert typed.running == 1
    # The block ended while the task ran: the drain let it finish and sent its result.
    assert runtime.stopping
    assert runtime.running == 0
    done = await workflow(api, workflow_id)
    assert done.status is WorkflowStatus.COMPLETED
    assert done.output == {"n": 42}


async def test_a_cancellation_of_the_block_drains_before_it_completes(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    started = trio.Event()
    with trio.CancelScope() as scope:
        async with open_runtime(
            settings_for(server, grace_s=5), agents(slow_doubler(started))
        ) as runtime:
            workflow_id = await submit(api, "double", {"n": 1})
            with trio.fail_after(10):
                await started.wait()
            scope.cancel()
            await trio.sleep_forever()
    assert scope.cancelled_caught
    assert runtime.running == 0
    assert (await workflow(api, workflow_id)).status is WorkflowStatus.COMPLETED


async def test_an_error_in_the_block_comes_out_as_itself_after_the_drain(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    started = trio.Event()
    served: list[tuple[Runtime, str]] = []

    async def serve_then_fail() -> None:
        async with open_runtime(
            settings_for(server, grace_s=5), agents(slow_doubler(started))
        ) as runtime:
            served.append((runtime, await submit(api, "double", {"n": 2})))
            with trio.fail_after(10):
                await started.wait()
            raise KeyError("the program's own error")

    with pytest.raises(KeyError, match="the program's own error"):
        await serve_then_fail()
    [(runtime, workflow_id)] = served
    assert runtime.running == 0
    assert (await workflow(api, workflow_id)).status is WorkflowStatus.COMPLETED


async def test_under_asyncio_the_block_serves_and_drains(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    settings = settings_for(server, grace_s=5)
    registry = agents(slow_doubler(seconds=0.1))
    workflow_id = await submit(api, "double", {"n": 5})

    async def main() -> int:
        async with open_runtime(settings, registry) as runtime:
            typed: Runtime = runtime
            while typed.stats().completed == 0:
                await asyncio.sleep(0.02)
        return typed.running

    with trio.fail_after(20):
        assert await trio.to_thread.run_sync(asyncio.run, main()) == 0
    done = await workflow(api, workflow_id)
    assert (done.status, done.output) == (WorkflowStatus.COMPLETED, {"n": 10})

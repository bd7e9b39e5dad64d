"""embedded_server under trio (pytest-trio) and under asyncio (asyncio.run in a plain test)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
import pytest
import trio

from user_agent_sdk import user_agent
from user_agent_sdk.conductor import TaskResultStatus
from user_agent_sdk.testing import embedded_server, run_task

SERVER_THREAD = "useragent-test-server"


def server_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == SERVER_THREAD]


# -- under trio ------------------------------------------------------------------------------


async def test_under_trio_it_serves_in_memory_on_loopback_until_the_block_ends() -> None:
    async with embedded_server() as server, httpx.AsyncClient() as http:
        assert server.base_url.startswith("http://127.0.0.1:")
        assert server.config.db == ":memory:"
        response = await http.get(f"{server.api_url}/tasks/queue/size", params={"taskType": "x"})
        assert response.status_code == 200
    async with httpx.AsyncClient() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"{server.api_url}/tasks/queue/size", params={"taskType": "x"})


async def test_under_trio_an_error_in_the_block_comes_out_as_itself() -> None:
    with pytest.raises(ValueError, match=r"^from the test$"):
        async with embedded_server():
            raise ValueError("from the test")


async def test_its_options_are_those_of_server_config() -> None:
    async with embedded_server(auth_required=True) as server, httpx.AsyncClient() as http:
        response = await http.get(f"{server.api_url}/tasks/queue/size", params={"taskType": "x"})
    assert response.status_code == 401


async def test_each_server_starts_empty() -> None:
    for _ in range(2):
        async with embedded_server() as server, httpx.AsyncClient() as http:
            size = await http.get(f"{server.api_url}/tasks/queue/size", params={"taskType": "x"})
            assert size.json() == 0
            await http.post(f"{server.api_url}/workflow/x", json={})


# -- under asyncio ---------------------------------------------------------------------------


LOOPS: list[asyncio.AbstractEventLoop] = []


@user_agent(agent_id="testing-asyncio-caller-loop")
async def where(input_data: dict[str, Any]) -> dict[str, Any]:
    LOOPS.append(asyncio.get_running_loop())
    await asyncio.sleep(0.01)
    return {"thread": threading.get_ident()}


def test_under_asyncio_it_serves_from_a_thread_and_stops_on_exit() -> None:
    async def main() -> str:
        async with embedded_server() as server, httpx.AsyncClient() as http:
            assert len(server_threads()) == 1
            response = await http.get(f"{server.api_url}/tasks/queue/size?taskType=x")
            assert response.status_code == 200
        assert not server_threads()
        return server.api_url

    api_url = asyncio.run(main())
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{api_url}/tasks/queue/size?taskType=x")


def test_under_asyncio_an_error_in_the_block_comes_out_as_itself() -> None:
    async def main() -> None:
        async with embedded_server():
            raise ValueError("from the test")

    with pytest.raises(ValueError, match=r"^from the test$"):
        asyncio.run(main())
    assert not server_threads()


def test_under_asyncio_a_cancellation_while_starting_stops_the_server() -> None:
    async def main() -> None:
        async def enter() -> None:
            async with embedded_server():
                raise AssertionError("the block should not run")

        task = asyncio.create_task(enter())
        await asyncio.sleep(0)  # the server's thread is starting
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # Checked while the loop still runs: a closed loop would end the thread anyway.
        deadline = time.monotonic() + 5
        while server_threads() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert not server_threads()

    asyncio.run(main())


def test_under_asyncio_a_server_that_cannot_start_raises_its_error() -> None:
    async def main() -> None:
        async with embedded_server() as taken:
            port = int(taken.base_url.rsplit(":", 1)[1])
            async with embedded_server(port=port):
                raise AssertionError("the block should not run")

    with pytest.raises(OSError, match="Address already in use"):
        asyncio.run(main())


def test_under_asyncio_an_asyncio_handler_runs_on_the_callers_loop() -> None:
    async def main() -> tuple[asyncio.AbstractEventLoop, int, Any]:
        result = await run_task(where, {})
        assert result.status is TaskResultStatus.COMPLETED
        return asyncio.get_running_loop(), threading.get_ident(), result.output["thread"]

    loop, thread, handler_thread = asyncio.run(main())
    assert LOOPS[-1] is loop
    assert handler_thread == thread


async def test_a_trio_caller_keeps_running_while_the_server_serves() -> None:
    # The server lives in the caller's nursery: the caller's own tasks go on beside it.
    ticks = 0
    async with embedded_server():
        for _ in range(3):
            await trio.sleep(0)
            ticks += 1
    assert ticks == 3

"""``async def`` handlers written for asyncio, as published agents are, and the runtime
inside an asyncio program."""

from __future__ import annotations

import asyncio
import signal
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import httpx
import pytest
import sniffio
import trio
from aiohttp import web

from user_agent_sdk import Registry, Settings, running, user_agent
from user_agent_sdk.conductor import TaskStatus, WorkflowStatus
from user_agent_sdk.server import RunningServer

from . import support
from .support import (
    FLAVOURS,
    agents,
    all_finished,
    clean_env,
    settings_for,
    submit_many,
    worker_process,
    workflow,
)


async def aio(input_data: dict[str, Any]) -> dict[str, Any]:
    """The handler of the issue, as written for the published SDK."""
    await asyncio.sleep(0.01)
    a, b = await asyncio.gather(asyncio.sleep(0, result=1), asyncio.sleep(0, result=2))
    return {"result": a + b}


def test_async_handlers_run_on_asyncio_unless_they_say_otherwise() -> None:
    assert Settings(api_url="http://127.0.0.1:1/api").event_loop == "asyncio"


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_published_asyncio_handler_completes(
    server: RunningServer, api: httpx.AsyncClient, flavour: str
) -> None:
    ids = await submit_many(api, "aio", [{}] * 40)
    settings = settings_for(server, flavour, event_loop="asyncio")
    async with support.running(settings, agents(aio, workers=8)):
        done = await all_finished(api, ids)
    assert [found.output for found in done] == [{"result": 3}] * 40


async def test_an_aiohttp_session_made_in_the_handler_works(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    health = f"{server.base_url}/health"

    async def fetch(input_data: dict[str, Any]) -> dict[str, Any]:
        async with aiohttp.ClientSession() as session, session.get(health) as response:
            return {"status": response.status, "body": await response.json()}

    ids = await submit_many(api, "fetch", [{}] * 10)
    settings = settings_for(server, event_loop="asyncio")
    async with support.running(settings, agents(fetch, workers=4)):
        done = await all_finished(api, ids)
    assert [found.output for found in done] == [{"status": 200, "body": {"healthy": True}}] * 10


async def test_the_agents_own_event_loop_setting_wins_over_the_runs(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    async def on_trio(input_data: dict[str, Any]) -> dict[str, Any]:
        await trio.sleep(0.01)
        return {"on": "trio"}

    registry = agents(aio)
    registry.add(agents(on_trio, event_loop="trio").specs[0])
    aio_ids = await submit_many(api, "aio", [{}] * 5)
    trio_ids = await submit_many(api, "on_trio", [{}] * 5)
    async with support.running(settings_for(server, event_loop="asyncio"), registry):
        done = await all_finished(api, aio_ids + trio_ids)
    assert [found.output for found in done] == [{"result": 3}] * 5 + [{"on": "trio"}] * 5


async def test_a_trio_handler_run_on_asyncio_fails_with_a_reason_that_says_how_to_fix_it(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    async def trio_only(input_data: dict[str, Any]) -> dict[str, Any]:
        await trio.sleep(0.01)
        return {}

    [workflow_id] = await submit_many(api, "trio_only", [{}], retryCount=0)
    async with support.running(settings_for(server, event_loop="asyncio"), agents(trio_only)):
        [found] = await all_finished(api, [workflow_id])
    reason = found.tasks[0].reason_for_incompletion or ""
    assert found.tasks[0].status is TaskStatus.FAILED
    assert "@user_agent(event_loop='trio') or useragent run --event-loop trio" in reason


async def test_a_handler_past_the_grace_is_cancelled_as_an_asyncio_task_is(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    seen: list[str] = []

    async def stuck(input_data: dict[str, Any]) -> dict[str, Any]:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise
        return {}

    [workflow_id] = await submit_many(api, "stuck", [{}])
    async with support.running(settings_for(server, event_loop="asyncio"), agents(stuck)) as rt:
        while rt.running == 0:
            await trio.sleep(0.02)
        with trio.fail_after(10):
            rt.stop(grace=0.2)
            await rt.wait_stopped()
    found = await workflow(api, workflow_id)
    assert seen == ["cancelled"]
    assert found.tasks[0].status is TaskStatus.FAILED
    assert "stopped before the task finished" in (found.tasks[0].reason_for_incompletion or "")


async def test_inside_a_handler_asyncio_is_running_and_detected_and_trio_is_not(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    async def which(input_data: dict[str, Any]) -> dict[str, Any]:
        try:
            trio.current_time()
        except RuntimeError:
            trio_seen = False
        else:
            trio_seen = True
        return {
            "sniffio": sniffio.current_async_library(),
            "anyio": anyio.get_current_task().name is not None,
            "task": asyncio.current_task() is not None,
            "trio": trio_seen,
        }

    ids = await submit_many(api, "which", [{}] * 4)
    async with support.running(settings_for(server, event_loop="asyncio"), agents(which)):
        assert sniffio.current_async_library() == "trio"
        done = await all_finished(api, ids)
        with pytest.raises(RuntimeError):
            asyncio.get_running_loop()
    expected = {"sniffio": "asyncio", "anyio": True, "task": True, "trio": False}
    assert [found.output for found in done] == [expected] * 4


async def test_a_handler_waiting_on_a_thread_and_exiting_leaves_the_runtime_serving(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    async def threads(input_data: dict[str, Any]) -> dict[str, Any]:
        if input_data["exit"]:
            raise SystemExit(3)

        def slow(n: int) -> int:
            time.sleep(0.05)
            return n

        return {"n": await asyncio.to_thread(slow, input_data["n"])}

    inputs = [{"n": n, "exit": n == 2} for n in range(6)]
    ids = await submit_many(api, "threads", inputs, retryCount=0)
    async with support.running(settings_for(server, event_loop="asyncio"), agents(threads)):
        done = await all_finished(api, ids)
    assert [found.output for n, found in enumerate(done) if n != 2] == [
        {"n": n} for n in (0, 1, 3, 4, 5)
    ]
    assert done[2].tasks[0].status is TaskStatus.FAILED


# -- the runtime inside an asyncio program ---------------------------------------------


def host_program(
    settings: Settings,
    registry: Registry,
    ready: threading.Event,
    stop: threading.Event,
    seen: dict[str, Any],
) -> None:
    """An asyncio program that serves HTTP (aiohttp) and its agents until ``stop`` is set;
    what it saw goes into ``seen``."""

    async def main() -> None:
        async def hello(request: web.Request) -> web.Response:
            return web.json_response({"hello": "from the host"})

        app = web.Application()
        app.router.add_get("/hello", hello)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        seen["port"] = runner.addresses[0][1]
        try:
            async with running(settings, registry) as runtime:
                seen["loop"] = asyncio.get_running_loop()
                ready.set()
                await asyncio.to_thread(stop.wait)
                seen["running at stop"] = runtime.running
            seen["stats"] = runtime.stats()
        finally:
            await runner.cleanup()

    asyncio.run(main())


async def test_an_asyncio_program_serves_http_and_its_agents_and_drains_on_its_own_shutdown(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    loops: set[int] = set()

    async def slow_aio(input_data: dict[str, int]) -> dict[str, int]:
        loops.add(id(asyncio.get_running_loop()))
        await asyncio.sleep(0.2)
        return {"n": input_data["n"]}

    inputs = [{"n": n} for n in range(200)]
    ids = await submit_many(api, "slow_aio", inputs, responseTimeoutSeconds=60)
    settings = settings_for(server, event_loop="asyncio")
    ready, stop = threading.Event(), threading.Event()
    seen: dict[str, Any] = {}

    def host() -> None:
        host_program(settings, agents(slow_aio, workers=10), ready, stop, seen)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(lambda: trio.to_thread.run_sync(host, abandon_on_cancel=True))
        with trio.fail_after(20):
            await trio.to_thread.run_sync(ready.wait, abandon_on_cancel=True)
            while (await workflow(api, ids[30])).status is not WorkflowStatus.COMPLETED:
                await trio.sleep(0.05)
        async with httpx.AsyncClient() as client:
            answer = await client.get(f"http://127.0.0.1:{seen['port']}/hello")
        stop.set()  # the host shuts down with handlers running
    assert answer.json() == {"hello": "from the host"}
    assert seen["running at stop"] > 0
    assert loops == {id(seen["loop"])}, "handlers ran on the host's own loop"

    after = [await workflow(api, workflow_id) for workflow_id in ids]
    completed = [found for found in after if found.status is WorkflowStatus.COMPLETED]
    assert len(completed) == seen["stats"].completed  # those running finished in the grace
    assert 0 < len(completed) < len(ids)

    # Another worker finishes the rest promptly: a task left leased to the stopped host
    # would wait out its 60 s lease first.
    async def rest(input_data: dict[str, int]) -> dict[str, int]:
        return {"n": input_data["n"]}

    async with support.running(settings_for(server), agents(rest, agent_id="slow_aio")):
        done = await all_finished(api, ids, timeout=15)
    assert [found.output for found in done] == inputs


# -- useragent run ---------------------------------------------------------------------

ASYNCIO_AGENT = """
import asyncio
from pathlib import Path

from user_agent_sdk import user_agent


@user_agent(agent_id="naps")
async def naps(input_data):
    try:
        await asyncio.sleep(input_data["seconds"])
    except asyncio.CancelledError:
        Path("cancelled-" + str(input_data["n"])).touch()
        raise
    return {"n": input_data["n"]}
"""


@pytest.mark.slow
async def test_sigterm_during_asyncio_handlers_drains_as_for_any_other(
    server: RunningServer, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    (tmp_path / "agent.py").write_text(textwrap.dedent(ASYNCIO_AGENT))
    inputs = [{"n": n, "seconds": 30 if n < 2 else 0.3} for n in range(6)]
    ids = await submit_many(api, "naps", inputs)
    env = clean_env(CONDUCTOR_SERVER_URL=server.api_url)
    args = ["run", "agent.py", "-w", "6", "--grace", "1"]
    async with worker_process(args, cwd=tmp_path, env=env) as worker:
        await worker.wait_for(r"naps: serving agent id 'naps' with 6 workers \(asyncio handler\)")
        while not await all_in_progress(api, ids):
            await trio.sleep(0.05)
        worker.signal(signal.SIGTERM)
        assert await worker.wait(timeout=15) == 0, worker.output
    done = [await workflow(api, workflow_id) for workflow_id in ids]
    for n, found in enumerate(done):
        task = found.tasks[0]
        if n < 2:  # cut short by the grace: cancelled inside asyncio, reported FAILED
            assert task.status is TaskStatus.FAILED
            assert "stopped before the task finished" in (task.reason_for_incompletion or "")
            assert (tmp_path / f"cancelled-{n}").exists()
        else:
            assert task.status is TaskStatus.COMPLETED
            assert found.output == {"n": n}


async def all_in_progress(api: httpx.AsyncClient, ids: list[str]) -> bool:
    for workflow_id in ids:
        if (await workflow(api, workflow_id)).tasks[0].status is not TaskStatus.IN_PROGRESS:
            return False
    return True


def test_the_decorator_refuses_an_event_loop_it_does_not_know_or_on_a_sync_handler() -> None:
    from user_agent_sdk import RegistrationError

    with pytest.raises(RegistrationError, match="event_loop must be 'asyncio', 'trio' or None"):
        user_agent(event_loop="curio")(aio)
    with pytest.raises(RegistrationError, match="applies to async def handlers"):

        @user_agent(event_loop="trio")
        def plain() -> None: ...

"""Stopping drains; the runtime embeds in a trio program; a lost server is waited out."""

from __future__ import annotations

import socket

import httpx
import trio

from user_agent_sdk import Runtime, Settings, serve
from user_agent_sdk.conductor import TaskStatus, WorkflowStatus
from user_agent_sdk.server import MEMORY, RunningServer, ServerConfig
from user_agent_sdk.server import serve as serve_server

from .support import (
    agents,
    all_finished,
    finished,
    running,
    settings_for,
    submit,
    submit_many,
    workflow,
)


async def test_two_runtimes_side_by_side_and_cancelling_the_nursery_drains_both(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    async def quick(input_data: dict[str, int]) -> int:
        return input_data["n"] * 2

    async def slow() -> str:
        await trio.sleep(0.5)
        return "finished"

    async with trio.open_nursery() as nursery:
        first: Runtime = await nursery.start(
            serve, settings_for(server, "conductor"), agents(quick)
        )
        second: Runtime = await nursery.start(serve, settings_for(server, "akabot"), agents(slow))
        assert [agent.agent_id for agent in (*first.agents, *second.agents)] == ["quick", "slow"]
        assert (await finished(api, await submit(api, "quick", {"n": 21}))).output == {"result": 42}
        slow_id = await submit(api, "slow", {})
        while second.running == 0:
            await trio.sleep(0.01)
        nursery.cancel_scope.cancel()  # while "slow" is running
    # The cancellation completed only after the running task did.
    done = await workflow(api, slow_id)
    assert done.status is WorkflowStatus.COMPLETED
    assert done.output == {"result": "finished"}


async def test_stop_lets_running_tasks_finish_within_the_grace(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    async def steady() -> str:
        await trio.sleep(0.3)
        return "ok"

    async with running(settings_for(server), agents(steady, workers=4)) as runtime:
        ids = [await submit(api, "steady", {}) for _ in range(4)]
        while runtime.running < 4:
            await trio.sleep(0.01)
        runtime.stop(grace=5)
        with trio.fail_after(5):
            await runtime.wait_stopped()
    for workflow_id in ids:
        assert (await workflow(api, workflow_id)).status is WorkflowStatus.COMPLETED


async def test_tasks_still_running_after_the_grace_are_failed_for_another_worker(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    def stubborn() -> None:
        import time

        time.sleep(3)  # a thread cannot be interrupted: it is abandoned

    async with running(settings_for(server, "akabot"), agents(stubborn)) as runtime:
        workflow_id = await submit(api, "stubborn", {})
        while runtime.running == 0:
            await trio.sleep(0.01)
        runtime.stop(grace=0.2)
        with trio.fail_after(2):
            await runtime.wait_stopped()
    found = await workflow(api, workflow_id)
    assert found.status is WorkflowStatus.RUNNING
    first, retry = found.tasks
    assert first.status is TaskStatus.FAILED
    assert "stopped before the task finished" in (first.reason_for_incompletion or "")
    assert retry.status is TaskStatus.SCHEDULED  # back in the queue, for another worker


async def test_the_runtime_waits_out_an_unreachable_server_and_recovers(
    api: httpx.AsyncClient,
) -> None:
    with socket.socket() as probe:  # a port with nothing listening, for now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def late(input_data: dict[str, str]) -> str:
        return input_data["word"].upper()

    settings = Settings(api_url=f"http://127.0.0.1:{port}/api")
    async with trio.open_nursery() as nursery:
        async with running(settings, agents(late)):
            await trio.sleep(0.6)  # a few failed polls
            server: RunningServer = await nursery.start(
                serve_server, ServerConfig(port=port, db=MEMORY)
            )
            async with httpx.AsyncClient(base_url=server.api_url) as late_api:
                done = await finished(late_api, await submit(late_api, "late", {"word": "hi"}), 10)
        nursery.cancel_scope.cancel()
    assert done.output == {"result": "HI"}


async def test_a_server_restart_with_new_tokens_is_survived(nursery: trio.Nursery) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = ServerConfig(port=port, db=MEMORY, auth_required=True)

    async def echo(input_data: dict[str, int]) -> int:
        return input_data["n"]

    first_life, second_life = trio.CancelScope(), trio.CancelScope()
    server: RunningServer = await nursery.start(_serve_in, first_life, config)
    settings = settings_for(server, "akabot")
    async with running(settings, agents(echo)):
        async with httpx.AsyncClient(base_url=server.api_url) as anonymous:
            token = await _token(anonymous, server)
            api = httpx.AsyncClient(base_url=server.api_url, headers={"X-Authorization": token})
            async with api:
                assert (await finished(api, await submit(api, "echo", {"n": 1}))).output == {
                    "result": 1
                }
        first_life.cancel()  # the server restarts: every token it issued is forgotten
        await trio.sleep(0.3)
        await nursery.start(_serve_in, second_life, config)
        async with httpx.AsyncClient(base_url=server.api_url) as anonymous:
            token = await _token(anonymous, server)
            async with httpx.AsyncClient(
                base_url=server.api_url, headers={"X-Authorization": token}
            ) as api:
                done = await finished(api, await submit(api, "echo", {"n": 2}), 10)
        second_life.cancel()
    assert done.output == {"result": 2}


async def _serve_in(
    scope: trio.CancelScope,
    config: ServerConfig,
    *,
    task_status: trio.TaskStatus[RunningServer] = trio.TASK_STATUS_IGNORED,
) -> None:
    with scope:
        await serve_server(config, task_status=task_status)


async def _token(client: httpx.AsyncClient, server: RunningServer) -> str:
    credentials = server.config.credentials
    response = await client.post(
        "/token", json={"keyId": credentials.client_id, "keySecret": credentials.client_secret}
    )
    response.raise_for_status()
    token: str = response.json()["token"]
    return token


async def test_sync_slots_going_straight_on_keep_to_w_and_run_each_task_once(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    import threading
    import time

    lock = threading.Lock()
    now_running: list[int] = [0]
    peak = [0]
    threads: set[str] = set()

    def busy(input_data: dict[str, int]) -> int:
        with lock:
            now_running[0] += 1
            peak[0] = max(peak[0], now_running[0])
            threads.add(threading.current_thread().name)
        time.sleep(0.005)
        with lock:
            now_running[0] -= 1
        return input_data["n"]

    async with running(settings_for(server), agents(busy, workers=3)) as runtime:
        ids = await submit_many(api, "busy", [{"n": n} for n in range(150)])
        done = await all_finished(api, ids)
        assert runtime.running == 0
    assert sorted(found.output["result"] for found in done) == list(range(150))
    assert all(len(found.tasks) == 1 for found in done)  # each ran once, first time
    assert peak[0] <= 3
    assert len(threads) == 3  # one per slot, kept from task to task


async def test_a_follow_up_cut_short_by_the_grace_is_failed_for_another_worker(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    import time

    def second_is_stuck(input_data: dict[str, int]) -> None:
        time.sleep({0: 0.3, 1: 3}.get(input_data["n"], 0))

    async with running(settings_for(server), agents(second_is_stuck, workers=1)) as runtime:
        # Instant tasks first: the worker learns to hold a reserve beyond its one slot ...
        warm_up = await submit_many(api, "second_is_stuck", [{"n": -1}] * 20)
        await all_finished(api, warm_up)
        # ... so the second is leased while the first runs, and the slot's thread goes
        # from the first straight on to the second.
        ids = [await submit(api, "second_is_stuck", {"n": n}) for n in (0, 1)]
        while runtime.stats().completed < 21:
            await trio.sleep(0.01)
        runtime.stop(grace=0.2)
        with trio.fail_after(3):
            await runtime.wait_stopped()
    first, second = [await workflow(api, workflow_id) for workflow_id in ids]
    assert first.status is WorkflowStatus.COMPLETED
    assert second.tasks[0].status is TaskStatus.FAILED
    assert "stopped before the task finished" in (second.tasks[0].reason_for_incompletion or "")
    assert second.tasks[1].status is TaskStatus.SCHEDULED

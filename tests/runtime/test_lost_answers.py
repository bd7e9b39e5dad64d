"""A poll whose answer is lost on the way: sent again, it gets the tasks the lost answer leased.

Between the client and the embedded server sits a loopback relay that can lose answers:
it passes a request on, waits until the server has answered in full (so the server did
lease the tasks), then closes the client's connection without a byte of the answer.
"""

from __future__ import annotations

import functools
from typing import Any

import httpx
import pytest
import trio

from user_agent_sdk.conductor import (
    CONDUCTOR,
    ConductorClient,
    ServerUnavailable,
    TaskResult,
    TaskResultStatus,
)
from user_agent_sdk.runtime._sender import ResultSender
from user_agent_sdk.server import RunningServer
from user_agent_sdk.transport._framing import (
    MessageReader,
    parse_request_head,
    parse_response_head,
    read_body,
    request_framing,
    response_framing,
)

from .support import submit


class LossyRelay:
    """Relays HTTP/1.1 requests to ``upstream``; drops the next ``lose`` answers."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.lose = 0
        self.down = False
        """While True, every connection is closed at once, as by a server that is gone."""
        self.keys: list[str | None] = []

    def is_down(self) -> bool:
        return self.down

    async def handle(self, client: trio.SocketStream) -> None:
        if self.down:
            await client.aclose()
            return
        upstream = await trio.open_tcp_stream("127.0.0.1", self.upstream_port)
        async with client, upstream:
            from_client = MessageReader(functools.partial(client.receive_some, 65536))
            from_server = MessageReader(functools.partial(upstream.receive_some, 65536))
            while (data := await from_client.read_head()) is not None:
                if self.is_down():
                    return
                head = parse_request_head(data)
                body = await read_body(from_client, request_framing(head), 1 << 24)
                self.keys.append(head.headers.get("idempotency-key"))
                await upstream.send_all(data + body)
                answer = await from_server.read_head()
                assert answer is not None
                framing = response_framing(parse_response_head(answer), head.method)
                answer_body = await read_body(from_server, framing, 1 << 24)
                if self.lose:
                    self.lose -= 1
                    return  # the server answered; the client never hears of it
                await client.send_all(answer + answer_body)


@pytest.fixture
async def relay(nursery: trio.Nursery, server: RunningServer) -> tuple[LossyRelay, str]:
    lossy = LossyRelay(int(server.base_url.rsplit(":", 1)[1]))
    serve = functools.partial(trio.serve_tcp, lossy.handle, 0, host="127.0.0.1")
    listeners = await nursery.start(serve)
    port = listeners[0].socket.getsockname()[1]
    return lossy, f"http://127.0.0.1:{port}/api"


async def _task(api: httpx.AsyncClient, task_id: str) -> dict[str, Any]:
    data: dict[str, Any] = (await api.get(f"/tasks/{task_id}")).json()
    return data


async def test_a_poll_sent_again_after_its_answer_was_lost_gets_the_tasks_it_leased(
    relay: tuple[LossyRelay, str], api: httpx.AsyncClient
) -> None:
    lossy, url = relay
    for n in range(3):
        await submit(api, "lossy", {"n": n})
    async with ConductorClient(url, CONDUCTOR) as client:
        lossy.lose = 1
        with pytest.raises(ServerUnavailable):
            await client.poll("lossy", count=2, worker_id="w", timeout_ms=0)
        tasks = await client.poll("lossy", count=2, worker_id="w", timeout_ms=0)
        assert [task.input_data["n"] for task in tasks] == [0, 1]
        for task in tasks:  # leased once, by the lost answer, and handed out again
            assert (await _task(api, task.task_id))["pollCount"] == 1
        [last] = await client.poll("lossy", count=2, worker_id="w", timeout_ms=0)
        assert last.input_data == {"n": 2}
    first_key, second_key, third_key = lossy.keys
    assert first_key is not None
    assert first_key == second_key != third_key


async def test_the_pools_own_resend_on_a_new_connection_gets_the_same_tasks(
    relay: tuple[LossyRelay, str], api: httpx.AsyncClient
) -> None:
    lossy, url = relay
    for n in range(4):
        await submit(api, "resent", {"n": n})
    async with ConductorClient(url, CONDUCTOR) as client:
        [warm] = await client.poll("resent", count=1, worker_id="w", timeout_ms=0)
        # The next poll reuses that connection; its answer is lost, the pool sends the same
        # request again on a new connection, and the server hands out the same tasks.
        lossy.lose = 1
        tasks = await client.poll("resent", count=2, worker_id="w", timeout_ms=0)
        assert [task.input_data["n"] for task in tasks] == [1, 2]
        for task in tasks:
            assert (await _task(api, task.task_id))["pollCount"] == 1
        [last] = await client.poll("resent", count=2, worker_id="w", timeout_ms=0)
        assert last.input_data == {"n": 3}
        assert warm.input_data == {"n": 0}
    assert lossy.keys[1] == lossy.keys[2] is not None


async def test_a_lost_update_sent_again_is_applied_once(
    relay: tuple[LossyRelay, str], api: httpx.AsyncClient
) -> None:
    lossy, url = relay
    workflow_id = await submit(api, "lossy-update", {"n": 0})
    async with ConductorClient(url, CONDUCTOR) as client:
        [task] = await client.poll("lossy-update", count=1, worker_id="w", timeout_ms=0)
        lossy.lose = 1
        await client.update(
            TaskResult(task.task_id, TaskResultStatus.COMPLETED, output_data={"ok": 1})
        )
        await client.update(
            TaskResult(task.task_id, TaskResultStatus.FAILED, output_data={"late": 1})
        )
    flow = (await api.get(f"/workflow/{workflow_id}")).json()
    assert (flow["status"], flow["output"]) == ("COMPLETED", {"ok": 1})
    assert lossy.keys[1:] == [None, None, None]  # updates carry no key: repeating one is harmless


async def test_a_result_waiting_to_retry_goes_at_once_when_the_server_answers_again(
    relay: tuple[LossyRelay, str], api: httpx.AsyncClient
) -> None:
    lossy, url = relay
    workflow_id = await submit(api, "comeback", {"n": 0})
    async with ConductorClient(url, CONDUCTOR) as client, trio.open_nursery() as nursery:
        [task] = await client.poll("comeback", count=1, worker_id="w", timeout_ms=0)
        # A first retry wait far longer than the test may take: only the signal ends it.
        sender = ResultSender(client, nursery, concurrency=4, agent="t", first_retry_s=60)
        lossy.down = True
        await sender.send(
            TaskResult(task.task_id, TaskResultStatus.COMPLETED, output_data={"ok": 1})
        )
        await trio.sleep(0.3)  # the post has failed and waits to retry
        assert sender.pending == 1
        lossy.down = False
        sender.server_answered()
        with trio.fail_after(5):
            while sender.pending:
                await trio.sleep(0.02)
    flow = (await api.get(f"/workflow/{workflow_id}")).json()
    assert (flow["status"], flow["output"]) == ("COMPLETED", {"ok": 1})

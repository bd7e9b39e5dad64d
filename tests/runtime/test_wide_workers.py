"""Many slots: every task served, requests the server accepts, a bounded number of sockets."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import httpx
import pytest
import trio

from user_agent_sdk.runtime._runtime import MAX_CONNECTIONS
from user_agent_sdk.server import RunningServer

from .support import FLAVOURS, agents, outcomes, running, settings_for, submit_many

pytestmark = pytest.mark.slow


async def serve_all(
    server: RunningServer,
    api: httpx.AsyncClient,
    handler: Callable[[dict[str, int]], Awaitable[dict[str, int]]],
    *,
    tasks: int,
    workers: int,
    flavour: str = "conductor",
    timeout: float = 120,
) -> None:
    """Queue ``tasks`` tasks, serve them with ``workers`` slots, check every output."""
    ids = await submit_many(api, handler.__name__, [{"n": n} for n in range(tasks)])
    async with running(settings_for(server, flavour), agents(handler, workers=workers)) as rt:
        with trio.fail_after(timeout):
            while (stats := rt.stats()).completed + stats.failed < tasks:
                await trio.sleep(0.1)
    assert await outcomes(api, ids) == [("COMPLETED", {"n": n}) for n in range(tasks)]


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_2000_slots_drain_4000_tasks_of_50_ms_with_every_output_right(
    server: RunningServer, api: httpx.AsyncClient, flavour: str
) -> None:
    # 2,000 slots and their reserve want thousands of tasks at once; the embedded server
    # refuses a lease of more than 1,000 in one request.
    async def quick(input_data: dict[str, int]) -> dict[str, int]:
        await trio.sleep(0.05)
        return {"n": input_data["n"]}

    await serve_all(server, api, quick, tasks=4000, workers=2000, flavour=flavour)


async def test_10000_slots_of_5_s_handlers_serve_20000_tasks(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    async def five_seconds(input_data: dict[str, int]) -> dict[str, int]:
        await trio.sleep(5)
        return {"n": input_data["n"]}

    await serve_all(server, api, five_seconds, tasks=20_000, workers=10_000, timeout=180)


async def test_5000_akabot_slots_keep_their_connections_to_the_server_bounded(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    # akaBot polls lease one task each: a worker that sent one per idle slot at once
    # would open a socket per slot.
    async def slow(input_data: dict[str, int]) -> dict[str, int]:
        await trio.sleep(0.5)
        return {"n": input_data["n"]}

    port = urlsplit(server.base_url).port
    assert port is not None
    peak = 0

    async def watch() -> None:
        nonlocal peak
        while True:
            peak = max(peak, connections_to(port))
            await trio.sleep(0.05)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(watch)
        await serve_all(server, api, slow, tasks=1500, workers=5000, flavour="akabot")
        nursery.cancel_scope.cancel()
    # The runtime's pool, this test's own clients, and a few closing.
    assert 0 < peak <= MAX_CONNECTIONS + 40


def connections_to(port: int) -> int:
    """Established TCP connections on this machine whose remote end is ``port`` (the
    clients' side of connections to a server listening there)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                remote_port = int(fields[2].rsplit(":", 1)[1], 16)
                if remote_port == port and fields[3] == "01":  # ESTABLISHED
                    count += 1
    return count

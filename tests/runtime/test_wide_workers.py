"""Many slots: every task served, requests the server accepts, a bounded number of sockets."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest
import trio

from user_agent_sdk.runtime._runtime import MAX_CONNECTIONS
from user_agent_sdk.server import RunningServer

from .support import FLAVOURS, agents, all_finished, running, settings_for, submit_many

pytestmark = pytest.mark.slow


async def test_1500_slots_lease_in_requests_the_server_accepts_and_serve_every_task(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    # 1,500 slots want several thousand tasks at once (the slots and their reserve); the
    # embedded server refuses a lease of more than 1,000 in one request with a 400.
    async def wide(input_data: dict[str, int]) -> dict[str, int]:
        await trio.sleep(0.2)
        return {"n": input_data["n"]}

    ids = await submit_many(api, "wide", [{"n": n} for n in range(4000)])
    async with running(settings_for(server), agents(wide, workers=1500)):
        done = await all_finished(api, ids, timeout=90)
    assert [found.output for found in done] == [{"n": n} for n in range(4000)]


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_2000_slots_drain_4000_tasks_of_50_ms_with_every_output_right(
    server: RunningServer, api: httpx.AsyncClient, flavour: str
) -> None:
    async def quick(input_data: dict[str, int]) -> dict[str, int]:
        await trio.sleep(0.05)
        return {"n": input_data["n"]}

    ids = await submit_many(api, "quick", [{"n": n} for n in range(4000)])
    async with running(settings_for(server, flavour), agents(quick, workers=2000)):
        done = await all_finished(api, ids, timeout=120)
    assert [found.output for found in done] == [{"n": n} for n in range(4000)]


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

    ids = await submit_many(api, "slow", [{"n": n} for n in range(3000)])
    async with trio.open_nursery() as nursery:
        nursery.start_soon(watch)
        async with running(settings_for(server, "akabot"), agents(slow, workers=5000)):
            done = await all_finished(api, ids, timeout=120)
        nursery.cancel_scope.cancel()
    assert [found.output for found in done] == [{"n": n} for n in range(3000)]
    # The runtime's pool, this test's own client, and a few closing.
    assert 0 < peak <= MAX_CONNECTIONS + 20


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

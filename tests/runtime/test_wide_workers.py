"""Many slots: a worker never asks the server to lease more tasks in one request than it allows."""

from __future__ import annotations

import httpx
import pytest
import trio

from user_agent_sdk.server import RunningServer

from .support import agents, all_finished, running, settings_for, submit_many

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

"""What a server offers for results is learnt once per runtime, for all its agents.

The runtime runs against the embedded server behind the forwarder of
tests/runtime/forwarding.py, which plays a server without update-batch (or without
update-v2 as well) and counts what reaches it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import attrs
import httpx
import pytest
import trio

from user_agent_sdk.conductor import DeliveryCapability, ResultRoute
from user_agent_sdk.server import RunningServer

from .forwarding import PLAIN_UPDATE, UPDATE_BATCH, UPDATE_V2, forwarding
from .support import agents, all_finished, finished, running, settings_for, submit, submit_many

AGENTS = 4


def _times(k: int) -> Callable[[dict[str, int]], Awaitable[int]]:
    """A handler named ``times{k}`` that multiplies its input by ``k``."""

    async def handler(input_data: dict[str, int]) -> int:
        return input_data["n"] * k

    handler.__name__ = handler.__qualname__ = f"times{k}"
    return handler


def _fall_backs(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "results go by" in r.getMessage()]


async def test_one_refused_update_batch_moves_every_agent_to_the_fall_back(
    server: RunningServer, api: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    handlers = [_times(k) for k in range(2, 2 + AGENTS)]
    caplog.set_level(logging.INFO, logger="user_agent_sdk")
    async with forwarding(server, missing=(UPDATE_BATCH,)) as forwarder:
        settings = attrs.evolve(settings_for(server), api_url=forwarder.api_url)
        with trio.fail_after(60):
            async with running(settings, agents(*handlers, workers=4)):
                # One task of one agent alone first: its update-batch is the only one
                # under way when the refusal comes back.
                first = await finished(api, await submit(api, "times2", {"n": 1}))
                assert forwarder.seen[UPDATE_BATCH] == 1
                ids = {
                    k: await submit_many(api, f"times{k}", [{"n": n} for n in range(10)])
                    for k in range(2, 2 + AGENTS)
                }
                done = {k: await all_finished(api, ids[k], timeout=50) for k in ids}
    assert first.output == {"result": 2}
    for k, workflows in done.items():
        assert [w.output for w in workflows] == [{"result": k * n} for n in range(10)]
    # None of the other agents (nor the first again) tried update-batch: every later
    # result went by update-v2 or, when no slot had room for a next task, a plain update.
    assert forwarder.seen[UPDATE_BATCH] == 1
    assert forwarder.seen[UPDATE_V2] + forwarder.seen[PLAIN_UPDATE] == 1 + 10 * AGENTS
    assert len(_fall_backs(caplog)) == 1


def test_a_capability_moves_down_one_step_per_missing_route_and_logs_it_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="user_agent_sdk")
    capability = DeliveryCapability("http://server", update_v2=True, update_batch=True)
    best = [capability.best]
    capability.lacks(ResultRoute.UPDATE_BATCH, 404)
    capability.lacks(ResultRoute.UPDATE_BATCH, 404)  # a request already under way
    best.append(capability.best)
    assert not capability.offers(ResultRoute.UPDATE_BATCH)
    capability.lacks(ResultRoute.UPDATE_V2, 405)
    best.append(capability.best)
    assert best == [ResultRoute.UPDATE_BATCH, ResultRoute.UPDATE_V2, ResultRoute.PLAIN_UPDATE]
    assert _fall_backs(caplog) == [
        "http://server has no update-batch (it answered 404); results go by update-v2 from now on",
        "http://server has no update-v2 (it answered 405); results go by plain updates from now on",
    ]


def test_a_server_without_update_v2_steps_from_update_batch_to_plain_updates() -> None:
    capability = DeliveryCapability("http://server", update_v2=False, update_batch=True)
    capability.lacks(ResultRoute.UPDATE_BATCH, 405)
    assert capability.best is ResultRoute.PLAIN_UPDATE
    assert not capability.offers(ResultRoute.UPDATE_V2)

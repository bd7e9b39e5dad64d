"""A program written against the public API, as a user writes one: ``mypy --strict`` checks
this module with ``disallow_any_expr`` (pyproject.toml), so a public name whose type is or
holds ``Any`` (an ``open_runtime`` block target, an error, a stats field) fails the type
check. It runs, too."""

from __future__ import annotations

import httpx
import trio

from user_agent_sdk import (
    Registry,
    Runtime,
    Settings,
    UserAgentError,
    open_runtime,
    register_user_agent,
)
from user_agent_sdk.server import RunningServer

from ..runtime.support import submit


async def double(input_data: dict[str, int]) -> int:
    return input_data["n"] * 2


async def test_a_typed_program_serves_through_open_runtime(
    server: RunningServer, api: httpx.AsyncClient
) -> None:
    agents = Registry()
    register_user_agent(double, agent_id="double", workers=2, registry=agents)
    settings = Settings(api_url=server.api_url, event_loop="trio")
    try:
        async with open_runtime(settings, agents) as runtime:
            typed: Runtime = runtime
            task_input: dict[str, int] = {"n": 21}
            await submit(api, "double", task_input)
            with trio.fail_after(10):
                while typed.stats().completed == 0:
                    await trio.sleep(0.01)
            reasons: dict[str, str] = typed.not_ready()
            assert reasons == {}
    except UserAgentError as error:
        raise AssertionError(f"the runtime failed: {error}") from error
    assert typed.running == 0

"""What a worker does when the server refuses its requests: ask for less, or stop and say why."""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path

import attrs
import httpx
import pytest
import trio

from user_agent_sdk.conductor import TaskStatus
from user_agent_sdk.runtime import AgentFailed, serve
from user_agent_sdk.runtime._refusals import MAX_LEASE, LeaseLimit
from user_agent_sdk.server import MEMORY, RunningServer, ServerConfig, TaskSettings

from .support import (
    FLAVOURS,
    agents,
    all_finished,
    clean_env,
    run_cli,
    running,
    settings_for,
    submit_many,
)

BODY_LIMIT = 200_000


@pytest.fixture
def server_config() -> ServerConfig:
    # Five tasks per poll or update-batch, and small request bodies.
    return ServerConfig(
        port=0,
        db=MEMORY,
        task_defaults=TaskSettings(max_attempts=3),
        max_batch=5,
        max_body_bytes=BODY_LIMIT,
    )


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_server_that_leases_five_per_request_still_gets_every_task_served(
    server: RunningServer,
    api: httpx.AsyncClient,
    flavour: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def five(input_data: dict[str, int]) -> dict[str, int]:
        await trio.sleep(0.01)
        return {"n": input_data["n"]}

    ids = await submit_many(api, "five", [{"n": n} for n in range(300)])
    with caplog.at_level(logging.WARNING, logger="user_agent_sdk"):
        async with running(settings_for(server, flavour), agents(five, workers=40)):
            done = await all_finished(api, ids, timeout=60)
    assert [found.output for found in done] == [{"n": n} for n in range(300)]
    refusals = [r.getMessage() for r in caplog.records if "refused a request for" in r.getMessage()]
    if flavour == "akabot":
        assert refusals == []  # single polls ask for one task each: nothing to refuse
    else:
        # Reported once, with what was sent and what the server said.
        assert len(refusals) == 1, refusals
        assert "count=" in refusals[0]
        assert "HTTP 400" in refusals[0]
        assert "must be between 1 and 5" in refusals[0] or "at most 5" in refusals[0]


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_an_output_larger_than_the_server_accepts_fails_that_task_for_good_with_the_reason(
    server: RunningServer, api: httpx.AsyncClient, flavour: str
) -> None:
    async def sizes(input_data: dict[str, int]) -> dict[str, object]:
        if input_data["n"] == 3:
            return {"blob": "x" * (BODY_LIMIT + 50_000)}
        return {"n": input_data["n"]}

    ids = await submit_many(api, "sizes", [{"n": n} for n in range(20)])
    async with running(settings_for(server, flavour), agents(sizes, workers=4)) as runtime:
        done = await all_finished(api, ids, timeout=30)
    stats = runtime.stats()
    assert (stats.completed, stats.failed_terminal) == (19, 1), "counted as the server has it"
    for n, found in enumerate(done):
        if n != 3:
            assert found.output == {"n": n}
            continue
        assert len(found.tasks) == 1, "a result too large is not retried"
        task = found.tasks[0]
        assert task.status is TaskStatus.FAILED_WITH_TERMINAL_ERROR
        assert task.reason_for_incompletion is not None
        assert "larger than the server accepts" in task.reason_for_incompletion
        assert "413" in task.reason_for_incompletion


async def test_polls_the_server_refuses_outright_stop_the_agent_with_the_reason(
    server: RunningServer,
) -> None:
    async def lost(input_data: dict[str, int]) -> dict[str, int]:
        return input_data

    # An API URL the server does not have: every poll is answered 404.
    settings = attrs.evolve(settings_for(server), api_url=server.base_url)
    with trio.fail_after(15), pytest.raises(AgentFailed) as raised:
        await serve(settings, agents(lost))
    message = str(raised.value)
    assert message.startswith("lost: the server refuses its polls")
    assert "HTTP 404" in message
    assert "/tasks/poll/batch/lost" in message
    assert "check the server URL" in message


async def test_useragent_run_exits_1_naming_the_refusal(
    server: RunningServer, tmp_path: Path
) -> None:
    agent = tmp_path / "agent.py"
    agent.write_text(
        textwrap.dedent(
            """
            from user_agent_sdk import user_agent


            @user_agent(agent_id="lost")
            def lost(input_data):
                return input_data
            """
        )
    )
    env = clean_env(CONDUCTOR_SERVER_URL=server.base_url + "/nope")
    code, output = await run_cli(["run", str(agent)], cwd=tmp_path, env=env)
    assert code == 1, output
    assert "useragent run: lost: the server refuses its polls" in output
    assert "HTTP 404" in output
    assert "/nope/api/tasks/poll/batch/lost" in output


def test_tasks_with_big_inputs_are_asked_for_a_few_per_request() -> None:
    limit = LeaseLimit("big")
    assert limit.cap(1500) == MAX_LEASE
    assert limit.cap(1500, task_bytes=2_000) == MAX_LEASE
    assert limit.cap(1500, task_bytes=2 * 1024 * 1024) == 16  # 32 MiB an answer
    assert limit.cap(1500, task_bytes=300 * 1024 * 1024) == 1

"""``useragent run`` as a user runs it: a real process, its output, its exit code, its signals."""

from __future__ import annotations

import json
import signal
import textwrap
from pathlib import Path

import httpx
import pytest
import trio

from user_agent_sdk.conductor import TaskStatus, WorkflowStatus
from user_agent_sdk.server import RunningServer

from .support import (
    REPO,
    agents,
    all_finished,
    clean_env,
    run_cli,
    running,
    settings_for,
    submit,
    submit_many,
    worker_process,
    workflow,
)

pytestmark = pytest.mark.slow

SUM_AGENT = REPO / "examples" / "sum_agent.py"


def script(directory: Path, source: str, name: str = "agent.py") -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(source))
    return path


# -- mistakes the user can fix: one clear line, exit code 2 ---------------------------------


@pytest.mark.parametrize(
    ("credentials", "expected"),
    [
        (None, r"no credentials\.json in .* \$CONDUCTOR_SERVER_URL is not set"),
        ("{oops", r"credentials\.json: not valid JSON: .* line 1, column 2"),
        ({"clientSecret": "x"}, r"credentials\.json: field 'clientId' is missing"),
        (
            {"clientId": 7, "clientSecret": "x"},
            r"field 'clientId' must be a string, got a JSON number",
        ),
    ],
)
async def test_configuration_mistakes_exit_2_with_one_line_naming_the_field(
    tmp_path: Path, credentials: object, expected: str
) -> None:
    if credentials is not None:
        text = credentials if isinstance(credentials, str) else json.dumps(credentials)
        (tmp_path / "credentials.json").write_text(text)
    code, output = await run_cli(["run", str(SUM_AGENT)], cwd=tmp_path)
    assert code == 2, output
    assert output.startswith("useragent run: ")
    assert output.count("\n") == 1
    assert __import__("re").search(expected, output), output


async def test_a_missing_config_file_given_with_c_exits_2(tmp_path: Path) -> None:
    code, output = await run_cli(["run", str(SUM_AGENT), "-c", "elsewhere.json"], cwd=tmp_path)
    assert (code, output) == (
        2,
        "useragent run: elsewhere.json: no such file "
        "(download credentials.json from the akaBot 2.0 Workflow Builder, "
        "or pass -c FILE)\n",
    )


async def test_script_mistakes_exit_2_naming_the_script(tmp_path: Path) -> None:
    env = clean_env(CONDUCTOR_SERVER_URL="http://127.0.0.1:9/api", USERAGENT_AGENT_ID="a")
    bad = script(
        tmp_path,
        """
        from user_agent_sdk import user_agent

        @user_agent()
        def needy(input_data, user_name):
            return user_name
        """,
    )
    empty = script(tmp_path, "x = 1\n", name="empty.py")
    for args, expected in [
        (["run", str(bad)], "the runtime cannot supply parameter 'user_name'"),
        (["run", str(empty)], "empty.py defines no user agents"),
        (["run", "missing.py"], "missing.py: no such file"),
        (["run", "--path", str(bad), "-w", "0"], "--workers must be at least 1, got 0"),
    ]:
        code, output = await run_cli(args, cwd=tmp_path, env=env)
        assert code == 2, output
        assert expected in output


# -- concurrency settings -------------------------------------------------------------------

PEAK_AGENT = """
import threading
import time

from user_agent_sdk import user_agent

lock = threading.Lock()
running = 0


@user_agent(agent_id="peak", workers=2)
def peak_agent():
    global running
    with lock:
        running += 1
        seen = running
    time.sleep(0.4)
    with lock:
        running -= 1
    return {"seen": seen}
"""


@pytest.mark.parametrize(("flag", "expected"), [([], 2), (["-w", "6"], 6)])
async def test_w_overrides_the_decorators_workers(
    server: RunningServer, api: httpx.AsyncClient, tmp_path: Path, flag: list[str], expected: int
) -> None:
    agent = script(tmp_path, PEAK_AGENT)
    ids = await submit_many(api, "peak", [{}] * 6)
    env = clean_env(CONDUCTOR_SERVER_URL=server.api_url)
    async with worker_process(["run", str(agent), *flag], cwd=tmp_path, env=env) as worker:
        await worker.wait_for(f"peak_agent: serving agent id 'peak' with {expected} workers")
        done = await all_finished(api, ids)
        worker.signal(signal.SIGTERM)
        assert await worker.wait() == 0
    assert max(found.output["seen"] for found in done) == expected


# -- signals --------------------------------------------------------------------------------

LOAD_AGENT = """
import time

from user_agent_sdk import user_agent


@user_agent(agent_id="load")
def load(input_data, task):
    # A few tasks outlast the grace on their first attempt.
    time.sleep(3 if input_data["slow"] and task.retry_count == 0 else 0.01)
    return {"n": input_data["n"]}
"""


async def test_sigterm_under_load_leaves_no_task_leased_to_the_stopped_worker(
    server: RunningServer, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    agent = script(tmp_path, LOAD_AGENT)
    inputs = [{"n": n, "slow": n % 50 == 0} for n in range(400)]
    ids = await submit_many(api, "load", inputs, responseTimeoutSeconds=60)
    env = clean_env(CONDUCTOR_SERVER_URL=server.api_url)
    args = ["run", str(agent), "-w", "8", "--grace", "0.5"]
    async with worker_process(args, cwd=tmp_path, env=env) as worker:
        await worker.wait_for("serving agent id 'load'")
        await trio.sleep(1.0)  # well under way, the slow ones among the running
        worker.signal(signal.SIGTERM)
        assert await worker.wait(timeout=15) == 0
    await worker.wait_for(r"stopped: \d+ completed")

    before = [await workflow(api, workflow_id) for workflow_id in ids]
    completed = sum(found.status is WorkflowStatus.COMPLETED for found in before)
    cut_short = [
        task for found in before for task in found.tasks if task.status is TaskStatus.FAILED
    ]
    assert 0 < completed < len(ids)
    assert cut_short, "no task was running past the grace: the test did not test anything"
    for task in cut_short:
        assert "stopped before the task finished" in (task.reason_for_incompletion or "")

    # A worker that takes over finishes everything promptly: had any task stayed leased to
    # the stopped worker, it would wait out its 60 s lease first.
    def load(input_data: dict[str, int]) -> dict[str, int]:
        return {"n": input_data["n"]}

    async with running(settings_for(server), agents(load, workers=16)):
        after = await all_finished(api, ids, timeout=15)
    assert [found.output for found in after] == [{"n": n} for n in range(400)]
    assert not any(task.status is TaskStatus.TIMED_OUT for found in after for task in found.tasks)


async def test_a_second_ctrl_c_quits_at_once(
    server: RunningServer, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    agent = script(
        tmp_path,
        """
        import time
        from user_agent_sdk import user_agent

        @user_agent(agent_id="sleepy")
        def sleepy():
            time.sleep(30)
        """,
    )
    env = clean_env(CONDUCTOR_SERVER_URL=server.api_url)
    async with worker_process(["run", str(agent)], cwd=tmp_path, env=env) as worker:
        await worker.wait_for("serving agent id 'sleepy'")
        workflow_id = await submit(api, "sleepy", {})
        while (await workflow(api, workflow_id)).tasks[0].status is not TaskStatus.IN_PROGRESS:
            await trio.sleep(0.05)
        worker.signal(signal.SIGINT)
        await worker.wait_for("SIGINT: finishing running tasks")
        worker.signal(signal.SIGINT)
        assert await worker.wait(timeout=5) == 130
    assert "SIGINT again: quitting now" in worker.output
    # Nothing was reported: the server hands the task out again when its lease runs out.
    assert (await workflow(api, workflow_id)).status is WorkflowStatus.RUNNING

"""A user's own suite uses the helpers under anyio's plugin (asyncio and trio) and pytest-trio.

Each plugin runs the same user tests (below) in a pytest process of its own, once per
module; each test here checks one of them in every run.
"""

from __future__ import annotations

import pytest

from .suites import SuiteRun, run_suite

pytestmark = pytest.mark.slow

ANYIO_FIXTURES = """
import pytest

from user_agent_sdk.testing import embedded_server

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request):
    return request.param


@pytest.fixture
async def server():
    async with embedded_server() as running:
        yield running
"""

PYTEST_TRIO_FIXTURES = """
import pytest

from user_agent_sdk.testing import embedded_server


@pytest.fixture
async def server():
    async with embedded_server() as running:
        yield running
"""

USER_TESTS = """
import asyncio
import logging

import sniffio
import trio

from user_agent_sdk import NonRetryableException, user_agent
from user_agent_sdk.conductor import TaskResultStatus
from user_agent_sdk.testing import run_task

LOOPS = []


@user_agent(agent_id="fan-out")
async def fan_out(input_data: dict) -> dict:
    LOOPS.append(asyncio.get_running_loop())

    async def square(n):
        await asyncio.sleep(0.01)
        return n * n

    squares = await asyncio.gather(*(square(n) for n in input_data["numbers"]))
    return {"squares": list(squares)}


@user_agent(agent_id="nap", event_loop="trio")
async def nap(input_data: dict) -> dict:
    await trio.sleep(0.01)
    return {"slept": input_data["seconds"]}


@user_agent(agent_id="broken")
def broken(input_data: dict) -> dict:
    raise ValueError(f"cannot use {input_data['value']!r}")


@user_agent(agent_id="refuse")
async def refuse(input_data: dict) -> dict:
    raise NonRetryableException("nothing to do")


@user_agent(agent_id="chatty")
async def chatty(input_data: dict, logger: logging.Logger) -> dict:
    logger.info("starting with %d", input_data["n"])
    logger.warning("almost done")
    return {"n": input_data["n"]}


async def test_asyncio_handler(server):
    result = await run_task(fan_out, {"numbers": [1, 2, 3]}, server=server)
    assert result.status is TaskResultStatus.COMPLETED
    assert result.output == {"squares": [1, 4, 9]}
    if sniffio.current_async_library() == "asyncio":
        assert LOOPS[-1] is asyncio.get_running_loop()


async def test_trio_handler(server):
    result = await run_task(nap, {"seconds": 0.01}, server=server)
    assert result.status is TaskResultStatus.COMPLETED
    assert result.output == {"slept": 0.01}


async def test_raising_handler(server):
    result = await run_task(broken, {"value": 7}, server=server)
    assert result.status is TaskResultStatus.FAILED
    assert result.reason == "ValueError: cannot use 7"
    assert result.task.attempt == 1
    assert "Traceback" in result.logs[-1]


async def test_non_retryable(server):
    result = await run_task(refuse, {}, server=server)
    assert result.status is TaskResultStatus.FAILED_WITH_TERMINAL_ERROR
    assert result.reason == "nothing to do"


async def test_logs(server):
    result = await run_task(chatty, {"n": 3}, server=server)
    assert result.logs == ["INFO starting with 3", "WARNING almost done"]


async def test_own_server():
    result = await run_task(nap, {"seconds": 1})
    assert result.output == {"slept": 1}
"""

RUNS = ["anyio[asyncio]", "anyio[trio]", "pytest-trio"]


@pytest.fixture(scope="module")
def suite_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SuiteRun]:
    folder = tmp_path_factory.mktemp("user-suites")
    anyio = run_suite(folder / "anyio", {"test_agents.py": ANYIO_FIXTURES + USER_TESTS}, "anyio")
    trio = run_suite(
        folder / "trio", {"test_agents.py": PYTEST_TRIO_FIXTURES + USER_TESTS}, "pytest-trio"
    )
    return {"anyio[asyncio]": anyio, "anyio[trio]": anyio, "pytest-trio": trio}


def outcome(runs: dict[str, SuiteRun], run: str, test: str) -> str:
    backend = run.removeprefix("anyio")
    return runs[run].outcome(test + backend if backend.startswith("[") else test)


@pytest.mark.parametrize("run", RUNS)
def test_an_asyncio_handler_runs_and_under_asyncio_on_the_tests_own_loop(
    suite_runs: dict[str, SuiteRun], run: str
) -> None:
    assert outcome(suite_runs, run, "test_asyncio_handler") == "PASSED", suite_runs[run].output


@pytest.mark.parametrize("run", RUNS)
def test_a_trio_handler_runs_under_either_loop(suite_runs: dict[str, SuiteRun], run: str) -> None:
    assert outcome(suite_runs, run, "test_trio_handler") == "PASSED", suite_runs[run].output


@pytest.mark.parametrize("run", RUNS)
def test_a_raising_handler_fails_once_with_its_reason_and_traceback(
    suite_runs: dict[str, SuiteRun], run: str
) -> None:
    assert outcome(suite_runs, run, "test_raising_handler") == "PASSED", suite_runs[run].output


@pytest.mark.parametrize("run", RUNS)
def test_a_non_retryable_exception_fails_with_a_terminal_error(
    suite_runs: dict[str, SuiteRun], run: str
) -> None:
    assert outcome(suite_runs, run, "test_non_retryable") == "PASSED", suite_runs[run].output


@pytest.mark.parametrize("run", RUNS)
def test_the_lines_a_handler_logs_come_back_in_logs(
    suite_runs: dict[str, SuiteRun], run: str
) -> None:
    assert outcome(suite_runs, run, "test_logs") == "PASSED", suite_runs[run].output


@pytest.mark.parametrize("run", RUNS)
def test_run_task_without_a_server_starts_its_own(
    suite_runs: dict[str, SuiteRun], run: str
) -> None:
    assert outcome(suite_runs, run, "test_own_server") == "PASSED", suite_runs[run].output


@pytest.mark.parametrize("run", ["anyio[asyncio]", "pytest-trio"])
def test_the_whole_user_suite_passes(suite_runs: dict[str, SuiteRun], run: str) -> None:
    suite = suite_runs[run]
    assert suite.returncode == 0, suite.output
    assert set(suite.outcomes.values()) == {"PASSED"}, suite.output

"""A 1 MB input and a 1 MB output, end to end: ``useragent submit`` to ``useragent server``,
served by ``useragent run -r``, then read back from the server, the history and its CLI.

Everything runs as a user runs it, in processes of its own over loopback.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

from ..processes import ServerProcess, run_cli, server_process, stop, useragent_command, wait_until
from ..runtime.support import clean_env

pytestmark = pytest.mark.slow

TEXT_CHARS = 1_000_000
# Two, three and four UTF-8 bytes, and a character outside the BMP (a surrogate pair in
# JSON's \u escapes): the text is about 1.6 MB as UTF-8.
UNIT = "héllo wörld ☃ 日本語 🎉 "

AGENT = """
from user_agent_sdk import user_agent


@user_agent(agent_id="payload-echo")
async def payload_echo(input_data):
    text = input_data["text"]
    return {"reversed": text[::-1], "nested": input_data["nested"], "chars": len(text)}
"""


def big_input() -> dict[str, Any]:
    text = (UNIT * (TEXT_CHARS // len(UNIT) + 1))[:TEXT_CHARS]
    rows = [{"id": n, "tags": ["ä", "β", str(n)], "ok": n % 2 == 0} for n in range(200)]
    return {"text": text, "nested": {"rows": rows, "deep": {"a": {"b": [None, 1.5, "€"]}}}}


def handler_output(data: dict[str, Any]) -> dict[str, Any]:
    """What the agent above returns for ``data``."""
    return {"reversed": data["text"][::-1], "nested": data["nested"], "chars": len(data["text"])}


@attrs.frozen
class RoundTrip:
    server: ServerProcess
    history: Path
    input: dict[str, Any]
    printed: str
    """What ``useragent submit --wait`` printed."""
    workflow_id: str
    execution_id: int
    """The execution's id in the history (what ``useragent hd`` takes)."""


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("payloads")


@pytest.fixture(scope="module")
def server(directory: Path) -> Iterator[ServerProcess]:
    with server_process("--db", str(directory / "server.db")) as running:
        yield running


@pytest.fixture(scope="module")
def history(server: ServerProcess, directory: Path) -> Iterator[Path]:
    """``useragent run agent.py -w 4 -r`` against the server; the history it records."""
    agent = directory / "agent.py"
    agent.write_text(textwrap.dedent(AGENT))
    path = directory / "history.db"
    worker = subprocess.Popen(
        useragent_command("run", str(agent), "-w", "4", "-r", "--db-path", str(path)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(CONDUCTOR_SERVER_URL=server.api_url),
    )
    try:
        yield path
    finally:
        stop(worker)


def submit(server: ServerProcess, *args: str, stdin: str | None = None) -> str:
    """``useragent submit payload-echo ARGS --wait``; what it printed."""
    result = subprocess.run(
        useragent_command("submit", "payload-echo", *args, "--wait", "--server", server.base_url),
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        env=clean_env(),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def history_rows(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with sqlite3.connect(path) as connection:
        connection.row_factory = sqlite3.Row
        return [dict(row) for row in connection.execute("SELECT * FROM execution_history")]


@pytest.fixture(scope="module")
def round_trip(server: ServerProcess, history: Path, directory: Path) -> RoundTrip:
    """One 1 MB input submitted from a file, and its 1 MB output waited for."""
    data = big_input()
    source = directory / "input.json"
    source.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    printed = submit(server, "--input-file", str(source))
    # The history's writer commits a moment after the task's result went to the server.
    wait_until(lambda: history_rows(history), timeout=30)
    [row] = history_rows(history)
    return RoundTrip(server, history, data, printed, row["workflow_id"], row["id"])


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    result = run_cli(args, timeout=60, env={"COLUMNS": "120"})
    assert result.returncode == 0, result.stderr
    return result


def test_the_sizes_are_what_this_module_is_about() -> None:
    data = big_input()
    assert len(data["text"]) == TEXT_CHARS
    assert len(json.dumps(data, ensure_ascii=False).encode()) > 1_500_000
    assert len(json.dumps(handler_output(data), ensure_ascii=False).encode()) > 1_500_000


def test_submit_wait_prints_the_whole_output(round_trip: RoundTrip) -> None:
    assert round_trip.printed.endswith("\n")
    assert round_trip.printed.count("\n") == 1
    assert json.loads(round_trip.printed) == handler_output(round_trip.input)


def test_the_server_stores_the_input_and_the_output_the_handler_returned(
    round_trip: RoundTrip,
) -> None:
    with httpx.Client(base_url=round_trip.server.api_url, timeout=30) as api:
        workflow = api.get(f"/workflow/{round_trip.workflow_id}").json()
        [task] = workflow["tasks"]
        stored_task = api.get(f"/tasks/{task['taskId']}").json()
    expected = handler_output(round_trip.input)
    assert workflow["status"] == "COMPLETED"
    assert (workflow["input"], workflow["output"]) == (round_trip.input, expected)
    assert (task["status"], task["inputData"], task["outputData"]) == (
        "COMPLETED",
        round_trip.input,
        expected,
    )
    assert (stored_task["inputData"], stored_task["outputData"]) == (round_trip.input, expected)


def test_the_history_file_holds_the_whole_input_and_output(round_trip: RoundTrip) -> None:
    [row] = [r for r in history_rows(round_trip.history) if r["id"] == round_trip.execution_id]
    assert row["status"] == "success"
    assert row["user_agent_id"] == "payload-echo"
    assert json.loads(row["input_data"]) == round_trip.input
    assert json.loads(row["output_data"]) == handler_output(round_trip.input)


def test_history_lists_the_execution_without_its_data(round_trip: RoundTrip) -> None:
    listed = cli("history", "--db-path", str(round_trip.history)).stdout
    assert "payload-echo" in listed
    assert "✓ success" in listed
    assert "matching executions" in listed
    assert len(listed) < 10_000


def test_hd_shows_the_start_of_the_input_and_output_and_says_how_to_get_all(
    round_trip: RoundTrip,
) -> None:
    shown = cli("hd", str(round_trip.execution_id), "--db-path", str(round_trip.history)).stdout
    assert "Input (JSON)" in shown
    assert "Output (JSON)" in shown
    assert UNIT.strip() in shown
    assert UNIT.strip()[::-1] in shown
    note = f"more characters; `useragent hd {round_trip.execution_id} --json` prints it all"
    assert shown.count(note) == 2
    assert len(shown) < 30_000


def test_hd_json_prints_the_whole_execution(round_trip: RoundTrip) -> None:
    execution_id = str(round_trip.execution_id)
    printed = cli("hd", execution_id, "--json", "--db-path", str(round_trip.history)).stdout
    whole = json.loads(printed)
    assert whole["workflow_id"] == round_trip.workflow_id
    assert whole["input_data"] == round_trip.input
    assert whole["output_data"] == handler_output(round_trip.input)


def test_the_input_can_come_on_standard_input(round_trip: RoundTrip, server: ServerProcess) -> None:
    data = {**round_trip.input, "text": round_trip.input["text"][:-1] + "!"}
    printed = submit(server, "--input-file", "-", stdin=json.dumps(data, ensure_ascii=False))
    assert json.loads(printed) == handler_output(data)


def test_a_body_over_the_servers_limit_is_refused_naming_the_limit(directory: Path) -> None:
    source = directory / "too-big.json"
    source.write_text(json.dumps(big_input(), ensure_ascii=False), encoding="utf-8")
    with server_process("--memory", "--max-body-bytes", "1000000") as small:
        result = run_cli(
            ["submit", "payload-echo", "--input-file", str(source), "--server", small.base_url],
            env=clean_env(),
        )
        queued = httpx.get(f"{small.api_url}/tasks/queue/size", params={"taskType": "payload-echo"})
    assert result.returncode == 2
    assert "HTTP 413" in result.stderr
    assert "exceeds the limit of 1000000 bytes" in result.stderr
    assert "--max-body-bytes" in result.stderr
    assert queued.json() == 0

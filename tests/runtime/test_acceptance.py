"""Acceptance: ``useragent run examples/sum_agent.py -w 32`` completes 10,000 tasks.

Everything runs as a user would run it: ``useragent server`` and ``useragent run`` are
processes of their own; the test only submits work and reads every outcome back.
"""

from __future__ import annotations

import http.client
import json
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import pytest

from .support import REPO, clean_env, useragent

T = TypeVar("T")

pytestmark = pytest.mark.slow

TASKS = 10_000
AGENT_ID = "00000000-0000-0000-0000-000000000000#user-agent"


class Api:
    """Plain keep-alive HTTP from a few threads: cheap enough to move 10,000 tasks in and out."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self._address = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._local = threading.local()

    def call(self, method: str, path: str, body: Any = None) -> Any:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(*self._address, timeout=30)
            self._local.connection = connection
        payload = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        connection.request(method, "/api" + path, body=payload, headers=headers)
        response = connection.getresponse()
        data = response.read()
        assert response.status == 200, (response.status, data)
        return data

    def each(self, function: Callable[[int], T], count: int) -> list[T]:
        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(function, range(count)))


@contextmanager
def process(args: list[str], **options: Any) -> Iterator[subprocess.Popen[str]]:
    child = subprocess.Popen(args, text=True, **options)
    try:
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()


def test_sum_agent_with_32_workers_completes_10000_tasks(tmp_path: Path) -> None:
    server_args = useragent("server", "--port", "0", "--memory", "--log-level", "warning")
    with process(server_args, stdout=subprocess.PIPE, env=clean_env()) as server:
        assert server.stdout is not None
        match = re.search(r"listening on (http://\S+)", server.stdout.readline())
        assert match, "the server did not start"
        base_url = match.group(1)
        credentials = {"clientId": "id", "clientSecret": "secret", "agentId": AGENT_ID}
        (tmp_path / "credentials.json").write_text(json.dumps({**credentials, "baseUrl": base_url}))
        api = Api(base_url)
        worker_args = useragent("run", str(REPO / "examples" / "sum_agent.py"), "-w", "32")
        with process(
            worker_args,
            cwd=tmp_path,
            env=clean_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        ) as worker:
            started = time.monotonic()
            ids = api.each(
                lambda n: (
                    api.call(
                        "POST", f"/workflow/{quote(AGENT_ID, safe='')}", {"num1": n, "num2": 7}
                    )
                    .decode()
                    .strip()
                ),
                TASKS,
            )

            def outcome(index: int) -> tuple[str, Any]:
                found = json.loads(api.call("GET", f"/workflow/{ids[index]}?includeTasks=false"))
                return found["status"], found["output"]

            # Wait for the last ones (cheaply), then read every outcome once.
            while time.monotonic() - started < 120:
                if all(outcome(index)[0] != "RUNNING" for index in range(TASKS - 64, TASKS)):
                    break
                time.sleep(0.25)
            outcomes = api.each(outcome, TASKS)
            for index, (status, _) in enumerate(outcomes):
                while status == "RUNNING" and time.monotonic() - started < 120:
                    time.sleep(0.1)  # still in flight when the tail finished
                    outcomes[index] = outcome(index)
                    status = outcomes[index][0]
            worker.send_signal(signal.SIGTERM)
            output, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, output
    assert outcomes == [("COMPLETED", {"result": n + 7}) for n in range(TASKS)]
    assert re.search(rf"stopped: {TASKS} completed, 0 failed", output), output

"""Helpers for the runtime's tests: submit work, read back what reached the server, run the CLI."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import trio

from user_agent_sdk import Registry, Settings, register_user_agent
from user_agent_sdk.conductor import (
    AKABOT,
    CONDUCTOR,
    OAuth2ClientCredentials,
    Task,
    TaskExecLog,
    Workflow,
    WorkflowStatus,
    from_json_obj,
)
from user_agent_sdk.config import OAUTH_TOKEN_PATH
from user_agent_sdk.runtime import Runtime, serve
from user_agent_sdk.server import RunningServer
from user_agent_sdk.transport._pool import Pool

REPO = Path(__file__).resolve().parents[2]
FLAVOURS = ("conductor", "akabot")


def settings_for(server: RunningServer, flavour: str = "conductor", **changes: Any) -> Settings:
    """Settings that point at ``server`` in the given flavour. ``async def`` handlers run
    on trio unless ``event_loop="asyncio"`` is passed (the tests' handlers use trio)."""
    changes.setdefault("event_loop", "trio")
    if flavour == "akabot":
        credentials = OAuth2ClientCredentials(
            server.base_url + OAUTH_TOKEN_PATH,
            server.config.credentials.client_id,
            server.config.credentials.client_secret,
        )
        return Settings(api_url=server.api_url, flavour=AKABOT, credentials=credentials, **changes)
    return Settings(api_url=server.api_url, flavour=CONDUCTOR, **changes)


def agents(*handlers: Callable[..., Any], **options: Any) -> Registry:
    """A fresh registry with each handler registered under its own name as agent id.

    Polls wait at most 100 ms, so that a test's runtime stops quickly.
    """
    registry = Registry()
    for handler in handlers:
        defaults = {"agent_id": handler.__name__, "poll_interval": 100}
        register_user_agent(handler, registry=registry, **{**defaults, **options})
    return registry


@asynccontextmanager
async def running(settings: Settings, registry: Registry, **kwargs: Any) -> AsyncIterator[Runtime]:
    """The runtime serving ``registry``, drained when the block ends."""
    async with trio.open_nursery() as nursery:
        runtime: Runtime = await nursery.start(
            lambda task_status: serve(settings, registry, task_status=task_status, **kwargs)
        )
        yield runtime
        nursery.cancel_scope.cancel()


async def submit(api: httpx.AsyncClient, name: str, data: dict[str, Any], **params: int) -> str:
    """Start a one-task workflow ``name``; returns its id."""
    response = await api.post(f"/workflow/{quote(name, safe='')}", json=data, params=params)
    response.raise_for_status()
    return response.text.strip()


async def submit_many(
    api: httpx.AsyncClient, name: str, inputs: Sequence[dict[str, Any]], **params: int
) -> list[str]:
    """Start a one-task workflow ``name`` per input; their ids, in order.

    Thousands of starts through httpx cost seconds of CPU that the runtime under test
    would miss: these go over the runtime's own connection pool to ``api``'s server.
    """
    ids = [""] * len(inputs)
    query = f"?{urlencode(params)}" if params else ""
    target = f"{api.base_url.path.rstrip('/')}/workflow/{quote(name, safe='')}{query}"
    headers = [*api.headers.items(), ("Content-Type", "application/json")]
    pool = Pool(str(api.base_url), SUBMITTERS)

    async def lane(first: int) -> None:
        for index in range(first, len(inputs), SUBMITTERS):
            body = json.dumps(inputs[index]).encode()
            reply = await pool.send("POST", target, headers, body, 30)
            assert 200 <= reply.status < 300, reply
            ids[index] = reply.body.decode().strip()

    try:
        async with trio.open_nursery() as nursery:
            for first in range(SUBMITTERS):
                nursery.start_soon(lane, first)
    finally:
        await pool.aclose()
    return ids


SUBMITTERS = 16


async def workflow(api: httpx.AsyncClient, workflow_id: str) -> Workflow:
    response = await api.get(f"/workflow/{workflow_id}", params={"includeTasks": "true"})
    response.raise_for_status()
    return from_json_obj(response.json(), Workflow)


async def finished(api: httpx.AsyncClient, workflow_id: str, timeout: float = 20) -> Workflow:
    """The workflow once it has ended (AssertionError after ``timeout`` seconds)."""
    with trio.move_on_after(timeout):
        while True:
            found = await workflow(api, workflow_id)
            if found.status.is_terminal:
                return found
            await trio.sleep(0.02)
    raise AssertionError(f"workflow {workflow_id} still running after {timeout} s")


async def all_finished(
    api: httpx.AsyncClient, ids: Sequence[str], timeout: float = 60
) -> list[Workflow]:
    """Every workflow of ``ids`` once all have ended, in order (AssertionError after
    ``timeout`` seconds). Waits a sweep at a time, on the workflows not yet ended."""
    running = list(ids)
    with trio.move_on_after(timeout):
        while running:
            found = await _get_each(api, running)
            running = [
                workflow_id
                for workflow_id, data in zip(running, found, strict=True)
                if not WorkflowStatus(data["status"]).is_terminal
            ]
            if running:
                await trio.sleep(0.1)
    if running:
        raise AssertionError(
            f"{len(running)} workflows still running after {timeout} s, {running[0]} among them"
        )
    found = await _get_each(api, ids, "?includeTasks=true")
    return [from_json_obj(data, Workflow) for data in found]


async def outcomes(api: httpx.AsyncClient, ids: Sequence[str]) -> list[tuple[str, Any]]:
    """The status and output of each workflow of ``ids``, in order, as the server has them
    (read without building :class:`Workflow` objects: cheap enough for tens of thousands)."""
    return [(data["status"], data.get("output")) for data in await _get_each(api, ids)]


async def _get_each(api: httpx.AsyncClient, ids: Sequence[str], query: str = "") -> list[Any]:
    """``GET /workflow/{id}{query}`` of each of ``ids`` as JSON, in order, over the
    runtime's own pool (thousands of reads through httpx cost seconds of CPU)."""
    headers = list(api.headers.items())
    base = api.base_url.path.rstrip("/")
    found: dict[str, Any] = {}
    limiter = trio.Semaphore(SUBMITTERS)
    pool = Pool(str(api.base_url), SUBMITTERS)

    async def one(workflow_id: str) -> None:
        async with limiter:
            target = f"{base}/workflow/{workflow_id}{query}"
            reply = await pool.send("GET", target, headers, b"", 30)
        assert 200 <= reply.status < 300, reply
        found[workflow_id] = json.loads(reply.body)

    try:
        async with trio.open_nursery() as nursery:
            for workflow_id in ids:
                nursery.start_soon(one, workflow_id)
    finally:
        await pool.aclose()
    return [found[workflow_id] for workflow_id in ids]


async def task_logs(api: httpx.AsyncClient, task: Task) -> list[str]:
    response = await api.get(f"/tasks/{task.task_id}/log")
    response.raise_for_status()
    return [from_json_obj(line, TaskExecLog).log for line in response.json()]


# -- the CLI as a real process ---------------------------------------------------------------


def useragent(*args: str) -> list[str]:
    return [sys.executable, "-m", "user_agent_sdk.cli", *args]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any Conductor settings of the machine running the tests."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CONDUCTOR_", "USERAGENT_"))
    }
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


def write_credentials(directory: Path, server: RunningServer, **fields: Any) -> Path:
    path = directory / "credentials.json"
    body = {
        "clientId": server.config.credentials.client_id,
        "clientSecret": server.config.credentials.client_secret,
        "agentId": "local-agent",
        "baseUrl": server.base_url,
        **fields,
    }
    path.write_text(json.dumps(body))
    return path


class WorkerProcess:
    """``useragent run ...`` as a child process; stderr and stdout are collected as it runs."""

    def __init__(self, process: trio.Process) -> None:
        self.process = process
        self.output = ""
        self._grew = trio.Event()

    async def _collect(self, stream: trio.abc.ReceiveStream) -> None:
        async for chunk in stream:
            self.output += chunk.decode(errors="replace")
            self._grew.set()
            self._grew = trio.Event()

    async def wait_for(self, pattern: str, timeout: float = 20) -> re.Match[str]:
        """The first match of ``pattern`` in the output so far or to come."""
        with trio.move_on_after(timeout):
            while True:
                match = re.search(pattern, self.output)
                if match:
                    return match
                if self.process.returncode is not None:
                    break
                with trio.move_on_after(0.2):
                    await self._grew.wait()
        raise AssertionError(f"no {pattern!r} in the worker's output:\n{self.output}")

    def signal(self, signum: int = signal.SIGTERM) -> None:
        self.process.send_signal(signum)

    async def wait(self, timeout: float = 30) -> int:
        with trio.move_on_after(timeout):
            return await self.process.wait()
        raise AssertionError(f"the worker still runs after {timeout} s:\n{self.output}")


@asynccontextmanager
async def worker_process(
    args: Sequence[str], *, cwd: Path, env: dict[str, str] | None = None
) -> AsyncIterator[WorkerProcess]:
    """Start ``useragent ARGS``; on exit it is killed if still running."""
    process = await trio.lowlevel.open_process(
        useragent(*args),
        cwd=cwd,
        env=env if env is not None else clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    worker = WorkerProcess(process)
    async with trio.open_nursery() as nursery:
        assert process.stdout is not None
        nursery.start_soon(worker._collect, process.stdout)
        try:
            yield worker
        finally:
            if process.returncode is None:
                process.kill()
            with trio.CancelScope(shield=True):
                await process.wait()


async def run_cli(
    args: Sequence[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 30
) -> tuple[int, str]:
    """Run ``useragent ARGS`` to the end; returns its exit code and its stdout + stderr."""
    with trio.fail_after(timeout):
        done = await trio.run_process(
            useragent(*args),
            cwd=cwd,
            env=env if env is not None else clean_env(),
            capture_stdout=True,
            stderr=subprocess.STDOUT,
            check=False,
        )
    return done.returncode, done.stdout.decode(errors="replace")

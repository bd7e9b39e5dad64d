"""Helpers for the runtime's tests: submit work, read back what reached the server, run the CLI."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

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
    from_json_obj,
)
from user_agent_sdk.config import OAUTH_TOKEN_PATH
from user_agent_sdk.runtime import Runtime, serve
from user_agent_sdk.server import RunningServer

REPO = Path(__file__).resolve().parents[2]
FLAVOURS = ("conductor", "akabot")


def settings_for(server: RunningServer, flavour: str = "conductor", **changes: Any) -> Settings:
    """Settings that point at ``server`` in the given flavour."""
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
    ids = [""] * len(inputs)
    limiter = trio.CapacityLimiter(16)

    async def one(index: int) -> None:
        async with limiter:
            ids[index] = await submit(api, name, inputs[index], **params)

    async with trio.open_nursery() as nursery:
        for index in range(len(inputs)):
            nursery.start_soon(one, index)
    return ids


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
    results: dict[str, Workflow] = {}
    limiter = trio.CapacityLimiter(16)

    async def one(workflow_id: str) -> None:
        async with limiter:
            results[workflow_id] = await finished(api, workflow_id, timeout)

    async with trio.open_nursery() as nursery:
        for workflow_id in ids:
            nursery.start_soon(one, workflow_id)
    return [results[workflow_id] for workflow_id in ids]


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
    import json

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

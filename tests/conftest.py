"""Shared fixtures: an embedded server in the test's own trio nursery."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import trio

from user_agent_sdk.server import MEMORY, RunningServer, ServerConfig, TaskSettings, serve


@pytest.fixture
def server_config() -> ServerConfig:
    """Override in a test module to start the server differently."""
    return ServerConfig(port=0, db=MEMORY, task_defaults=TaskSettings())


@pytest.fixture
async def server(nursery: trio.Nursery, server_config: ServerConfig) -> RunningServer:
    """A server on 127.0.0.1 with a free port, stopped when the test ends."""
    running: RunningServer = await nursery.start(serve, server_config)
    return running


@pytest.fixture
async def api(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client whose base URL is the server's ``/api``."""
    async with httpx.AsyncClient(base_url=server.api_url, timeout=10) as client:
        yield client

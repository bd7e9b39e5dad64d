"""A real HTTP server on loopback in front of the embedded one, counting what passes.

It forwards every request to the embedded server, except those to the paths it is told
are ``missing``, which it answers as a server without those endpoints does (404 or 405).
Tests point a worker or a client at it to see which requests actually reached the server.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import attrs
import httpx
import trio

from user_agent_sdk.server import RunningServer
from user_agent_sdk.transport import Request, Response, serve_http

PLAIN_UPDATE = "/api/tasks"
UPDATE_V2 = "/api/tasks/update-v2"
UPDATE_BATCH = "/api/tasks/update-batch/"
"""A prefix: ``seen`` counts every update-batch request under this key, whatever its type."""
RESULT_PATHS = (PLAIN_UPDATE, UPDATE_V2)


@attrs.define
class Forwarder:
    api_url: str
    """What a client uses as its API URL to go through the forwarder."""
    seen: Counter[str] = attrs.field(factory=Counter)
    """Requests by path (update-batch ones under :data:`UPDATE_BATCH`), refused or not."""
    results: list[str] = attrs.field(factory=list)
    """The task id of every result that reached the server, in order of arrival, by any
    of the three update paths (refused requests carry nothing there)."""


def _key(path: str) -> str:
    return UPDATE_BATCH if path.startswith(UPDATE_BATCH) else path


def _matches(path: str, missing: Sequence[str]) -> bool:
    """Entries ending in ``/`` are prefixes, the others exact paths."""
    return any(path.startswith(m) if m.endswith("/") else path == m for m in missing)


def _result_ids(body: bytes) -> list[str]:
    data: Any = json.loads(body)
    items = data if isinstance(data, list) else [data]
    return [str(item["taskId"]) for item in items]


@asynccontextmanager
async def forwarding(
    server: RunningServer, *, missing: Sequence[str] = (), answer: int = 404
) -> AsyncIterator[Forwarder]:
    """Forward to ``server``; requests to ``missing`` paths get ``answer`` instead."""
    async with (
        httpx.AsyncClient(base_url=server.base_url, timeout=60) as upstream,
        trio.open_nursery() as nursery,
    ):
        forwarder: Forwarder

        async def forward(request: Request) -> Response:
            forwarder.seen[_key(request.path)] += 1
            if _matches(request.path, missing):
                return Response.json({"status": answer, "error": "no such endpoint"}, answer)
            if request.method == "POST" and (
                request.path in RESULT_PATHS or request.path.startswith(UPDATE_BATCH)
            ):
                forwarder.results.extend(_result_ids(request.body))
            query = {name: values[-1] for name, values in request.query.items()}
            reply = await upstream.request(
                request.method,
                request.path,
                params=query,
                content=request.body,
                headers={"content-type": request.headers.get("content-type", "application/json")},
            )
            return Response(reply.status_code, reply.content, reply.headers.get("content-type"))

        port = await nursery.start(serve_http, forward, "127.0.0.1", 0)
        forwarder = Forwarder(f"http://127.0.0.1:{port}/api")
        yield forwarder
        nursery.cancel_scope.cancel()

"""The server's HTTP face: Conductor's OSS paths, akaBot's paths, and both token styles.

The routes live with their resource (:mod:`._auth_routes`, :mod:`._task_routes`,
:mod:`._workflow_routes`); this module dispatches a request to its route, checks the
token when auth is required, and counts and times every answer by route and status.
Request bodies are decoded at this edge (:mod:`._requests`: malformed JSON -> 400 naming
the problem, a wrong field -> 400 naming the field) so the engine only ever sees valid
models.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING
from urllib.parse import unquote

from ._auth import TokenIssuer
from ._auth_routes import AuthRoutes
from ._engine import TaskEngine
from ._http import HTTPError, Request, Response
from ._routing import Route
from ._task_routes import TaskRoutes
from ._workflow_routes import WorkflowRoutes

if TYPE_CHECKING:
    from prometheus_client.registry import CollectorRegistry

MAX_BATCH = 1000


class ServerApp:
    """Routes requests to the task engine; checks tokens when auth is required."""

    def __init__(
        self,
        engine: TaskEngine,
        issuer: TokenIssuer,
        *,
        auth_required: bool,
        max_batch: int = MAX_BATCH,
        metrics: bool = False,
    ) -> None:
        """``max_batch``: the most tasks one poll may lease, and the most results (and
        tasks leased) of one update-batch; a request asking for more is refused (400).
        ``metrics``: serve ``GET /metrics`` (Prometheus; no token needed)."""
        self._engine = engine
        self._measures = engine.measures
        self._registry: CollectorRegistry | None = None
        self._issuer = issuer
        self._auth_required = auth_required
        self._routes = [
            *AuthRoutes(issuer).routes(),
            *TaskRoutes(engine, max_batch).routes(),
            *WorkflowRoutes(engine).routes(),
        ]
        if metrics:
            self._routes.append(Route("GET", "/metrics", self._metrics, public=True))

    def may_wait(self, request: Request) -> bool:
        """True for requests that can be held open: batch polls with a timeout."""
        return (
            request.method == "GET"
            and request.path.startswith("/api/tasks/poll/batch/")
            and request.query_value("timeout") not in (None, "", "0")
        )

    async def __call__(self, request: Request) -> Response:
        allowed: list[str] = []
        for route in self._routes:
            match = route.pattern.match(request.path)
            if match is None:
                continue
            if route.method != request.method:
                allowed.append(route.method)
                continue
            return await self._answer(route, request, match)
        if allowed:
            raise HTTPError(405, f"{request.method} is not allowed on {request.path}")
        raise HTTPError(404, f"no such endpoint: {request.method} {request.path}")

    async def _answer(self, route: Route, request: Request, match: re.Match[str]) -> Response:
        """``route``'s answer to ``request``, counted and timed by route and status."""
        started = time.perf_counter()
        status: int | None = None  # stays None when cancelled: the client hung up
        try:
            if self._auth_required and not route.public:
                self._check_token(request)
            params = {name: unquote(value) for name, value in match.groupdict().items()}
            response = await route.handler(request, params)
        except HTTPError as exc:
            status = exc.status
            raise
        except Exception:
            status = 500
            raise
        else:
            status = response.status
            return response
        finally:
            if status is not None:
                self._measures.requests[request.method, route.template, status] += 1
                self._measures.request_time[request.method, route.template].observe(
                    time.perf_counter() - started
                )

    async def _metrics(self, request: Request, params: dict[str, str]) -> Response:
        from ..metrics import metrics_response, server_registry  # only with --metrics

        if self._registry is None:
            self._registry = server_registry(self._engine)
        return await metrics_response(self._registry, request)

    def _check_token(self, request: Request) -> None:
        token = self._issuer.token_from(request.headers)
        # The error codes are Orkes': its clients refresh their token on exactly these.
        if token is None:
            raise HTTPError(
                401,
                "missing token: send X-Authorization: <token> or Authorization: Bearer <token>",
                code="INVALID_TOKEN",
            )
        if not self._issuer.is_valid(token):
            raise HTTPError(401, "the token is unknown or has expired", code="EXPIRED_TOKEN")

"""Starting the embedded server inside a trio program."""

from __future__ import annotations

import functools
import ipaddress
from pathlib import Path

import attrs
import trio

from ._app import MAX_BATCH, ServerApp
from ._auth import ClientCredentials, TokenIssuer
from ._engine import TaskEngine
from ._http import HTTPLimits, default_max_connections, serve_http
from ._settings import TaskSettings
from ._store import Store

MEMORY = ":memory:"


@attrs.frozen
class ServerConfig:
    """Everything ``useragent server`` can be told."""

    host: str = "127.0.0.1"
    port: int = 8080
    """0 picks a free port; :attr:`RunningServer.base_url` tells which."""
    db: str = "useragent-server.db"
    """A SQLite file (created if missing), or ``":memory:"``."""
    auth_required: bool = False
    credentials: ClientCredentials = attrs.field(factory=ClientCredentials.generate)
    token_ttl_seconds: int = 3600
    task_defaults: TaskSettings = attrs.field(factory=TaskSettings)
    max_body_bytes: int = 10 * 1024 * 1024
    max_batch: int = MAX_BATCH
    """The most tasks one poll may lease and the most results one update-batch may carry."""
    max_connections: int = attrs.field(factory=default_max_connections)
    """Connections open at once; see :attr:`HTTPLimits.max_connections
    <user_agent_sdk.server._http.HTTPLimits.max_connections>`."""
    request_timeout: float = 30.0
    """Seconds a request may take to arrive, from its first byte to its last (408 after)."""
    metrics: bool = False
    """Serve Prometheus metrics at ``/metrics`` (no token needed)."""


@attrs.frozen
class RunningServer:
    """What :func:`serve` hands to ``task_status.started``."""

    base_url: str
    """``http://HOST:PORT``, without ``/api``."""
    config: ServerConfig

    @property
    def api_url(self) -> str:
        """The Conductor API root, ``<base_url>/api`` (``CONDUCTOR_SERVER_URL``)."""
        return f"{self.base_url}/api"


async def serve(
    config: ServerConfig,
    *,
    task_status: trio.TaskStatus[RunningServer] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run the server until cancelled.

    Use it as ``server = await nursery.start(serve, config)``: ``start`` returns once
    the server accepts connections, with its base URL. Cancelling the nursery closes
    the listeners and every connection, then the database; whatever was committed
    (every answered request) is on disk.
    """
    if config.db != MEMORY:
        Path(config.db).parent.mkdir(parents=True, exist_ok=True)
    store = Store(config.db)
    try:
        engine = TaskEngine(store, config.task_defaults)
        # Without auth, a token is handed to anyone who asks, so that a worker whose
        # credentials.json was made for another server still gets going.
        issuer = TokenIssuer(
            config.credentials, config.token_ttl_seconds, accept_any=not config.auth_required
        )
        app = ServerApp(
            engine,
            issuer,
            auth_required=config.auth_required,
            max_batch=config.max_batch,
            metrics=config.metrics,
        )
        async with trio.open_nursery() as nursery:
            await nursery.start(engine.run, name="task engine")
            port = await nursery.start(
                functools.partial(serve_http, may_wait=app.may_wait),
                app,
                config.host,
                config.port,
                HTTPLimits(
                    max_body_bytes=config.max_body_bytes,
                    request_timeout=config.request_timeout,
                    max_connections=config.max_connections,
                ),
            )
            task_status.started(RunningServer(_base_url(config.host, port), config))
    finally:
        store.close()


def _base_url(host: str, port: int) -> str:
    try:
        is_v6 = ipaddress.ip_address(host).version == 6
    except ValueError:
        is_v6 = False
    return f"http://[{host}]:{port}" if is_v6 else f"http://{host}:{port}"

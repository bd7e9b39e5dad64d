"""One ``useragent server`` per measurement, and the harness's own calls to it.

The server runs as a user runs it: a subprocess of the installed ``useragent`` command,
a queue file in a fresh temporary directory, ``--auth required`` with a client id and
secret that every contender is given in its own way (OAuth2 client credentials for the
akaBot flavour, an Orkes key for Conductor clients). A fresh server per contender and
workload is the reset between them: nothing queued, leased or cached carries over.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import attrs

from .processes import stop_session
from .proctree import TreeSampler

T = TypeVar("T")

CLIENT_ID = "bench"
_URL = re.compile(r"listening on (http://\S+)")


class ServerFailed(Exception):
    """``useragent server`` did not start; the message ends with its stderr's tail."""


@attrs.frozen
class Server:
    """A running server: where it listens and the credentials it accepts."""

    base_url: str
    client_secret: str
    folder: Path
    sampler: TreeSampler
    client_id: str = CLIENT_ID

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/realms/user-agent/protocol/openid-connect/token"

    @property
    def credentials_json(self) -> dict[str, str]:
        """A ``credentials.json`` for the akaBot flavour: ours and user-agent-sdk 0.2.0 read it."""
        return {
            "clientId": self.client_id,
            "clientSecret": self.client_secret,
            "serviceUrl": self.api_url,
            "authUrl": self.token_url,
        }


@contextmanager
def running_server(secret: str | None = None) -> Iterator[Server]:
    """Start ``useragent server`` on a free loopback port; stopped and reaped on exit.
    ``secret``: its client secret (default: a fresh random one)."""
    secret = secrets.token_urlsafe(16) if secret is None else secret
    with tempfile.TemporaryDirectory(prefix="bench-server-") as folder:
        argv = [
            sys.executable,
            "-m",
            "user_agent_sdk.cli",
            "server",
            "--port",
            "0",
            "--db",
            str(Path(folder) / "queue.db"),
            "--auth",
            "required",
            "--client-id",
            CLIENT_ID,
            "--log-level",
            "warning",
        ]
        errors_path = Path(folder) / "server.log"
        with errors_path.open("wb") as errors:
            # The secret by environment, not argv: a token_urlsafe value may start with
            # "-" (argparse would take it for an option), and argv is visible to `ps`.
            process = subprocess.Popen(
                argv,
                env={**os.environ, "USERAGENT_CLIENT_SECRET": secret},
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
                start_new_session=True,
            )
        sampler = TreeSampler(process.pid, interval=0.1)
        try:
            assert process.stdout is not None
            match = _URL.search(process.stdout.readline())
            if not match:
                process.wait(10)
                tail = errors_path.read_text(errors="replace").strip().splitlines()[-10:]
                raise ServerFailed("useragent server did not start:\n" + "\n".join(tail))
            yield Server(match.group(1), secret, Path(folder), sampler)
        finally:
            stop_session(process, grace_s=10)
            sampler.stop()


class Api:
    """Keep-alive connections to the server, one per thread (stdlib: cheap and thread-safe).

    Every call carries an Orkes token fetched once from ``/api/token``.
    """

    def __init__(self, server: Server) -> None:
        parts = urlsplit(server.base_url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self._local = threading.local()
        self._token: str | None = None
        status, body = self.call(
            "POST", "/token", {"keyId": server.client_id, "keySecret": server.client_secret}
        )
        if status != 200:
            raise SystemExit(f"the server refused the bench credentials: {status}")
        self._token = str(json.loads(body)["token"])

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        connection: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if connection is None:
            connection = http.client.HTTPConnection(self._host, self._port, timeout=60)
            self._local.conn = connection
        headers = {} if self._token is None else {"X-Authorization": self._token}
        payload = None if body is None else json.dumps(body).encode()
        if payload is not None:
            headers["Content-Type"] = "application/json"
        connection.request(method, "/api" + path, body=payload, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()

    def json(self, method: str, path: str, body: Any = None) -> Any:
        status, data = self.call(method, path, body)
        if status != 200:
            raise SystemExit(f"{method} {path}: {status} {data[:200]!r}")
        return json.loads(data) if data else None

    def submit(self, task_type: str, n: int) -> str:
        """Start a one-task workflow whose task has type ``task_type``; its id."""
        status, body = self.call("POST", f"/workflow/{task_type}", {"n": n})
        if status != 200:
            raise SystemExit(f"submitting to {task_type}: {status} {body[:200]!r}")
        return body.decode().strip()

    def queue_size(self, task_type: str) -> int:
        return int(self.json("GET", f"/tasks/queue/size?taskType={task_type}"))

    def workflow(self, workflow_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self.json("GET", f"/workflow/{workflow_id}?includeTasks=true")
        return found

    def parallel(self, function: Callable[[int], T], count: int, lanes: int = 4) -> list[T]:
        """``function(i)`` for i in range(count) over ``lanes`` threads, in order."""
        with ThreadPoolExecutor(lanes) as pool:
            return list(pool.map(function, range(count)))

    def submit_many(self, task_type: str, count: int) -> Sequence[str]:
        return self.parallel(lambda n: self.submit(task_type, n), count)

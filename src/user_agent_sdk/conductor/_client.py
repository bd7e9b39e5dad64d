"""The worker's side of the task API: poll, update, and keep a token fresh.

One :class:`ConductorClient` per server, one keep-alive connection pool behind it. The
two kinds of server differ only in data: a :class:`Flavour` names the paths and the
polling style, a credentials object says how a token is obtained and sent.

- **akaBot** (:data:`AKABOT`): OAuth2 client credentials, ``Authorization: Bearer``;
  single polls ``GET /tasks/external/poll/{type}`` (several in flight for several
  tasks), updates ``POST /tasks/external``; logs travel inside ``TaskResult.logs``.
- **Conductor** (:data:`CONDUCTOR`): Orkes ``POST /token`` and ``X-Authorization`` when
  a key and secret are given, nothing otherwise; batch long polls
  ``GET /tasks/poll/batch/{type}``; updates ``POST /tasks``.

Tokens are fetched lazily, renewed shortly before they expire, and renewed at once
(and the request repeated once) when the server answers 401.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncGenerator, Callable
from typing import Any, Protocol
from urllib.parse import quote

import attrs
import httpx
import trio

from ._converter import from_json_obj, to_json_obj
from ._models import Task, TaskResult

_CONNECT_TIMEOUT_S = 10.0
_UPDATE_TIMEOUT_S = 30.0
_POLL_GRACE_S = 10.0
"""How long past its long-poll timeout a poll may take before it counts as a failure."""
_ORKES_TOKEN_TTL_S = 45 * 60.0
"""Orkes tokens carry no lifetime; conductor-python renews them after 45 minutes too."""


class ConductorError(Exception):
    """A request to the task server did not succeed; the message says which and why."""


class ServerUnavailable(ConductorError):
    """The server could not be reached, timed out, or answered 5xx/429: try again later."""


class AuthenticationError(ConductorError):
    """The server refused the credentials or the token (401/403 after a fresh token)."""


class RequestRejected(ConductorError):
    """The server refused the request itself (a 4xx other than 401/403/408/429)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@attrs.frozen
class Flavour:
    """How to speak to one kind of server: its task paths and polling style."""

    name: str
    poll_path: str
    """Relative to the API URL; ``{task_type}`` is replaced (percent-encoded)."""
    batch_poll: bool
    """True: one poll asks for N tasks (``count``) and may wait ``timeout`` ms for work.
    False: one poll answers at once with one task or 204; N tasks need N polls."""
    update_path: str


AKABOT = Flavour(
    name="akaBot",
    poll_path="/tasks/external/poll/{task_type}",
    batch_poll=False,
    update_path="/tasks/external",
)
"""akaBot 2.0: single polls only, on the platform's external paths."""

CONDUCTOR = Flavour(
    name="Conductor",
    poll_path="/tasks/poll/batch/{task_type}",
    batch_poll=True,
    update_path="/tasks",
)
"""Conductor OSS and Orkes: batch long polls."""


@attrs.frozen
class IssuedToken:
    value: str = attrs.field(repr=False)
    lifetime_s: float
    """Seconds it stays valid from when it was issued."""


class Credentials(Protocol):
    """How a token is obtained and which header carries it."""

    header: str

    def header_value(self, token: str) -> str: ...

    async def fetch_token(self, http: httpx.AsyncClient) -> IssuedToken | None:
        """A new token; None when the server needs none. Raises :class:`ConductorError`."""
        ...


@attrs.frozen
class OAuth2ClientCredentials:
    """akaBot's OAuth2 client-credentials grant against ``token_url``."""

    token_url: str
    client_id: str
    client_secret: str = attrs.field(repr=False)
    header = "Authorization"

    def header_value(self, token: str) -> str:
        return f"Bearer {token}"

    async def fetch_token(self, http: httpx.AsyncClient) -> IssuedToken:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }
        response = await _send(
            http, "POST", self.token_url, data=form, auth=None, timeout=_UPDATE_TIMEOUT_S
        )
        if response.status_code in (400, 401, 403):
            raise AuthenticationError(
                f"the token endpoint {self.token_url} refused clientId {self.client_id!r} "
                f"and its clientSecret (HTTP {response.status_code}{_oauth_error(response)})"
            )
        _raise_for_status(response)
        body = _json(response)
        token, lifetime = body.get("access_token"), body.get("expires_in", 300)
        if not isinstance(token, str) or not isinstance(lifetime, int | float):
            raise ConductorError(f"the token endpoint {self.token_url} answered no access_token")
        return IssuedToken(token, float(lifetime))


@attrs.frozen
class OrkesKey:
    """Orkes' key and secret, exchanged at ``<api>/token`` for an ``X-Authorization`` token."""

    key_id: str
    key_secret: str = attrs.field(repr=False)
    header = "X-Authorization"

    def header_value(self, token: str) -> str:
        return token

    async def fetch_token(self, http: httpx.AsyncClient) -> IssuedToken | None:
        body = {"keyId": self.key_id, "keySecret": self.key_secret}
        response = await _send(http, "POST", "token", json=body, auth=None)
        if response.status_code == 404:
            return None  # a server without auth: conductor-python reads it the same way
        if response.status_code in (400, 401, 403):
            raise AuthenticationError(
                f"{response.request.url} refused CONDUCTOR_AUTH_KEY {self.key_id!r} and its "
                f"secret (HTTP {response.status_code})"
            )
        _raise_for_status(response)
        token = _json(response).get("token")
        if not isinstance(token, str):
            raise ConductorError(f"{response.request.url} answered no token")
        return IssuedToken(token, _ORKES_TOKEN_TTL_S)


class _TokenAuth(httpx.Auth):
    """Adds the token to each request; renews it before expiry and once on a 401."""

    def __init__(
        self,
        credentials: Credentials,
        http: Callable[[], httpx.AsyncClient],
        clock: Callable[[], float] = trio.current_time,
    ) -> None:
        self._credentials = credentials
        self._http = http
        self._clock = clock
        self._lock = trio.Lock()
        self._token: str | None = None
        self._renew_at = -math.inf
        self._needed = True

    async def token(self) -> str | None:
        """The current token, fetched first if there is none or it is about to expire."""
        if self._needed and self._clock() >= self._renew_at:
            await self._renew(stale=self._token)
        return self._token

    async def _renew(self, stale: str | None) -> None:
        async with self._lock:
            if self._token != stale and self._clock() < self._renew_at:
                return  # another request renewed it while this one waited
            issued = await self._credentials.fetch_token(self._http())
            if issued is None:
                self._token, self._needed = None, False
                return
            # Renew once 80% of the lifetime has passed (at most a minute early).
            margin = min(60.0, issued.lifetime_s * 0.2)
            self._token = issued.value
            self._renew_at = self._clock() + issued.lifetime_s - margin

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.token()
        self._apply(request, token)
        response = yield request
        if response.status_code == 401 and self._needed:
            await response.aread()
            await self._renew(stale=token)
            self._apply(request, self._token)
            yield request

    def _apply(self, request: httpx.Request, token: str | None) -> None:
        if token is not None:
            request.headers[self._credentials.header] = self._credentials.header_value(token)


class ConductorClient:
    """Poll and update tasks on one server, over one keep-alive connection pool.

    Use it as an async context manager (it closes the pool on exit). Every method raises
    :class:`ServerUnavailable`, :class:`AuthenticationError` or :class:`RequestRejected`,
    never a bare ``httpx`` error.
    """

    def __init__(
        self,
        api_url: str,
        flavour: Flavour,
        credentials: Credentials | None = None,
        *,
        max_connections: int = 100,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.flavour = flavour
        self._auth = None if credentials is None else _TokenAuth(credentials, lambda: self._http)
        self._http = httpx.AsyncClient(
            base_url=self.api_url + "/",
            auth=self._auth,
            timeout=httpx.Timeout(_UPDATE_TIMEOUT_S, connect=_CONNECT_TIMEOUT_S),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            headers={"Accept": "application/json"},
            transport=transport,
        )

    async def __aenter__(self) -> ConductorClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def authenticate(self) -> None:
        """Fetch a token now, so that wrong credentials show before the first poll."""
        if self._auth is not None:
            await self._auth.token()

    async def poll(
        self,
        task_type: str,
        *,
        count: int,
        worker_id: str,
        domain: str | None = None,
        timeout_ms: int = 0,
    ) -> list[Task]:
        """Lease up to ``count`` tasks of ``task_type``.

        Batch flavour: one request that the server may hold up to ``timeout_ms`` while the
        queue is empty. Single-poll flavour: ``count`` requests in flight at once; tasks
        that arrived are returned even when some of the requests failed.
        """
        path = self.flavour.poll_path.format(task_type=quote(task_type, safe=""))
        params: dict[str, str | int] = {"workerid": worker_id}
        if domain:
            params["domain"] = domain
        if self.flavour.batch_poll:
            params |= {"count": count, "timeout": timeout_ms}
            data = await self._get_json(path, params, timeout_ms / 1000 + _POLL_GRACE_S)
            return [from_json_obj(item, Task) for item in data or []]
        if count == 1:
            data = await self._get_json(path, params, _POLL_GRACE_S)
            return [] if data is None else [from_json_obj(data, Task)]
        return await self._poll_many(path, params, count)

    async def _poll_many(self, path: str, params: dict[str, str | int], count: int) -> list[Task]:
        tasks: list[Task] = []
        errors: list[ConductorError] = []

        async def poll_one() -> None:
            try:
                data = await self._get_json(path, params, _POLL_GRACE_S)
            except ConductorError as exc:
                errors.append(exc)
                return
            if data is not None:
                tasks.append(from_json_obj(data, Task))

        async with trio.open_nursery() as nursery:
            for _ in range(count):
                nursery.start_soon(poll_one)
        if errors and not tasks:
            raise errors[0]
        return tasks

    async def update(self, result: TaskResult) -> None:
        """Post a task result."""
        await self.update_json(encode_result(result))

    async def update_json(self, body: bytes) -> None:
        """Post a task result already encoded by :func:`encode_result`."""
        response = await _send(
            self._http,
            "POST",
            self.flavour.update_path.lstrip("/"),
            content=body,
            headers={"Content-Type": "application/json"},
        )
        _raise_for_status(response)

    async def _get_json(self, path: str, params: dict[str, str | int], timeout_s: float) -> Any:
        response = await _send(
            self._http,
            "GET",
            path.lstrip("/"),
            params=params,
            timeout=httpx.Timeout(timeout_s, connect=_CONNECT_TIMEOUT_S),
        )
        _raise_for_status(response)
        if response.status_code == 204 or not response.content:
            return None
        return _json(response)


def encode_result(result: TaskResult) -> bytes:
    """The JSON body of ``result``; raises TypeError for output JSON cannot hold."""
    return json.dumps(to_json_obj(result), separators=(",", ":"), ensure_ascii=False).encode()


async def _send(http: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx.Response:
    try:
        return await http.request(method, url, **kwargs)
    except httpx.TransportError as exc:
        where = http.base_url.join(url)
        raise ServerUnavailable(f"{method} {where}: {_describe(exc)}") from exc


def _describe(exc: httpx.TransportError) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({text})"
    return text


def _raise_for_status(response: httpx.Response) -> None:
    if response.is_success:
        return
    status = response.status_code
    message = f"{response.request.method} {response.request.url}: HTTP {status}"
    detail = _error_detail(response)
    if detail:
        message += f": {detail}"
    if status in (401, 403):
        raise AuthenticationError(message)
    if status >= 500 or status in (408, 429):
        raise ServerUnavailable(message)
    raise RequestRejected(message, status)


def _error_detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error_description") or body.get("error", ""))
    return ""


def _oauth_error(response: httpx.Response) -> str:
    detail = _error_detail(response)
    return f": {detail}" if detail else ""


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise ConductorError(
            f"{response.request.method} {response.request.url}: the answer is not JSON: "
            f"{response.text[:200]!r}"
        ) from None

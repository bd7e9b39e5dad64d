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

Polls and updates, the hot path, go over a small HTTP/1.1 keep-alive pool on trio and
h11 (:class:`_Http11Pool`): measured on this project's benchmark, httpx's pool cost
about four times the CPU per request and grew with the number of connections. httpx
still serves the token endpoints, and every request when a proxy is configured in the
environment or a transport is passed in (tests).
"""

from __future__ import annotations

import json
import math
import ssl
import urllib.request
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import quote, urlencode, urlsplit

import attrs
import cattrs
import h11
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
_KEEP_ALIVE_S = 30.0
"""Idle connections older than this are closed rather than reused (proxies and load
balancers drop idle connections after a minute or so)."""
_READ_SIZE = 64 * 1024
_USER_AGENT = "user-agent-sdk"


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
class Reply:
    """An HTTP answer, fully read."""

    method: str
    url: str
    status: int
    body: bytes

    @property
    def is_success(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The body as JSON; :class:`ConductorError` when it is not."""
        try:
            return json.loads(self.body)
        except ValueError:
            raise ConductorError(
                f"{self.method} {self.url}: the answer is not JSON: {self.body[:200]!r}"
            ) from None

    def raise_for_status(self) -> None:
        """The error class a caller can act on, for any status but 2xx."""
        if self.is_success:
            return
        message = f"{self.method} {self.url}: HTTP {self.status}"
        detail = self.error_detail()
        if detail:
            message += f": {detail}"
        if self.status in (401, 403):
            raise AuthenticationError(message)
        if self.status >= 500 or self.status in (408, 429):
            raise ServerUnavailable(message)
        raise RequestRejected(message, self.status)

    def error_detail(self) -> str:
        try:
            body = json.loads(self.body)
        except ValueError:
            return self.body[:200].decode(errors="replace")
        if isinstance(body, dict):
            return str(
                body.get("message") or body.get("error_description") or body.get("error", "")
            )
        return ""


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
        """A new token; None when the server needs none. Raises :class:`ConductorError`.

        ``http`` has the API URL (with a trailing slash) as its base URL.
        """
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
        reply = await _httpx_send(http, "POST", self.token_url, data=form)
        if reply.status in (400, 401, 403):
            detail = reply.error_detail()
            raise AuthenticationError(
                f"the token endpoint {self.token_url} refused clientId {self.client_id!r} "
                f"and its clientSecret (HTTP {reply.status}{': ' + detail if detail else ''})"
            )
        reply.raise_for_status()
        body = reply.json()
        token = body.get("access_token") if isinstance(body, dict) else None
        lifetime = body.get("expires_in", 300) if isinstance(body, dict) else None
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
        reply = await _httpx_send(http, "POST", "token", json=body)
        if reply.status == 404:
            return None  # a server without auth: conductor-python reads it the same way
        if reply.status in (400, 401, 403):
            raise AuthenticationError(
                f"{reply.url} refused CONDUCTOR_AUTH_KEY {self.key_id!r} and its secret "
                f"(HTTP {reply.status})"
            )
        reply.raise_for_status()
        answer = reply.json()
        token = answer.get("token") if isinstance(answer, dict) else None
        if not isinstance(token, str):
            raise ConductorError(f"{reply.url} answered no token")
        return IssuedToken(token, _ORKES_TOKEN_TTL_S)


class _Tokens:
    """The current token: fetched lazily, renewed before expiry and on demand after a 401."""

    def __init__(
        self,
        credentials: Credentials,
        http: httpx.AsyncClient,
        clock: Callable[[], float] = trio.current_time,
    ) -> None:
        self._credentials = credentials
        self._http = http
        self._clock = clock
        self._lock = trio.Lock()
        self._token: str | None = None
        self._renew_at = -math.inf
        self.needed = True
        """False once the server said it needs no token (Orkes ``/token`` answered 404)."""

    async def header(self) -> tuple[str, str] | None:
        """The auth header for the next request; fetches a token first when due."""
        if self.needed and self._clock() >= self._renew_at:
            await self.renew(stale=self._token)
        if self._token is None:
            return None
        return self._credentials.header, self._credentials.header_value(self._token)

    async def renew(self, stale: str | None) -> None:
        """Fetch a new token unless another request already replaced ``stale``."""
        async with self._lock:
            if self._token != stale and self._clock() < self._renew_at:
                return
            issued = await self._credentials.fetch_token(self._http)
            if issued is None:
                self._token, self.needed = None, False
                return
            # Renew once 80% of the lifetime has passed (at most a minute early).
            margin = min(60.0, issued.lifetime_s * 0.2)
            self._token = issued.value
            self._renew_at = self._clock() + issued.lifetime_s - margin

    @property
    def current(self) -> str | None:
        return self._token


class _Sender(Protocol):
    """Sends one request to the API's origin: ``target`` is the path with its query."""

    async def send(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes, limit_s: float
    ) -> Reply: ...

    async def aclose(self) -> None: ...


class ConductorClient:
    """Poll and update tasks on one server, over one keep-alive connection pool.

    Use it as an async context manager (it closes the pool on exit). Every method raises
    :class:`ServerUnavailable`, :class:`AuthenticationError` or :class:`RequestRejected`,
    never a bare network or ``httpx`` error.
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
        parts = urlsplit(self.api_url)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._base_path = parts.path
        self._http = httpx.AsyncClient(
            base_url=self.api_url + "/",
            timeout=httpx.Timeout(_UPDATE_TIMEOUT_S, connect=_CONNECT_TIMEOUT_S),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            transport=transport,
        )
        self._tokens = None if credentials is None else _Tokens(credentials, self._http)
        self._sender: _Sender
        if transport is not None or _proxied(self.api_url):
            self._sender = _HttpxSender(self._http, self._origin)
        else:
            self._sender = _Http11Pool(self.api_url, max_connections)

    async def __aenter__(self) -> ConductorClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._sender.aclose()
        await self._http.aclose()

    async def authenticate(self) -> None:
        """Fetch a token now, so that wrong credentials show before the first poll."""
        if self._tokens is not None:
            await self._tokens.header()

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
            return [_task(item) for item in data or []]
        if count == 1:
            data = await self._get_json(path, params, _POLL_GRACE_S)
            return [] if data is None else [_task(data)]
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
                tasks.append(_task(data))

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
        reply = await self._call("POST", self.flavour.update_path, None, body, _UPDATE_TIMEOUT_S)
        reply.raise_for_status()

    async def _get_json(self, path: str, params: dict[str, str | int], timeout_s: float) -> Any:
        reply = await self._call("GET", path, params, b"", timeout_s)
        reply.raise_for_status()
        if reply.status == 204 or not reply.body:
            return None
        return reply.json()

    async def _call(
        self,
        method: str,
        path: str,
        params: dict[str, str | int] | None,
        body: bytes,
        timeout_s: float,
    ) -> Reply:
        target = self._base_path + path + (f"?{urlencode(params)}" if params else "")
        headers = [("Accept", "application/json"), ("User-Agent", _USER_AGENT)]
        if body:
            headers.append(("Content-Type", "application/json"))
        auth = None if self._tokens is None else await self._tokens.header()
        reply = await self._sender.send(
            method, target, [*headers, auth] if auth else headers, body, timeout_s
        )
        if reply.status == 401 and self._tokens is not None and self._tokens.needed:
            await self._tokens.renew(stale=self._tokens.current)
            auth = await self._tokens.header()
            reply = await self._sender.send(
                method, target, [*headers, auth] if auth else headers, body, timeout_s
            )
        return reply


def _task(data: Any) -> Task:
    try:
        return from_json_obj(data, Task)
    except (cattrs.BaseValidationError, TypeError, ValueError) as exc:
        raise ConductorError(f"the server answered a task this client cannot read: {exc}") from None


def _proxied(url: str) -> bool:
    """True when the environment routes ``url`` through a proxy (only httpx speaks to those)."""
    parts = urlsplit(url)
    proxies = urllib.request.getproxies()
    if parts.scheme not in proxies and "all" not in proxies:
        return False
    return not urllib.request.proxy_bypass(parts.hostname or "")


def encode_result(result: TaskResult) -> bytes:
    """The JSON body of ``result``; raises TypeError for output JSON cannot hold."""
    return json.dumps(to_json_obj(result), separators=(",", ":"), ensure_ascii=False).encode()


# -- sending requests --------------------------------------------------------------------


async def _httpx_send(http: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> Reply:
    try:
        response = await http.request(method, url, **kwargs)
    except httpx.TransportError as exc:
        where = http.base_url.join(url)
        text = str(exc) or type(exc).__name__
        if isinstance(exc, httpx.TimeoutException):
            text = f"timed out ({text})"
        raise ServerUnavailable(f"{method} {where}: {text}") from exc
    return Reply(method, str(response.request.url), response.status_code, response.content)


class _HttpxSender:
    """Requests through httpx: proxies from the environment, injected transports."""

    def __init__(self, http: httpx.AsyncClient, origin: str) -> None:
        self._http = http
        self._origin = origin

    async def send(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes, limit_s: float
    ) -> Reply:
        return await _httpx_send(
            self._http,
            method,
            self._origin + target,
            content=body or None,
            headers=headers,
            timeout=httpx.Timeout(limit_s, connect=_CONNECT_TIMEOUT_S),
        )

    async def aclose(self) -> None:
        pass  # the client owns the httpx client


class _Broken(Exception):
    """The connection failed; ``answered`` tells whether any of the answer had arrived."""

    def __init__(self, reason: str, *, answered: bool) -> None:
        super().__init__(reason)
        self.answered = answered


class _Connection:
    """One HTTP/1.1 connection, reused request after request while both sides allow."""

    def __init__(self, stream: trio.abc.Stream, socket: trio.socket.SocketType) -> None:
        self.stream = stream
        self.socket = socket
        self.h11 = h11.Connection(h11.CLIENT)
        self.idle_since = trio.current_time()

    def is_stale(self) -> bool:
        """Idle too long, or the server has closed it (an idle socket has nothing to read)."""
        if trio.current_time() - self.idle_since > _KEEP_ALIVE_S:
            return True
        try:
            return self.socket.is_readable()
        except OSError:
            return True

    async def exchange(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, bytes]:
        h = self.h11
        try:
            data = h.send(h11.Request(method=method, target=target, headers=headers))
            if body:
                data = (data or b"") + (h.send(h11.Data(data=body)) or b"")
            data = (data or b"") + (h.send(h11.EndOfMessage()) or b"")
            await self.stream.send_all(data)
        except (OSError, trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise _Broken(f"sending failed: {exc}", answered=False) from None
        status = 0
        chunks: list[bytes] = []
        while True:
            try:
                event = h.next_event()
                if event is h11.NEED_DATA:
                    h.receive_data(bytes(await self.stream.receive_some(_READ_SIZE)))
                    continue
            except (OSError, trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                raise _Broken(f"receiving failed: {exc}", answered=status != 0) from None
            except h11.RemoteProtocolError as exc:
                raise _Broken(f"bad HTTP from the server: {exc}", answered=status != 0) from None
            if isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                return status, b"".join(chunks)
            elif isinstance(event, h11.ConnectionClosed):
                raise _Broken("the server closed the connection", answered=status != 0)

    def reusable(self) -> bool:
        if self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE:
            self.h11.start_next_cycle()
            self.idle_since = trio.current_time()
            return True
        return False

    async def close(self) -> None:
        await trio.aclose_forcefully(self.stream)


class _Http11Pool:
    """Keep-alive HTTP/1.1 connections to one origin (plain or TLS), most recent first."""

    def __init__(self, url: str, max_connections: int) -> None:
        parts = urlsplit(url)
        self._tls = parts.scheme == "https"
        self._host = parts.hostname or "localhost"
        self._port = parts.port or (443 if self._tls else 80)
        default_port = parts.port is None or parts.port == (443 if self._tls else 80)
        self._host_header = parts.netloc.rpartition("@")[2] if not default_port else self._host
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._ssl: ssl.SSLContext | None = httpx.create_ssl_context() if self._tls else None
        self._idle: list[_Connection] = []
        self._room = trio.Semaphore(max_connections)

    async def send(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes, limit_s: float
    ) -> Reply:
        all_headers = [("Host", self._host_header), *headers]
        if body or method in ("POST", "PUT"):
            all_headers.append(("Content-Length", str(len(body))))
        with trio.move_on_after(limit_s):
            async with self._room:
                status, data = await self._exchange(method, target, all_headers, body)
            return Reply(method, self._origin + target, status, data)
        raise ServerUnavailable(f"{method} {self._origin}{target}: timed out after {limit_s:g} s")

    async def _exchange(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, bytes]:
        connection = self._reuse()
        reused = connection is not None
        for _attempt in range(2):
            if connection is None:
                connection = await self._connect(method, target)
            try:
                status, data = await connection.exchange(method, target, headers, body)
            except _Broken as exc:
                await connection.close()
                # A reused connection the server had already closed fails before any
                # answer: that request never ran, so it is repeated once on a new one.
                if reused and not exc.answered:
                    connection, reused = None, False
                    continue
                raise ServerUnavailable(f"{method} {self._origin}{target}: {exc}") from None
            except BaseException:  # cancelled mid-exchange: the connection is unusable
                await connection.close()
                raise
            if connection.reusable():
                self._idle.append(connection)
            else:
                await connection.close()
            return status, data
        raise AssertionError("unreachable")  # pragma: no cover

    def _reuse(self) -> _Connection | None:
        while self._idle:
            connection = self._idle.pop()
            if not connection.is_stale():
                return connection
            connection.socket.close()
        return None

    async def _connect(self, method: str, target: str) -> _Connection:
        try:
            with trio.fail_after(_CONNECT_TIMEOUT_S):
                tcp = await trio.open_tcp_stream(self._host, self._port)
                tcp.setsockopt(trio.socket.IPPROTO_TCP, trio.socket.TCP_NODELAY, 1)
                stream: trio.abc.Stream = tcp
                if self._ssl is not None:
                    tls = trio.SSLStream(tcp, self._ssl, server_hostname=self._host)
                    await tls.do_handshake()
                    stream = tls
        except trio.TooSlowError:
            raise ServerUnavailable(
                f"{method} {self._origin}{target}: connecting timed out after "
                f"{_CONNECT_TIMEOUT_S:g} s"
            ) from None
        except (OSError, trio.BrokenResourceError, ssl.SSLError) as exc:
            raise ServerUnavailable(f"{method} {self._origin}{target}: {exc}") from None
        return _Connection(stream, tcp.socket)

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.close()

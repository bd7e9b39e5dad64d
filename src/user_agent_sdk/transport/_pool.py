"""This package's own sender: keep-alive HTTP/1.1 connection pools, one per origin.

Requests are written in one piece and their answers framed by :mod:`._framing`, with no
layer of header objects in between: the cheapest way for the hot path (polls and
updates, thousands a second) to reach the server. An origin the environment routes
through a proxy is served by :class:`~._httpx.HttpxSender` instead, which speaks to
proxies.
"""

from __future__ import annotations

import logging
import ssl
from urllib.parse import urlsplit

import trio

from ._client_connection import ClientConnection, ConnectionBroken, open_connection
from ._failures import failure_reason, tls_context
from ._framing import encode_request
from ._sender import CONNECT_TIMEOUT_S, Answer, Headers, NoAnswer, Sender, proxied, split_url

request_log = logging.getLogger("user_agent_sdk.transport.requests")
"""One DEBUG line per request :class:`PoolSender` sends, as httpx logs its own (method,
URL, status; never a header or a body). ``useragent run`` shows them with ``--debug``."""


class Pool:
    """Keep-alive HTTP/1.1 connections to one origin (plain or TLS), most recent first.

    At most ``max_connections`` requests are in flight; more wait their turn. A request
    that finds its reused connection closed by the server before any of the answer
    arrived is sent once more, byte for byte, on a new connection. Usually it never ran
    (the server had closed the idle connection); if it did, the repeat must be harmless:
    results are (an ended attempt ignores them), and requests that lease tasks carry an
    ``Idempotency-Key`` so that the server answers the repeat with the same tasks.
    """

    def __init__(
        self, url: str, max_connections: int, *, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        parts = urlsplit(url)
        self._tls = parts.scheme == "https"
        self._host = parts.hostname or "localhost"
        self._port = parts.port or (443 if self._tls else 80)
        default_port = parts.port is None or parts.port == (443 if self._tls else 80)
        self._host_header = self._host if default_port else parts.netloc.rpartition("@")[2]
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self._ssl: ssl.SSLContext | None = None
        if self._tls:
            self._ssl = ssl_context or tls_context()
        self._idle: list[ClientConnection] = []
        self._room = trio.Semaphore(max_connections)

    async def send(
        self,
        method: str,
        target: str,
        headers: Headers,
        body: bytes,
        limit_s: float,
    ) -> Answer:
        """One request for ``target`` (path and query) on this origin; :class:`NoAnswer`
        when no answer came within ``limit_s``."""
        all_headers = [("Host", self._host_header), *headers]
        if body or method in ("POST", "PUT"):
            all_headers.append(("Content-Length", str(len(body))))
        request = encode_request(method, target, all_headers, body)
        with trio.move_on_after(limit_s):
            # A free connection slot is taken without a trip through the scheduler
            # (Semaphore.acquire always yields once); the exchange checkpoints anyway.
            try:
                self._room.acquire_nowait()
            except trio.WouldBlock:
                await self._room.acquire()
            try:
                status, data = await self._exchange(method, target, request)
            finally:
                self._room.release()
            return Answer(method, self.origin + target, status, data)
        raise NoAnswer(f"{method} {self.origin}{target}: timed out after {limit_s:g} s")

    async def _exchange(self, method: str, target: str, request: bytes) -> tuple[int, bytes]:
        connection = self._reuse()
        reused = connection is not None
        for _attempt in range(2):
            if connection is None:
                connection = await self._connect(method, target)
            try:
                status, data, reusable = await connection.exchange(method, request)
            except ConnectionBroken as exc:
                await connection.close()
                if reused and not exc.answered:
                    connection, reused = None, False
                    continue
                raise NoAnswer(f"{method} {self.origin}{target}: {exc}") from None
            except BaseException:  # cancelled mid-exchange: the connection is unusable
                await connection.close()
                raise
            if reusable:
                self._idle.append(connection)
            else:
                await connection.close()
            return status, data
        raise AssertionError("unreachable")  # pragma: no cover

    def _reuse(self) -> ClientConnection | None:
        while self._idle:
            connection = self._idle.pop()
            if not connection.is_stale():
                return connection
            connection.stream.close_now()
        return None

    async def _connect(self, method: str, target: str) -> ClientConnection:
        try:
            with trio.fail_after(CONNECT_TIMEOUT_S):
                return await open_connection(self._host, self._port, self._ssl)
        except trio.TooSlowError:
            raise NoAnswer(
                f"{method} {self.origin}{target}: connecting timed out after "
                f"{CONNECT_TIMEOUT_S:g} s"
            ) from None
        except (OSError, trio.BrokenResourceError, ssl.SSLError) as exc:
            reason = failure_reason(exc, self._host, self._port)
            raise NoAnswer(f"{method} {self.origin}{target}: {reason}") from None

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.close()


class PoolSender:
    """A :class:`~._sender.Sender` over this package's own pools: one :class:`Pool` per
    origin, created on first use; origins the environment proxies go through httpx.

    ``ca_bundle``: a PEM file of the CAs trusted for https; None: ``$SSL_CERT_FILE`` /
    ``$SSL_CERT_DIR`` when set, else certifi's. Raises OSError or :class:`ssl.SSLError`
    when ``ca_bundle`` cannot be read.
    """

    def __init__(self, *, max_connections: int = 100, ca_bundle: str | None = None) -> None:
        self._max_connections = max_connections
        self._ca_bundle = ca_bundle
        self._tls: ssl.SSLContext | None = None
        if ca_bundle is not None:
            self._tls = tls_context(ca_bundle)  # a bad bundle shows now, not at first use
        self._pools: dict[str, Pool] = {}
        self._proxied: dict[str, Sender] = {}

    async def send(
        self, method: str, url: str, headers: Headers, body: bytes, limit_s: float
    ) -> Answer:
        origin, target = split_url(url)
        pool = self._pools.get(origin)
        if pool is None:
            through_proxy = self._through_proxy(origin)
            if through_proxy is not None:
                return await through_proxy.send(method, url, headers, body, limit_s)
            pool = self._pools[origin] = Pool(
                origin, self._max_connections, ssl_context=self._tls_for(origin)
            )
        answer = await pool.send(method, target, headers, body, limit_s)
        if request_log.isEnabledFor(logging.DEBUG):
            request_log.debug('HTTP Request: %s %s "HTTP/1.1 %d"', method, url, answer.status)
        return answer

    def _tls_for(self, origin: str) -> ssl.SSLContext | None:
        if not origin.startswith("https:"):
            return None
        if self._tls is None:
            self._tls = tls_context(self._ca_bundle)
        return self._tls

    def _through_proxy(self, origin: str) -> Sender | None:
        sender = self._proxied.get(origin)
        if sender is None and proxied(origin):
            from ._httpx import HttpxSender  # httpx only where a proxy is configured

            sender = self._proxied[origin] = HttpxSender(
                max_connections=self._max_connections, ca_bundle=self._ca_bundle
            )
        return sender

    async def aclose(self) -> None:
        pools, self._pools = self._pools, {}
        senders, self._proxied = self._proxied, {}
        for pool in pools.values():
            await pool.aclose()
        for sender in senders.values():
            await sender.aclose()

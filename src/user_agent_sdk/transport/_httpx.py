"""The httpx sender: for proxies, and for a caller's own httpx transport (tests).

It keeps the promises of :class:`~._sender.Sender` as :class:`~._pool.PoolSender`
does: one deadline for the whole request, the same connect timeout, keep-alive window
and connection limit, and the environment's proxies. Like it, it adds no header but
``Host`` and ``Content-Length`` (no ``Accept-Encoding``: answers come uncompressed).
"""

from __future__ import annotations

import ssl

import httpx
import trio

from ._failures import failure_reason, tls_context
from ._sender import CONNECT_TIMEOUT_S, KEEP_ALIVE_S, Answer, Headers, NoAnswer


class HttpxSender:
    """A :class:`~._sender.Sender` over an :class:`httpx.AsyncClient` of its own.

    ``ca_bundle``: a PEM file of the CAs trusted for https and by proxies; None:
    ``$SSL_CERT_FILE`` / ``$SSL_CERT_DIR`` when set, else certifi's.
    """

    def __init__(self, *, max_connections: int = 100, ca_bundle: str | None = None) -> None:
        self._http = _client(max_connections, tls_context(ca_bundle), transport=None)

    @classmethod
    def with_transport(
        cls, transport: httpx.AsyncBaseTransport, *, max_connections: int = 100
    ) -> HttpxSender:
        """A sender whose requests go to ``transport`` (an ``httpx.MockTransport``, an
        ASGI app...) instead of the network; the environment's proxies do not apply."""
        sender = cls.__new__(cls)
        sender._http = _client(max_connections, True, transport=transport)
        return sender

    async def send(
        self, method: str, url: str, headers: Headers, body: bytes, limit_s: float
    ) -> Answer:
        with trio.move_on_after(limit_s):
            try:
                response = await self._http.request(
                    method, url, headers=list(headers), content=body or None
                )
            except httpx.TransportError as exc:
                raise NoAnswer(f"{method} {url}: {_reason(exc, url)}") from None
            return Answer(method, url, response.status_code, response.content)
        raise NoAnswer(f"{method} {url}: timed out after {limit_s:g} s")

    async def aclose(self) -> None:
        await self._http.aclose()


def _client(
    max_connections: int,
    verify: ssl.SSLContext | bool,
    *,
    transport: httpx.AsyncBaseTransport | None,
) -> httpx.AsyncClient:
    client = httpx.AsyncClient(
        verify=verify,
        timeout=httpx.Timeout(None, connect=CONNECT_TIMEOUT_S),
        limits=httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=KEEP_ALIVE_S,
        ),
        transport=transport,
    )
    # What PoolSender sends on its own: Host and Content-Length, nothing else.
    for name in ("accept", "accept-encoding", "user-agent", "connection"):
        client.headers.pop(name, None)
    return client


def _reason(exc: httpx.TransportError, url: str) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({str(exc) or type(exc).__name__})"
    where = httpx.URL(url)
    if isinstance(exc, httpx.RemoteProtocolError) and str(exc).startswith("peer closed"):
        # What the pool reports for a connection closed mid-answer (httpx reads a TLS
        # connection's end without close_notify as a plain end of stream).
        closed = "the TLS connection" if where.scheme == "https" else "the connection"
        return f"the server closed {closed} abruptly ({exc})"
    return failure_reason(exc, where.host, where.port or (443 if where.scheme == "https" else 80))

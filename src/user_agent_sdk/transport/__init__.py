"""HTTP/1.1 on trio: message framing, the server side, and the client's senders.

- :func:`serve_http` serves a handler (``Request`` in, ``Response`` out) with
  :class:`HTTPLimits` on what clients may hold;
- :class:`Sender` is the one interface clients send requests through, with two
  implementations that keep the same promises on time limits, keep-alive, proxies and
  TLS: :class:`PoolSender` (this package's own keep-alive pools, the default) and
  :class:`HttpxSender` (over httpx: for a caller's own httpx transport, and what
  :class:`PoolSender` uses for an origin behind a proxy).

httpx is loaded only when :class:`HttpxSender` is first used (an origin behind a proxy,
or a caller's own).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._framing import MalformedHttp, PeerClosed
from ._limits import DEFAULT_MAX_CONNECTIONS, HTTPLimits, default_max_connections
from ._messages import Handler, HTTPError, Request, Response
from ._pool import PoolSender
from ._sender import CONNECT_TIMEOUT_S, KEEP_ALIVE_S, Answer, Headers, NoAnswer, Sender
from ._server import serve_http

if TYPE_CHECKING:
    from ._httpx import HttpxSender


def __getattr__(name: str) -> Any:
    if name == "HttpxSender":
        from ._httpx import HttpxSender

        return HttpxSender
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CONNECT_TIMEOUT_S",
    "DEFAULT_MAX_CONNECTIONS",
    "KEEP_ALIVE_S",
    "Answer",
    "HTTPError",
    "HTTPLimits",
    "Handler",
    "Headers",
    "HttpxSender",
    "MalformedHttp",
    "NoAnswer",
    "PeerClosed",
    "PoolSender",
    "Request",
    "Response",
    "Sender",
    "default_max_connections",
    "serve_http",
]

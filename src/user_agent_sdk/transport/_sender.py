"""The one seam between a client and the network: :class:`Sender`.

A sender sends one HTTP/1.1 request to an absolute URL and returns the whole answer as
an :class:`Answer`, or raises :class:`NoAnswer`; :class:`~._pool.PoolSender` and
:class:`~._httpx.HttpxSender` implement it alike.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Sequence
from typing import Protocol
from urllib.parse import urlsplit

import attrs

from .._errors import UserAgentError

CONNECT_TIMEOUT_S = 10.0
"""The longest a sender waits for a new connection (TCP and TLS handshake)."""
KEEP_ALIVE_S = 30.0
"""Idle connections older than this are closed rather than reused (proxies and load
balancers drop idle connections after a minute or so)."""


Headers = Sequence[tuple[str, str]]
"""Header names and values, in the order they are sent."""


class NoAnswer(UserAgentError):
    """A request got no (complete) answer: the server could not be reached, the
    connection failed, or the time limit passed. The message names the request and why."""


@attrs.frozen
class Answer:
    """An HTTP answer, fully read (no ``Accept-Encoding`` is sent: the body comes as is)."""

    method: str
    """The method of the request it answers."""
    url: str
    """The URL of the request it answers."""
    status: int
    body: bytes = attrs.field(repr=lambda body: f"<{len(body)} bytes>")


class Sender(Protocol):
    """Sends HTTP/1.1 requests and reads their answers.

    Both implementations, :class:`~user_agent_sdk.transport.PoolSender` (this package's
    own keep-alive pools) and :class:`~user_agent_sdk.transport.HttpxSender` (over
    httpx), keep the same promises:

    - **time**: ``limit_s`` bounds the whole request, waiting for a free connection
      included; connecting is bounded by :data:`CONNECT_TIMEOUT_S` as well. Past either,
      :class:`NoAnswer` says "timed out";
    - **keep-alive**: at most ``max_connections`` connections per origin, idle ones
      reused for up to :data:`KEEP_ALIVE_S` seconds;
    - **proxies**: a URL the environment routes through a proxy (``$HTTP_PROXY``,
      ``$HTTPS_PROXY``, ``$ALL_PROXY``, less ``$NO_PROXY``) goes through it;
    - **TLS**: https is verified against ``ca_bundle`` (a PEM file) when given, else
      ``$SSL_CERT_FILE`` / ``$SSL_CERT_DIR`` when set, else certifi's CAs;
    - **headers**: only ``Host`` and ``Content-Length`` are added to the caller's.
    """

    async def send(
        self, method: str, url: str, headers: Headers, body: bytes, limit_s: float
    ) -> Answer:
        """Send one request to ``url`` (absolute: ``http://host:port/path?query``).

        ``headers`` are sent as given; the sender adds ``Host`` and ``Content-Length``.
        Raises :class:`NoAnswer` when no complete answer came within ``limit_s`` seconds.
        On cancellation the request's connection is closed, not reused.
        """
        ...

    async def aclose(self) -> None:
        """Close every connection; the sender is not used afterwards."""
        ...


def proxied(url: str) -> bool:
    """True when the environment routes ``url`` through a proxy."""
    parts = urlsplit(url)
    proxies = urllib.request.getproxies()
    if parts.scheme not in proxies and "all" not in proxies:
        return False
    return not urllib.request.proxy_bypass(parts.hostname or "")


def split_url(url: str) -> tuple[str, str]:
    """``url``'s origin (``scheme://host[:port]``) and its target (path and query, at
    least ``/``)."""
    start = url.find("//") + 2
    ends = [at for at in (url.find("/", start), url.find("?", start)) if at >= 0]
    if not ends:
        return url, "/"
    end = min(ends)
    target = url[end:]
    return url[:end], target if target.startswith("/") else "/" + target

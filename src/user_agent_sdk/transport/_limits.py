"""What one client, or all of them, may hold of a server: :class:`HTTPLimits`."""

from __future__ import annotations

from typing import Any

import attrs

DEFAULT_MAX_CONNECTIONS = 10_000
"""Connections open at once, unless the open-file limit calls for fewer.

Each is a socket (a file descriptor), a task and its buffers. A worker holds one
keep-alive connection per slot, and a long poll holds its connection for the poll's
timeout, so 10,000 serves a few hundred workers of 32 slots; that is more than one
server process moves tasks for, and a bound on memory where the open-file limit is huge
(containers often allow a million)."""
RESERVED_FILES = 100
"""Descriptors kept out of the connections' reach for the server's own files (SQLite's
database, WAL and shared-memory files for each of its connections, the listening socket,
trio's wake-up channels, logs): run out, and neither accept() nor SQLite could go on."""


def default_max_connections() -> int:
    """:data:`DEFAULT_MAX_CONNECTIONS`, or fewer where the open-file limit is lower: that
    limit less :data:`RESERVED_FILES`."""
    room = room_for_connections()
    return DEFAULT_MAX_CONNECTIONS if room is None else min(DEFAULT_MAX_CONNECTIONS, room)


def room_for_connections() -> int | None:
    """The open-file limit (``ulimit -n``) less :data:`RESERVED_FILES`, at least 1; None
    where there is no limit."""
    try:
        import resource  # Unix only
    except ImportError:
        return None
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return None
    return max(1, soft - RESERVED_FILES)


def _positive(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not value > 0:
        raise ValueError(f"HTTPLimits.{attribute.name} must be positive, not {value!r}")


@attrs.frozen
class HTTPLimits:
    """What one client, or all of them, may hold of the server."""

    max_body_bytes: int = attrs.field(default=10 * 1024 * 1024, validator=_positive)
    idle_timeout: float = attrs.field(default=600.0, validator=_positive)
    """Seconds a keep-alive connection may sit between requests before it is closed."""
    request_timeout: float = attrs.field(default=30.0, validator=_positive)
    """Seconds from a request's first byte to its last (head and body) before it is
    answered 408 and its connection closed: a client that stops sending mid-request
    holds nothing for longer. Handling (a long poll) and answering do not count."""
    max_connections: int = attrs.field(factory=default_max_connections, validator=_positive)
    """Connections open at once. A new one past the cap closes the longest-idle
    connection (one waiting between requests, not one whose request is being read or
    handled); while none is idle, new connections wait in the listen backlog."""

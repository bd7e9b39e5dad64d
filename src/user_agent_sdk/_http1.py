"""HTTP/1.1 message framing, shared by the task server and the worker's client.

Both ends of the hot path (batch poll, update) speak small keep-alive requests to
each other many thousand times a second. A general HTTP library re-validates every
header of every message through several layers of objects; this module does the
little that framing needs with a handful of ``bytes`` operations:

- :class:`MessageReader` buffers what the peer sent and hands out a message head, an
  exact number of bytes, a line, or everything up to the end of the stream;
- :func:`parse_request_head` / :func:`parse_response_head` split a head into its
  start line and headers, refusing anything ambiguous (obsolete line folding, bad
  names, a ``Content-Length`` that disagrees with itself or with
  ``Transfer-Encoding``) so that two parsers can never read one stream differently;
- :func:`read_body` reads a body framed by ``Content-Length``, by chunks, or (for a
  response only) by the end of the connection, within a size limit;
- :func:`encode_request` / :func:`encode_response` write messages.

Malformed input raises :class:`ProtocolError`, whose ``status`` is what a server
should answer (400, 413, 431, 501). A stream that ends in the middle of a message
raises :class:`PeerClosed`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable

import attrs

MAX_HEAD_BYTES = 64 * 1024
"""The longest start line plus headers either side accepts."""
_MAX_LINE_BYTES = 8 * 1024
"""The longest chunk-size or trailer line."""

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_BAD_TARGET = re.compile(rb"[\x00-\x20\x7f]")
_VERSION = re.compile(rb"HTTP/1\.[01]")

Receive = Callable[[], Awaitable[bytes]]
"""Returns the next bytes the peer sent; ``b""`` once the stream has ended."""


class ProtocolError(Exception):
    """The peer sent something that is not HTTP/1.1 this module accepts."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class PeerClosed(Exception):
    """The stream ended before the message did."""


@attrs.frozen
class RequestHead:
    method: str
    target: str
    version: str
    """``HTTP/1.1`` or ``HTTP/1.0``."""
    headers: dict[str, str]
    """Lower-case names; a repeated header's values joined with ``", "``."""


@attrs.frozen
class ResponseHead:
    status: int
    version: str
    headers: dict[str, str]


class MessageReader:
    """What the peer sent, buffered: messages are read off the front, one at a time."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._buffer = bytearray()

    @property
    def buffered(self) -> int:
        """Bytes received and not yet read (a pipelined request, say)."""
        return len(self._buffer)

    def feed(self, data: bytes) -> None:
        """Add bytes received elsewhere (by a watcher of the socket) to the buffer."""
        self._buffer += data

    async def _fill(self) -> bool:
        data = await self._receive()
        if not data:
            return False
        self._buffer += data
        return True

    async def read_head(self) -> bytes | None:
        """The next head, up to and including its blank line.

        None when the stream ends cleanly before the first byte of a message.
        Raises :class:`ProtocolError` (431) for a head over :data:`MAX_HEAD_BYTES`.
        """
        searched = 0
        while True:
            end = self._buffer.find(b"\r\n\r\n", searched)
            if end >= 0:
                head = bytes(self._buffer[: end + 4])
                del self._buffer[: end + 4]
                return head
            if len(self._buffer) > MAX_HEAD_BYTES:
                raise ProtocolError("the message head is too large", 431)
            searched = max(0, len(self._buffer) - 3)
            if not await self._fill():
                if not self._buffer.strip():
                    return None
                raise PeerClosed("the stream ended inside a message head")

    async def read_exact(self, size: int) -> bytes:
        while len(self._buffer) < size:
            if not await self._fill():
                raise PeerClosed(f"the stream ended {size - len(self._buffer)} bytes early")
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    async def read_line(self) -> bytes:
        """One line without its CRLF."""
        searched = 0
        while True:
            end = self._buffer.find(b"\r\n", searched)
            if end >= 0:
                line = bytes(self._buffer[:end])
                del self._buffer[: end + 2]
                return line
            if len(self._buffer) > _MAX_LINE_BYTES:
                raise ProtocolError("a chunk line is too long")
            searched = max(0, len(self._buffer) - 1)
            if not await self._fill():
                raise PeerClosed("the stream ended inside a chunk line")

    async def read_to_end(self, limit: int) -> bytes:
        while await self._fill():
            if len(self._buffer) > limit:
                raise ProtocolError(f"the body exceeds the limit of {limit} bytes", 413)
        data = bytes(self._buffer)
        self._buffer.clear()
        return data


@attrs.frozen
class Framing:
    """How a message's body is delimited."""

    length: int | None = None
    """Exactly this many bytes (``0``: no body)."""
    chunked: bool = False
    to_end: bool = False
    """Until the connection closes (responses only)."""


NO_BODY = Framing(length=0)


def request_framing(head: RequestHead) -> Framing:
    return _framing(head.headers, request=True)


def response_framing(head: ResponseHead, method: str) -> Framing:
    if method == "HEAD" or head.status in (204, 304) or 100 <= head.status < 200:
        return NO_BODY
    return _framing(head.headers, request=False)


def _framing(headers: dict[str, str], *, request: bool) -> Framing:
    coding = headers.get("transfer-encoding")
    declared = headers.get("content-length")
    if coding is not None:
        if declared is not None:
            raise ProtocolError("both Transfer-Encoding and Content-Length are set")
        if coding.strip().lower() != "chunked":
            raise ProtocolError(f"unsupported Transfer-Encoding {coding!r}", 501)
        return Framing(chunked=True)
    if declared is not None:
        values = {value.strip() for value in declared.split(",")}
        if len(values) != 1:
            raise ProtocolError(f"conflicting Content-Length {declared!r}")
        value = values.pop()
        if not value.isdigit() or not value.isascii() or len(value) > 18:
            raise ProtocolError(f"bad Content-Length {declared!r}")
        return Framing(length=int(value))
    return NO_BODY if request else Framing(to_end=True)


async def read_body(reader: MessageReader, framing: Framing, limit: int) -> bytes:
    """The body ``framing`` delimits; :class:`ProtocolError` (413) past ``limit`` bytes."""
    if framing.length is not None:
        if framing.length > limit:
            raise ProtocolError(f"the body exceeds the limit of {limit} bytes", 413)
        return await reader.read_exact(framing.length) if framing.length else b""
    if framing.to_end:
        return await reader.read_to_end(limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        line = await reader.read_line()
        digits = line.split(b";", 1)[0].strip()
        if (
            not digits
            or len(digits) > 15
            or not all(c in b"0123456789abcdefABCDEF" for c in digits)
        ):
            raise ProtocolError(f"bad chunk size line {line[:40]!r}")
        chunk_size = int(digits, 16)
        if chunk_size == 0:
            break
        size += chunk_size
        if size > limit:
            raise ProtocolError(f"the body exceeds the limit of {limit} bytes", 413)
        chunks.append(await reader.read_exact(chunk_size))
        if await reader.read_exact(2) != b"\r\n":
            raise ProtocolError("a chunk does not end with CRLF")
    while await reader.read_line():  # trailers: read and ignored
        pass
    return b"".join(chunks)


def parse_request_head(data: bytes) -> RequestHead:
    lines = _lines(data)
    parts = lines[0].split(b" ")
    if len(parts) != 3 or not _TOKEN.fullmatch(parts[0]) or not _VERSION.fullmatch(parts[2]):
        raise ProtocolError(f"bad request line {lines[0][:100]!r}")
    if not parts[1] or _BAD_TARGET.search(parts[1]):
        raise ProtocolError(f"bad request target {parts[1][:100]!r}")
    return RequestHead(
        method=parts[0].decode("ascii"),
        target=parts[1].decode("ascii", errors="replace"),
        version=parts[2].decode("ascii"),
        headers=_headers(lines),
    )


def parse_response_head(data: bytes) -> ResponseHead:
    lines = _lines(data)
    parts = lines[0].split(b" ", 2)
    if (
        len(parts) < 2
        or not _VERSION.fullmatch(parts[0])
        or len(parts[1]) != 3
        or not parts[1].isdigit()
    ):
        raise ProtocolError(f"bad status line {lines[0][:100]!r}")
    return ResponseHead(
        status=int(parts[1]), version=parts[0].decode("ascii"), headers=_headers(lines)
    )


def _lines(data: bytes) -> list[bytes]:
    # Leading empty lines before a request line are tolerated (RFC 9112, 2.2).
    lines = data.lstrip(b"\r\n").split(b"\r\n")
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        raise ProtocolError("an empty message head")
    return lines


def _headers(lines: list[bytes]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN.fullmatch(name):
            raise ProtocolError(f"bad header line {line[:100]!r}")
        value = value.strip(b" \t")
        if _BAD_VALUE.search(value):
            raise ProtocolError(f"bad value of header {name.decode('ascii')!r}")
        key = name.decode("ascii").lower()
        text = value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers


def keep_alive(version: str, headers: dict[str, str]) -> bool:
    """Whether the connection may carry another message after this one."""
    tokens = {token.strip().lower() for token in headers.get("connection", "").split(",")}
    if version == "HTTP/1.0":
        return "keep-alive" in tokens
    return "close" not in tokens


def encode_request(
    method: str, target: str, headers: Iterable[tuple[str, str]], body: bytes = b""
) -> bytes:
    """A request; ``headers`` must hold ``Host`` and, with a body, ``Content-Length``."""
    lines = [f"{method} {target} HTTP/1.1"]
    lines.extend(f"{name}: {value}" for name, value in headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def encode_response(
    status: int, reason: str, headers: Iterable[tuple[str, str]], body: bytes = b""
) -> bytes:
    """A response; ``headers`` must hold ``Content-Length`` unless the status has no body."""
    lines = [f"HTTP/1.1 {status} {reason}"]
    lines.extend(f"{name}: {value}" for name, value in headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

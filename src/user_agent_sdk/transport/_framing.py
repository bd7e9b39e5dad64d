"""HTTP/1.1 message framing, shared by the server side and the client pool.

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

Malformed input raises :class:`MalformedHttp`, whose ``status`` is what a server
should answer (400, 413, 431, 501). A stream that ends in the middle of a message
raises :class:`PeerClosed`. Every limit holds however the peer's bytes are cut into
reads: a head, a line or a trailer section that would pass its limit is refused as soon
as enough of it has arrived to know, with at most one read's worth buffered past it.

Lines end with CRLF. A bare LF is refused (RFC 9112, 2.2 lets a recipient accept it;
every client of this server sends CRLF, and a parser that accepts fewer forms has fewer
ways to read a stream differently from a proxy in front of it).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable

import attrs

from .._errors import UserAgentError

MAX_HEAD_BYTES = 64 * 1024
"""The longest message head either side accepts (start line and header lines with their
CRLFs, and the empty line that ends them); also the most a trailer section may hold."""
_MAX_LINE_BYTES = 8 * 1024
"""The longest chunk-size or trailer line, without its CRLF."""
_MAX_LENGTH_DIGITS = 20
"""The most digits of a Content-Length or a chunk size (hexadecimal): far above any body
limit, and short enough that the number costs nothing to convert."""

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Field values and reason phrases: visible ASCII, obs-text, and SP/HTAB inside. Other
# control bytes are invalid (RFC 9110, 5.5) and refused rather than passed on.
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_BAD_TARGET = re.compile(rb"[^\x21-\x7e]")
_VERSION = re.compile(rb"HTTP/1\.[01]")
_BARE_LF = re.compile(rb"(?<!\r)\n")
# chunk-size [ ";" extensions ] (RFC 9112, 7.1); extensions are ignored, so only a bare
# LF in them matters. Whitespace is allowed at the end of a line without extensions.
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,%d})(?:;[^\n]*|[ \t]*)" % _MAX_LENGTH_DIGITS)

Receive = Callable[[], Awaitable[bytes]]
"""Returns the next bytes the peer sent; ``b""`` once the stream has ended."""


class MalformedHttp(UserAgentError):
    """The peer sent something that is not HTTP/1.1 this module accepts; ``status`` is
    what a server answers it with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class PeerClosed(UserAgentError):
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
    """What the peer sent, buffered: messages are read off the front, one at a time.

    On cancellation nothing received is lost: a head or line is taken off the buffer only
    once all of it is there, so :meth:`read_head` can simply be called again. A body that
    was being read is partly consumed, though, and the message cannot be resumed.
    """

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
        """The next head, from its start line up to and including its empty line.

        Empty lines before a start line are skipped (RFC 9112, 2.2). None when the stream
        ends cleanly between messages. Raises :class:`MalformedHttp`: 431 for a head over
        :data:`MAX_HEAD_BYTES`, 400 for a bare LF.
        """
        buffer = self._buffer
        searched = 0
        while True:
            if buffer.startswith(b"\r\n"):
                # Dropped as they come, so they do not count towards the head's size; the
                # caller's time limit on a request bounds how long they may go on.
                skip = 2
                while buffer.startswith(b"\r\n", skip):
                    skip += 2
                del buffer[:skip]
                searched = 0
            # Only an end within the limit counts: the head is refused the same whether
            # its end came in the same read as the rest or never came.
            end = buffer.find(b"\r\n\r\n", searched, MAX_HEAD_BYTES)
            if end >= 0:
                head = bytes(buffer[: end + 4])
                del buffer[: end + 4]
                return head
            if len(buffer) >= MAX_HEAD_BYTES:
                raise MalformedHttp(f"the message head exceeds {MAX_HEAD_BYTES} bytes", 431)
            # Here only while a head is incomplete: a bare LF would end it for a lenient
            # parser, so say so now rather than wait for a CRLF CRLF that may never come.
            if _BARE_LF.search(buffer, searched):
                raise MalformedHttp("a line of the message head ends with a bare LF")
            searched = max(0, len(buffer) - 3)
            if not await self._fill():
                if not buffer:
                    return None
                raise PeerClosed("the stream ended inside a message head")

    async def read_exact(self, size: int) -> bytes:
        while len(self._buffer) < size:
            if not await self._fill():
                raise PeerClosed(f"the stream ended {size - len(self._buffer)} bytes early")
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    async def read_line(
        self, limit: int = _MAX_LINE_BYTES, *, what: str = "chunk-size line", status: int = 400
    ) -> bytes:
        """One line without its CRLF.

        Raises :class:`MalformedHttp`: ``status`` (naming ``what``) for a line over
        ``limit`` bytes, 400 for a bare LF.
        """
        buffer = self._buffer
        searched = 0
        while True:
            end = buffer.find(b"\r\n", searched, limit + 2)
            if end >= 0:
                line = bytes(buffer[:end])
                del buffer[: end + 2]
                return line
            if len(buffer) >= limit + 2:
                raise MalformedHttp(f"the {what} exceeds {limit} bytes", status)
            # No CRLF in the buffer: any LF in it is a bare one.
            if buffer.find(b"\n", searched) >= 0:
                raise MalformedHttp(f"a {what} ends with a bare LF")
            searched = max(0, len(buffer) - 1)
            if not await self._fill():
                raise PeerClosed(f"the stream ended inside a {what}")

    async def read_to_end(self, limit: int) -> bytes:
        while await self._fill():
            if len(self._buffer) > limit:
                raise MalformedHttp(f"the body exceeds the limit of {limit} bytes", 413)
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
    """How the body of ``head``, the answer to a ``method`` request, is delimited.

    ``Content-Length`` and ``Transfer-Encoding`` are checked even where the status or the
    method means there is no body. A 101 is refused: the clients using this module never
    ask to switch protocols.
    """
    framing = _framing(head.headers, request=False)
    if head.status == 101:
        raise MalformedHttp("101 Switching Protocols, but no upgrade was asked for")
    if method == "HEAD" or head.status in (204, 304) or head.status < 200:
        return NO_BODY
    return framing


def _framing(headers: dict[str, str], *, request: bool) -> Framing:
    coding = headers.get("transfer-encoding")
    declared = headers.get("content-length")
    if coding is not None:
        if declared is not None:
            # RFC 9112, 6.1 lets a server go by Transfer-Encoding alone; a message that
            # says both is refused instead, as two parsers may disagree on it.
            raise MalformedHttp("both Transfer-Encoding and Content-Length are set")
        if coding.strip().lower() != "chunked":
            raise MalformedHttp(f"unsupported Transfer-Encoding {coding!r}", 501)
        return Framing(chunked=True)
    if declared is not None:
        values = {value.strip() for value in declared.split(",")}
        if len(values) != 1:
            raise MalformedHttp(f"conflicting Content-Length {declared!r}")
        value = values.pop()
        if not value.isdigit() or not value.isascii() or len(value) > _MAX_LENGTH_DIGITS:
            raise MalformedHttp(f"bad Content-Length {declared!r}")
        return Framing(length=int(value))
    return NO_BODY if request else Framing(to_end=True)


async def read_body(reader: MessageReader, framing: Framing, limit: int) -> bytes:
    """The body ``framing`` delimits; :class:`MalformedHttp` (413) past ``limit`` bytes.

    A chunked body's trailer section is read, checked like a head (431 past
    :data:`MAX_HEAD_BYTES`, or a line past 8 KiB) and dropped.
    """
    if framing.length is not None:
        if framing.length > limit:
            raise MalformedHttp(f"the body exceeds the limit of {limit} bytes", 413)
        return await reader.read_exact(framing.length) if framing.length else b""
    if framing.to_end:
        return await reader.read_to_end(limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        line = await reader.read_line()
        match = _CHUNK_SIZE.fullmatch(line)
        if match is None:
            raise MalformedHttp(f"bad chunk-size line {line[:40]!r}")
        chunk_size = int(match[1], 16)
        if chunk_size == 0:
            break
        size += chunk_size
        if size > limit:
            raise MalformedHttp(f"the body exceeds the limit of {limit} bytes", 413)
        chunks.append(await reader.read_exact(chunk_size))
        if await reader.read_exact(2) != b"\r\n":
            raise MalformedHttp("a chunk does not end with CRLF")
    await _read_trailers(reader)
    return b"".join(chunks)


async def _read_trailers(reader: MessageReader) -> None:
    lines = [b""]  # where a start line would be
    room = MAX_HEAD_BYTES - 2  # the empty line that ends the section takes 2
    while True:
        if room - 2 >= _MAX_LINE_BYTES:
            line = await reader.read_line(what="trailer line", status=431)
        else:
            try:
                line = await reader.read_line(max(0, room - 2), what="trailer line", status=431)
            except MalformedHttp as exc:
                if exc.status != 431:
                    raise
                message = f"the trailer section exceeds {MAX_HEAD_BYTES} bytes"
                raise MalformedHttp(message, 431) from None
        if not line:
            break
        room -= len(line) + 2
        lines.append(line)
    if len(lines) > 1:
        # Nothing reads trailers, but they are held to a head's rules, framing fields
        # included: what one parser refuses, another must not take as harmless.
        _framing(_headers(lines), request=True)


def parse_request_head(data: bytes) -> RequestHead:
    """The start line and headers of a request head (as :meth:`MessageReader.read_head`
    returns it).

    Besides malformed lines, refuses (400) an HTTP/1.1 request without a ``Host`` header
    and any request with more than one (RFC 9112, 3.2).
    """
    lines = _lines(data)
    parts = lines[0].split(b" ")
    if len(parts) != 3 or not _TOKEN.fullmatch(parts[0]) or not _VERSION.fullmatch(parts[2]):
        raise MalformedHttp(f"bad request line {lines[0][:100]!r}")
    if not parts[1] or _BAD_TARGET.search(parts[1]):
        raise MalformedHttp(f"bad request target {parts[1][:100]!r}")
    headers = _headers(lines, request=True)
    if "host" not in headers and parts[2] == b"HTTP/1.1":
        raise MalformedHttp("an HTTP/1.1 request without a Host header")
    return RequestHead(
        method=parts[0].decode("ascii"),
        target=parts[1].decode("ascii"),
        version=parts[2].decode("ascii"),
        headers=headers,
    )


def parse_response_head(data: bytes) -> ResponseHead:
    """The status line and headers of a response head.

    An interim (1xx) answer's ``Content-Length`` and ``Transfer-Encoding`` are checked
    here, as nobody asks for its framing.
    """
    lines = _lines(data)
    parts = lines[0].split(b" ", 2)
    if (
        len(parts) < 2
        or not _VERSION.fullmatch(parts[0])
        or len(parts[1]) != 3
        or not parts[1].isdigit()
        or parts[1] < b"100"
        or (len(parts) == 3 and _BAD_VALUE.search(parts[2]))
    ):
        raise MalformedHttp(f"bad status line {lines[0][:100]!r}")
    status = int(parts[1])
    headers = _headers(lines)
    if status < 200:
        _framing(headers, request=False)
    return ResponseHead(status=status, version=parts[0].decode("ascii"), headers=headers)


def _lines(data: bytes) -> list[bytes]:
    lines = data.split(b"\r\n")
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        raise MalformedHttp("an empty message head")
    return lines


def _headers(lines: list[bytes], *, request: bool = False) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in lines[1:]:
        # A line starting with whitespace (obsolete line folding) has no token before its
        # colon, so it is refused here, as RFC 9112, 5.2 allows.
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN.fullmatch(name):
            raise MalformedHttp(f"bad header line {line[:100]!r}")
        value = value.strip(b" \t")
        if _BAD_VALUE.search(value):
            raise MalformedHttp(f"bad value of header {name.decode('ascii')!r}")
        key = name.decode("ascii").lower()
        text = value.decode("latin-1")
        if key in headers:
            if request and key == "host":
                raise MalformedHttp("more than one Host header")
            headers[key] = f"{headers[key]}, {text}"
        else:
            headers[key] = text
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
    return _encode(f"{method} {target} HTTP/1.1", headers, body)


def encode_response(
    status: int, reason: str, headers: Iterable[tuple[str, str]], body: bytes = b""
) -> bytes:
    """A response; ``headers`` must hold ``Content-Length`` unless the status has no body."""
    return _encode(f"HTTP/1.1 {status} {reason}", headers, body)


def _encode(start_line: str, headers: Iterable[tuple[str, str]], body: bytes) -> bytes:
    lines = [start_line]
    lines.extend(f"{name}: {value}" for name, value in headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

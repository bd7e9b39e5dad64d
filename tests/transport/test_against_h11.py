"""Our HTTP/1.1 framing against h11 as an oracle.

Request streams (what the server reads) and response streams (what the worker's client
reads) are generated from a grammar, then mutated byte by byte. Both parsers read the
same bytes, ours in random pieces: they must accept the same messages, with the same
start line, headers and body, and stop the same way (the stream ends cleanly, or a
message is refused or cut short).

Where they differ on purpose, :data:`DIFFERENCES` says how and why, and a disagreement
passes only if one of them explains it: the feature is in the bytes from the first
message the two read differently, and the side that refused is the one the difference
says refuses. Every listed difference is shown by an example of its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Literal, TypeVar

import attrs
import h11
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from user_agent_sdk.transport._framing import (
    MalformedHttp,
    PeerClosed,
    keep_alive,
    parse_request_head,
    parse_response_head,
    read_body,
    request_framing,
    response_framing,
)

from ._feed import Pieces, complete

T = TypeVar("T")

LIMIT = 1024 * 1024
"""Body limit for our side: above anything generated, so it never decides an outcome
(a declared length beyond it is refused by us, and never completed for h11)."""

End = Literal["clean", "stop", "refused"]
"""How reading ended: the stream ended between messages; a message said the connection
closes after it (nothing more is read); or a message was refused or cut short."""


@attrs.frozen
class Parsed:
    start: tuple[str, ...]
    """Requests: method, target, version; responses: the status (interim ones too)."""
    headers: tuple[tuple[str, str], ...]
    body: bytes


@attrs.frozen
class Outcome:
    messages: tuple[Parsed, ...]
    end: End
    starts: tuple[int, ...] = attrs.field(eq=False, default=())
    """Ours only: where in the stream each message (and the end) began to be read."""


# Content-Length and Transfer-Encoding values are compared through the body they frame:
# h11 keeps one Content-Length of several equal ones and lower-cases Transfer-Encoding.
_FRAMING_FIELDS = ("content-length", "transfer-encoding")


def _normal(headers: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in headers.items() if k not in _FRAMING_FIELDS))


def _h11_normal(headers: Sequence[tuple[bytes, bytes]]) -> tuple[tuple[str, str], ...]:
    joined: dict[str, str] = {}
    for name, value in headers:
        key, text = name.decode("ascii"), value.decode("latin-1")
        joined[key] = f"{joined[key]}, {text}" if key in joined else text
    return _normal(joined)


# --- our side ---------------------------------------------------------------------------


def ours_requests(stream: bytes, cuts: Sequence[int]) -> Outcome:
    pieces = Pieces(stream, cuts)
    reader = pieces.reader()
    messages: list[Parsed] = []
    starts: list[int] = []

    async def read() -> End:
        while True:
            starts.append(pieces.given - reader.buffered)
            data = await reader.read_head()
            if data is None:
                return "clean"
            head = parse_request_head(data)
            body = await read_body(reader, request_framing(head), LIMIT)
            start = (head.method, head.target, head.version)
            messages.append(Parsed(start, _normal(head.headers), body))
            # h11 never keeps an HTTP/1.0 connection open (DIFFERENCES): stop there.
            if head.version == "HTTP/1.0" or not keep_alive(head.version, head.headers):
                return "stop"

    try:
        end = complete(read())
    except (MalformedHttp, PeerClosed):
        end = "refused"
    return Outcome(tuple(messages), end, tuple(starts))


def ours_response(stream: bytes, method: str, cuts: Sequence[int]) -> Outcome:
    """Read as transport/_client_connection.py reads an answer: interim (1xx) heads, then the answer
    (each a message of the outcome)."""
    pieces = Pieces(stream, cuts)
    reader = pieces.reader()
    messages: list[Parsed] = []
    starts: list[int] = []

    async def read() -> End:
        while True:
            starts.append(pieces.given - reader.buffered)
            data = await reader.read_head()
            if data is None:
                return "refused"  # closed without an answer
            head = parse_response_head(data)
            if head.status >= 200 or head.status == 101:
                break
            messages.append(Parsed((str(head.status),), _normal(head.headers), b""))
        body = await read_body(reader, response_framing(head, method), LIMIT)
        messages.append(Parsed((str(head.status),), _normal(head.headers), body))
        return "stop"

    try:
        end = complete(read())
    except (MalformedHttp, PeerClosed):
        end = "refused"
    return Outcome(tuple(messages), end, tuple(starts))


# --- h11's side -------------------------------------------------------------------------


def h11_requests(stream: bytes) -> Outcome:
    connection = h11.Connection(h11.SERVER, max_incomplete_event_size=len(stream) + 1)
    connection.receive_data(stream)
    connection.receive_data(b"")
    messages: list[Parsed] = []
    request: h11.Request | None = None
    body = bytearray()
    try:
        while True:
            event = connection.next_event()
            if isinstance(event, h11.Request):
                request, body = event, bytearray()
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                assert request is not None
                start = (
                    request.method.decode("ascii"),
                    request.target.decode("ascii"),
                    "HTTP/" + request.http_version.decode("ascii"),
                )
                messages.append(Parsed(start, _h11_normal(request.headers), bytes(body)))
                if connection.their_state is h11.MUST_CLOSE:
                    return Outcome(tuple(messages), "stop")
                connection.send(h11.Response(status_code=200, headers=[("Content-Length", "0")]))
                connection.send(h11.EndOfMessage())
                connection.start_next_cycle()
            elif isinstance(event, h11.ConnectionClosed):
                return Outcome(tuple(messages), "clean")
            else:  # NEED_DATA after the end of the stream: cut short
                return Outcome(tuple(messages), "refused")
    except h11.RemoteProtocolError:
        return Outcome(tuple(messages), "refused")


def h11_response(stream: bytes, method: str) -> Outcome:
    connection = h11.Connection(h11.CLIENT, max_incomplete_event_size=len(stream) + 1)
    connection.send(h11.Request(method=method, target="/", headers=[("Host", "h")]))
    connection.send(h11.EndOfMessage())
    connection.receive_data(stream)
    connection.receive_data(b"")
    messages: list[Parsed] = []
    answer: h11.Response | None = None
    body = bytearray()
    try:
        while True:
            event = connection.next_event()
            if isinstance(event, h11.InformationalResponse):
                start = (str(event.status_code),)
                messages.append(Parsed(start, _h11_normal(event.headers), b""))
            elif isinstance(event, h11.Response):
                answer = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                assert answer is not None
                start = (str(answer.status_code),)
                messages.append(Parsed(start, _h11_normal(answer.headers), bytes(body)))
                return Outcome(tuple(messages), "stop")
            else:
                return Outcome(tuple(messages), "refused")
    except h11.RemoteProtocolError:
        return Outcome(tuple(messages), "refused")


# --- where the two differ on purpose ----------------------------------------------------


@attrs.frozen
class Difference:
    name: str
    why: str
    refused_by: Literal["ours", "h11"]
    present: Callable[[bytes], bool]
    """Whether the bytes from the first message read differently show the feature."""
    example: bytes
    """A request stream that shows it (response streams show the same features)."""


def _has(pattern: bytes) -> Callable[[bytes], bool]:
    compiled = re.compile(pattern, re.IGNORECASE)
    return lambda rest: compiled.search(rest) is not None


DIFFERENCES = (
    Difference(
        "bare LF",
        "RFC 9112, 2.2 lets a recipient take a lone LF as a line end, and h11 does. Ours "
        "refuses it: every client of this server sends CRLF, and a parser that accepts "
        "fewer forms has fewer ways to read a stream differently from a proxy in front.",
        "ours",
        _has(rb"(?<!\r)\n"),
        b"GET / HTTP/1.1\nHost: h\n\n",
    ),
    Difference(
        "obsolete line folding",
        "A header line starting with whitespace continues the previous one. RFC 9112, 5.2 "
        "lets a server either refuse it or unfold it; h11 unfolds, ours refuses.",
        "ours",
        _has(rb"\n[ \t]"),
        b"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n",
    ),
    Difference(
        "empty lines before a message",
        "RFC 9112, 2.2: a server SHOULD ignore at least one empty line before a request "
        "line (some clients send CRLF after a body). Ours skips them; h11 refuses.",
        "h11",
        lambda rest: rest.startswith(b"\r\n"),
        b"\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
    ),
    Difference(
        "HTTP versions other than 1.0 and 1.1",
        "h11 reads any HTTP/d.d start line as HTTP/1.x. Ours speaks 1.0 and 1.1 only and "
        "refuses the rest rather than guess at their framing.",
        "ours",
        _has(rb"HTTP/(?!1\.[01])[0-9]\.[0-9]"),
        b"GET / HTTP/1.2\r\nHost: h\r\n\r\n",
    ),
    Difference(
        "control bytes in field values and reason phrases",
        "RFC 9110, 5.5: CTLs other than HTAB are invalid in a field value. h11 passes on "
        "all but NUL, CR, LF, VT and FF; ours refuses them all, so no handler and no log "
        "line sees one.",
        "ours",
        _has(rb"[\x01-\x08\x0e-\x1f\x7f]"),
        b"GET / HTTP/1.1\r\nHost: h\r\nX: a\x01b\r\n\r\n",
    ),
    Difference(
        "Content-Length and Transfer-Encoding together",
        "RFC 9112, 6.1 lets a server go by Transfer-Encoding alone (h11 does) or refuse "
        "the message; ours refuses, as that is where request smuggling starts. Trailers "
        "are held to the same rule.",
        "ours",
        lambda rest: bool(
            re.search(rb"(?i)(?:^|\n)content-length:", rest)
            and re.search(rb"(?i)(?:^|\n)transfer-encoding:", rest)
        ),
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ),
)
"""Besides these, the harness stops at an HTTP/1.0 request: h11 never keeps an HTTP/1.0
connection open, ours does with ``Connection: keep-alive`` (RFC 9112, 9.3)."""


def _explain(stream: bytes, ours: Outcome, theirs: Outcome) -> Difference:
    """The listed difference behind a disagreement, or an AssertionError saying what
    happened."""
    shared = 0
    while (
        shared < min(len(ours.messages), len(theirs.messages))
        and ours.messages[shared] == theirs.messages[shared]
    ):
        shared += 1
    rest = stream[ours.starts[shared] :] if shared < len(ours.starts) else b""
    refused_by: Literal["ours", "h11"] | None = None
    if len(ours.messages) == shared and ours.end == "refused":
        refused_by = "ours"
    elif len(theirs.messages) == shared and theirs.end == "refused":
        refused_by = "h11"
    for difference in DIFFERENCES:
        if difference.refused_by == refused_by and difference.present(rest):
            return difference
    raise AssertionError(
        f"ours and h11 read {stream!r} differently, and no listed difference explains it:\n"
        f"  ours: {ours}\n  h11:  {theirs}"
    )


# --- the grammar ------------------------------------------------------------------------

_TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_CLEAN_VALUE_BYTES = [bytes([b]) for b in range(0x21, 0x7F)] + [b" ", b"\t", b"\x80", b"\xff"]
_EDGE_BYTES = [b"\x00", b"\x01", b"\x08", b"\x0b", b"\x0c", b"\x1f", b"\x7f", b"\r", b"\n"]
# Bodies: any byte a lone LF or a control byte aside, which mutations bring in (so that
# a difference found in a body is one a mutation put there, not noise everywhere).
_BODY_BYTES = [bytes([b]) for b in range(0x20, 0x7F)] + [b"\r\n", b"\r", b"\x00", b"\xe9"]


def _mostly(usual: list[T], edges: list[T]) -> st.SearchStrategy[T]:
    """One of ``usual``, or about one time in twelve one of ``edges``: most messages stay
    valid, so that what follows them (bodies, pipelined messages) is compared too."""
    return st.sampled_from(usual * (11 * len(edges) // len(usual)) + edges)


def _joined(alphabet: list[bytes], max_size: int) -> st.SearchStrategy[bytes]:
    return st.lists(st.sampled_from(alphabet), max_size=max_size).map(b"".join)


_names = st.one_of(
    st.sampled_from([b"Accept", b"X-Trace", b"Content-Type", b"User-Agent", b"Expect"]),
    st.text(_TOKEN_CHARS, min_size=1, max_size=8).map(str.encode),
)
_clean_values = _joined(_CLEAN_VALUE_BYTES, 12)
_edgy_values = _joined(_CLEAN_VALUE_BYTES + _EDGE_BYTES, 6)
_values: st.SearchStrategy[bytes] = st.one_of(*[_clean_values] * 12, _edgy_values)
_ows = st.sampled_from([b"", b"", b" ", b"\t", b"  "])


@st.composite
def _header_line(draw: st.DrawFn) -> bytes:
    name, value = draw(_names), draw(_values)
    shape = draw(_mostly(["plain"] * 3, ["space before colon", "no colon", "folded"]))
    if shape == "space before colon":
        return name + b" :" + value
    if shape == "no colon":
        return name + b" " + value
    if shape == "folded":
        return b" " + value
    return name + b":" + draw(_ows) + value + draw(_ows)


def _lengths(n: int) -> list[bytes]:
    exact = str(n).encode()
    return [
        exact + b", " + exact,
        b"0" + exact,
        b" " + exact + b" ",
        b"0" * (20 - len(exact)) + exact,
        b"0" * (21 - len(exact)) + exact,
        str(n + 1).encode(),
        exact + b"," + str(n + 1).encode(),
        b"+" + exact,
        b"-1",
        b"",
        b"x",
    ]


_CODINGS = [
    b"Chunked",
    b"CHUNKED",
    b"chunked ",
    b"gzip",
    b"gzip, chunked",
    b"chunked, chunked",
    b"",
]


@st.composite
def _chunked_body(draw: st.DrawFn, body: bytes) -> bytes:
    out = b""
    rest = body
    while rest:
        size = draw(st.integers(1, max(1, len(rest))))
        piece, rest = rest[:size], rest[size:]
        digits = draw(
            _mostly([f"{size:x}", f"{size:X}"], [f"{size:04x}", f"{size:020x}", f"{size:021x}"])
        ).encode()
        suffix = draw(_mostly([b"", b";ext", b";a=b;c"], [b" ", b"\t", b" ;x", b";\x00"]))
        end = draw(_mostly([b"\r\n"], [b"", b"\r", b"\rx", b"\r\n\r\n"]))
        out += digits + suffix + b"\r\n" + piece + end
    out += draw(_mostly([b"0"], [b"00", b"0;end"])) + b"\r\n"
    lines: list[bytes] = draw(st.lists(_header_line(), max_size=2))
    for line in lines:
        out += line + b"\r\n"
    return out + b"\r\n"


@st.composite
def _framed(draw: st.DrawFn, *, request: bool) -> tuple[list[bytes], bytes]:
    """Framing header lines, and the body as sent."""
    body = draw(_joined(_BODY_BYTES, 40))
    how = draw(_mostly(["length", "chunked", "none"], ["both"]))
    lines: list[bytes] = []
    sent = body
    if how in ("length", "both"):
        exact = str(len(body)).encode()
        values = _mostly([exact], _lengths(len(body)))
        for value in draw(st.lists(values, min_size=1, max_size=2)):
            lines.append(b"Content-Length: " + value)
    if how in ("chunked", "both"):
        lines.append(b"Transfer-Encoding: " + draw(_mostly([b"chunked"], _CODINGS)))
        sent = draw(_chunked_body(body))
    if how == "none" and request:
        sent = b""
    return lines, sent


@st.composite
def _request(draw: st.DrawFn) -> bytes:
    method = draw(
        st.one_of(
            st.sampled_from([b"GET", b"POST", b"PUT", b"DELETE", b"HEAD", b"PATCH"]),
            st.text(_TOKEN_CHARS, min_size=1, max_size=6).map(str.encode),
        )
    )
    target = draw(
        st.one_of(
            st.from_regex(rb"\A/[A-Za-z0-9._~!$&'()*+,;=:@%/-]{0,12}(\?[A-Za-z0-9=&%]{0,8})?\Z"),
            st.sampled_from([b"*", b"http://h/x?y=1", b"/%20"]),
        )
    )
    version = draw(_mostly([b"HTTP/1.1"], [b"HTTP/1.0"]))
    hosts = draw(_mostly([1], [0, 2]))
    lines = [b"Host: h" + str(n).encode() for n in range(hosts)]
    lines += draw(st.lists(_header_line(), max_size=4))
    connection = draw(_mostly([None], [b"close", b"keep-alive", b"Close, x"]))
    if connection is not None:
        lines.append(b"Connection: " + connection)
    framing, body = draw(_framed(request=True))
    lines = draw(st.permutations(lines + framing))
    return b"\r\n".join([method + b" " + target + b" " + version, *lines]) + b"\r\n\r\n" + body


@st.composite
def _response(draw: st.DrawFn) -> bytes:
    stream = b""
    for status in draw(st.lists(st.sampled_from([b"100", b"102", b"103"]), max_size=2)):
        interim = draw(st.lists(_header_line(), max_size=2))
        stream += b"\r\n".join([b"HTTP/1.1 " + status + b" Continue", *interim]) + b"\r\n\r\n"
    version = draw(_mostly([b"HTTP/1.1"], [b"HTTP/1.0"]))
    status = draw(
        _mostly([b"200", b"201", b"204", b"299", b"304", b"404", b"500"], [b"101", b"099", b"1000"])
    )
    reason = draw(
        st.one_of(st.sampled_from([b" OK", b"", b" ", b"  x"]), _values.map(b" ".__add__))
    )
    lines = draw(st.lists(_header_line(), max_size=4))
    framing, body = draw(_framed(request=False))
    lines = draw(st.permutations(lines + framing))
    head = b"\r\n".join([version + b" " + status + reason, *lines])
    return stream + head + b"\r\n\r\n" + body


_INSERTS = [
    b"\r\n",
    b"\n",
    b"\r",
    b" ",
    b"\t",
    b":",
    b";",
    b",",
    b"0",
    b"\x00",
    b"\x01",
    b"\x7f",
    b"\xff",
    b"\r\n\r\n",
    b"\r\n ",
    b"Content-Length: 2\r\n",
    b"Content-Length: 0\r\n",
    b"Transfer-Encoding: chunked\r\n",
    b"Host: x\r\n",
    b"Connection: close\r\n",
]


@st.composite
def _mutated(draw: st.DrawFn, stream: bytes) -> bytes:
    for _ in range(draw(st.integers(0, 3))):
        where = draw(st.integers(0, len(stream)))
        kind = draw(st.sampled_from(["flip", "insert", "delete", "duplicate line", "bare LF"]))
        if kind == "flip" and where < len(stream):
            byte = draw(
                st.one_of(st.sampled_from(_INSERTS[:13]), st.binary(min_size=1, max_size=1))
            )
            stream = stream[:where] + byte + stream[where + 1 :]
        elif kind == "insert":
            stream = stream[:where] + draw(st.sampled_from(_INSERTS)) + stream[where:]
        elif kind == "delete":
            stream = stream[:where] + stream[where + draw(st.integers(1, 4)) :]
        elif kind == "duplicate line":
            start = stream.rfind(b"\r\n", 0, where) + 2
            end = stream.find(b"\r\n", where)
            if start >= 2 and end > start:
                stream = stream[:end] + b"\r\n" + stream[start:end] + stream[end:]
        elif kind == "bare LF":
            crlf = stream.find(b"\r\n", where)
            if crlf >= 0:
                stream = stream[:crlf] + stream[crlf + 1 :]
    return stream


@st.composite
def request_streams(draw: st.DrawFn) -> bytes:
    messages = draw(st.lists(_request(), min_size=1, max_size=3))
    separators = [draw(st.sampled_from([b""] * 6 + [b"\r\n"])) for _ in messages]
    stream = b"".join(sep + message for sep, message in zip(separators, messages, strict=True))
    return draw(st.one_of(st.just(stream), _mutated(stream)))


@st.composite
def response_streams(draw: st.DrawFn) -> bytes:
    stream = draw(_response())
    return draw(st.one_of(st.just(stream), _mutated(stream)))


_cuts = st.lists(st.integers(0, 400), max_size=12)
_fuzz = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- the tests --------------------------------------------------------------------------


@_fuzz
@given(stream=request_streams(), cuts=_cuts)
def test_requests_are_read_as_h11_reads_them(stream: bytes, cuts: list[int]) -> None:
    ours, theirs = ours_requests(stream, cuts), h11_requests(stream)
    if ours != theirs:
        _explain(stream, ours, theirs)


@_fuzz
@given(
    stream=response_streams(),
    method=st.sampled_from(["GET", "GET", "POST", "HEAD"]),
    cuts=_cuts,
)
def test_responses_are_read_as_h11_reads_them(stream: bytes, method: str, cuts: list[int]) -> None:
    ours, theirs = ours_response(stream, method, cuts), h11_response(stream, method)
    if ours != theirs:
        _explain(stream, ours, theirs)


@settings(_fuzz, max_examples=200)
@given(stream=request_streams(), cuts=_cuts)
def test_how_the_stream_is_cut_changes_nothing(stream: bytes, cuts: list[int]) -> None:
    whole = ours_requests(stream, [])
    assert ours_requests(stream, cuts) == whole
    assert ours_requests(stream, range(len(stream))) == whole  # byte by byte


@pytest.mark.parametrize("difference", DIFFERENCES, ids=lambda d: d.name)
def test_each_listed_difference_is_real(difference: Difference) -> None:
    """The list says nothing that is not so: each example is read differently, refused
    by the side the list names, and explained by its own entry."""
    example = difference.example
    ours, theirs = ours_requests(example, []), h11_requests(example)
    refused, accepted = (ours, theirs) if difference.refused_by == "ours" else (theirs, ours)
    assert refused.end == "refused"
    assert accepted.messages
    assert accepted.end != "refused"
    assert _explain(example, ours, theirs) is difference


@pytest.mark.parametrize(
    "stream",
    [
        b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
        b"HTTP/1.1 099 Odd\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 204 No Content\r\nContent-Length: x\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\nTransfer-Encoding: gzip\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
        b"HTTP/1.1 200 O\x00K\r\nContent-Length: 0\r\n\r\n",
    ],
)
def test_answers_h11_refuses_are_refused(stream: bytes) -> None:
    assert h11_response(stream, "GET").end == "refused"
    assert ours_response(stream, "GET", []).end == "refused"


@pytest.mark.parametrize(
    "stream",
    [
        b"GET / HTTP/1.1\r\n\r\n",  # no Host
        b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
        b"GET /\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n 1\r\na\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1 ;x\r\na\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"0\r\nContent-Length: x\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n0\r\n\r\n",
    ],
)
def test_requests_h11_refuses_are_refused(stream: bytes) -> None:
    assert h11_requests(stream).end == "refused"
    assert ours_requests(stream, []).end == "refused"


def test_what_both_accept_is_read_alike() -> None:
    """A few hand-picked edges the fuzzing might take long to find."""
    streams = [
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\n\r\nabc",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 00000000000000000003\r\n\r\nabc",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n"
        b'00000000000000000003;x="y"\r\nabc\r\n0\t\r\nX-T: 1\r\n\r\n',
        b"GET * HTTP/1.1\r\nHost: h\r\nX: \xe9\t\xff\r\nX:\r\n\r\nGET / HTTP/1.0\r\n\r\n",
    ]
    for stream in streams:
        ours, theirs = ours_requests(stream, []), h11_requests(stream)
        assert ours == theirs
        assert ours.end in ("clean", "stop")

"""HTTP/1.1 framing shared by the server and the client: what one side writes, the
other reads back exactly, however the bytes are cut into reads; what is ambiguous is
refused with the status a server should answer."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st

from user_agent_sdk.transport._framing import (
    MAX_HEAD_BYTES,
    Framing,
    MalformedHttp,
    MessageReader,
    PeerClosed,
    encode_request,
    encode_response,
    keep_alive,
    parse_request_head,
    parse_response_head,
    read_body,
    request_framing,
    response_framing,
)


def _reader(stream: bytes, cuts: Sequence[int] = ()) -> MessageReader:
    """A reader fed ``stream`` in pieces split at ``cuts``."""
    edges = sorted({c for c in cuts if 0 < c < len(stream)})
    pieces = [stream[a:b] for a, b in zip([0, *edges], [*edges, len(stream)], strict=True)]
    pending = list(pieces)

    async def receive() -> bytes:
        await trio.lowlevel.checkpoint()
        return pending.pop(0) if pending else b""

    return MessageReader(receive)


def _chunked(body: bytes, sizes: Sequence[int]) -> bytes:
    out, rest = b"", body
    for size in sizes:
        if not rest:
            break
        piece, rest = rest[: max(1, size)], rest[max(1, size) :]
        out += f"{len(piece):x};ext=1\r\n".encode() + piece + b"\r\n"
    if rest:
        out += f"{len(rest):X}\r\n".encode() + rest + b"\r\n"
    return out + b"0\r\nTrailer: x\r\n\r\n"


header_names = st.from_regex(r"X-[A-Za-z0-9\-]{1,12}", fullmatch=True)
header_values = st.from_regex(r"[ -~]{0,30}", fullmatch=True).map(str.strip)


@given(
    bodies=st.lists(st.binary(max_size=300), min_size=1, max_size=4),
    headers=st.lists(st.tuples(header_names, header_values), max_size=4),
    chunk_sizes=st.lists(st.integers(1, 50), max_size=6),
    cuts=st.lists(st.integers(0, 3000), max_size=20),
    chunked=st.booleans(),
)
def test_pipelined_requests_are_read_back_exactly_however_the_stream_is_cut(
    bodies: list[bytes],
    headers: list[tuple[str, str]],
    chunk_sizes: list[int],
    cuts: list[int],
    chunked: bool,
) -> None:
    stream = b""
    for n, body in enumerate(bodies):
        fixed = [("Host", "h"), *headers]
        if chunked:
            head = encode_request("POST", f"/p/{n}?q=1", [*fixed, ("Transfer-Encoding", "chunked")])
            stream += head + _chunked(body, chunk_sizes)
        else:
            stream += encode_request(
                "POST", f"/p/{n}?q=1", [*fixed, ("Content-Length", str(len(body)))], body
            )

    async def read_all() -> list[tuple[str, bytes, dict[str, str]]]:
        reader = _reader(stream, cuts)
        seen = []
        while (data := await reader.read_head()) is not None:
            head = parse_request_head(data)
            body = await read_body(reader, request_framing(head), 10_000)
            seen.append((head.target, body, head.headers))
        return seen

    seen = trio.run(read_all)
    assert [(target, body) for target, body, _ in seen] == [
        (f"/p/{n}?q=1", body) for n, body in enumerate(bodies)
    ]
    for _, _, found in seen:
        for name, value in headers:
            assert value in found[name.lower()]


@given(body=st.binary(max_size=500), cuts=st.lists(st.integers(0, 700), max_size=10))
def test_a_response_without_length_is_read_to_the_end_of_the_stream(
    body: bytes, cuts: list[int]
) -> None:
    stream = encode_response(200, "OK", [("Content-Type", "x")]) + body

    async def read() -> tuple[int, bytes, Framing]:
        reader = _reader(stream, cuts)
        data = await reader.read_head()
        assert data is not None
        head = parse_response_head(data)
        framing = response_framing(head, "GET")
        return head.status, await read_body(reader, framing, 10_000), framing

    status, got, framing = trio.run(read)
    assert (status, got, framing.to_end) == (200, body, True)


def test_bodiless_answers_have_no_body_whatever_their_headers_say() -> None:
    head = parse_response_head(b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n")
    assert response_framing(head, "GET").length == 0
    ok = parse_response_head(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
    assert response_framing(ok, "HEAD").length == 0


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"GET /x HTTP/1.1\r\nHost: h\r\n folded: value\r\n\r\n", 400),
        (b"GET /x HTTP/1.1\r\nHost: h\r\nBad Name: v\r\n\r\n", 400),
        (b"GET /x HTTP/1.1\r\nHost: h\r\nX: a\x00b\r\n\r\n", 400),
        (b"GET /x HTTP/2.0\r\nHost: h\r\n\r\n", 400),
        (b"GET  /x HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        (b"G\xc3T /x HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        (b"GET /\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        (b"GET /x HTTP/1.1\r\n\r\n", 400),
        (b"GET /x HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        (b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 2\r\n\r\n", 400),
        (b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400),
        (
            b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n",
            400,
        ),
        (b"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
    ],
)
def test_ambiguous_or_malformed_requests_are_refused(head: bytes, status: int) -> None:
    with pytest.raises(MalformedHttp) as caught:
        request_framing(parse_request_head(head))
    assert caught.value.status == status


async def test_bodies_over_the_limit_are_refused_with_413() -> None:
    declared = parse_request_head(b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n")
    with pytest.raises(MalformedHttp) as caught:
        await read_body(_reader(b"x" * 11), request_framing(declared), 10)
    assert caught.value.status == 413
    chunked = parse_request_head(
        b"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    with pytest.raises(MalformedHttp) as caught:
        await read_body(_reader(_chunked(b"y" * 11, [4])), request_framing(chunked), 10)
    assert caught.value.status == 413


async def test_an_endless_head_is_refused_with_431() -> None:
    with pytest.raises(MalformedHttp) as caught:
        await _reader(b"GET /x HTTP/1.1\r\n" + b"X: y\r\n" * MAX_HEAD_BYTES).read_head()
    assert caught.value.status == 431


async def test_a_stream_that_ends_mid_message_is_peer_closed() -> None:
    assert await _reader(b"").read_head() is None
    assert await _reader(b"\r\n").read_head() is None
    with pytest.raises(PeerClosed):
        await _reader(b"GET /x HTT").read_head()
    with pytest.raises(PeerClosed):
        await read_body(_reader(b"abc"), Framing(length=5), 10)
    with pytest.raises(PeerClosed):
        await read_body(_reader(b"5\r\nab"), Framing(chunked=True), 10)


def test_keep_alive_follows_the_version_and_connection_header() -> None:
    assert keep_alive("HTTP/1.1", {})
    assert not keep_alive("HTTP/1.1", {"connection": "Close"})
    assert not keep_alive("HTTP/1.0", {})
    assert keep_alive("HTTP/1.0", {"connection": "keep-alive"})

"""Every size limit of the framing holds exactly, however the peer's bytes are cut into
reads: all at once, byte by byte, or anywhere in between; and nothing is buffered far
beyond a limit before the refusal."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from user_agent_sdk.transport._framing import (
    MAX_HEAD_BYTES,
    Framing,
    MalformedHttp,
    parse_request_head,
    read_body,
)

from ._feed import Pieces, complete

LINE = 8 * 1024
"""The chunk-size and trailer line limit."""


def _head(size: int) -> bytes:
    """A valid request head of exactly ``size`` bytes."""
    start = b"GET / HTTP/1.1\r\nHost: h\r\nX-Pad: "
    return start + b"p" * (size - len(start) - 4) + b"\r\n\r\n"


def _read_head(stream: bytes, cuts: Iterable[int]) -> tuple[bytes | None, int]:
    pieces = Pieces(stream, cuts)
    return complete(pieces.reader().read_head()), pieces.given


def _chunked(body_lines: bytes) -> bytes:
    return b"3\r\nabc\r\n0\r\n" + body_lines + b"\r\n"


def _read_chunked(stream: bytes, cuts: Iterable[int]) -> bytes:
    return complete(read_body(Pieces(stream, cuts).reader(), Framing(chunked=True), 10_000))


def _status(call: Callable[[], object]) -> int:
    with pytest.raises(MalformedHttp) as caught:
        call()
    return caught.value.status


_cuts = st.lists(st.integers(0, 70_000), max_size=30)
_ways = pytest.mark.parametrize("way", ["one read", "byte by byte", "halves"])


def _cut(way: str, stream: bytes) -> Iterable[int]:
    if way == "byte by byte":
        return range(len(stream))
    if way == "halves":
        return [len(stream) // 2]
    return []


@_ways
def test_a_head_at_the_limit_is_read_and_one_byte_more_is_refused(way: str) -> None:
    at_limit = _head(MAX_HEAD_BYTES)
    head, _ = _read_head(at_limit + b"GET", _cut(way, at_limit))
    assert head == at_limit
    assert parse_request_head(head).headers["x-pad"].startswith("ppp")
    over = _head(MAX_HEAD_BYTES + 1)
    assert _status(lambda: _read_head(over, _cut(way, over))) == 431


def test_many_short_headers_arriving_in_one_read_are_refused() -> None:
    stream = b"GET / HTTP/1.1\r\nHost: h\r\n" + b"X-a: b\r\n" * 10_000 + b"\r\n"
    assert len(stream) > MAX_HEAD_BYTES
    assert _status(lambda: _read_head(stream, [])) == 431


@settings(max_examples=50, deadline=None)
@given(cuts=_cuts, over=st.integers(1, 3))
def test_the_head_limit_holds_wherever_the_stream_is_cut(cuts: list[int], over: int) -> None:
    at_limit = _head(MAX_HEAD_BYTES)
    assert _read_head(at_limit, cuts)[0] == at_limit
    too_long = _head(MAX_HEAD_BYTES + over)
    assert _status(lambda: _read_head(too_long, cuts)) == 431


def test_a_head_that_never_ends_is_refused_once_the_limit_has_arrived() -> None:
    endless = b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 100_000
    pieces = Pieces(endless, range(0, len(endless), 1000), then_wait=True)
    with pytest.raises(MalformedHttp) as caught:
        complete(pieces.reader().read_head())
    assert caught.value.status == 431
    assert pieces.given < MAX_HEAD_BYTES + 1000


def test_empty_lines_before_a_head_do_not_count_towards_its_limit() -> None:
    head = _head(MAX_HEAD_BYTES)
    assert _read_head(b"\r\n" * 100 + head, range(0, 300, 7))[0] == head


def test_a_bare_lf_is_refused_without_waiting_for_a_head_that_will_not_end() -> None:
    pieces = Pieces(b"GET / HTTP/1.1\nHost: h\n\n", then_wait=True)
    with pytest.raises(MalformedHttp, match="bare LF"):
        complete(pieces.reader().read_head())


@_ways
def test_chunk_size_lines_are_limited(way: str) -> None:
    at_limit = b"3;" + b"e" * (LINE - 2) + b"\r\nabc\r\n0\r\n\r\n"
    assert _read_chunked(at_limit, _cut(way, at_limit)) == b"abc"
    over = b"3;" + b"e" * (LINE - 1) + b"\r\nabc\r\n0\r\n\r\n"
    assert _status(lambda: _read_chunked(over, _cut(way, over))) == 400


@_ways
def test_trailer_lines_and_the_trailer_section_are_limited(way: str) -> None:
    line = b"X-T: " + b"t" * (LINE - 5) + b"\r\n"
    assert _read_chunked(_chunked(line), _cut(way, _chunked(line))) == b"abc"
    long_line = _chunked(b"X-T: " + b"t" * (LINE - 4) + b"\r\n")
    assert _status(lambda: _read_chunked(long_line, _cut(way, long_line))) == 431
    # The section, like a head: at most MAX_HEAD_BYTES with its final empty line.
    lines = [b"X-%d: " % n + b"t" * 4000 + b"\r\n" for n in range(16)]
    filler = MAX_HEAD_BYTES - 2 - sum(map(len, lines)) - len(b"X-F: \r\n")
    full = b"".join(lines) + b"X-F: " + b"f" * filler + b"\r\n"
    assert _read_chunked(_chunked(full), _cut(way, _chunked(full))) == b"abc"
    over = _chunked(full.replace(b"X-F: ", b"X-F: f"))
    with pytest.raises(MalformedHttp, match="trailer section") as caught:
        _read_chunked(over, _cut(way, over))
    assert caught.value.status == 431

"""Properties of the bridge's stdout reader: framing, the wire rules, and round trips with
the agent SDK's encoders."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from agentproc._transcript import read_transcript
from agentproc._wire import encode_body, encode_error, encode_partial, encode_session
from agentproc.bridge._lines import LineBuffer, OutputRules, decode_payload

PREFIXES = ("AGENT_SESSION:", "AGENT_PARTIAL:", "AGENT_ERROR:")

texts = st.text(st.characters(codec="utf-8", exclude_characters="\n"), max_size=30)
session_ids = st.text("AZaz09._~+/=-", min_size=1, max_size=12)
payloads = st.one_of(
    texts.map(json.dumps),
    texts.map(lambda text: json.dumps(text, ensure_ascii=False)),
    texts,  # often not JSON at all
    st.sampled_from(["", "1", "null", "[1]", '{"a": 1}', '"open']),
)
protocol_lines = st.one_of(
    session_ids.map(lambda sid: f"AGENT_SESSION:{sid}"),
    texts.map(lambda raw: f"AGENT_SESSION:{raw}"),
    payloads.map(lambda payload: f"AGENT_PARTIAL:{payload}"),
    payloads.map(lambda payload: f"AGENT_ERROR:{payload}"),
)
body_lines = st.one_of(
    texts,
    st.tuples(st.text(" ", max_size=3), st.sampled_from(PREFIXES), texts).map("".join),
)
stdout_lines = st.lists(st.one_of(protocol_lines, body_lines), max_size=25)


def read(lines: list[str]) -> tuple[OutputRules, list[str]]:
    rules = OutputRules(streaming=True, warn=lambda _: None)
    delivered = [partial for line in lines if (partial := rules.feed(line)) is not None]
    return rules, delivered


def framed(data: bytes, cuts: list[int], max_line_bytes: int = 1 << 20) -> list[str]:
    buffer = LineBuffer(lambda _: None, max_line_bytes)
    lines: list[str] = []
    start = 0
    for cut in sorted(cuts):
        lines += buffer.feed(data[start:cut])
        start = cut
    lines += buffer.feed(data[start:])
    return lines + buffer.close()


@given(st.binary(max_size=200), st.lists(st.integers(0, 200), max_size=8))
def test_framing_does_not_depend_on_how_the_bytes_arrive(data: bytes, cuts: list[int]) -> None:
    expected = data.decode("utf-8", "replace").split("\n")
    if expected[-1] == "":
        expected.pop()  # a final newline ends the last line; it starts no new one
    assert framed(data, cuts) == expected


@given(st.binary(max_size=300), st.lists(st.integers(0, 300), max_size=8), st.integers(1, 20))
def test_a_line_over_the_limit_is_cut_there_and_the_rest_of_it_dropped(
    data: bytes, cuts: list[int], limit: int
) -> None:
    pieces = data.split(b"\n")
    if pieces[-1] == b"":
        pieces.pop()
    expected = [piece[:limit].decode("utf-8", "replace") for piece in pieces]
    assert framed(data, cuts, limit) == expected


@given(stdout_lines)
def test_the_rules_agree_with_the_sdks_independent_reader(lines: list[str]) -> None:
    rules, delivered = read(lines)
    transcript = read_transcript("".join(f"{line}\n" for line in lines).encode())
    assert delivered == rules.partials == transcript.partials
    assert rules.error == transcript.error
    assert rules.session_id == transcript.session_id
    assert (rules.body if rules.error is None else "") == transcript.reply


@given(stdout_lines)
def test_the_last_valid_session_wins_and_nothing_is_delivered_after_an_error(
    lines: list[str],
) -> None:
    rules, delivered = read(lines)
    valid = [
        line.removeprefix("AGENT_SESSION:").strip()
        for line in lines
        if line.startswith("AGENT_SESSION:")
        and line.removeprefix("AGENT_SESSION:").strip()
        and all(c.isascii() and (c.isalnum() or c in "._~+/=-") for c in line[14:].strip())
    ]
    assert rules.session_id == (valid[-1] if valid else "")
    first_error = next((i for i, line in enumerate(lines) if line.startswith(PREFIXES[2])), None)
    if first_error is not None:
        _, before = read(lines[:first_error])
        assert delivered == before


@given(st.text())
def test_any_partial_or_error_text_survives_the_sdks_encoding(text: str) -> None:
    partial_lines = framed(encode_partial(text), [])
    error_lines = framed(encode_error(text), [])
    assert len(partial_lines) == len(error_lines) == 1
    rules, delivered = read(partial_lines + error_lines)
    assert delivered == [text]
    assert rules.error == text


@given(st.text(min_size=1), session_ids)
def test_any_reply_text_survives_the_sdks_body_escape(text: str, session_id: str) -> None:
    stdout = encode_session(session_id) + encode_body(text)
    rules, delivered = read(framed(stdout, []))
    assert delivered == []
    assert rules.session_id == session_id
    assert rules.error is None
    # Bytes the SDK wrote with surrogateescape come back as replacement characters.
    expected = text.encode("utf-8", "surrogateescape" if _escapable(text) else "replace")
    assert rules.body == expected.decode("utf-8", "replace")


def _escapable(text: str) -> bool:
    try:
        text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return False
    return True


@given(st.text())
def test_a_json_string_payload_decodes_to_its_text(text: str) -> None:
    assert decode_payload(json.dumps(text)) == (text, True)
    assert decode_payload(json.dumps(text, ensure_ascii=False)) == (text, True)


@given(st.one_of(st.integers(), st.booleans(), st.none(), st.lists(st.integers(), max_size=3)))
def test_json_that_is_not_a_string_stays_raw_text(value: object) -> None:
    raw = json.dumps(value)
    assert decode_payload(raw) == (raw, True)

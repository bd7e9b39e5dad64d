"""Wire 0.1 on stdout, the bridge's side: what a reader takes from one turn's output.

The in-process test helper uses it to show what a bridge would have seen; the bridge
runner can share it. The rules are the spec's; body lines are kept as sent.
"""

from __future__ import annotations

import json
from typing import Literal

import attrs

from agentproc._session_id import normalize_session_id
from agentproc._wire import ERROR_PREFIX, PARTIAL_PREFIX, SESSION_PREFIX

LineKind = Literal["session", "partial", "error", "body"]


def decode_payload(raw: str) -> str:
    """The text of a PARTIAL or ERROR payload, by the spec's lenient rules.

    Empty -> ``""``; a JSON string -> the decoded string; any other JSON value, or text
    that is not JSON -> the raw text as it is.
    """
    if not raw:
        return ""
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    return value if isinstance(value, str) else raw


def classify_line(line: str) -> tuple[LineKind, str]:
    """The kind of one stdout line (without its newline) and its value, prefixes in spec order.

    The value of a session line is its raw text after the prefix; a body line is returned
    as it is, still escaped.
    """
    if line.startswith(SESSION_PREFIX):
        return "session", line[len(SESSION_PREFIX) :]
    if line.startswith(PARTIAL_PREFIX):
        return "partial", decode_payload(line[len(PARTIAL_PREFIX) :])
    if line.startswith(ERROR_PREFIX):
        return "error", decode_payload(line[len(ERROR_PREFIX) :])
    return "body", line


@attrs.frozen
class Transcript:
    """What a bridge takes from one turn's stdout."""

    partials: list[str]
    """Chunks in the order they arrived, as the bridge would forward them."""
    error: str | None
    """Text of the first ``AGENT_ERROR:`` line, or ``None`` when there was none."""
    session_id: str
    """The last valid declared session id, ``""`` when none was declared."""
    reply: str
    """The reply body, lines as sent; ``""`` after an error, which discards it."""
    refused_session_ids: list[str]
    """Declared ids that were invalid and ignored, for the bridge's warning."""


def read_transcript(stdout: bytes) -> Transcript:
    """Apply the spec's reading rules to everything an agent wrote on stdout."""
    text = stdout.decode("utf-8", "replace")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the newline that ends the last line starts no new one
    partials: list[str] = []
    error: str | None = None
    session_id = ""
    refused: list[str] = []
    body: list[str] = []
    for line in lines:
        kind, value = classify_line(line)
        if kind == "session":
            valid = normalize_session_id(value)
            if valid is None:
                refused.append(value)
            else:
                session_id = valid
        elif error is not None:
            continue  # after an error, later partials and body lines are discarded
        elif kind == "partial":
            partials.append(value)
        elif kind == "error":
            error = value
        else:
            body.append(line)
    reply = "" if error is not None else "\n".join(body)
    return Transcript(
        partials=partials,
        error=error,
        session_id=session_id,
        reply=reply,
        refused_session_ids=refused,
    )

"""A small bridge reader written from the spec alone, to check the SDK against.

Independent of ``agentproc._transcript`` on purpose: the property tests feed the SDK's
stdout to this reader and expect the sent text back.

Rules (wire 0.1): stdout is split into lines at ``\\n``. A line is a protocol line when it
starts with ``AGENT_SESSION:``, ``AGENT_PARTIAL:`` or ``AGENT_ERROR:``, checked in that
order. Session: the value stripped; valid ids use ``A-Z a-z 0-9 . _ ~ + / = -`` only; the
last valid one wins. Partial and error payloads: empty -> ``""``, a JSON string -> the
string, anything else -> the raw text. After an error, later partials and the whole body
are discarded. Every other line is body; the body is the body lines joined with ``\\n``,
each kept exactly as sent (as the protocol's own bridge keeps them).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

SESSION = "AGENT_SESSION:"
PARTIAL = "AGENT_PARTIAL:"
ERROR = "AGENT_ERROR:"
VALID_ID = re.compile(r"\A[A-Za-z0-9._~+/=-]+\Z")
PREFIXED = re.compile(r"\A(AGENT_SESSION:|AGENT_PARTIAL:|AGENT_ERROR:)")


@dataclass
class BridgeView:
    partials: list[str] = field(default_factory=list)
    error: str | None = None
    session_id: str | None = None
    body: str = ""
    body_lines: list[str] = field(default_factory=list)


def payload(raw: str) -> str:
    if raw == "":
        return ""
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        return raw
    return value if isinstance(value, str) else raw


def as_shown(text: str) -> str:
    """``text`` as the user sees it: the protocol's rule puts a space before every line (or
    part of one after ``\\r``) that starts with a prefix; nothing else changes."""
    parts = re.split(r"([\r\n])", text)  # text, separator, text, separator, ...
    for index in range(0, len(parts), 2):
        if PREFIXED.match(parts[index]):
            parts[index] = " " + parts[index]
    return "".join(parts)


def read(stdout: bytes) -> BridgeView:
    view = BridgeView()
    lines = stdout.decode("utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for line in lines:
        if line.startswith(SESSION):
            value = line[len(SESSION) :].strip()
            if VALID_ID.match(value):
                view.session_id = value
        elif line.startswith(PARTIAL):
            if view.error is None:
                view.partials.append(payload(line[len(PARTIAL) :]))
        elif line.startswith(ERROR):
            if view.error is None:
                view.error = payload(line[len(ERROR) :])
        else:
            view.body_lines.append(line)
    if view.error is None:
        view.body = "\n".join(view.body_lines)
    return view

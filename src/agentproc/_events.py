"""Wire 0.4, the agent's side: the stdin turn line in, NDJSON events out.

Pure functions over ``bytes`` and plain data; no I/O. Events are written as compact JSON
(``{"type":"partial","text":"hi"}``), non-ASCII kept as is, one object per line, so that
an agent on this SDK writes what an agent on the protocol's own SDK writes. Two escapes are
added where raw text could break a line for some reader: U+0085, U+2028 and U+2029 (line
ends to ``str.splitlines`` and JavaScript) become ``\\uXXXX``, and lone surrogates
(undecodable input kept with ``surrogateescape``) become their JSON escape.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

TURN_PROTOCOL_VERSION = "0.4"
"""The ``protocol_version`` of a wire-0.4 turn, and the default when a turn lacks it."""

_UNICODE_LINE_BREAKS = re.compile("[\x85\u2028\u2029]")
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def encode_event(event: Mapping[str, Any]) -> bytes:
    """One event as one line of UTF-8 JSON, newline included."""
    text = _ENCODER.encode(event)
    if _UNICODE_LINE_BREAKS.search(text):
        text = _UNICODE_LINE_BREAKS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return (text + "\n").encode("utf-8", "backslashreplace")


def partial_event(text: str, role: str | None, session_id: str) -> dict[str, Any]:
    event: dict[str, Any] = {"type": "partial", "text": text}
    if role:
        event["role"] = role
    if session_id:
        event["session_id"] = session_id
    return event


def error_event(message: str, session_id: str) -> dict[str, Any]:
    event: dict[str, Any] = {"type": "error", "message": message}
    if session_id:
        event["session_id"] = session_id
    return event


def result_event(
    text: str, session_id: str, usage: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """The ``result`` event of a returned reply, or None when there is nothing to say."""
    if not (text or session_id or usage):
        return None
    event: dict[str, Any] = {"type": "result", "text": text}
    if session_id:
        event["session_id"] = session_id
    if usage:
        event["usage"] = dict(usage)
    return event


def permission_request_event(request: Mapping[str, Any], session_id: str) -> dict[str, Any]:
    """The ``permission_request`` event for ``request``; raises ``ValueError`` naming the
    field at fault when ``request_id`` or ``tool_name`` is unusable.

    ``input`` that is not an object is sent as ``{}`` (the wire requires an object);
    ``description``, ``tool_use_id`` and ``session_id`` pass through when present.
    """
    request_id = request.get("request_id")
    if not isinstance(request_id, str) or not request_id or _has_space(request_id):
        raise ValueError(
            f"request_id must be a non-empty string without whitespace, got {request_id!r}"
        )
    tool_name = request.get("tool_name")
    if not isinstance(tool_name, str) or not tool_name:
        raise ValueError(f"tool_name must be a non-empty string, got {tool_name!r}")
    tool_input = request.get("input")
    event: dict[str, Any] = {
        "type": "permission_request",
        "request_id": request_id,
        "tool_name": tool_name,
        "input": tool_input if isinstance(tool_input, dict) else {},
    }
    for key in ("description", "tool_use_id"):
        if key in request:
            event[key] = request[key]
    if "session_id" in request:
        event["session_id"] = request["session_id"]
    elif session_id:
        event["session_id"] = session_id
    return event


def _has_space(text: str) -> bool:
    return any(ch.isspace() or ord(ch) < 0x20 for ch in text)


def parse_object_line(line: bytes) -> dict[str, Any] | None:
    """The JSON object on ``line``, or None when it is empty, not JSON or not an object."""
    text = line.decode("utf-8", "surrogateescape").strip()
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def turn_fields(turn: Mapping[str, Any], warn: Callable[[str], None]) -> dict[str, Any]:
    """The context fields a turn object gives; a missing field or one of the wrong JSON type
    takes its default, as the protocol's own SDK does."""

    def text(key: str, default: str) -> str:
        value = turn.get(key, default)
        if isinstance(value, str):
            return value
        warn(f"turn.{key} is not a string ({type(value).__name__}); using {default!r}")
        return default

    attachments = turn.get("attachments", [])
    if not isinstance(attachments, list):
        warn("turn.attachments is not a list; using no attachments")
        attachments = []
    version = turn.get("protocol_version", TURN_PROTOCOL_VERSION)
    if not isinstance(version, str):
        version = TURN_PROTOCOL_VERSION
    if version != TURN_PROTOCOL_VERSION:
        warn(
            f"turn.protocol_version is {version!r}, not {TURN_PROTOCOL_VERSION!r}; "
            "answering in wire 0.4 all the same"
        )
    return {
        "message": text("message", ""),
        "session_id": text("session_id", ""),
        "session_name": text("session_name", "default"),
        "protocol_version": version,
        "attachments": attachments,
        "permission": turn.get("permission") is True,
    }

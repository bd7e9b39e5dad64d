"""The session-id rules of wire 0.1 and 0.4, shared by the agent SDK and the bridge.

A session id is opaque to both sides, but in 0.1 it travels in a protocol line and, for
the history helpers, names a file, so that spec restricts it to a small charset. In 0.4 it
is a JSON string; only what would make it unsafe as a file name is refused.
"""

from __future__ import annotations

import re

#: The characters a session id may contain, as the spec lists them.
SESSION_ID_CHARSET = "A-Z a-z 0-9 . _ ~ + / = -"

# fullmatch, not match + "$": "$" would also accept a trailing newline.
_SESSION_ID = re.compile(r"[A-Za-z0-9._~+/=-]+")


def is_valid_session_id(value: str) -> bool:
    """True when ``value`` is exactly a valid session id (non-empty, spec charset only).

    Surrounding whitespace makes the value invalid here; use :func:`normalize_session_id`
    for text that arrives from a line, where the spec strips it first.
    """
    return _SESSION_ID.fullmatch(value) is not None


def normalize_session_id(raw: str) -> str | None:
    """The id that ``raw`` declares once stripped, or ``None`` when it is not a valid id."""
    stripped = raw.strip()
    return stripped if is_valid_session_id(stripped) else None


def explain_invalid_session_id(raw: str) -> str:
    """A one-line reason why ``raw`` is not a valid session id, for error messages."""
    stripped = raw.strip()
    if not stripped:
        return "a session id must not be empty or only whitespace"
    bad = sorted({ch for ch in stripped if _SESSION_ID.fullmatch(ch) is None})
    shown = ", ".join(repr(ch) for ch in bad[:5])
    return f"a session id may only contain {SESSION_ID_CHARSET}; found {shown}"


# Wire 0.4: anything but path separators and control characters (U+0000-U+001F).
_UNSAFE_IN_EVENT_ID = re.compile(r"[/\\\x00-\x1f]")


def is_valid_event_session_id(value: object) -> bool:
    """True when ``value`` is a valid wire-0.4 session id: a non-empty string, not ``.`` or
    ``..``, without ``/``, ``\\`` or a control character (U+0000-U+001F)."""
    if not isinstance(value, str) or value in ("", ".", ".."):
        return False
    return _UNSAFE_IN_EVENT_ID.search(value) is None


def explain_invalid_event_session_id(value: str) -> str:
    """A one-line reason why ``value`` is not a valid wire-0.4 session id."""
    if value in ("", ".", ".."):
        return "a session id must not be empty, '.' or '..'"
    bad = sorted(set(_UNSAFE_IN_EVENT_ID.findall(value)))
    shown = ", ".join(repr(ch) for ch in bad[:5])
    return f"a session id must not contain '/', '\\' or control characters; found {shown}"

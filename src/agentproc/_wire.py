"""Wire 0.1 on stdout, the agent's side: how each kind of line is encoded.

Pure functions over ``str`` and ``bytes``; no I/O. The stdout writer puts their results
on fd 1; :mod:`agentproc._transcript` is the reading side.

The body escape is the protocol's own rule: a body line that starts with one of the three
prefixes gets one leading space, so that no bridge reads it as a protocol line. Bridges keep
every body line as sent (they undo nothing), so the user sees that space; every other line,
indented ones included, reaches the user exactly as the handler returned it. Lines end at
``\\n``; the agent side also escapes after ``\\r``, because readers that use universal
newlines (any text-mode pipe in Python) end a line there too.
"""

from __future__ import annotations

import re

SESSION_PREFIX = "AGENT_SESSION:"
PARTIAL_PREFIX = "AGENT_PARTIAL:"
ERROR_PREFIX = "AGENT_ERROR:"

_PREFIXES = r"AGENT_(?:SESSION|PARTIAL|ERROR):"
_BODY_ESCAPE = re.compile(rf"(^|[\r\n])({_PREFIXES})")

# json.dumps(ensure_ascii=False) keeps these raw, and str.splitlines() and JavaScript
# readers treat them as line ends; a JSON escape keeps a partial on one line for any reader.
_UNICODE_LINE_BREAKS = re.compile("[\x85\u2028\u2029]")


def _json_line(prefix: str, text: str) -> bytes:
    # Imported here, not at the top: a turn without partials never needs json (cold start).
    # encode_basestring is what json.dumps(text, ensure_ascii=False) calls for a str, without
    # building an encoder per call.
    from json.encoder import encode_basestring

    payload = encode_basestring(text)
    if _UNICODE_LINE_BREAKS.search(payload):
        payload = _UNICODE_LINE_BREAKS.sub(lambda m: f"\\u{ord(m.group()):04x}", payload)
    # Lone surrogates cannot be UTF-8; backslashreplace turns them into "\udXXX", which
    # is exactly their JSON escape, so the bridge decodes the same string back.
    return f"{prefix}{payload}\n".encode("utf-8", "backslashreplace")


def encode_partial(text: str) -> bytes:
    """``AGENT_PARTIAL:<json string>`` and a newline: always exactly one line."""
    return _json_line(PARTIAL_PREFIX, text)


def encode_error(text: str) -> bytes:
    """``AGENT_ERROR:<json string>`` and a newline: always exactly one line."""
    return _json_line(ERROR_PREFIX, text)


def encode_session(session_id: str) -> bytes:
    """``AGENT_SESSION:<id>`` and a newline; the caller has checked the id is valid."""
    return f"{SESSION_PREFIX}{session_id}\n".encode("ascii")


def encode_reply(session_id: str, body: str) -> bytes:
    """The end of a turn: the session line (when ``session_id`` is set), then the body."""
    return (encode_session(session_id) if session_id else b"") + encode_body(body)


def escape_body(text: str) -> str:
    """``text`` with one space added before every line that starts with a prefix."""
    return _BODY_ESCAPE.sub(r"\1 \2", text)


def encode_body(text: str) -> bytes:
    """The reply body as stdout bytes: escaped, and ended with one newline when non-empty.

    The newline is added even when ``text`` already ends with one, so that a bridge that
    joins body lines with ``\\n`` gets ``text`` back exactly, trailing newlines included.
    """
    if not text:
        return b""
    line = escape_body(text) + "\n"
    try:
        # surrogateescape gives back the original bytes of text that was decoded with it,
        # such as an AGENT_MESSAGE that was not valid UTF-8.
        return line.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return line.encode("utf-8", "replace")

"""Conversation history: one JSONL file per session, safe for concurrent turns.

Every accepted session id names exactly one file directly inside the root: ``%`` is
written as ``%25`` and ``/`` (which wire 0.1 allows, for base64 ids) as ``%2F``, so no id
can reach outside the root or share a file with another id. Ids are checked by wire 0.1's
charset, and while a wire-0.4 turn runs also by 0.4's rule (any text but ``/``, ``\\``,
control characters, ``.`` and ``..``: ``"org:proj thread-42"`` is a 0.4 id). Ids that read as
relative paths (a ``.`` or ``..`` segment) are refused all the same. Appends take an exclusive
``flock`` and put the whole batch down with one ``write`` on an ``O_APPEND`` descriptor;
reads take a shared lock, so a reader never sees half a batch.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import warnings
from collections.abc import Iterable
from pathlib import Path

import attrs
import cattrs

from agentproc._session_id import (
    SESSION_ID_CHARSET,
    is_valid_event_session_id,
    is_valid_session_id,
)
from agentproc._wire_in_use import wire_in_use

_NAME_MAX = 255  # bytes in one file name on the usual Linux and macOS file systems


def _utc_now() -> str:
    from datetime import UTC, datetime  # only turns that keep history pay for it

    return datetime.now(UTC).isoformat()


@attrs.frozen
class HistoryEntry:
    """One message of a conversation, as stored in a session's JSONL file.

    ``timestamp`` defaults to the current UTC time in ISO 8601 form.
    """

    role: str
    content: str
    timestamp: str = attrs.field(factory=_utc_now)


def _exact_str(value: object, _: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


@functools.cache
def _converter() -> cattrs.Converter:
    # One converter for the JSONL format; unknown keys are ignored so that files written
    # by a later version still load.
    converter = cattrs.Converter()
    converter.register_structure_hook(str, _exact_str)
    return converter


def sessions_root(base_dir: str | os.PathLike[str] | None = None) -> Path:
    """The folder holding the session files.

    ``base_dir`` when given; otherwise ``$AGENTPROC_HOME/sessions`` when ``AGENTPROC_HOME``
    is set; otherwise ``~/.agentproc/sessions``.
    """
    if base_dir is not None:
        return Path(base_dir).expanduser()
    home = os.environ.get("AGENTPROC_HOME")
    if home:
        return Path(home).expanduser() / "sessions"
    return Path.home() / ".agentproc" / "sessions"


def session_file_path(session_id: str, base_dir: str | os.PathLike[str] | None = None) -> Path:
    """The JSONL file of ``session_id`` (it may not exist yet); nothing is created.

    Raises ``ValueError`` when ``session_id`` is not a valid session id (empty, whitespace,
    or a character outside the spec's charset), reads as a relative path (``..``,
    ``a/../b``, ``./x``) or is too long to be a file name.
    """
    wire04 = wire_in_use() == "0.4"
    if wire04 and not is_valid_session_id(session_id):
        if not is_valid_event_session_id(session_id):
            raise ValueError(
                f"session id {session_id!r} cannot name a history file: it must be non-empty, "
                "not '.' or '..', without '/', '\\' or control characters"
            )
    elif not is_valid_session_id(session_id):
        raise ValueError(
            f"session id {session_id!r} cannot name a history file: it must be non-empty "
            f"and use only {SESSION_ID_CHARSET}"
        )
    if any(segment in {".", ".."} for segment in session_id.split("/")):
        # Harmless once "/" is encoded, but no real id looks like a relative path (UUIDs
        # and base64 have no dots), so such an id is a mistake or an attack: say so.
        raise ValueError(
            f"session id {session_id!r} cannot name a history file: it reads as a relative "
            "path ('.' or '..' between slashes)"
        )
    name = session_id.replace("%", "%25").replace("/", "%2F") + ".jsonl"
    if len(name.encode()) > _NAME_MAX:
        raise ValueError(
            f"session id of {len(session_id)} characters is too long to name a history "
            f"file (at most {_NAME_MAX - len('.jsonl')} bytes, each '/' counting 3)"
        )
    return sessions_root(base_dir) / name


def load_history(
    session_id: str, base_dir: str | os.PathLike[str] | None = None
) -> list[HistoryEntry]:
    """The stored entries of ``session_id``, oldest first.

    ``[]`` for an empty id (a new session) or a session with no file yet. A line that
    cannot be read as an entry is skipped with a ``RuntimeWarning`` naming the file and
    line; it never fails the load. Raises ``ValueError`` for an invalid id (see
    :func:`session_file_path`). Blocking file I/O, brief: call it directly from a handler.
    """
    if not session_id:
        return []
    path = session_file_path(session_id, base_dir)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return []
    with open(fd, "rb") as file:
        fcntl.flock(fd, fcntl.LOCK_SH)
        data = file.read()
    entries = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            entries.append(_parse_line(line))
        except (ValueError, TypeError, cattrs.BaseValidationError) as exc:
            warnings.warn(
                f"{path}:{number}: skipped a corrupt history line ({exc})",
                RuntimeWarning,
                stacklevel=2,
            )
    return entries


def _parse_line(line: bytes) -> HistoryEntry:
    record = json.loads(line.decode("utf-8"))
    if not isinstance(record, dict):
        raise TypeError(f"expected a JSON object, got {type(record).__name__}")
    record.setdefault("timestamp", "")  # an old line without one is not from "now"
    return _converter().structure(record, HistoryEntry)


def append_history(
    session_id: str,
    entries: Iterable[HistoryEntry],
    base_dir: str | os.PathLike[str] | None = None,
) -> None:
    """Add ``entries`` at the end of the history of ``session_id``, in order.

    Nothing happens for an empty id or no entries. The batch is one write under an
    exclusive lock: appends from concurrent turns (processes) never interleave or lose
    lines, and a batch is never split by another. The folder (mode 0700) and file (0600)
    are created as needed. Raises ``ValueError`` for an invalid id, ``OSError`` when the
    file cannot be written.
    """
    if not session_id:
        return
    path = session_file_path(session_id, base_dir)
    batch = b"".join(_format_line(entry) for entry in entries)
    if not batch:
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            # A writer died mid-line; end that line so that it, not ours, is the bad one.
            batch = b"\n" + batch
        view = memoryview(batch)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)  # also releases the lock


def _format_line(entry: HistoryEntry) -> bytes:
    record = _converter().unstructure(entry)
    # Lone surrogates cannot be UTF-8; backslashreplace writes their JSON escape instead.
    return (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8", "backslashreplace")

"""What ``useragent history`` and ``useragent history-detail`` share: opening the database
with one-line errors, and how a status and a duration look."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

import attrs
from rich.console import Console
from rich.text import Text

from .._errors import UserAgentError
from ..history import Execution, HistoryError, HistoryStore

EXIT_OK = 0
EXIT_FAILED = 1


class Unavailable(UserAgentError):
    """The history cannot be read; the message says why (printed with the command name)."""


def open_store(path: Path) -> HistoryStore:
    """The history at ``path`` (migrated if an older version wrote it), or :class:`Unavailable`."""
    try:
        return HistoryStore.open(path)
    except HistoryError as exc:
        raise Unavailable(str(exc)) from None
    except sqlite3.Error as exc:  # locked past the busy timeout, unreadable
        raise Unavailable(f"{path}: cannot read the execution history: {exc}") from None


def fail(command: str, problem: Exception) -> int:
    print(f"useragent {command}: {problem}", file=sys.stderr)
    return EXIT_FAILED


def console() -> Console:
    """Rich output on stdout; the width follows the terminal, or ``$COLUMNS`` when set."""
    return Console(highlight=False)


def status_text(status: str | None) -> Text:
    if status == "success":
        return Text("✓ success", style="green")
    if status == "error":
        return Text("✗ error", style="bold red")
    return Text(status or "—", style="yellow")


def duration_text(duration_ms: float | None) -> str:
    """``0.42 ms``, ``12.3 ms``, ``850 ms``, ``2.51 s``, ``3m 05s``."""
    if duration_ms is None:
        return "—"
    if duration_ms < 10:
        return f"{duration_ms:.2f} ms"
    if duration_ms < 100:
        return f"{duration_ms:.1f} ms"
    if duration_ms < 1000:
        return f"{duration_ms:.0f} ms"
    if duration_ms < 60_000:
        return f"{duration_ms / 1000:.2f} s"
    minutes, seconds = divmod(round(duration_ms / 1000), 60)
    return f"{minutes}m {seconds:02d}s"


def stored_text(value: object) -> str | None:
    """A stored value as text, whatever SQLite kept (older writers are not ours)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def execution_json(execution: Execution) -> dict[str, Any]:
    """The execution as ``--json`` prints it: every column, input and output decoded."""
    found = attrs.asdict(execution)
    for key in ("input_data", "output_data"):
        found[key] = _decoded(stored_text(found[key]))
    return found


def _decoded(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text  # stored by another writer, not as JSON: the text as it is

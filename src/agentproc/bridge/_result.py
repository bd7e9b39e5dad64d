"""How a turn ended, as a bridge reports it: :class:`RunResult` and the precedence rules."""

from __future__ import annotations

import signal
from collections.abc import Mapping
from typing import Any

import attrs

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_TIMEOUT = 124

STDERR_TAIL_CHARS = 4000
"""How much of the end of the agent's stderr a :class:`RunResult` keeps."""


@attrs.frozen
class RunResult:
    """One turn, as the bridge saw it.

    ``exit_code`` follows the spec's precedence: 124 when the bridge's timeout ended the
    turn, else 1 when the agent sent ``AGENT_ERROR:``, else the process's own status (a
    process killed by signal N reports 128 + N, as a shell does). The turn succeeded
    exactly when it is 0 (see :attr:`ok`).

    Wire 0.4 (:attr:`wire`): after an ``error`` event the code is 1 only when the process
    exited 0, else the process's own; ``reply`` is ``result.text`` unless partials carried
    the body (streaming on, any partial forwarded: ``""``); ``session_id`` is the first valid
    id an event carried, ``""`` when none (the turn's own id is not copied); ``partials``
    are :class:`~agentproc.bridge.Partial` strings with their role; ``usage`` is set.
    """

    reply: str
    """The text to send after the turn: the reply body (plus stderr with
    ``include_stderr_in_reply``), truncated to ``max_reply_chars`` + suffix. Empty after an
    ``AGENT_ERROR:`` or a timeout, and when everything went out as partials."""
    session_id: str
    """The session id for the next turn: the last valid one the agent declared, or the
    turn's own ``session_id`` when it declared none (also after an error or a timeout)."""
    error: str | None
    """A user-readable error, or None: the ``AGENT_ERROR:`` text; a timeout message; or,
    with ``send_error_reply``, a message for a process that failed without
    ``AGENT_ERROR:``."""
    exit_code: int
    partials: tuple[str, ...]
    """The partials delivered (to ``on_partial``), in order."""
    timed_out: bool
    stderr_tail: str
    """The last :data:`STDERR_TAIL_CHARS` characters of the agent's stderr."""
    warnings: tuple[str, ...] = ()
    """Protocol problems the bridge noticed (bad session ids, payloads that are not JSON,
    ``${VAR}`` outside the allowlist, ...), also reported through ``warn``."""
    duration_secs: float = 0.0
    """Wall time from the start of the process to the end of the turn."""
    usage: Mapping[str, Any] | None = None
    """Wire 0.4: the ``usage`` of the kept ``result`` or ``error`` event (the spec's keys
    that hold numbers), or None."""
    wire: str = "0.1"
    """The wire the turn was run in."""

    @property
    def thinking(self) -> tuple[str, ...]:
        """Wire 0.4: the partials whose role is ``"thinking"``, in order."""
        return tuple(str(p) for p in self.partials if getattr(p, "role", None) == "thinking")

    @property
    def output_partials(self) -> tuple[str, ...]:
        """The partials that are reply text (0.1: all of them; 0.4: no role or "output")."""
        return tuple(str(p) for p in self.partials if getattr(p, "role", None) in (None, "output"))

    @property
    def ok(self) -> bool:
        """True when the turn succeeded (``exit_code == 0``)."""
        return self.exit_code == EXIT_OK


def process_exit_code(returncode: int) -> int:
    """A ``Popen.returncode`` as a shell reports it: killed by signal N -> 128 + N."""
    return 128 - returncode if returncode < 0 else returncode


def exit_code(returncode: int, *, timed_out: bool, agent_error: bool) -> int:
    """The turn's exit code: timeout (124) over ``AGENT_ERROR:`` (1) over the process's."""
    if timed_out:
        return EXIT_TIMEOUT
    if agent_error:
        return EXIT_ERROR
    return process_exit_code(returncode)


def event_exit_code(returncode: int, *, timed_out: bool, agent_error: str | None) -> int:
    """Wire 0.4's precedence: timeout (124); else, after an ``error`` event, 1 when the
    process exited 0 and its own code otherwise; else the process's code."""
    if timed_out:
        return EXIT_TIMEOUT
    code = process_exit_code(returncode)
    if agent_error is not None and code == EXIT_OK:
        return EXIT_ERROR
    return code


def failure_message(returncode: int) -> str:
    """What to tell the user about a process that failed without ``AGENT_ERROR:``."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"the agent was killed by {name}"
    return f"the agent failed (exit status {returncode})"


def timeout_message(timeout_secs: float) -> str:
    return f"the agent did not finish within {timeout_secs:g} s"


def truncate(text: str, max_chars: int, suffix: str) -> str:
    """``text`` cut to ``max_chars`` characters with ``suffix`` appended, when longer."""
    return text if len(text) <= max_chars else text[:max_chars] + suffix


def with_stderr(text: str, stderr: str) -> str:
    """``text`` followed by ``stderr`` after a blank line (each part only when non-empty)."""
    stderr = stderr.strip("\n")
    if not stderr:
        return text
    return f"{text}\n\n{stderr}" if text else stderr

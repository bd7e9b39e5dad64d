"""What a turn's handler is and how its outcome is judged: the same for a turn on trio
(:mod:`agentproc._turn`) and one answered at once (:mod:`agentproc._at_once`).

No I/O but the developer's messages, and no event loop: callers write what is decided here.
"""

from __future__ import annotations

import inspect
import traceback
import types
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any, Literal, TextIO, TypeAlias

from agentproc._context import AgentContext
from agentproc._result import AgentResult, ProtocolError
from agentproc._session_id import (
    explain_invalid_event_session_id,
    explain_invalid_session_id,
    is_valid_event_session_id,
    normalize_session_id,
)

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_SIGINT = 130
EXIT_SIGTERM = 143

Reply: TypeAlias = str | AgentResult | None
Handler: TypeAlias = Callable[[AgentContext], Awaitable[Reply] | Reply]
"""An async or sync function of the context returning a ``str``, an ``AgentResult`` or None."""

EventLoop: TypeAlias = Literal["trio", "asyncio"]

SessionIdCheck: TypeAlias = Callable[[str], tuple[str | None, str]]
"""A wire's rule: the id to write (None: refused) and, when refused, why."""


def is_async(handler: object) -> bool:
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
        getattr(handler, "__call__", None)  # noqa: B004 - an object with async __call__
    )


def _module_names(handler: object) -> set[str]:
    """Top-level package names of the modules and objects the handler's module refers to."""
    target = handler if inspect.isroutine(handler) else getattr(handler, "__call__", None)  # noqa: B004
    if callable(target):
        target = inspect.unwrap(target)
    namespace = getattr(target, "__globals__", None) or {}
    names = set()
    for value in namespace.values():
        name = (
            value.__name__
            if isinstance(value, types.ModuleType)
            else getattr(value, "__module__", None)
        )
        if isinstance(name, str):
            names.add(name.partition(".")[0])
    return names


def default_event_loop(handler: object) -> EventLoop:
    """Where an ``async def`` handler runs when its script does not say: on asyncio (as the
    protocol's own SDKs run every handler) when its module uses asyncio and not trio,
    otherwise on trio."""
    used = _module_names(handler)
    return "asyncio" if "asyncio" in used and "trio" not in used else "trio"


def session_id_01(raw: str) -> tuple[str | None, str]:
    """Wire 0.1's rule: the stripped id when it is in the spec's charset."""
    session_id = normalize_session_id(raw)
    return session_id, "" if session_id is not None else explain_invalid_session_id(raw)


def session_id_04(raw: str) -> tuple[str | None, str]:
    """Wire 0.4's rule: the id as sent, unless it is unsafe as a file name."""
    if is_valid_event_session_id(raw):
        return raw, ""
    return None, explain_invalid_event_session_id(raw)


class Judge:
    """Turns what the handler returned or raised into what to write and the exit status.

    Messages for the developer go to ``stderr``, one line each (with tracebacks when
    ``debug`` is set); the user only ever sees what the caller writes on stdout.
    """

    def __init__(self, stderr: TextIO, *, debug: bool) -> None:
        self._stderr = stderr
        self._debug = debug

    def reply(
        self, result: object, check_session_id: SessionIdCheck
    ) -> tuple[str, str, Mapping[str, Any] | None] | int:
        """``(session_id, text, usage)`` to write, or the exit status when there is nothing
        to write (0 for None, 1 for a value that is no reply)."""
        if result is None:
            return EXIT_OK
        if isinstance(result, str):
            result = AgentResult(response=result)
        if not isinstance(result, AgentResult) or not isinstance(result.response, str):
            shown = type(result.response if isinstance(result, AgentResult) else result)
            self.say(
                f"the handler returned {shown.__name__}; return a str, an "
                "AgentResult(response=str, session_id=str) or None"
            )
            return EXIT_ERROR
        usage: object = result.usage
        if usage is not None and not isinstance(usage, Mapping):
            self.say(f"AgentResult.usage is {type(usage).__name__}, not a mapping; not sent")
            usage = None
        return self._session_id(result.session_id, check_session_id), result.response, usage

    def _session_id(self, raw: str, check: SessionIdCheck) -> str:
        if not raw:
            return ""
        session_id, reason = check(raw)
        if session_id is None:
            self.say(
                f"session id {raw!r} was not written: {reason}; the bridge keeps the previous id"
            )
            return ""
        return session_id

    @staticmethod
    def protocol_error(exc: Exception) -> str | None:
        """The message of the first :class:`ProtocolError` in ``exc`` (the turn's error to
        write), or None."""
        errors = [leaf for leaf in _leaves(exc) if isinstance(leaf, ProtocolError)]
        return str(errors[0]) if errors else None

    def report_failure(self, exc: Exception) -> None:
        """Tell the developer about every exception in ``exc`` but the ProtocolErrors."""
        others = [leaf for leaf in _leaves(exc) if not isinstance(leaf, ProtocolError)]
        if others:
            more = f" (and {len(others) - 1} more)" if len(others) > 1 else ""
            hint = "" if self._debug else " (set AGENT_DEBUG=1 for the traceback)"
            self.say(f"the handler failed: {_one_line(others[0])}{more}{hint}")
            if self._debug:
                traceback.print_exception(exc, file=self._stderr)
                self._stderr.flush()

    def exit_requested(self, exc: SystemExit) -> int:
        """The status of ``sys.exit(code)`` called by the handler."""
        if exc.code is None:
            return EXIT_OK
        if isinstance(exc.code, int):
            return exc.code
        self.say(str(exc.code))
        return EXIT_ERROR

    def say(self, message: str) -> None:
        self._stderr.write(f"agentproc: {message}\n")
        self._stderr.flush()


def _leaves(exc: BaseException) -> Iterator[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from _leaves(inner)
    else:
        yield exc


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

"""How a handler's return value or exception becomes a ``TaskResult``, by way of an
:class:`AttemptEnd` (how the attempt ended; not the ``outcome`` library's ``Outcome``,
which carries a call's value or exception from one thread or loop to another).

- a dict is the output as it is; an attrs instance or a dataclass becomes its fields;
  anything else (``None`` too) becomes ``{"result": value}``;
- output JSON cannot hold -> ``FAILED``, the reason naming the type at fault;
- :class:`NonRetryableException` -> ``FAILED_WITH_TERMINAL_ERROR``;
- any other exception -> ``FAILED`` (the server retries it), its traceback in the logs.
"""

from __future__ import annotations

import dataclasses
import json
import time
import traceback
from typing import Any

import attrs

from ..conductor import JsonObject, Task, TaskExecLog, TaskResult, TaskResultStatus, to_json_obj
from ._errors import NonRetryableException

MAX_REASON_CHARS = 500
"""Conductor keeps ``reasonForIncompletion`` short; the logs carry the full story."""


@attrs.frozen
class AttemptEnd:
    """How one attempt ended, before it is addressed to the server."""

    status: TaskResultStatus
    output: JsonObject = attrs.field(factory=dict)
    reason: str | None = None
    extra_logs: tuple[str, ...] = ()
    """Lines the runtime adds to the task's logs (a traceback)."""
    error: str | None = None
    """The class name of the exception the handler raised, if it raised."""

    @classmethod
    def returned(cls, value: Any) -> AttemptEnd:
        return cls(TaskResultStatus.COMPLETED, to_output(value))

    @classmethod
    def raised(cls, exc: BaseException) -> AttemptEnd:
        lines = (_traceback(exc),)
        if isinstance(exc, NonRetryableException):
            reason = str(exc) or type(exc).__name__
            return cls(
                TaskResultStatus.FAILED_WITH_TERMINAL_ERROR,
                reason=reason,
                extra_logs=lines,
                error=type(exc).__name__,
            )
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return cls(
            TaskResultStatus.FAILED, reason=reason, extra_logs=lines, error=type(exc).__name__
        )

    @classmethod
    def failed(cls, reason: str) -> AttemptEnd:
        """A retryable failure the runtime itself decided (shutdown, bad output)."""
        return cls(TaskResultStatus.FAILED, reason=reason, extra_logs=(reason,))


def to_output(value: Any) -> JsonObject:
    """The ``outputData`` object for a handler's return value."""
    if isinstance(value, dict):
        return value
    converted = _as_dict(value)
    return converted if converted is not None else {"result": value}


def _as_dict(value: Any) -> dict[str, Any] | None:
    if attrs.has(type(value)):
        return attrs.asdict(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    dump = getattr(value, "model_dump", None)  # pydantic v2 models
    if callable(dump) and not isinstance(value, type):
        dumped = dump(mode="json")
        return dumped if isinstance(dumped, dict) else None
    return None


def task_result(
    task: Task, worker_id: str, outcome: AttemptEnd, logs: list[TaskExecLog]
) -> TaskResult:
    """The result to post for ``task``."""
    reason = outcome.reason
    if reason is not None and len(reason) > MAX_REASON_CHARS:
        reason = reason[: MAX_REASON_CHARS - 1] + "…"
    if outcome.extra_logs:
        logs = [*logs, *(TaskExecLog(line, task.task_id, _now_ms()) for line in outcome.extra_logs)]
    return TaskResult(
        task_id=task.task_id,
        status=outcome.status,
        workflow_instance_id=task.workflow_instance_id,
        worker_id=worker_id,
        output_data=outcome.output,
        logs=logs,
        reason_for_incompletion=reason,
    )


def encode(result: TaskResult) -> bytes:
    """The JSON body of ``result``; TypeError/ValueError when its output JSON cannot hold.

    Nested attrs instances, dataclasses and pydantic models become objects too.
    """
    return _ENCODER.encode(to_json_obj(result)).encode()


def _json_default(value: Any) -> Any:
    converted = _as_dict(value)
    if converted is None:
        raise TypeError(f"a value of type {_type_name(value)} is not JSON serializable")
    return converted


_ENCODER = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_json_default
)
"""Shared: json.dumps with any option set builds a new encoder on every call."""


def unserializable(exc: Exception, agent_name: str) -> AttemptEnd:
    """The failure reported when a handler's output cannot be encoded."""
    return AttemptEnd.failed(f"the output of {agent_name} cannot be sent as JSON: {exc}")


def _type_name(value: Any) -> str:
    cls = type(value)
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


def _traceback(exc: BaseException) -> str:
    # Leading frames of the runtime, trio and outcome (the thread hop) say nothing
    # about the user's code, which is what the traceback is for.
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None and _is_plumbing(tb.tb_frame.f_globals):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb)).rstrip()


def _is_plumbing(frame_globals: dict[str, Any]) -> bool:
    module = str(frame_globals.get("__name__", ""))
    return module.partition(".")[0] in _PLUMBING or module.startswith("user_agent_sdk.runtime.")


_PLUMBING = frozenset({"trio", "outcome"})


def _now_ms() -> int:
    return time.time_ns() // 1_000_000

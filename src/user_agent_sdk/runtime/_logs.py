"""A logger per task: what a handler logs becomes that task's ``TaskResult.logs``, nowhere else."""

from __future__ import annotations

import logging
from typing import Any

from ..conductor import TaskExecLog

_formatter = logging.Formatter()


class TaskLogger(logging.Logger):
    """A :class:`logging.Logger` that keeps its records as :class:`TaskExecLog` lines.

    One instance per task, never registered with :mod:`logging`'s manager and never
    propagating, so concurrent tasks (async or in threads) cannot see each other's lines
    and nothing reaches the worker's own log output. Handlers a user adds still run.
    """

    def __init__(self, name: str, task_id: str, level: int = logging.INFO) -> None:
        super().__init__(name, level)
        self.propagate = False
        self.task_id = task_id
        self.lines: list[TaskExecLog] = []

    def callHandlers(self, record: logging.LogRecord) -> None:
        # list.append is atomic, so a sync handler's thread may log while trio reads.
        self.lines.append(
            TaskExecLog(
                log=f"{record.levelname} {format_message(record)}",
                task_id=self.task_id,
                created_time=int(record.created * 1000),
            )
        )
        for handler in self.handlers:
            if record.levelno >= handler.level:
                handler.handle(record)


def about_task(agent_id: str | None, task_id: str, workflow_id: str | None) -> dict[str, Any]:
    """``extra=`` for a log record about a task: structured log output (``--log-format
    json``) carries these fields."""
    return {"agent_id": agent_id, "task_id": task_id, "workflow_id": workflow_id}


def format_message(record: logging.LogRecord) -> str:
    """The message with its traceback and stack, when the record carries them."""
    text = record.getMessage()
    if record.exc_info:
        text = f"{text}\n{_formatter.formatException(record.exc_info)}"
    if record.stack_info:
        text = f"{text}\n{_formatter.formatStack(record.stack_info)}"
    return text

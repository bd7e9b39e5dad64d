"""The seam for whatever wants to see each finished task (the execution history, metrics)."""

from __future__ import annotations

from typing import Any, Protocol

import attrs

from ..conductor import JsonObject, TaskResultStatus


@attrs.frozen
class ExecutionRecord:
    """One task attempt as the worker saw it, once its outcome is known."""

    agent_name: str
    """The handler's name."""
    agent_id: str
    task_id: str
    workflow_instance_id: str | None
    attempt: int
    platform_task_id: str | None
    platform_agent_id: str | None
    started_at: float
    """Epoch seconds."""
    ended_at: float
    status: TaskResultStatus
    input_data: JsonObject
    """Without the platform's ``__x__`` keys."""
    output_data: JsonObject
    reason: str | None
    """Why the task failed, when it did."""

    @property
    def duration_s(self) -> float:
        return self.ended_at - self.started_at


class ExecutionObserver(Protocol):
    """Called in the runtime's trio thread for every finished task; must not block.

    Hand the record to your own task through a channel (``send_nowait``) if the work
    takes time. An exception it raises is logged and otherwise ignored.
    """

    def __call__(self, record: ExecutionRecord, /) -> Any: ...

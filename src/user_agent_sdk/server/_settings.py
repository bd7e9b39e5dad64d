"""How a task type is leased and retried: a server's defaults, a task definition's, or a
submission's own."""

from __future__ import annotations

import attrs

from ..models import TaskDef


@attrs.frozen
class TaskSettings:
    """How one task type is leased and retried."""

    response_timeout_s: int = 60
    max_attempts: int = 3
    """Attempts in all, the first one included."""
    retry_delay_s: int = 0

    @classmethod
    def from_task_def(cls, task_def: TaskDef) -> TaskSettings:
        return cls(
            response_timeout_s=task_def.response_timeout_seconds,
            max_attempts=task_def.retry_count + 1,
            retry_delay_s=task_def.retry_delay_seconds,
        )

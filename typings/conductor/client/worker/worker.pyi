from collections.abc import Callable
from typing import Any

class Worker:
    task_definition_name: str
    def __init__(
        self,
        task_definition_name: str,
        execute_function: Callable[..., Any],
        poll_interval: float | None = None,
        domain: str | None = None,
        worker_id: str | None = None,
        thread_count: int = 1,
        register_task_def: bool = False,
        poll_timeout: int = 100,
        lease_extend_enabled: bool = False,
        paused: bool = False,
    ) -> None: ...

"""The Conductor wire: data models and their one JSON converter."""

from ._converter import camel_case, conductor_converter, from_json_obj, to_json_obj
from ._models import (
    JsonObject,
    StartWorkflowRequest,
    Task,
    TaskDef,
    TaskExecLog,
    TaskResult,
    TaskResultStatus,
    TaskStatus,
    Workflow,
    WorkflowStatus,
)

__all__ = [
    "JsonObject",
    "StartWorkflowRequest",
    "Task",
    "TaskDef",
    "TaskExecLog",
    "TaskResult",
    "TaskResultStatus",
    "TaskStatus",
    "Workflow",
    "WorkflowStatus",
    "camel_case",
    "conductor_converter",
    "from_json_obj",
    "to_json_obj",
]

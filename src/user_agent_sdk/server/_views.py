"""What the server shows of its records: Conductor's models and their JSON.

A task has one definition here, :data:`TASK_FIELDS`: for each field of Conductor's
:class:`~user_agent_sdk.conductor.Task` that the server fills, how it is computed from a
:class:`~._records.TaskAttempt`. Both :func:`task_model` and :func:`task_json` are
generated from it when this module is imported; the JSON follows the converter's rules
(camelCase keys, enums by value, a ``None`` left out where the field's default is
``None``, every other field of ``Task`` at its default), so ``task_json(attempt) ==
to_json_obj(task_model(attempt))`` for every attempt, without building the model on the
hot path (every task handed out goes through :func:`task_json`).
"""

from __future__ import annotations

import enum
import typing
from collections.abc import Callable
from typing import Any

import attrs

from ..models import (
    JsonObject,
    Task,
    TaskExecLog,
    Workflow,
    WorkflowStatus,
    camel_case,
)
from ._records import TaskAttempt, WorkflowRecord, WorkflowSummary

TASK_FIELDS: dict[str, str] = {
    "task_type": "a.task_type",
    "status": "a.status",
    "input_data": "a.input",
    "reference_task_name": "a.ref_name",
    "retry_count": "a.retry_count",
    "seq": "a.retry_count + 1",  # attempts of one task are numbered from 1
    "correlation_id": "a.correlation_id",
    "poll_count": "a.poll_count",
    "task_def_name": "a.task_type",
    "scheduled_time": "a.scheduled_time",
    "start_time": "a.start_time",
    "end_time": "a.end_time",
    "update_time": "a.update_time",
    "retried_task_id": "a.retried_task_id",
    "retried": "a.retried",
    "executed": "a.status.is_terminal",
    "response_timeout_seconds": "a.response_timeout_s",
    "workflow_instance_id": "a.workflow_id",
    "workflow_type": "a.workflow_type",
    "task_id": "a.id",
    "reason_for_incompletion": "a.reason",
    "callback_after_seconds": "a.callback_after_s",
    "worker_id": "a.worker_id",
    "output_data": "a.output",
    "workflow_task": ("{'name': a.task_type, 'taskReferenceName': a.ref_name, 'type': 'SIMPLE'}"),
    "domain": "a.domain or None",
    "workflow_priority": "a.priority",
    "first_start_time": "a.first_start_time",
    "queue_wait_time": "max(0, a.start_time - a.scheduled_time) if a.start_time else 0",
}
"""Each ``Task`` field the server fills, as a Python expression over the attempt ``a``."""


def _generate(name: str, lines: list[str]) -> Callable[[TaskAttempt], Any]:
    source = "\n".join([f"def {name}(a):", *(f"    {line}" for line in lines)])
    namespace: dict[str, Any] = {"Task": Task}
    exec(compile(source, f"<generated {name}>", "exec"), namespace)  # noqa: S102
    function: Callable[[TaskAttempt], Any] = namespace[name]
    return function


def _model_lines() -> list[str]:
    arguments = ", ".join(f"{field}={expression}" for field, expression in TASK_FIELDS.items())
    return [f"return Task({arguments})"]


def _json_lines() -> list[str]:
    """The body of :func:`task_json`: one statement per key, in ``Task``'s field order."""
    types = typing.get_type_hints(Task)
    constants: list[str] = []
    optional: list[str] = []
    for field in attrs.fields(Task):
        key = camel_case(field.name)
        expression = TASK_FIELDS.get(field.name)
        if expression is None:
            if field.default is not None:  # every field with a real default is sent
                constants.append(f"{key!r}: {_constant(field)!r},")
            continue
        kind = types[field.name]
        if isinstance(kind, type) and issubclass(kind, enum.Enum):
            expression = f"({expression}).value"
        if field.default is None:  # the converter leaves out a None here
            optional.append(f"if (v := {expression}) is not None: data[{key!r}] = v")
        else:
            constants.append(f"{key!r}: {expression},")
    return ["data = {", *(f"    {line}" for line in constants), "}", *optional, "return data"]


def _constant(field: attrs.Attribute[Any]) -> object:
    default: Any = field.default
    value = default.factory() if isinstance(default, attrs.Factory) else default  # type: ignore[arg-type]
    if not isinstance(value, (bool, int, str)):
        raise TypeError(f"Task.{field.name}: the server has no JSON for default {value!r}")
    return value


task_model: Callable[[TaskAttempt], Task] = _generate("task_model", _model_lines())
task_model.__doc__ = "The attempt as Conductor's model (:data:`TASK_FIELDS`)."

task_json: Callable[[TaskAttempt], JsonObject] = _generate("task_json", _json_lines())
task_json.__doc__ = "The attempt as Conductor's JSON: ``to_json_obj(task_model(attempt))``."


WORKFLOW_FIELDS: dict[str, str] = {
    "workflow_id": "id",
    "status": "status",
    "workflow_name": "name",
    "workflow_version": "version",
    "input": "input",
    "output": "output",
    "correlation_id": "correlation_id",
    "reason_for_incompletion": "reason",
    "create_time": "create_time",
    "update_time": "update_time",
    "start_time": "create_time",
    "end_time": "end_time",
    "priority": "priority",
}
"""Each ``Workflow`` field taken from the record as it is: the record's attribute."""


def workflow_model(workflow: WorkflowRecord, tasks: list[TaskAttempt]) -> Workflow:
    """The workflow as Conductor's model, with ``tasks`` (its attempts, in order)."""
    ended_badly = workflow.status in (WorkflowStatus.FAILED, WorkflowStatus.TIMED_OUT)
    last = tasks[-1:] if ended_badly else []
    return Workflow(
        **{field: getattr(workflow, name) for field, name in WORKFLOW_FIELDS.items()},
        tasks=[task_model(task) for task in tasks],
        failed_reference_task_names=[task.ref_name or task.task_type for task in last],
        failed_task_names=[task.task_type for task in last],
    )


def workflow_status_json(summary: WorkflowSummary, *, variables: bool) -> JsonObject:
    """Conductor's ``WorkflowStatus``: status and correlation id, the output if it was
    read, ``variables`` (always empty: one-task workflows have none) if asked for."""
    data: JsonObject = {"workflowId": summary.id, "status": summary.status.value}
    if summary.correlation_id is not None:
        data["correlationId"] = summary.correlation_id
    if summary.output is not None:
        data["output"] = summary.output
    if variables:
        data["variables"] = {}
    return data


def task_logs(task_id: str, lines: list[tuple[str, int]]) -> list[TaskExecLog]:
    """A task's (text, epoch ms) log lines as Conductor's models, oldest first."""
    return [TaskExecLog(log=text, task_id=task_id, created_time=at) for text, at in lines]

"""Reading requests at the edge: a body or query parameter that is not what a route
expects becomes a 400 naming the field and the problem, so the engine only ever sees
valid values."""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

import cattrs

from ..models import TaskDef, camel_case, from_json_obj
from ._http import HTTPError, Request
from ._settings import TaskSettings

T = TypeVar("T")

MAX_KEY_CHARS = 200


def json_body(request: Request) -> Any:
    """The body as JSON, whatever its shape."""
    try:
        return json.loads(request.body)
    except ValueError as exc:
        raise HTTPError(400, f"malformed JSON in the request body: {exc}") from None


def json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object."""
    data = json_body(request)
    if not isinstance(data, dict):
        raise HTTPError(400, "the request body must be a JSON object")
    return data


def decode(request: Request, cls: type[T]) -> T:
    """The body as the wire model ``cls`` (or a list of them)."""
    data = json_body(request)
    try:
        return from_json_obj(data, cls)
    except (cattrs.BaseValidationError, TypeError, ValueError) as exc:
        name = getattr(cls, "__name__", str(cls))
        raise HTTPError(400, f"invalid {name}: {_describe(exc)}") from None


def _describe(exc: Exception) -> str:
    if isinstance(exc, cattrs.BaseValidationError):
        messages = cattrs.transform_error(exc, path="$")
        # cattrs names attributes; the client knows the camelCase wire names.
        return "; ".join(
            re.sub(r"\.([a-z0-9_]+)", lambda m: "." + camel_case(m.group(1)), message)
            for message in messages
        )
    return str(exc)


def int_query(request: Request, name: str, default: int, low: int, high: int) -> int:
    """Query parameter ``name`` as an integer in ``[low, high]``; ``default`` if absent."""
    raw = request.query_value(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise HTTPError(400, f"query parameter {name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise HTTPError(
            400, f"query parameter {name} must be between {low} and {high}, got {value}"
        )
    return value


def bool_query(request: Request, name: str, default: bool) -> bool:
    """Query parameter ``name`` as ``true`` or ``false``; ``default`` if absent."""
    raw = request.query_value(name)
    if raw is None or raw == "":
        return default
    if raw.lower() not in ("true", "false"):
        raise HTTPError(400, f"query parameter {name} must be true or false, got {raw!r}")
    return raw.lower() == "true"


def replay_key(request: Request) -> tuple[str, str] | None:
    """What names a leasing request for its retries: its ``Idempotency-Key`` and path."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not key or len(key) > MAX_KEY_CHARS:
        raise HTTPError(400, f"Idempotency-Key must be 1 to {MAX_KEY_CHARS} characters")
    return key, request.path


def one_task_definition(definition: dict[str, Any], where: str) -> tuple[str, TaskSettings | None]:
    """The task type and settings of a one-task workflow definition (inline or registered)."""
    tasks = definition.get("tasks")
    if not isinstance(tasks, list) or len(tasks) != 1 or not isinstance(tasks[0], dict):
        raise HTTPError(400, f"{where}: the embedded server runs workflows of exactly one task")
    task = tasks[0]
    if task.get("type", "SIMPLE") != "SIMPLE" or not isinstance(task.get("name"), str):
        raise HTTPError(400, f"{where}: tasks[0] must be a SIMPLE task with a name")
    task_def = task.get("taskDefinition")
    if not isinstance(task_def, dict):
        return task["name"], None
    try:
        parsed = from_json_obj({"name": task["name"], **task_def}, TaskDef)
    except (cattrs.BaseValidationError, TypeError, ValueError) as exc:
        raise HTTPError(400, f"{where}: tasks[0].taskDefinition: {_describe(exc)}") from None
    return task["name"], TaskSettings.from_task_def(parsed)

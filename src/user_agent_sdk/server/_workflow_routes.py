"""The workflow routes: starting one-task workflows, reading them, and their definitions."""

from __future__ import annotations

from typing import Any

from ..models import StartWorkflowRequest, TaskDef, to_json_obj
from ._engine import Submission, TaskEngine
from ._http import HTTPError, Request, Response
from ._requests import (
    bool_query,
    decode,
    int_query,
    json_body,
    json_object,
    one_task_definition,
)
from ._routing import Route
from ._settings import TaskSettings
from ._views import workflow_status_json


class WorkflowRoutes:
    """Conductor's workflow and metadata endpoints, for workflows of one SIMPLE task."""

    def __init__(self, engine: TaskEngine) -> None:
        self._engine = engine
        self._definitions = engine.definitions

    def routes(self) -> list[Route]:
        return [
            Route("POST", "/api/workflow", self._start_workflow_request),
            Route("POST", "/api/workflow/{name}", self._start_workflow),
            Route("GET", "/api/workflow/{workflow_id}", self._get_workflow),
            Route("GET", "/api/workflow/{workflow_id}/status", self._get_workflow_summary),
            Route("POST", "/api/metadata/taskdefs", self._register_task_defs),
            Route("PUT", "/api/metadata/taskdefs", self._update_task_def),
            Route("GET", "/api/metadata/taskdefs", self._list_task_defs),
            Route("GET", "/api/metadata/taskdefs/{name}", self._get_task_def),
            Route("POST", "/api/metadata/workflow", self._register_workflow_def),
            Route("PUT", "/api/metadata/workflow", self._update_workflow_defs),
            Route("GET", "/api/metadata/workflow/{name}", self._get_workflow_def),
        ]

    # -- workflows -------------------------------------------------------------------

    async def _start_workflow(self, request: Request, params: dict[str, str]) -> Response:
        data = json_body(request) if request.body.strip() else {}
        if not isinstance(data, dict):
            raise HTTPError(400, "the workflow input must be a JSON object")
        name = params["name"]
        task_type, settings = self._definition_of(name)
        submission = Submission(
            workflow_name=name,
            task_type=task_type,
            input=data,
            correlation_id=request.query_value("correlationId"),
            priority=int_query(request, "priority", 0, 0, 99),
            settings=self._settings_from_query(request, task_type, settings),
        )
        return Response.text(await self._engine.start_workflow(submission))

    async def _start_workflow_request(self, request: Request, params: dict[str, str]) -> Response:
        start = decode(request, StartWorkflowRequest)
        if start.workflow_def is not None:
            task_type, settings = one_task_definition(start.workflow_def, "workflowDef")
        else:
            task_type, settings = self._definition_of(start.name)
        domains = start.task_to_domain or {}
        submission = Submission(
            workflow_name=start.name,
            task_type=task_type,
            input=start.input,
            correlation_id=start.correlation_id,
            priority=start.priority or 0,
            domain=domains.get(task_type, domains.get("*", "")),
            settings=settings,
        )
        return Response.text(await self._engine.start_workflow(submission))

    def _definition_of(self, name: str) -> tuple[str, TaskSettings | None]:
        """A registered workflow's task type and settings; else the name is the task type."""
        definition = self._definitions.workflow_def(name)
        if definition is None:
            return name, None
        return one_task_definition(definition, f"workflow definition {name!r}")

    def _settings_from_query(
        self, request: Request, task_type: str, base: TaskSettings | None
    ) -> TaskSettings | None:
        """Per-submission overrides (our extension): the TaskDef fields as query parameters."""
        names = ("responseTimeoutSeconds", "retryCount", "retryDelaySeconds")
        if not any(request.query_value(name) is not None for name in names):
            return base
        defaults = base or self._definitions.settings_for(task_type)
        return TaskSettings(
            response_timeout_s=int_query(
                request, "responseTimeoutSeconds", defaults.response_timeout_s, 1, 86_400 * 365
            ),
            max_attempts=int_query(request, "retryCount", defaults.max_attempts - 1, 0, 1000) + 1,
            retry_delay_s=int_query(
                request, "retryDelaySeconds", defaults.retry_delay_s, 0, 86_400
            ),
        )

    async def _get_workflow(self, request: Request, params: dict[str, str]) -> Response:
        include = (request.query_value("includeTasks") or "true").lower() != "false"
        workflow = self._engine.workflow(params["workflow_id"], include_tasks=include)
        if workflow is None:
            raise _no_workflow(params["workflow_id"])
        return Response.json(to_json_obj(workflow))

    async def _get_workflow_summary(self, request: Request, params: dict[str, str]) -> Response:
        """Conductor's WorkflowStatus: status and correlation id, and with
        ``includeOutput=true`` the output; never the input."""
        summary = self._engine.workflow_summary(
            params["workflow_id"], include_output=bool_query(request, "includeOutput", False)
        )
        if summary is None:
            raise _no_workflow(params["workflow_id"])
        variables = bool_query(request, "includeVariables", False)
        return Response.json(workflow_status_json(summary, variables=variables))

    # -- definitions -------------------------------------------------------------------

    async def _register_task_defs(self, request: Request, params: dict[str, str]) -> Response:
        await self._definitions.register_task_defs(decode(request, list[TaskDef]))
        return Response()

    async def _update_task_def(self, request: Request, params: dict[str, str]) -> Response:
        await self._definitions.register_task_defs([decode(request, TaskDef)])
        return Response()

    async def _register_workflow_def(self, request: Request, params: dict[str, str]) -> Response:
        await self._register_workflow_defs([json_object(request)])
        return Response()

    async def _update_workflow_defs(self, request: Request, params: dict[str, str]) -> Response:
        definitions = json_body(request)
        if not isinstance(definitions, list) or not all(isinstance(d, dict) for d in definitions):
            raise HTTPError(400, "the body must be a JSON list of workflow definitions")
        await self._register_workflow_defs(definitions)
        return Response()

    async def _register_workflow_defs(self, definitions: list[dict[str, Any]]) -> None:
        for index, definition in enumerate(definitions):
            name = definition.get("name")
            if not isinstance(name, str) or not name:
                raise HTTPError(400, f"workflow definition {index}: a name is required")
            one_task_definition(definition, f"workflow definition {name!r}")
        for definition in definitions:
            await self._definitions.register_workflow_def(definition["name"], definition)

    async def _get_workflow_def(self, request: Request, params: dict[str, str]) -> Response:
        found = self._definitions.workflow_def(params["name"])
        if found is None:
            raise HTTPError(404, f"no workflow definition named {params['name']!r}")
        return Response.json(found)

    async def _list_task_defs(self, request: Request, params: dict[str, str]) -> Response:
        return Response.json(to_json_obj(self._definitions.task_defs()))

    async def _get_task_def(self, request: Request, params: dict[str, str]) -> Response:
        found = self._definitions.task_def(params["name"])
        if found is None:
            raise HTTPError(404, f"no task definition named {params['name']!r}")
        return Response.json(to_json_obj(found))


def _no_workflow(workflow_id: str) -> HTTPError:
    return HTTPError(404, f"no workflow found with id {workflow_id!r}")

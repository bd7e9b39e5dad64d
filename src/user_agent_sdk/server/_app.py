"""The server's HTTP face: Conductor's OSS paths, akaBot's paths, and both token styles.

Each route is a method of :class:`ServerApp` listed once in its routing table; request
bodies are decoded at this edge (malformed JSON -> 400 naming the problem, a wrong
field -> 400 naming the field) so the engine only ever sees valid models.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qs, unquote

import attrs
import cattrs

from ..conductor import (
    StartWorkflowRequest,
    TaskDef,
    TaskResult,
    camel_case,
    from_json_obj,
    to_json_obj,
)
from ..config._urls import OAUTH_TOKEN_PATH
from ..transport import HTTPError, Request, Response
from ._auth import TokenIssuer
from ._engine import (
    DuplicateResult,
    Submission,
    TaskEngine,
    TaskNotFound,
    TaskSettings,
    task_json,
)
from ._replays import LeaseReplays, Render
from ._store import TaskRow

if TYPE_CHECKING:
    from prometheus_client.registry import CollectorRegistry

T = TypeVar("T")

MAX_BATCH = 1000
MAX_POLL_TIMEOUT_MS = 60_000

RouteHandler = Callable[[Request, dict[str, str]], Awaitable[Response]]


@attrs.frozen
class _Route:
    method: str
    template: str
    """The path as declared, ``{name}`` for each parameter: the ``route`` label of metrics."""
    pattern: re.Pattern[str]
    handler: RouteHandler
    public: bool


def _compile(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$")


class ServerApp:
    """Routes requests to the task engine; checks tokens when auth is required."""

    def __init__(
        self,
        engine: TaskEngine,
        issuer: TokenIssuer,
        *,
        auth_required: bool,
        max_batch: int = MAX_BATCH,
        metrics: bool = False,
    ) -> None:
        """``max_batch``: the most tasks one poll may lease, and the most results (and
        tasks leased) of one update-batch; a request asking for more is refused (400).
        ``metrics``: serve ``GET /metrics`` (Prometheus; no token needed)."""
        self._engine = engine
        self._measures = engine.measures
        self._registry: CollectorRegistry | None = None
        self._max_batch = max_batch
        self._issuer = issuer
        self._auth_required = auth_required
        self._replays = LeaseReplays(engine)
        table: list[tuple[str, str, RouteHandler, bool]] = [
            ("GET", "/health", self._health, True),
            ("POST", "/api/token", self._orkes_token, True),
            ("POST", OAUTH_TOKEN_PATH, self._oauth_token, True),
            ("GET", "/api/tasks/poll/batch/{task_type}", self._batch_poll, False),
            ("GET", "/api/tasks/poll/{task_type}", self._poll_one, False),
            ("GET", "/api/tasks/external/poll/{task_type}", self._poll_one, False),
            ("POST", "/api/tasks", self._update, False),
            ("POST", "/api/tasks/external", self._update, False),
            ("POST", "/api/tasks/update-v2", self._update_and_poll, False),
            ("POST", "/api/tasks/update-batch/{task_type}", self._update_batch, False),
            ("GET", "/api/tasks/queue/size", self._queue_size, False),
            ("GET", "/api/tasks/queue/sizes", self._queue_sizes, False),
            ("POST", "/api/tasks/{task_id}/log", self._add_log, False),
            ("GET", "/api/tasks/{task_id}/log", self._logs, False),
            ("GET", "/api/tasks/{task_id}", self._get_task, False),
            ("POST", "/api/workflow", self._start_workflow_request, False),
            ("POST", "/api/workflow/{name}", self._start_workflow, False),
            ("GET", "/api/workflow/{workflow_id}", self._get_workflow, False),
            ("GET", "/api/workflow/{workflow_id}/status", self._get_workflow_summary, False),
            ("POST", "/api/metadata/taskdefs", self._register_task_defs, False),
            ("PUT", "/api/metadata/taskdefs", self._update_task_def, False),
            ("GET", "/api/metadata/taskdefs", self._list_task_defs, False),
            ("GET", "/api/metadata/taskdefs/{name}", self._get_task_def, False),
            ("POST", "/api/metadata/workflow", self._register_workflow_def, False),
            ("PUT", "/api/metadata/workflow", self._update_workflow_defs, False),
            ("GET", "/api/metadata/workflow/{name}", self._get_workflow_def, False),
        ]
        if metrics:
            table.append(("GET", "/metrics", self._metrics, True))
        self._routes = [
            _Route(method, path, _compile(path), handler, public)
            for method, path, handler, public in table
        ]

    def may_wait(self, request: Request) -> bool:
        """True for requests that can be held open: batch polls with a timeout."""
        return (
            request.method == "GET"
            and request.path.startswith("/api/tasks/poll/batch/")
            and request.query_value("timeout") not in (None, "", "0")
        )

    async def __call__(self, request: Request) -> Response:
        allowed: list[str] = []
        for route in self._routes:
            match = route.pattern.match(request.path)
            if match is None:
                continue
            if route.method != request.method:
                allowed.append(route.method)
                continue
            return await self._answer(route, request, match)
        if allowed:
            raise HTTPError(405, f"{request.method} is not allowed on {request.path}")
        raise HTTPError(404, f"no such endpoint: {request.method} {request.path}")

    async def _answer(self, route: _Route, request: Request, match: re.Match[str]) -> Response:
        """``route``'s answer to ``request``, counted and timed by route and status."""
        started = time.perf_counter()
        status: int | None = None  # stays None when cancelled: the client hung up
        try:
            if self._auth_required and not route.public:
                self._check_token(request)
            params = {name: unquote(value) for name, value in match.groupdict().items()}
            response = await route.handler(request, params)
        except HTTPError as exc:
            status = exc.status
            raise
        except Exception:
            status = 500
            raise
        else:
            status = response.status
            return response
        finally:
            if status is not None:
                self._measures.requests[request.method, route.template, status] += 1
                self._measures.request_time[request.method, route.template].observe(
                    time.perf_counter() - started
                )

    async def _metrics(self, request: Request, params: dict[str, str]) -> Response:
        from ..metrics import metrics_response, server_registry  # only with --metrics

        if self._registry is None:
            self._registry = server_registry(self._engine)
        return await metrics_response(self._registry, request)

    def _check_token(self, request: Request) -> None:
        token = self._issuer.token_from(request.headers)
        # The error codes are Orkes': its clients refresh their token on exactly these.
        if token is None:
            raise HTTPError(
                401,
                "missing token: send X-Authorization: <token> or Authorization: Bearer <token>",
                code="INVALID_TOKEN",
            )
        if not self._issuer.is_valid(token):
            raise HTTPError(401, "the token is unknown or has expired", code="EXPIRED_TOKEN")

    # -- auth ----------------------------------------------------------------------

    async def _health(self, request: Request, params: dict[str, str]) -> Response:
        return Response.json({"healthy": True})

    async def _orkes_token(self, request: Request, params: dict[str, str]) -> Response:
        body = _json_object(request)
        key_id, key_secret = body.get("keyId"), body.get("keySecret")
        if not isinstance(key_id, str) or not isinstance(key_secret, str):
            raise HTTPError(400, 'the body must be {"keyId": ..., "keySecret": ...}')
        issued = self._issuer.issue(key_id, key_secret)
        if issued is None:
            raise HTTPError(401, "invalid keyId or keySecret")
        return Response.json({"token": issued.token})

    async def _oauth_token(self, request: Request, params: dict[str, str]) -> Response:
        form = {
            key: values[-1]
            for key, values in parse_qs(request.body.decode("utf-8", "replace")).items()
        }
        if form.get("grant_type") != "client_credentials":
            return _oauth_error(
                400, "unsupported_grant_type", "grant_type must be client_credentials"
            )
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if client_id is None or client_secret is None:
            return _oauth_error(401, "invalid_client", "client_id and client_secret are required")
        issued = self._issuer.issue(client_id, client_secret)
        if issued is None:
            return _oauth_error(401, "invalid_client", "invalid client credentials")
        return Response.json(
            {
                "access_token": issued.token,
                "expires_in": issued.expires_in,
                "token_type": "Bearer",
                "scope": "",
            }
        )

    # -- tasks ---------------------------------------------------------------------

    async def _batch_poll(self, request: Request, params: dict[str, str]) -> Response:
        count = _int_query(request, "count", 1, 1, self._max_batch)
        timeout_ms = _int_query(request, "timeout", 100, 0, MAX_POLL_TIMEOUT_MS)

        async def lease() -> tuple[list[TaskRow], Render]:
            tasks = await self._engine.poll(
                params["task_type"],
                worker_id=request.query_value("workerid"),
                domain=request.query_value("domain") or "",
                count=count,
                timeout_ms=timeout_ms,
            )
            return tasks, _task_list

        return await self._replays.answer(_replay_key(request), lease)

    async def _poll_one(self, request: Request, params: dict[str, str]) -> Response:
        async def lease() -> tuple[list[TaskRow], Render]:
            tasks = await self._engine.poll(
                params["task_type"],
                worker_id=request.query_value("workerid"),
                domain=request.query_value("domain") or "",
            )
            return tasks, _one_task

        return await self._replays.answer(_replay_key(request), lease)

    async def _update(self, request: Request, params: dict[str, str]) -> Response:
        result = _decode(request, TaskResult)
        await self._apply(result)
        return Response.text(result.task_id)

    async def _update_and_poll(self, request: Request, params: dict[str, str]) -> Response:
        result = _decode(request, TaskResult)

        async def lease() -> tuple[list[TaskRow], Render]:
            try:
                task = await self._engine.update_and_poll(result)
            except TaskNotFound:
                raise HTTPError(404, f"no task found with id {result.task_id!r}") from None
            return ([] if task is None else [task]), _one_task

        return await self._replays.answer(_replay_key(request), lease)

    async def _update_batch(self, request: Request, params: dict[str, str]) -> Response:
        """Our extension: many results, and the next tasks of one queue, in one request.

        The body is a JSON list of TaskResults; the query is a batch poll's (``workerid``,
        ``count``, ``domain``; ``count=0`` leases nothing). The answer is
        ``{"tasks": [...], "unknownTaskIds": [...]}``: the tasks leased, and the results
        that changed nothing because no task has their id.
        """
        results = _decode(request, list[TaskResult])
        if len(results) > self._max_batch:
            raise HTTPError(400, f"at most {self._max_batch} results per batch, got {len(results)}")
        count = _int_query(request, "count", 0, 0, self._max_batch)

        async def lease() -> tuple[list[TaskRow], Render]:
            try:
                unknown, tasks = await self._engine.update_batch(
                    results,
                    (params["task_type"], request.query_value("domain") or ""),
                    count=count,
                    worker_id=request.query_value("workerid"),
                )
            except DuplicateResult as exc:
                raise HTTPError(400, str(exc)) from None

            def render(handed_out: list[TaskRow]) -> Response:
                tasks_json = [task_json(task) for task in handed_out]
                return Response.json({"tasks": tasks_json, "unknownTaskIds": unknown})

            return tasks, render

        return await self._replays.answer(_replay_key(request), lease)

    async def _apply(self, result: TaskResult) -> Any:
        try:
            return await self._engine.update(result)
        except TaskNotFound:
            raise HTTPError(404, f"no task found with id {result.task_id!r}") from None

    async def _queue_size(self, request: Request, params: dict[str, str]) -> Response:
        task_type = request.query_value("taskType")
        if not task_type:
            raise HTTPError(400, "query parameter taskType is required")
        return Response.json(self._engine.queue_size(task_type))

    async def _queue_sizes(self, request: Request, params: dict[str, str]) -> Response:
        types = request.query.get("taskType", [])
        return Response.json({name: self._engine.queue_size(name) for name in types})

    async def _add_log(self, request: Request, params: dict[str, str]) -> Response:
        text = request.body.decode("utf-8", "replace")
        try:
            decoded = json.loads(text)
        except ValueError:
            decoded = None
        if isinstance(decoded, str):  # clients send the line as a JSON string
            text = decoded
        try:
            await self._engine.add_log(params["task_id"], text)
        except TaskNotFound:
            raise HTTPError(404, f"no task found with id {params['task_id']!r}") from None
        return Response()

    async def _logs(self, request: Request, params: dict[str, str]) -> Response:
        return Response.json(to_json_obj(self._engine.logs(params["task_id"])))

    async def _get_task(self, request: Request, params: dict[str, str]) -> Response:
        task = self._engine.task(params["task_id"])
        return Response.no_content() if task is None else Response.json(to_json_obj(task))

    # -- workflows -------------------------------------------------------------------

    async def _start_workflow(self, request: Request, params: dict[str, str]) -> Response:
        data = _json_body(request) if request.body.strip() else {}
        if not isinstance(data, dict):
            raise HTTPError(400, "the workflow input must be a JSON object")
        name = params["name"]
        task_type, settings = self._definition_of(name)
        submission = Submission(
            workflow_name=name,
            task_type=task_type,
            input=data,
            correlation_id=request.query_value("correlationId"),
            priority=_int_query(request, "priority", 0, 0, 99),
            settings=self._settings_from_query(request, task_type, settings),
        )
        return Response.text(await self._engine.start_workflow(submission))

    async def _start_workflow_request(self, request: Request, params: dict[str, str]) -> Response:
        start = _decode(request, StartWorkflowRequest)
        if start.workflow_def is not None:
            task_type, settings = _one_task_definition(start.workflow_def, "workflowDef")
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
        definition = self._engine.workflow_def(name)
        if definition is None:
            return name, None
        return _one_task_definition(definition, f"workflow definition {name!r}")

    def _settings_from_query(
        self, request: Request, task_type: str, base: TaskSettings | None
    ) -> TaskSettings | None:
        """Per-submission overrides (our extension): the TaskDef fields as query parameters."""
        names = ("responseTimeoutSeconds", "retryCount", "retryDelaySeconds")
        if not any(request.query_value(name) is not None for name in names):
            return base
        defaults = base or self._engine.settings_for(task_type)
        return TaskSettings(
            response_timeout_s=_int_query(
                request, "responseTimeoutSeconds", defaults.response_timeout_s, 1, 86_400 * 365
            ),
            max_attempts=_int_query(request, "retryCount", defaults.max_attempts - 1, 0, 1000) + 1,
            retry_delay_s=_int_query(
                request, "retryDelaySeconds", defaults.retry_delay_s, 0, 86_400
            ),
        )

    async def _get_workflow(self, request: Request, params: dict[str, str]) -> Response:
        include = (request.query_value("includeTasks") or "true").lower() != "false"
        workflow = self._engine.workflow(params["workflow_id"], include_tasks=include)
        if workflow is None:
            raise HTTPError(404, f"no workflow found with id {params['workflow_id']!r}")
        return Response.json(to_json_obj(workflow))

    async def _get_workflow_summary(self, request: Request, params: dict[str, str]) -> Response:
        """Conductor's WorkflowStatus: status and correlation id, and with
        ``includeOutput=true`` the output; never the input."""
        summary = self._engine.workflow_summary(
            params["workflow_id"], include_output=_bool_query(request, "includeOutput", False)
        )
        if summary is None:
            raise HTTPError(404, f"no workflow found with id {params['workflow_id']!r}")
        body: dict[str, Any] = {"workflowId": summary.id, "status": summary.status.value}
        if summary.correlation_id is not None:
            body["correlationId"] = summary.correlation_id
        if summary.output is not None:
            body["output"] = summary.output
        if _bool_query(request, "includeVariables", False):
            body["variables"] = {}  # one-task workflows have none
        return Response.json(body)

    # -- task definitions --------------------------------------------------------------

    async def _register_task_defs(self, request: Request, params: dict[str, str]) -> Response:
        definitions = _decode(request, list[TaskDef])
        await self._engine.register_task_defs(definitions)
        return Response()

    async def _update_task_def(self, request: Request, params: dict[str, str]) -> Response:
        await self._engine.register_task_defs([_decode(request, TaskDef)])
        return Response()

    async def _register_workflow_def(self, request: Request, params: dict[str, str]) -> Response:
        await self._register_workflow_defs([_json_object(request)])
        return Response()

    async def _update_workflow_defs(self, request: Request, params: dict[str, str]) -> Response:
        definitions = _json_body(request)
        if not isinstance(definitions, list) or not all(isinstance(d, dict) for d in definitions):
            raise HTTPError(400, "the body must be a JSON list of workflow definitions")
        await self._register_workflow_defs(definitions)
        return Response()

    async def _register_workflow_defs(self, definitions: list[dict[str, Any]]) -> None:
        for index, definition in enumerate(definitions):
            name = definition.get("name")
            if not isinstance(name, str) or not name:
                raise HTTPError(400, f"workflow definition {index}: a name is required")
            _one_task_definition(definition, f"workflow definition {name!r}")
        for definition in definitions:
            await self._engine.register_workflow_def(definition["name"], definition)

    async def _get_workflow_def(self, request: Request, params: dict[str, str]) -> Response:
        found = self._engine.workflow_def(params["name"])
        if found is None:
            raise HTTPError(404, f"no workflow definition named {params['name']!r}")
        return Response.json(found)

    async def _list_task_defs(self, request: Request, params: dict[str, str]) -> Response:
        return Response.json(to_json_obj(self._engine.task_defs()))

    async def _get_task_def(self, request: Request, params: dict[str, str]) -> Response:
        found = self._engine.task_def(params["name"])
        if found is None:
            raise HTTPError(404, f"no task definition named {params['name']!r}")
        return Response.json(to_json_obj(found))


# -- answers that hand out tasks ------------------------------------------------------


def _task_list(tasks: list[TaskRow]) -> Response:
    """A batch poll's answer: the tasks, or 204 for none."""
    return Response.json([task_json(task) for task in tasks]) if tasks else Response.no_content()


def _one_task(tasks: list[TaskRow]) -> Response:
    """A single poll's (and update-v2's) answer: the task, or 204 for none."""
    return Response.json(task_json(tasks[0])) if tasks else Response.no_content()


MAX_KEY_CHARS = 200


def _replay_key(request: Request) -> tuple[str, str] | None:
    """What names a leasing request for its retries: its ``Idempotency-Key`` and path."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not key or len(key) > MAX_KEY_CHARS:
        raise HTTPError(400, f"Idempotency-Key must be 1 to {MAX_KEY_CHARS} characters")
    return key, request.path


# -- decoding at the edge --------------------------------------------------------------


def _json_body(request: Request) -> Any:
    try:
        return json.loads(request.body)
    except ValueError as exc:
        raise HTTPError(400, f"malformed JSON in the request body: {exc}") from None


def _json_object(request: Request) -> dict[str, Any]:
    data = _json_body(request)
    if not isinstance(data, dict):
        raise HTTPError(400, "the request body must be a JSON object")
    return data


def _decode(request: Request, cls: type[T]) -> T:
    data = _json_body(request)
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


def _int_query(request: Request, name: str, default: int, low: int, high: int) -> int:
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


def _bool_query(request: Request, name: str, default: bool) -> bool:
    raw = request.query_value(name)
    if raw is None or raw == "":
        return default
    if raw.lower() not in ("true", "false"):
        raise HTTPError(400, f"query parameter {name} must be true or false, got {raw!r}")
    return raw.lower() == "true"


def _one_task_definition(definition: dict[str, Any], where: str) -> tuple[str, TaskSettings | None]:
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


def _oauth_error(status: int, error: str, description: str) -> Response:
    return Response.json({"error": error, "error_description": description}, status=status)

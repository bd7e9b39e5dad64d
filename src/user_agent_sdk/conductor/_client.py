"""The worker's side of the task API: poll, update, and keep a token fresh.

One :class:`ConductorClient` per server, one sender behind it. The two kinds of server
differ only in data: a :class:`~._flavours.Flavour` names the paths and the polling style
(:mod:`._flavours`), a credentials object (:mod:`._tokens`) says how a token is obtained
and sent.

Requests that lease tasks (polls, ``update-v2``, ``update-batch`` with a count) carry an
``Idempotency-Key`` (:mod:`._idempotency`): when one gets no answer, the same request
sent again carries the same key, so a server that honours it (the embedded one does)
answers with the tasks the lost answer leased instead of leasing more. Other servers
ignore the header.

Every request, token requests included, goes through one
:class:`~user_agent_sdk.transport.Sender`: by default a
:class:`~user_agent_sdk.transport.PoolSender`, this package's own keep-alive pools.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar
from urllib.parse import quote, urlencode, urlsplit

import attrs
import cattrs
import trio

from ..models import Task, TaskResult, Workflow, WorkflowStatus, encode_result, from_json_obj
from ..transport import PoolSender, Sender
from ._capability import DeliveryCapability, ResultRoute
from ._errors import ConductorError, ServerUnavailable
from ._flavours import Flavour
from ._idempotency import IdempotencyKeys
from ._reply import Reply
from ._requests import request
from ._tokens import Credentials, Tokens

_UPDATE_TIMEOUT_S = 30.0
_POLL_GRACE_S = 10.0
"""How long past its long-poll timeout a poll may take before it counts as a failure."""
_USER_AGENT = "user-agent-sdk"
T = TypeVar("T")


@attrs.frozen
class BatchAnswer:
    """What :meth:`ConductorClient.update_batch` got back."""

    tasks: list[Task]
    """Tasks leased to the worker, oldest first."""
    unknown_task_ids: list[str]
    """Results that changed nothing: the server knows no task with their id."""


class ConductorClient:
    """Poll and update tasks, and start and watch workflows, on one server, through one
    sender.

    Use it as an async context manager (it closes the sender on exit). Every method raises
    :class:`ServerUnavailable`, :class:`AuthenticationError` or :class:`RequestRejected`,
    never a bare network error.
    """

    def __init__(
        self,
        api_url: str,
        flavour: Flavour,
        credentials: Credentials | None = None,
        *,
        max_connections: int = 100,
        sender: Sender | None = None,
        ca_bundle: str | None = None,
    ) -> None:
        """``sender`` carries every request, and is closed with the client; by default a
        :class:`~user_agent_sdk.transport.PoolSender` of ``max_connections`` connections
        trusting the CAs of ``ca_bundle`` (a PEM file; None: ``$SSL_CERT_FILE`` /
        ``$SSL_CERT_DIR`` when set, else certifi's) for the server, the token endpoint
        and proxies alike."""
        self.api_url = api_url.rstrip("/")
        self.flavour = flavour
        parts = urlsplit(self.api_url)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._base_path = parts.path
        self._sender = (
            sender
            if sender is not None
            else PoolSender(max_connections=max_connections, ca_bundle=ca_bundle)
        )
        self._tokens = (
            None if credentials is None else Tokens(credentials, self._sender, self.api_url)
        )
        self.delivery = DeliveryCapability(
            self.api_url,
            update_v2=flavour.update_and_poll_path is not None,
            update_batch=flavour.update_batch_path is not None,
        )
        """The best way of posting results this server is still believed to offer; shared
        by everything that uses this client."""
        self.task_bytes = 0.0
        """About how many bytes one leased task takes in an answer (a moving average; 0
        until a task has been leased): how many tasks one answer may carry safely."""
        self._keys = IdempotencyKeys()
        """Keys of leasing requests that got no answer, by (method, target, body hash)."""
        self._status_summaries = True
        """False once the server turned out to have no ``GET /workflow/{id}/status``."""

    async def __aenter__(self) -> ConductorClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._sender.aclose()

    @property
    def tokens_fetched(self) -> int:
        """Tokens fetched so far: the first one and every renewal (0 without credentials)."""
        return 0 if self._tokens is None else self._tokens.fetched

    @property
    def token_fetch_errors(self) -> int:
        """Token requests that failed so far."""
        return 0 if self._tokens is None else self._tokens.fetch_errors

    async def authenticate(self) -> None:
        """Fetch a token now, so that wrong credentials show before the first poll."""
        if self._tokens is not None:
            await self._tokens.header()

    async def poll(
        self,
        task_type: str,
        *,
        count: int,
        worker_id: str,
        domain: str | None = None,
        timeout_ms: int = 0,
    ) -> list[Task]:
        """Lease up to ``count`` tasks of ``task_type``.

        Batch flavour: one request that the server may hold up to ``timeout_ms`` while the
        queue is empty. Single-poll flavour: ``count`` requests in flight at once; tasks
        that arrived are returned even when some of the requests failed.
        """
        path = self.flavour.poll_path.format(task_type=quote(task_type, safe=""))
        params: dict[str, str | int] = {"workerid": worker_id}
        if domain:
            params["domain"] = domain
        if self.flavour.batch_poll:
            params |= {"count": count, "timeout": timeout_ms}
            reply = await self._get(path, params, timeout_ms / 1000 + _POLL_GRACE_S)
            items = [] if reply.status == 204 or not reply.body else reply.json()
            self._measure(len(reply.body), len(items))
            return [_task(item) for item in items]
        if count == 1:
            data = await self._get_json(path, params, _POLL_GRACE_S)
            return [] if data is None else [_task(data)]
        return await self._poll_many(path, params, count)

    async def _poll_many(self, path: str, params: dict[str, str | int], count: int) -> list[Task]:
        tasks: list[Task] = []
        errors: list[ConductorError] = []

        async def poll_one() -> None:
            try:
                data = await self._get_json(path, params, _POLL_GRACE_S)
            except ConductorError as exc:
                errors.append(exc)
                return
            if data is not None:
                tasks.append(_task(data))

        async with trio.open_nursery() as nursery:
            for _ in range(count):
                nursery.start_soon(poll_one)
        if errors and not tasks:
            raise errors[0]
        return tasks

    async def update(self, result: TaskResult) -> None:
        """Post a task result."""
        await self.update_json(encode_result(result))

    async def update_json(self, body: bytes) -> None:
        """Post a task result already encoded by :func:`encode_result`."""
        reply = await self._call("POST", self.flavour.update_path, None, body, _UPDATE_TIMEOUT_S)
        reply.raise_for_status()

    @property
    def updates_lease_next(self) -> bool:
        """Whether :meth:`update_and_poll` may lease a task (False: it only updates)."""
        return self.delivery.offers(ResultRoute.UPDATE_V2)

    async def update_and_poll(self, body: bytes) -> Task | None:
        """Post a result (encoded by :func:`encode_result`) and lease the next task.

        One request where the server offers Conductor's ``update-v2``: the answer is the
        next task of the same type leased to the same worker, or None when the queue is
        empty. Elsewhere, and on a server that turns out not to have that endpoint (it
        answers 405, or 404 to a result that a plain update then accepts), it is a plain
        update that returns None, and later calls no longer try (:attr:`delivery`).
        """
        path = self.flavour.update_and_poll_path
        if path is None or not self.delivery.offers(ResultRoute.UPDATE_V2):
            await self.update_json(body)
            return None
        reply = await self._call("POST", path, None, body, _UPDATE_TIMEOUT_S, leases=True)
        if reply.status in (404, 405):
            await self.update_json(body)  # raises if the result itself is refused
            self.delivery.lacks(ResultRoute.UPDATE_V2, reply.status)
            return None
        reply.raise_for_status()
        if reply.status == 204 or not reply.body:
            return None
        return _task(reply.json())

    @property
    def updates_in_batches(self) -> bool:
        """Whether :meth:`update_batch` may be tried (False once the server lacked it)."""
        return self.delivery.offers(ResultRoute.UPDATE_BATCH)

    async def update_batch(
        self,
        task_type: str,
        bodies: list[bytes],
        *,
        count: int,
        worker_id: str,
        domain: str | None = None,
    ) -> BatchAnswer | None:
        """Post many results (each encoded by :func:`encode_result`), lease up to ``count``.

        One request to the embedded server's ``update-batch`` extension, applied in one
        transaction: every result, then a lease of up to ``count`` tasks of ``task_type``
        (0: none). None when the server has no such endpoint (it answered 404 or 405):
        nothing was applied, and later calls return None at once. Raises like the other
        methods, in which case the results may or may not have been applied (posting
        them again is harmless: a result for an attempt that has ended changes nothing).
        """
        template = self.flavour.update_batch_path
        if template is None or not self.delivery.offers(ResultRoute.UPDATE_BATCH):
            return None
        path = template.format(task_type=quote(task_type, safe=""))
        params: dict[str, str | int] = {"workerid": worker_id, "count": count}
        if domain:
            params["domain"] = domain
        body = b"[" + b",".join(bodies) + b"]"
        reply = await self._call("POST", path, params, body, _UPDATE_TIMEOUT_S, leases=count > 0)
        if reply.status in (404, 405):
            self.delivery.lacks(ResultRoute.UPDATE_BATCH, reply.status)
            return None
        reply.raise_for_status()
        data = reply.json()
        self._measure(
            len(reply.body), len(data.get("tasks") or ()) if isinstance(data, dict) else 0
        )
        try:
            items, unknown = (
                list(data["tasks"]),
                [str(task_id) for task_id in data["unknownTaskIds"]],
            )
        except (KeyError, TypeError):
            raise ConductorError(
                f"POST {path}: the answer is not {{tasks, unknownTaskIds}}: {reply.body[:200]!r}"
            ) from None
        tasks: list[Task] = []
        for start in range(0, len(items), _DECODE_CHUNK):
            if start:
                # A long answer read in one go would hold up every timer due meanwhile
                # (handlers' sleeps) for milliseconds.
                await trio.lowlevel.checkpoint()
            tasks.extend(_task(item) for item in items[start : start + _DECODE_CHUNK])
        return BatchAnswer(tasks, unknown)

    async def start_workflow(
        self, name: str, input_json: bytes, *, task_settings: Mapping[str, int] | None = None
    ) -> str:
        """Start a workflow named ``name``; returns its id.

        ``input_json`` is its input, a JSON object already encoded. ``task_settings`` go
        as query parameters (``responseTimeoutSeconds``, ``retryCount``): the embedded
        server applies them to this workflow's tasks, other servers ignore them.
        """
        path = f"/workflow/{quote(name, safe='')}"
        params: dict[str, str | int] = dict(task_settings or {})
        reply = await self._call("POST", path, params, input_json, _UPDATE_TIMEOUT_S)
        reply.raise_for_status()
        return reply.body.decode(errors="replace").strip().strip('"')

    async def workflow(self, workflow_id: str, *, include_tasks: bool = True) -> Workflow:
        """A workflow execution: its status, input, output and (optionally) its tasks."""
        path = f"/workflow/{quote(workflow_id, safe='')}"
        params: dict[str, str | int] = {"includeTasks": str(include_tasks).lower()}
        reply = await self._call("GET", path, params, b"", _UPDATE_TIMEOUT_S)
        reply.raise_for_status()
        return _read(reply.json(), Workflow, "a workflow")

    async def workflow_status(self, workflow_id: str) -> WorkflowStatus:
        """Where a workflow stands, asked without fetching its input and output.

        Conductor's summary (``GET /workflow/{id}/status``) leaves both out; a server
        without it (it answers 404 or 405 where the whole workflow is found) is asked for
        the whole workflow instead, from then on.
        """
        if self._status_summaries:
            path = f"/workflow/{quote(workflow_id, safe='')}/status"
            reply = await self._call("GET", path, None, b"", _UPDATE_TIMEOUT_S)
            if reply.status not in (404, 405):
                reply.raise_for_status()
                answer = reply.json()
                status = answer.get("status") if isinstance(answer, dict) else None
                try:
                    return WorkflowStatus(status)
                except ValueError:
                    raise ConductorError(
                        f"GET {reply.url}: the answer names no workflow status: "
                        f"{reply.body[:200]!r}"
                    ) from None
            workflow = await self.workflow(workflow_id, include_tasks=False)  # unknown: raises
            self._status_summaries = False
            return workflow.status
        return (await self.workflow(workflow_id, include_tasks=False)).status

    async def _get_json(self, path: str, params: dict[str, str | int], timeout_s: float) -> Any:
        """A poll's answer (every GET sent through here leases tasks)."""
        reply = await self._get(path, params, timeout_s)
        if reply.status == 204 or not reply.body:
            return None
        return reply.json()

    async def _get(self, path: str, params: dict[str, str | int], timeout_s: float) -> Reply:
        reply = await self._call("GET", path, params, b"", timeout_s, leases=True)
        reply.raise_for_status()
        return reply

    def _measure(self, size: int, tasks: int) -> None:
        if tasks:
            per_task = size / tasks
            if self.task_bytes:
                self.task_bytes += 0.2 * (per_task - self.task_bytes)
            else:
                self.task_bytes = per_task

    async def _call(
        self,
        method: str,
        path: str,
        params: dict[str, str | int] | None,
        body: bytes,
        timeout_s: float,
        *,
        leases: bool = False,
    ) -> Reply:
        target = self._base_path + path + (f"?{urlencode(params)}" if params else "")
        headers = [("Accept", "application/json"), ("User-Agent", _USER_AGENT)]
        if body:
            headers.append(("Content-Type", "application/json"))
        if not leases:
            return await self._send(method, target, headers, body, timeout_s)
        request = (method, target, hash(body))
        key = self._keys.key_for(request)
        try:
            return await self._send(
                method, target, [*headers, ("Idempotency-Key", key)], body, timeout_s
            )
        except ServerUnavailable:
            # No answer: whatever it leased is remembered under this key by the server.
            self._keys.unanswered(request, key)
            raise

    async def _send(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes,
        timeout_s: float,
    ) -> Reply:
        url = self._origin + target
        auth = None if self._tokens is None else await self._tokens.header()
        reply = await request(
            self._sender, method, url, [*headers, auth] if auth else headers, body, timeout_s
        )
        if reply.status == 401 and self._tokens is not None and self._tokens.needed:
            await self._tokens.renew(stale=self._tokens.current)
            auth = await self._tokens.header()
            reply = await request(
                self._sender, method, url, [*headers, auth] if auth else headers, body, timeout_s
            )
        return reply


_DECODE_CHUNK = 8
"""Tasks of an update-batch answer read between two checkpoints."""


def _task(data: Any) -> Task:
    return _read(data, Task, "a task")


def _read(data: Any, cls: type[T], what: str) -> T:
    try:
        return from_json_obj(data, cls)
    except (cattrs.BaseValidationError, TypeError, ValueError) as exc:
        raise ConductorError(f"the server answered {what} this client cannot read: {exc}") from None

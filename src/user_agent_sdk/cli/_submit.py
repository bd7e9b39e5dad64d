"""``useragent submit``: start workflows on a server and, with ``--wait``, print their outputs."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from urllib.parse import quote

import httpx
import trio
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from .._errors import UserAgentError
from ..conductor import Workflow, WorkflowStatus, from_json_obj
from . import _errors

JSON = {"content-type": "application/json"}
IN_FLIGHT = 32
"""Requests in flight at once while submitting or waiting."""


class SubmitError(UserAgentError):
    """A problem the user can fix; the message says which."""


def run(args: argparse.Namespace) -> int:
    if args.count < 1:
        print("useragent submit: --count must be at least 1", file=sys.stderr)
        return 2
    try:
        return trio.run(_submit, args, _read_input(args))
    except Exception as error:
        if (problem := _errors.find(error, SubmitError)) is not None:
            print(f"useragent submit: {problem}", file=sys.stderr)
            return 2
        if (failure := _errors.find(error, httpx.HTTPError)) is not None:
            print(f"useragent submit: {args.server}: {failure}", file=sys.stderr)
            return 1
        raise


def _read_input(args: argparse.Namespace) -> bytes:
    """The input as the request body: read and checked once, sent as often as asked."""
    text: str | bytes
    if args.input_file == "-":
        text, origin = sys.stdin.buffer.read(), "the input on standard input"
    elif args.input_file is not None:
        try:
            # Bytes, not text in the locale's encoding: JSON is UTF-8 (json.loads also
            # recognises UTF-16 and UTF-32 and a byte-order mark).
            text, origin = Path(args.input_file).read_bytes(), f"--input-file {args.input_file}"
        except OSError as exc:
            raise SubmitError(
                f"cannot read --input-file {args.input_file}: {exc.strerror}"
            ) from None
    elif args.input is not None:
        text, origin = args.input, "--input"
    else:
        return b"{}"
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise SubmitError(f"{origin} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise SubmitError(f"{origin} must be a JSON object, got {type(data).__name__}")
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def api_url(server: str) -> str:
    """``http://host:port`` or ``http://host:port/api`` -> ``http://host:port/api``."""
    server = server.rstrip("/")
    return server if server.endswith("/api") else f"{server}/api"


async def _submit(args: argparse.Namespace, payload: bytes) -> int:
    params: dict[str, int] = {}
    if args.response_timeout is not None:
        params["responseTimeoutSeconds"] = args.response_timeout
    if args.max_attempts is not None:
        params["retryCount"] = args.max_attempts - 1
    console = Console(stderr=True)
    async with httpx.AsyncClient(base_url=api_url(args.server), timeout=30) as client:
        await _authenticate(client)
        with _progress(console, enabled=args.count > 1) as progress:
            ids = await _start_all(client, args, payload, params, progress)
            if not args.wait:
                for workflow_id in ids:
                    print(workflow_id)
                return 0
            outcomes = await _wait_all(client, ids, args.timeout, progress)
    failed = 0
    for workflow_id in ids:
        workflow = outcomes.get(workflow_id)
        if workflow is None:
            failed += 1
            message = f"{workflow_id}: still running when --timeout ran out"
            console.print(Text(message, style="yellow"), soft_wrap=True)
        elif workflow.status is WorkflowStatus.COMPLETED:
            print(json.dumps(workflow.output, ensure_ascii=False), flush=True)
        else:
            failed += 1
            reason = workflow.reason_for_incompletion or "no reason given"
            # Text, not markup: a reason is the worker's text ("[/tmp/x]" is no closing
            # tag); soft_wrap keeps a long one on one line for whoever greps the output.
            message = f"{workflow_id}: {workflow.status.value}: {reason}"
            console.print(Text(message, style="red"), soft_wrap=True)
    return 1 if failed else 0


async def _authenticate(client: httpx.AsyncClient) -> None:
    key, secret = os.environ.get("CONDUCTOR_AUTH_KEY"), os.environ.get("CONDUCTOR_AUTH_SECRET")
    if not key or not secret:
        return
    response = await client.post("/token", json={"keyId": key, "keySecret": secret})
    if response.status_code != 200:
        raise SubmitError(
            f"the server refused CONDUCTOR_AUTH_KEY/CONDUCTOR_AUTH_SECRET "
            f"(HTTP {response.status_code})"
        )
    client.headers["X-Authorization"] = response.json()["token"]


async def _start_all(
    client: httpx.AsyncClient,
    args: argparse.Namespace,
    payload: bytes,
    params: dict[str, int],
    progress: Progress,
) -> list[str]:
    bar = progress.add_task("submitted", total=args.count)
    ids: list[str] = [""] * args.count
    limiter = trio.CapacityLimiter(IN_FLIGHT)
    path = f"/workflow/{quote(args.agent_id, safe='')}"

    async def start(index: int) -> None:
        async with limiter:
            response = await client.post(path, content=payload, params=params, headers=JSON)
        _raise_for_status(response)
        ids[index] = response.text.strip().strip('"')
        progress.advance(bar)

    async with trio.open_nursery() as nursery:
        for index in range(args.count):
            nursery.start_soon(start, index)
    return ids


async def _wait_all(
    client: httpx.AsyncClient, ids: list[str], give_up_after: float | None, progress: Progress
) -> dict[str, Workflow]:
    bar = progress.add_task("finished", total=len(ids))
    done: dict[str, Workflow] = {}
    limiter = trio.CapacityLimiter(IN_FLIGHT)
    statuses = _StatusReader(client)

    async def watch(workflow_id: str) -> None:
        delay = 0.02
        while True:
            async with limiter:
                status = await statuses.status(workflow_id)
            if status.is_terminal:
                async with limiter:
                    done[workflow_id] = await _workflow(client, workflow_id)
                progress.advance(bar)
                return
            await trio.sleep(delay)
            delay = min(delay * 1.5, 1.0)

    with trio.move_on_after(give_up_after if give_up_after is not None else float("inf")):
        async with trio.open_nursery() as nursery:
            for workflow_id in ids:
                nursery.start_soon(watch, workflow_id)
    return done


class _StatusReader:
    """Asks where a workflow stands without fetching its input and output each time.

    Conductor's summary (``GET /workflow/{id}/status``) leaves both out; a server
    without it is asked for the whole workflow instead, from its first 404 or 405 on.
    """

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client
        self._summary = True

    async def status(self, workflow_id: str) -> WorkflowStatus:
        if self._summary:
            response = await self._client.get(f"/workflow/{workflow_id}/status")
            if response.status_code not in (404, 405):
                _raise_for_status(response)
                return WorkflowStatus(response.json()["status"])
            workflow = await _workflow(self._client, workflow_id)  # an unknown id raises
            self._summary = False
            return workflow.status
        return (await _workflow(self._client, workflow_id)).status


async def _workflow(client: httpx.AsyncClient, workflow_id: str) -> Workflow:
    response = await client.get(f"/workflow/{workflow_id}", params={"includeTasks": "false"})
    _raise_for_status(response)
    return from_json_obj(response.json(), Workflow)


def _raise_for_status(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        message = response.json().get("message", response.text)
    except ValueError:
        message = response.text
    if response.status_code == 413:
        message += " (the server's limit on a request body: `useragent server --max-body-bytes`)"
    raise SubmitError(
        f"{response.request.method} {response.request.url}: HTTP {response.status_code}: {message}"
    )


def _progress(console: Console, *, enabled: bool) -> Progress:
    return Progress(
        TextColumn("{task.description:>9}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not enabled,
        transient=False,
    )

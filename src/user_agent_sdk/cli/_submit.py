"""``useragent submit``: start workflows on a server and, with ``--wait``, print their outputs."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import trio
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from .._errors import UserAgentError
from ..conductor import (
    CONDUCTOR,
    AuthenticationError,
    ConductorClient,
    ConductorError,
    OrkesKey,
    RequestRejected,
)
from ..config._urls import check_http_url
from ..models import Workflow, WorkflowStatus
from . import _errors

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
        if (failure := _errors.find(error, ConductorError)) is not None:
            print(f"useragent submit: {_explained(failure)}", file=sys.stderr)
            # 2: the request or the credentials need fixing; 1: the server could not answer.
            return 2 if isinstance(failure, RequestRejected | AuthenticationError) else 1
        raise


def _explained(failure: ConductorError) -> str:
    if isinstance(failure, RequestRejected) and failure.status == 413:
        limit = "the server's limit on a request body: `useragent server --max-body-bytes`"
        return f"{failure} ({limit})"
    return str(failure)


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
    try:
        server = check_http_url(server)
    except ValueError as exc:
        raise SubmitError(f"--server {exc}") from None
    return server if server.endswith("/api") else f"{server}/api"


def _credentials() -> OrkesKey | None:
    key, secret = os.environ.get("CONDUCTOR_AUTH_KEY"), os.environ.get("CONDUCTOR_AUTH_SECRET")
    return OrkesKey(key, secret) if key and secret else None


async def _submit(args: argparse.Namespace, payload: bytes) -> int:
    settings: dict[str, int] = {}
    if args.response_timeout is not None:
        settings["responseTimeoutSeconds"] = args.response_timeout
    if args.max_attempts is not None:
        settings["retryCount"] = args.max_attempts - 1
    console = Console(stderr=True)
    client = ConductorClient(
        api_url(args.server), CONDUCTOR, _credentials(), max_connections=IN_FLIGHT
    )
    async with client:
        await client.authenticate()
        with _progress(console, enabled=args.count > 1) as progress:
            ids = await _start_all(client, args, payload, settings, progress)
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


async def _start_all(
    client: ConductorClient,
    args: argparse.Namespace,
    payload: bytes,
    settings: dict[str, int],
    progress: Progress,
) -> list[str]:
    bar = progress.add_task("submitted", total=args.count)
    ids: list[str] = [""] * args.count
    limiter = trio.CapacityLimiter(IN_FLIGHT)

    async def start(index: int) -> None:
        async with limiter:
            ids[index] = await client.start_workflow(args.agent_id, payload, task_settings=settings)
        progress.advance(bar)

    async with trio.open_nursery() as nursery:
        for index in range(args.count):
            nursery.start_soon(start, index)
    return ids


async def _wait_all(
    client: ConductorClient, ids: list[str], give_up_after: float | None, progress: Progress
) -> dict[str, Workflow]:
    bar = progress.add_task("finished", total=len(ids))
    done: dict[str, Workflow] = {}
    limiter = trio.CapacityLimiter(IN_FLIGHT)

    async def watch(workflow_id: str) -> None:
        delay = 0.02
        while True:
            async with limiter:
                status = await client.workflow_status(workflow_id)
            if status.is_terminal:
                async with limiter:
                    done[workflow_id] = await client.workflow(workflow_id, include_tasks=False)
                progress.advance(bar)
                return
            await trio.sleep(delay)
            delay = min(delay * 1.5, 1.0)

    with trio.move_on_after(give_up_after if give_up_after is not None else float("inf")):
        async with trio.open_nursery() as nursery:
            for workflow_id in ids:
                nursery.start_soon(watch, workflow_id)
    return done


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

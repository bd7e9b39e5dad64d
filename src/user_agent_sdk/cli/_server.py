"""``useragent server``: the embedded Conductor-compatible task server."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import trio

from ..server import MEMORY, ClientCredentials, RunningServer, ServerConfig, TaskSettings, serve
from ..server._app import MAX_BATCH
from ..server._http import DEFAULT_MAX_CONNECTIONS, RESERVED_FILES, default_max_connections
from . import _errors, _logging
from ._heap import freeze_startup_heap

DEFAULT_AGENT_ID = "local-agent"


def add_parser(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "server",
        help="run a local Conductor-compatible task server",
        description=(
            "Run a Conductor-compatible task server on this machine, storing its queue in "
            "SQLite. It serves the Conductor OSS task API and akaBot's paths, so both "
            "`useragent run` and the official Conductor clients can work against it. "
            "Stop it with Ctrl-C or SIGTERM; queued and finished work stays in the database."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    parser.add_argument(
        "--port",
        type=int,
        default=8080,
        help="port to bind; 0 picks a free one (default %(default)s)",
    )
    store = parser.add_mutually_exclusive_group()
    store.add_argument(
        "--db",
        default="useragent-server.db",
        metavar="PATH",
        help="SQLite file holding the queue; created if missing (default %(default)s)",
    )
    store.add_argument(
        "--memory", action="store_true", help="keep everything in memory (lost when it stops)"
    )
    parser.add_argument(
        "--auth",
        choices=("none", "required"),
        default="none",
        help="'required' refuses API calls without a valid token (default %(default)s)",
    )
    parser.add_argument("--client-id", metavar="ID", help="client id that may request tokens")
    parser.add_argument(
        "--client-secret",
        metavar="SECRET",
        help=(
            "its secret (default: from $USERAGENT_CLIENT_SECRET, else generated); prefer the "
            "variable: a command line shows in `ps` (and a secret starting with '-' needs "
            "--client-secret=SECRET)"
        ),
    )
    parser.add_argument(
        "--token-ttl",
        type=int,
        default=3600,
        metavar="SECONDS",
        help="token lifetime (default %(default)s)",
    )
    parser.add_argument(
        "--response-timeout",
        type=int,
        default=60,
        metavar="SECONDS",
        help="default lease of a polled task: with no update by then it is handed out again "
        "(default %(default)s; a task definition or the submission may set another)",
    )
    parser.add_argument(
        "--max-attempts",
        type=int,
        default=3,
        metavar="N",
        help="default attempts in all for a task that fails (default %(default)s)",
    )
    parser.add_argument(
        "--retry-delay",
        type=int,
        default=0,
        metavar="SECONDS",
        help="default wait before a failed task is retried (default %(default)s)",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        default=10 * 1024 * 1024,
        metavar="N",
        help="larger request bodies are refused with 413 (default %(default)s)",
    )
    parser.add_argument(
        "--max-batch",
        type=int,
        default=MAX_BATCH,
        metavar="N",
        help="most tasks one poll may lease, and most results one update-batch may carry; "
        "a request asking for more is refused with 400 (default %(default)s)",
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        default=default_max_connections(),
        metavar="N",
        help="most connections open at once: a new one past the cap closes the longest-idle "
        "keep-alive connection, or waits in the listen backlog while none is idle "
        f"(default %(default)s: the open-file limit less {RESERVED_FILES}, at most "
        f"{DEFAULT_MAX_CONNECTIONS})",
    )
    parser.add_argument(
        "--request-timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="a request must arrive in full (head and body) within this long of its first "
        "byte, else it is answered 408 and its connection closed; raise it for large "
        "uploads over slow links (default %(default)s)",
    )
    parser.add_argument(
        "--print-credentials",
        action="store_true",
        help="print a credentials.json that points a user agent at this server",
    )
    parser.add_argument(
        "--agent-id",
        default=DEFAULT_AGENT_ID,
        help="agentId (task type) written into the printed credentials (default %(default)s)",
    )
    parser.add_argument("--log-level", choices=_logging.LEVELS, default="info")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    _logging.configure(args.log_level)
    config = _config(args)
    if config is None:
        return 2
    freeze_startup_heap()
    try:
        trio.run(_serve_until_signalled, config, args)
    except Exception as error:
        cause = _errors.find(error, OSError)
        if cause is None:
            raise
        where = f"{args.host}:{args.port}"
        print(f"useragent server: cannot listen on {where}: {cause.strerror}", file=sys.stderr)
        return 1
    return 0


def _config(args: argparse.Namespace) -> ServerConfig | None:
    secret: str | None = args.client_secret or os.environ.get("USERAGENT_CLIENT_SECRET")
    if secret and not args.client_id:
        print("useragent server: --client-secret needs --client-id", file=sys.stderr)
        return None
    if args.client_id and not secret:
        print(
            "useragent server: --client-id needs --client-secret (or $USERAGENT_CLIENT_SECRET)",
            file=sys.stderr,
        )
        return None
    for name in (
        "port",
        "token_ttl",
        "response_timeout",
        "max_attempts",
        "max_body_bytes",
        "max_batch",
        "max_connections",
        "request_timeout",
    ):
        value = getattr(args, name)
        if value < 0 or (value == 0 and name != "port"):
            option = "--" + name.replace("_", "-")
            print(f"useragent server: {option} must be positive", file=sys.stderr)
            return None
    credentials = (
        ClientCredentials(args.client_id, secret)
        if args.client_id and secret
        else ClientCredentials.generate()
    )
    return ServerConfig(
        host=args.host,
        port=args.port,
        db=MEMORY if args.memory else args.db,
        auth_required=args.auth == "required",
        credentials=credentials,
        token_ttl_seconds=args.token_ttl,
        task_defaults=TaskSettings(
            response_timeout_s=args.response_timeout,
            max_attempts=args.max_attempts,
            retry_delay_s=max(0, args.retry_delay),
        ),
        max_body_bytes=args.max_body_bytes,
        max_batch=args.max_batch,
        max_connections=args.max_connections,
        request_timeout=args.request_timeout,
    )


async def _serve_until_signalled(config: ServerConfig, args: argparse.Namespace) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            running: RunningServer = await nursery.start(serve, config)
            _announce(running, args)
            async for signum in signals:
                print(f"useragent server: {signal.Signals(signum).name}, stopping", file=sys.stderr)
                nursery.cancel_scope.cancel()
                break


def _announce(running: RunningServer, args: argparse.Namespace) -> None:
    config = running.config
    where = "memory" if config.db == MEMORY else str(Path(config.db).resolve())
    auth = "required" if config.auth_required else "none"
    print(f"useragent server listening on {running.base_url}", flush=True)
    print(f"  Conductor API: {running.api_url}   db: {where}   auth: {auth}", flush=True)
    if args.print_credentials:
        credentials = {
            "clientId": config.credentials.client_id,
            "clientSecret": config.credentials.client_secret,
            "agentId": args.agent_id,
            "baseUrl": running.base_url,
        }
        print(json.dumps(credentials, indent=2), flush=True)
    elif config.auth_required and not args.client_id:
        print(
            "  auth is required and the client credentials were generated: "
            "pass --print-credentials to see them",
            flush=True,
        )

"""``useragent server``: the local task server's arguments."""

from __future__ import annotations

import argparse

from ._defaults import DEFAULT_AGENT_ID, SERVER_MAX_BATCH
from ._options import Command, add_log_format, add_log_level


def _server_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind; one beyond loopback (not 127.0.0.0/8, ::1 or localhost) "
        "needs --auth required, or --allow-unauthenticated",
    )
    parser.add_argument("--port", type=int, default=8080, help="port to bind; 0 picks a free one")
    store = parser.add_mutually_exclusive_group()
    store.add_argument(
        "--db",
        default="useragent-server.db",
        metavar="PATH",
        help="SQLite file holding the queue; created if missing",
    )
    store.add_argument(
        "--memory", action="store_true", help="keep everything in memory (lost when it stops)"
    )
    parser.add_argument(
        "--auth",
        choices=("none", "required"),
        default="none",
        help="'required' refuses API calls without a valid token; 'none' hands a token to "
        "anyone who asks",
    )
    parser.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        help="serve a --host beyond loopback with --auth none: anyone who can reach it may "
        "submit, lease and complete tasks and read every input and output (logged as a "
        "warning at start)",
    )
    parser.add_argument("--client-id", metavar="ID", help="client id that may request tokens")
    parser.add_argument(
        "--client-secret",
        metavar="SECRET",
        help="its secret (default: $USERAGENT_CLIENT_SECRET, else generated); prefer the "
        "variable: a command line shows in `ps` (and a secret starting with '-' needs "
        "--client-secret=SECRET)",
    )
    parser.add_argument(
        "--token-ttl", type=int, default=3600, metavar="SECONDS", help="token lifetime"
    )
    parser.add_argument(
        "--response-timeout",
        type=int,
        default=60,
        metavar="SECONDS",
        help="lease of a polled task: with no update by then it is handed out again (a "
        "task definition or the submission may set another)",
    )
    parser.add_argument(
        "--max-attempts",
        type=int,
        default=3,
        metavar="N",
        help="attempts in all for a task that fails",
    )
    parser.add_argument(
        "--retry-delay",
        type=int,
        default=0,
        metavar="SECONDS",
        help="wait before a failed task is retried",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        default=10 * 1024 * 1024,
        metavar="N",
        help="larger request bodies are refused with 413",
    )
    parser.add_argument(
        "--max-batch",
        type=int,
        default=SERVER_MAX_BATCH,
        metavar="N",
        help="most tasks one poll may lease, and most results one update-batch may carry; "
        "a request asking for more is refused with 400",
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        metavar="N",
        help="most connections open at once: a new one past the cap closes the longest-idle "
        "keep-alive connection, or waits in the listen backlog while none is idle (default: "
        "10000, or the open-file limit less 100 where that is lower)",
    )
    parser.add_argument(
        "--request-timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="a request must arrive in full (head and body) within this long of its first "
        "byte, else it is answered 408 and its connection closed; raise it for large "
        "uploads over slow links",
    )
    parser.add_argument(
        "--print-credentials",
        action="store_true",
        help="print a credentials.json that points a user agent at this server",
    )
    parser.add_argument(
        "--agent-id",
        default=DEFAULT_AGENT_ID,
        help="agentId (task type) written into the printed credentials",
    )
    parser.add_argument(
        "--metrics",
        action="store_true",
        help="serve Prometheus metrics at /metrics on the server's port: queue depth per "
        "task type, tasks leased, completed, failed, timed out, requests by route and "
        "status, request latency, commit time, database size (no token needed)",
    )
    add_log_level(parser)
    add_log_format(parser)


SERVER = Command(
    "server",
    summary="run a local Conductor-compatible task server",
    description="""
        Serve the Conductor OSS task API and akaBot's paths on this machine, with the
        queue in SQLite: `useragent run` and the official Conductor clients work
        against it. It prints its base URL; the API is that URL plus /api. Stop it
        with Ctrl-C or SIGTERM; queued and finished work stays in the database.
    """,
    examples=(
        "useragent server",
        "useragent server --port 0 --memory --print-credentials",
        "USERAGENT_CLIENT_SECRET=s3cret useragent server --auth required --client-id me",
        "useragent server --host 0.0.0.0 --auth required --print-credentials",
    ),
    arguments=_server_arguments,
)

"""``useragent run`` and ``useragent dev``: the same arguments, declared once."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._actions import Flag
from ._defaults import DEFAULT_DB_PATH, EVENT_LOOPS
from ._options import Command, add_log_format, add_log_level, port, published_positionals


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``useragent run``, which ``useragent dev`` takes too."""
    published_positionals(parser, "AGENT.py", "the script to run")
    parser.add_argument("-p", "--path", metavar="AGENT.py", help="the script (as AGENT.py)")
    parser.add_argument(
        "-w",
        "--workers",
        type=int,
        metavar="N",
        help="tasks each agent runs at once (default: its @user_agent(workers=...), else 1)",
    )
    parser.add_argument(
        "-c",
        "--config-file",
        type=Path,
        metavar="FILE",
        help="credentials file (default: ./credentials.json, else $CONDUCTOR_SERVER_URL)",
    )
    parser.add_argument(
        "-r",
        "--record-execution-logs",
        action=Flag,
        help="record every execution in the local history (see `useragent history`)",
    )
    parser.add_argument(
        "--db-path",
        type=Path,
        default=DEFAULT_DB_PATH,
        metavar="FILE",
        help="the history file -r records into",
    )
    add_log_level(parser, "-l")
    parser.add_argument(
        "-d",
        "--debug",
        action=Flag,
        help="log at DEBUG, each HTTP request too (never credentials or tokens)",
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="on Ctrl-C or SIGTERM, how long running tasks may take to finish",
    )
    parser.add_argument(
        "--event-loop",
        choices=EVENT_LOOPS,
        default="asyncio",
        help="what `async def` handlers are written for, unless their "
        "@user_agent(event_loop=...) says: asyncio (asyncio.sleep, aiohttp...; as the "
        "published user-agent-sdk runs them) or trio",
    )
    parser.add_argument(
        "--metrics-port",
        type=port,
        metavar="PORT",
        help="serve Prometheus metrics on http://HOST:PORT/metrics, and the probes /healthz "
        "(alive) and /readyz (every agent reaches the server); 0 picks a free port",
    )
    parser.add_argument(
        "--metrics-host",
        default="127.0.0.1",
        metavar="HOST",
        help="the address --metrics-port listens on (0.0.0.0 for a scraper on another host)",
    )
    add_log_format(parser)
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="PROFILE.yaml",
        help="serve an agentproc profile instead of a script: task input {message, "
        "session_id, session_name, from_user} -> output {response, session_id, partials}",
    )


RUN = Command(
    "run",
    summary="serve the user agents a script defines, until Ctrl-C or SIGTERM",
    description="""
        Load AGENT.py, find its functions decorated with @user_agent() and serve their
        tasks: from akaBot 2.0 with the credentials.json of the working directory (or
        -c FILE), or from the Conductor server at $CONDUCTOR_SERVER_URL. Ctrl-C or
        SIGTERM stops polling and lets running tasks finish within --grace seconds; a
        second Ctrl-C quits at once. With --profile PROFILE.yaml instead of a script,
        serve an agentproc profile: each task is one turn of that agent.

        The published CLI's positional form works too: AGENT.py [CONFIG-FILE [WORKERS
        [RECORD-EXECUTION-LOGS [LOG-LEVEL [DEBUG]]]]], as in `run agent.py c.json 4`.

        Exit status: 0 once drained, 1 when serving failed, 2 for a mistake in the
        options, the script or the configuration, 130 after a second Ctrl-C.
    """,
    examples=(
        "useragent run agent.py",
        "useragent run agent.py -w 8 -r -l DEBUG",
        "useragent run -p agent.py -c prod-credentials.json --grace 60",
        "useragent run --profile assistant.yaml",
    ),
    arguments=add_run_arguments,
)


DEV = Command(
    "dev",
    summary="run the user agents of a script, restarting them when it changes",
    description="""
        Like `useragent run`, with the same options. When AGENT.py (or --profile's file)
        or a file beside it (.py, .json, .yaml, .toml, .ini, .cfg, .env) changes, the
        running agents drain as on shutdown and the new code takes over. No task is
        lost: those not started yet wait on the server for the new code. An edit that
        does not load is reported, and the next save is tried.
    """,
    examples=(
        "useragent dev agent.py",
        "useragent dev agent.py -w 4 -r",
        "useragent dev --profile assistant.yaml",
    ),
    arguments=add_run_arguments,
)

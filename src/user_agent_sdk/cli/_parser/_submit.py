"""``useragent submit``: what to start on a Conductor server, and whether to wait."""

from __future__ import annotations

import argparse
import os

from ._defaults import DEFAULT_SERVER
from ._options import Command


def _submit_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("agent_id", metavar="AGENT_ID", help="the agent id (task type) to run")
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--input",
        metavar="JSON",
        help="the workflow input, a JSON object (default: {}; Linux refuses a command-line "
        "argument over 128 KiB: pass a larger input with --input-file)",
    )
    source.add_argument(
        "--input-file",
        metavar="FILE",
        help="read the input, a JSON object in UTF-8, from FILE ('-': standard input)",
    )
    parser.add_argument("--count", type=int, default=1, metavar="N", help="how many to start")
    parser.add_argument(
        "--wait", action="store_true", help="wait for each to end and print its output as JSON"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="with --wait: give up after this long, exit 1 (default: wait as long as it takes)",
    )
    parser.add_argument(
        "--server",
        metavar="URL",
        default=os.environ.get("CONDUCTOR_SERVER_URL", DEFAULT_SERVER),
        help=f"server base URL or its /api URL (default: $CONDUCTOR_SERVER_URL, else "
        f"{DEFAULT_SERVER})",
    )
    parser.add_argument(
        "--response-timeout",
        type=int,
        metavar="SECONDS",
        help="lease of each task (responseTimeoutSeconds) for these submissions "
        "(default: the server's)",
    )
    parser.add_argument(
        "--max-attempts",
        type=int,
        metavar="N",
        help="attempts in all for these submissions (default: the server's)",
    )


SUBMIT = Command(
    "submit",
    summary="start workflows for an agent and optionally wait for their outputs",
    description="""
        Start COUNT workflows named AGENT_ID on a Conductor server (a name with no
        workflow definition runs one task of that type, which is what a user agent
        serves). Prints the workflow ids, or with --wait each output as a line of JSON;
        exits 1 if any failed. $CONDUCTOR_AUTH_KEY and $CONDUCTOR_AUTH_SECRET
        authenticate, when set.
    """,
    examples=(
        'useragent submit sum-agent --input \'{"num1": 2, "num2": 3}\'',
        "useragent submit sum-agent --input-file input.json --count 100 --wait",
        "produce-input | useragent submit sum-agent --input-file - --wait",
    ),
    arguments=_submit_arguments,
)

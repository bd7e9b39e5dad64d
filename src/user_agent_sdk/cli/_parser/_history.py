"""``useragent history`` and ``useragent history-detail`` (``hd``): reading what ``run -r``
recorded."""

from __future__ import annotations

import argparse

from ._defaults import STATUSES
from ._options import Command, add_db_path, positive, published_positionals, since


def _history_arguments(parser: argparse.ArgumentParser) -> None:
    published_positionals(parser, None, "")
    parser.add_argument(
        "-a",
        "--agent-id",
        metavar="ID",
        help="only executions for this akaBot agent id (the task's __deployed_workflow_id__)",
    )
    parser.add_argument(
        "-u",
        "--user-agent-id",
        metavar="ID",
        help="only executions of this user agent (its agent id: the Conductor task type)",
    )
    parser.add_argument("--status", choices=STATUSES, help="only successes, or only errors")
    parser.add_argument(
        "--since",
        type=since,
        metavar="T",
        help="only executions started at or after T: an age (30m, 2h, 7d) or an ISO-8601 "
        "time (2025-01-31, 2025-01-31T08:00; local time unless it names a zone)",
    )
    parser.add_argument(
        "-n",
        "--limit",
        type=positive,
        default=50,
        metavar="N",
        help="list at most N executions (--stats counts every match)",
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print JSON instead, for scripts")
    output.add_argument(
        "--csv",
        metavar="FILE",
        help="write every column as CSV to FILE ('-': standard output) instead of the table",
    )
    parser.add_argument(
        "-e",
        "--export-csv",
        metavar="FILE",
        help="also write the listed executions to FILE as the published CLI does: columns "
        "ID, Task ID, Agent ID, User Agent ID, Started At, Ended At, Status, Input Data, "
        "Output Data, Error Message",
    )
    parser.add_argument(
        "--stats",
        action="store_true",
        help="per user agent: executions, success rate, p50/p95/max duration",
    )
    add_db_path(parser, "the history to read, where `useragent run -r` records")


def _history_detail_arguments(parser: argparse.ArgumentParser) -> None:
    published_positionals(parser, "ID", "the execution's id (the first column of the list)")
    parser.add_argument("--record-id", dest="id", type=int, metavar="ID", help="the same as ID")
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the execution as JSON, input and output whole (for scripts)",
    )
    add_db_path(parser, "the history to read, where `useragent run -r` records")


HISTORY = Command(
    "history",
    summary="list the executions `useragent run -r` recorded",
    description="""
        List recorded executions, newest first, or with --stats summarize them per user
        agent. `useragent hd ID` shows one in detail. The filters combine. The published
        CLI's positional form works too: [AGENT-ID [USER-AGENT-ID [LIMIT [DB-PATH
        [EXPORT-CSV]]]]].
    """,
    examples=(
        "useragent history",
        "useragent history --status error --since 2h",
        "useragent history -u sum-agent -n 100 -e sum-agent.csv",
        "useragent history --stats --json",
    ),
    arguments=_history_arguments,
)


HISTORY_DETAIL = Command(
    "history-detail",
    aliases=("hd",),
    summary="show one recorded execution: metadata, error, input and output",
    description="""
        Show execution ID of `useragent history`: its metadata, its error, and its
        input and output as JSON (or as the raw text stored, when not JSON). Each of
        the last three is cut after 100 lines or 5,000 characters; --json prints the
        whole execution. The published CLI's `hd ID DB-PATH` works too.
    """,
    examples=(
        "useragent hd 42",
        "useragent history-detail 42 --json",
        "useragent hd 42 -db /path/to/custom.db",
    ),
    arguments=_history_detail_arguments,
)

"""``useragent history``: list recorded executions, or summarize them per user agent."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import attrs
from rich.table import Table
from rich.text import Text

from ..history import (
    COLUMNS,
    STATUSES,
    AgentSummary,
    Execution,
    ExecutionFilter,
    parse_since,
)
from ._history_db import (
    EXIT_OK,
    Unavailable,
    add_db_path,
    console,
    duration_text,
    execution_json,
    fail,
    open_store,
    status_text,
    stored_text,
)

ERROR_CHARS = 48
"""Errors longer than this are shortened in the table; ``useragent hd ID`` shows them whole."""
STATS_FIELDS = (
    "user_agent_id",
    "executions",
    "successes",
    "success_rate",
    "p50_ms",
    "p95_ms",
    "max_ms",
)


def add_parser(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "history",
        help="list the executions `useragent run -r` recorded",
        description=(
            "List recorded executions, newest first, or with --stats summarize them per user "
            "agent. `useragent hd ID` shows one in detail."
        ),
    )
    parser.add_argument(
        "-a",
        "--agent-id",
        metavar="A",
        help="only executions for this akaBot agent id (the task's __deployed_workflow_id__)",
    )
    parser.add_argument(
        "-u",
        "--user-agent-id",
        metavar="U",
        help="only executions of this user agent (its agent id: the Conductor task type)",
    )
    parser.add_argument("--status", choices=STATUSES, help="only successes, or only errors")
    parser.add_argument(
        "--since",
        type=_since,
        metavar="T",
        help="only executions started at or after T: an age (30m, 2h, 7d) or an ISO-8601 "
        "time (2025-01-31, 2025-01-31T08:00; local time unless it names a zone)",
    )
    parser.add_argument(
        "-n",
        "--limit",
        type=_positive,
        default=50,
        metavar="N",
        help="list at most N executions (default %(default)s; --stats counts every match)",
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print JSON, for scripts")
    output.add_argument(
        "--csv", metavar="FILE", help="write CSV to FILE ('-': standard output) instead"
    )
    parser.add_argument(
        "--stats",
        action="store_true",
        help="per user agent: executions, success rate, p50/p95/max duration",
    )
    add_db_path(parser)
    parser.set_defaults(run=run)


def _since(text: str) -> datetime:
    try:
        return parse_since(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def run(args: argparse.Namespace) -> int:
    where = ExecutionFilter(
        agent_id=args.agent_id,
        user_agent_id=args.user_agent_id,
        status=args.status,
        since=args.since,
    )
    try:
        with open_store(args.db_path) as store:
            if args.stats:
                _show_stats(store.summaries(where), args)
            else:
                # The table shows no input or output: it need not read megabytes of them.
                with_data = bool(args.json or args.csv)
                executions = store.executions(where, limit=args.limit, payloads=with_data)
                _show_executions(executions, store.count(where), args)
    except (Unavailable, OSError) as exc:
        return fail("history", exc)
    return EXIT_OK


def _show_executions(executions: list[Execution], matching: int, args: argparse.Namespace) -> None:
    if args.json:
        print(
            json.dumps(
                [execution_json(execution) for execution in executions],
                indent=2,
                ensure_ascii=False,
            )
        )
    elif args.csv:
        rows = ([getattr(execution, column) for column in COLUMNS] for execution in executions)
        _write_csv(args.csv, COLUMNS, rows, f"{len(executions)} executions")
    elif not executions:
        console().print(f"[yellow]No recorded executions in {args.db_path} match.[/yellow]")
    else:
        out = console()
        out.print(_table(executions))
        out.print(
            f"[dim]{len(executions)} of {matching} matching executions, newest first; "
            f"`useragent hd ID` shows one in detail[/dim]"
        )


def _table(executions: Iterable[Execution]) -> Table:
    table = Table(title="Execution history", header_style="bold magenta")
    table.add_column("ID", justify="right", style="dim", no_wrap=True)
    table.add_column("Started (UTC)", no_wrap=True)
    table.add_column("Task ID", overflow="fold")
    table.add_column("Agent ID", overflow="fold")
    table.add_column("User Agent ID", overflow="fold")
    table.add_column("Status", no_wrap=True)
    table.add_column("Duration", justify="right", no_wrap=True)
    table.add_column("Error", overflow="fold")
    for execution in executions:
        table.add_row(
            str(execution.id),
            _started(execution),
            execution.display_task_id or "—",
            execution.agent_id or "—",
            execution.user_agent_id or "—",
            status_text(execution.status),
            duration_text(execution.duration_ms),
            Text(_shorten(stored_text(execution.error_message)), style="red"),
        )
    return table


def _started(execution: Execution) -> str:
    moment = execution.started
    if moment is None:
        return stored_text(execution.started_at) or "—"
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _shorten(error: str | None) -> str:
    if not error:
        return ""
    lines = error.strip().splitlines()
    first = lines[0] if lines else ""
    if len(first) > ERROR_CHARS or len(lines) > 1:
        return first[: ERROR_CHARS - 1].rstrip() + "…"
    return first


def _show_stats(summaries: list[AgentSummary], args: argparse.Namespace) -> None:
    records = [_stats_record(summary) for summary in summaries]
    if args.json:
        print(json.dumps(records, indent=2, ensure_ascii=False))
    elif args.csv:
        rows = ([record[field] for field in STATS_FIELDS] for record in records)
        _write_csv(args.csv, STATS_FIELDS, rows, f"{len(records)} user agents")
    elif not summaries:
        console().print(f"[yellow]No recorded executions in {args.db_path} match.[/yellow]")
    else:
        console().print(_stats_table(summaries))


def _stats_record(summary: AgentSummary) -> dict[str, Any]:
    return {**attrs.asdict(summary), "success_rate": round(summary.success_rate, 4)}


def _stats_table(summaries: Iterable[AgentSummary]) -> Table:
    table = Table(title="Executions per user agent", header_style="bold magenta")
    table.add_column("User Agent ID", overflow="fold")
    for column in ("Executions", "Success", "p50", "p95", "Max"):
        table.add_column(column, justify="right", no_wrap=True)
    for summary in summaries:
        rate = summary.success_rate
        style = "green" if rate == 1 else "yellow" if rate >= 0.9 else "red"
        table.add_row(
            summary.user_agent_id or "—",
            f"{summary.executions:,}",
            Text(f"{rate:.1%}", style=style),
            duration_text(summary.p50_ms),
            duration_text(summary.p95_ms),
            duration_text(summary.max_ms),
        )
    return table


def _write_csv(
    target: str, header: Sequence[str], rows: Iterable[Sequence[Any]], what: str
) -> None:
    if target == "-":
        _csv_rows(sys.stdout, header, rows)
        return
    with Path(target).open("w", newline="", encoding="utf-8") as file:
        _csv_rows(file, header, rows)
    console().print(f"Wrote {what} to {target}")


def _csv_rows(file: IO[str], header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    writer = csv.writer(file)
    writer.writerow(header)
    writer.writerows(["" if value is None else value for value in row] for row in rows)

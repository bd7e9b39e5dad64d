"""``useragent history``: list recorded executions, or summarize them per user agent."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

import attrs
from rich.table import Table
from rich.text import Text

from ..history import COLUMNS, AgentSummary, Execution, ExecutionFilter
from ._history_db import (
    EXIT_OK,
    Unavailable,
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
PUBLISHED_CSV_COLUMNS = {
    "ID": "id",
    "Task ID": "task_id",
    "Agent ID": "agent_id",
    "User Agent ID": "user_agent_id",
    "Started At": "started_at",
    "Ended At": "ended_at",
    "Status": "status",
    "Input Data": "input_data",
    "Output Data": "output_data",
    "Error Message": "error_message",
}
"""``--export-csv``: the header the published CLI writes, and the field under each name."""
STATS_FIELDS = (
    "user_agent_id",
    "executions",
    "successes",
    "success_rate",
    "p50_ms",
    "p95_ms",
    "max_ms",
)


def run(args: argparse.Namespace) -> int:
    where = ExecutionFilter(
        agent_id=args.agent_id,
        user_agent_id=args.user_agent_id,
        status=args.status,
        since=args.since,
    )
    try:
        with open_store(args.db_path) as store:
            if args.export_csv:
                _export_csv(args.export_csv, store.executions(where, limit=args.limit))
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


def _export_csv(target: str, executions: list[Execution]) -> None:
    rows = (
        [getattr(execution, field) for field in PUBLISHED_CSV_COLUMNS.values()]
        for execution in executions
    )
    with Path(target).open("w", newline="", encoding="utf-8") as file:
        _csv_rows(file, list(PUBLISHED_CSV_COLUMNS), rows)
    # stderr: stdout carries the table, or the JSON a script reads
    print(f"Exported {len(executions)} record(s) to {target}", file=sys.stderr)


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

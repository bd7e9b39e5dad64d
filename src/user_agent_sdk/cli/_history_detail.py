"""``useragent history-detail ID`` (``hd ID``): one recorded execution in full."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from ..history import Execution
from ._history_db import (
    EXIT_OK,
    Unavailable,
    add_db_path,
    console,
    duration_text,
    fail,
    open_store,
    status_text,
    stored_text,
)


def add_parser(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "history-detail",
        aliases=["hd"],
        help="show one recorded execution: metadata, error, input and output",
        description=(
            "Show the execution ID of `useragent history` in full: its metadata, its error, "
            "and its input and output as JSON (or as the raw text stored, when not JSON)."
        ),
    )
    parser.add_argument("id", type=int, metavar="ID", help="the execution's id (first column)")
    add_db_path(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    command = args.command  # "history-detail" or "hd", as typed
    try:
        with open_store(args.db_path) as store:
            execution = store.execution(args.id)
    except (Unavailable, OSError) as exc:
        return fail(command, exc)
    if execution is None:
        return fail(command, Unavailable(f"no execution with id {args.id} in {args.db_path}"))
    console().print(render(execution))
    return EXIT_OK


def render(execution: Execution) -> RenderableType:
    """Everything ``hd`` prints for ``execution``."""
    parts: list[RenderableType] = [
        Text.assemble(
            (f"Execution {execution.id}  ", "bold magenta"), status_text(execution.status)
        ),
        _metadata(execution),
    ]
    error = stored_text(execution.error_message)
    if error:
        parts.append(Panel(Text(error), title="Error", title_align="left", border_style="red"))
    parts.append(_data("Input", stored_text(execution.input_data), "cyan"))
    parts.append(_data("Output", stored_text(execution.output_data), "green"))
    return Group(*parts)


def _metadata(execution: Execution) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column(overflow="fold")
    rows: list[tuple[str, str | Text]] = [
        ("Task ID", _or_dash(execution.task_id)),
        ("Conductor task ID", _or_dash(execution.conductor_task_id)),
        ("Workflow ID", _or_dash(execution.workflow_id)),
        ("Agent ID", _or_dash(execution.agent_id)),
        ("User Agent ID", _or_dash(execution.user_agent_id)),
        ("Attempt", _or_dash(execution.attempt)),
        ("Started", _or_dash(execution.started_at)),
        ("Ended", _or_dash(execution.ended_at)),
        ("Duration", duration_text(execution.duration_ms)),
        ("Status", status_text(execution.status)),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def _or_dash(value: object) -> str:
    text = stored_text(value)
    return "—" if text is None or text == "" else text


def _data(title: str, stored: str | None, colour: str) -> Panel:
    if stored is None:
        return Panel(
            Text("(none)", style="dim"), title=title, title_align="left", border_style=colour
        )
    try:
        pretty = json.dumps(json.loads(stored), indent=2, ensure_ascii=False)
    except ValueError:
        # Not JSON (another writer's row): shown as stored, never read as markup.
        return Panel(
            Text(stored),
            title=f"{title} (raw text, not JSON)",
            title_align="left",
            border_style=colour,
        )
    body = Syntax(pretty, "json", theme="ansi_dark", background_color="default", word_wrap=True)
    return Panel(body, title=f"{title} (JSON)", title_align="left", border_style=colour)

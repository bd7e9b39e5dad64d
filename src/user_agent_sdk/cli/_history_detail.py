"""``useragent history-detail ID`` (``hd ID``): one recorded execution, its metadata and data."""

from __future__ import annotations

import argparse
import json

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from ..history import Execution
from . import _history_db as db

SHOWN_LINES = 100
SHOWN_CHARS = 5_000
"""The error, the input and the output are each shown up to this many lines or
characters, then cut with a note: a row holds whatever its task was given and returned,
megabytes too. ``useragent hd ID --json`` prints the execution whole."""


def run(args: argparse.Namespace) -> int:
    command = args.command  # "history-detail" or "hd", as typed
    try:
        with db.open_store(args.db_path) as store:
            execution = store.execution(args.id)
    except (db.Unavailable, OSError) as exc:
        return db.fail(command, exc)
    if execution is None:
        return db.fail(command, db.Unavailable(f"no execution with id {args.id} in {args.db_path}"))
    if args.json:
        print(json.dumps(db.execution_json(execution), indent=2, ensure_ascii=False))
    else:
        db.console().print(render(execution, command))
    return db.EXIT_OK


def render(execution: Execution, command: str = "hd") -> RenderableType:
    """Everything ``hd`` prints for ``execution``; a cut names ``command``'s ``--json``."""
    whole = f"`useragent {command} {execution.id} --json` prints it all"
    parts: list[RenderableType] = [
        Text.assemble(
            (f"Execution {execution.id}  ", "bold magenta"), db.status_text(execution.status)
        ),
        _metadata(execution),
    ]
    error = db.stored_text(execution.error_message)
    if error:
        shown, note = _cut(error, whole)
        parts.append(
            Panel(_with(Text(shown), note), title="Error", title_align="left", border_style="red")
        )
    parts.append(_data("Input", db.stored_text(execution.input_data), "cyan", whole))
    parts.append(_data("Output", db.stored_text(execution.output_data), "green", whole))
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
        ("Duration", db.duration_text(execution.duration_ms)),
        ("Status", db.status_text(execution.status)),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def _or_dash(value: object) -> str:
    text = db.stored_text(value)
    return "—" if text is None or text == "" else text


def _data(title: str, stored: str | None, colour: str, whole: str) -> Panel:
    if stored is None:
        return Panel(
            Text("(none)", style="dim"), title=title, title_align="left", border_style=colour
        )
    try:
        pretty = json.dumps(json.loads(stored), indent=2, ensure_ascii=False)
    except ValueError:
        # Not JSON (another writer's row): shown as stored, never read as markup.
        shown, note = _cut(stored, whole)
        return Panel(
            _with(Text(shown), note),
            title=f"{title} (raw text, not JSON)",
            title_align="left",
            border_style=colour,
        )
    shown, note = _cut(pretty, whole)
    body = Syntax(shown, "json", theme="ansi_dark", background_color="default", word_wrap=True)
    return Panel(
        _with(body, note), title=f"{title} (JSON)", title_align="left", border_style=colour
    )


def _cut(text: str, whole: str) -> tuple[str, Text | None]:
    """The start of ``text`` that is shown, and a note saying what is left out (if any)."""
    shown = "\n".join(text[:SHOWN_CHARS].split("\n")[:SHOWN_LINES])
    if len(shown) == len(text):
        return text, None
    left = len(text) - len(shown)
    return shown, Text(f"… {left:,} more characters; {whole}", style="dim")


def _with(body: RenderableType, note: Text | None) -> RenderableType:
    return body if note is None else Group(body, note)

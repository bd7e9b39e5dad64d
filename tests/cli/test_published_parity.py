"""Every form of the published user-agent-sdk 0.2.0 CLI means the same to ``useragent``.

:data:`FORMS` has one row per form: the command line, the published CLI's function it
calls and the arguments it binds (by the published parameter names, only those that
differ from their defaults). Each row is parsed by ours and compared; when the published
CLI is installed (``.nox/peers/user-agent-sdk``, made by ``nox -s bench``) the table itself
is checked against it. The tests after the table run the forms that do something
observable: the CSV ``--export-csv`` writes, what ``-r`` and ``--no-record-execution-logs``
record, what ``-l`` logs, what ``version`` and ``--version`` print.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shlex
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

from user_agent_sdk import __version__
from user_agent_sdk.cli import main
from user_agent_sdk.cli._dev import run_arguments
from user_agent_sdk.cli._parser import parse
from user_agent_sdk.server import RunningServer

from ..history.prepared import prepared_history
from ..runtime.support import clean_env, finished, submit, worker_process, write_credentials

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED_PYTHON = ROOT / ".nox" / "peers" / "user-agent-sdk" / "bin" / "python"


@attrs.frozen
class Form:
    line: str
    """The command line after ``useragent``."""
    command: str
    """The published CLI's function that it calls."""
    bound: dict[str, Any] = attrs.field(factory=dict)
    """What it binds, by the published parameter names (values as the published types)."""

    @property
    def argv(self) -> list[str]:
        return shlex.split(self.line)


def _forms(command: str, rows: list[tuple[str, dict[str, Any]]]) -> list[Form]:
    return [Form(line, command, bound) for line, bound in rows]


A = {"agent_spec": "agent.py"}
FORMS = [
    *_forms(
        "run",
        [
            ("run agent.py", A),
            ("run --path agent.py", A),
            ("run -p agent.py", A),
            ("run --path=agent.py", A),
            ("run -pagent.py", A),
            ("run -w 4 agent.py", {**A, "workers": 4}),
            ("run agent.py --config-file c.json", {**A, "config_file": "c.json"}),
            ("run agent.py -c c.json", {**A, "config_file": "c.json"}),
            ("run agent.py --config-file=c.json", {**A, "config_file": "c.json"}),
            ("run agent.py --workers 4", {**A, "workers": 4}),
            ("run agent.py -w 4", {**A, "workers": 4}),
            ("run agent.py -w4", {**A, "workers": 4}),
            ("run agent.py --workers=4", {**A, "workers": 4}),
            ("run agent.py --record-execution-logs", {**A, "record_execution_logs": True}),
            ("run agent.py -r", {**A, "record_execution_logs": True}),
            ("run agent.py --no-record-execution-logs", {**A, "record_execution_logs": False}),
            ("run agent.py --record-execution-logs=false", {**A, "record_execution_logs": False}),
            ("run agent.py --record-execution-logs=yes", {**A, "record_execution_logs": True}),
            ("run agent.py -r=true", {**A, "record_execution_logs": True}),
            ("run agent.py --log-level DEBUG", {**A, "log_level": "DEBUG"}),
            ("run agent.py --log-level INFO", {**A, "log_level": "INFO"}),
            ("run agent.py --log-level WARNING", {**A, "log_level": "WARNING"}),
            ("run agent.py --log-level ERROR", {**A, "log_level": "ERROR"}),
            ("run agent.py --log-level CRITICAL", {**A, "log_level": "CRITICAL"}),
            ("run agent.py -l WARNING", {**A, "log_level": "WARNING"}),
            ("run agent.py --log-level=ERROR", {**A, "log_level": "ERROR"}),
            ("run agent.py --debug", {**A, "debug": True}),
            ("run agent.py -d", {**A, "debug": True}),
            ("run agent.py --no-debug", {**A, "debug": False}),
            ("run agent.py --debug=false", {**A, "debug": False}),
            ("run agent.py -d=0", {**A, "debug": False}),
            ("run agent.py --no-debug=false", {**A, "debug": True}),
            ("run agent.py -rd", {**A, "record_execution_logs": True, "debug": True}),
            ("run agent.py c.json", {**A, "config_file": "c.json"}),
            (
                "run agent.py c.json 4 true DEBUG true",
                {
                    **A,
                    "config_file": "c.json",
                    "workers": 4,
                    "record_execution_logs": True,
                    "log_level": "DEBUG",
                    "debug": True,
                },
            ),
            ("run agent.py -w 4 c.json", {**A, "workers": 4, "config_file": "c.json"}),
        ],
    ),
    *_forms(
        "dev",
        [
            ("dev agent.py", A),
            ("dev --path agent.py", A),
            ("dev -p agent.py", A),
            ("dev agent.py --config-file c.json", {**A, "config_file": "c.json"}),
            ("dev agent.py -c c.json", {**A, "config_file": "c.json"}),
            ("dev agent.py --workers 2", {**A, "workers": 2}),
            ("dev agent.py -w 2", {**A, "workers": 2}),
            ("dev agent.py --log-level CRITICAL", {**A, "log_level": "CRITICAL"}),
            ("dev agent.py -l DEBUG", {**A, "log_level": "DEBUG"}),
            ("dev agent.py --debug", {**A, "debug": True}),
            ("dev agent.py -d", {**A, "debug": True}),
            ("dev agent.py --no-debug", {**A, "debug": False}),
            (
                "dev agent.py c.json 4 DEBUG true",
                {**A, "config_file": "c.json", "workers": 4, "log_level": "DEBUG", "debug": True},
            ),
        ],
    ),
    *_forms(
        "history",
        [
            ("history", {}),
            ("history --agent-id A", {"agent_id": "A"}),
            ("history -a A", {"agent_id": "A"}),
            ("history --user-agent-id U", {"user_agent_id": "U"}),
            ("history -u U", {"user_agent_id": "U"}),
            ("history --limit 10", {"limit": 10}),
            ("history -n 10", {"limit": 10}),
            ("history -n10", {"limit": 10}),
            ("history --limit=10", {"limit": 10}),
            ("history --db-path h.db", {"db_path": "h.db"}),
            ("history -db h.db", {"db_path": "h.db"}),
            ("history -db=h.db", {"db_path": "h.db"}),
            ("history --export-csv out.csv", {"export_csv": "out.csv"}),
            ("history -e out.csv", {"export_csv": "out.csv"}),
            (
                "history A U 10 h.db out.csv",
                {
                    "agent_id": "A",
                    "user_agent_id": "U",
                    "limit": 10,
                    "db_path": "h.db",
                    "export_csv": "out.csv",
                },
            ),
        ],
    ),
    *_forms(
        "history_detail",
        [
            ("history-detail 1", {"record_id": 1}),
            ("hd 1", {"record_id": 1}),
            ("history-detail --record-id 1", {"record_id": 1}),
            ("hd --record-id=1", {"record_id": 1}),
            ("hd 1 --db-path h.db", {"record_id": 1, "db_path": "h.db"}),
            ("hd 1 -db h.db", {"record_id": 1, "db_path": "h.db"}),
            ("history-detail 1 h.db", {"record_id": 1, "db_path": "h.db"}),
        ],
    ),
    Form("version", "version"),
    Form("--version", "version_print"),
    *_forms(
        "help_print",
        [
            (line, {})
            for line in (
                "--help",
                "-h",
                "run --help",
                "run -h",
                "run agent.py -h",
                "dev --help",
                "history --help",
                "history-detail --help",
                "hd -h",
                "version --help",
            )
        ],
    ),
]

DEFAULTS: dict[str, dict[str, Any]] = {
    "run": {
        "config_file": None,
        "workers": None,
        "record_execution_logs": False,
        "log_level": "INFO",
        "debug": False,
    },
    "history": {
        "agent_id": None,
        "user_agent_id": None,
        "limit": 50,
        "db_path": "execution_history.db",
        "export_csv": None,
    },
    "history_detail": {"db_path": "execution_history.db"},
}
DEFAULTS["dev"] = {k: v for k, v in DEFAULTS["run"].items() if k != "record_execution_logs"}


def published_view(args: argparse.Namespace) -> dict[str, Any]:
    """Our parsed arguments by the published parameter names, as the published types."""
    if args.command in ("run", "dev"):
        view = {
            "agent_spec": args.path,
            "config_file": None if args.config_file is None else str(args.config_file),
            "workers": args.workers,
            "record_execution_logs": args.record_execution_logs,
            "log_level": args.log_level,
            "debug": args.debug,
        }
        if args.command == "dev":
            del view["record_execution_logs"]  # ours takes -r in dev too; theirs does not
        return view
    if args.command == "history":
        return {
            "agent_id": args.agent_id,
            "user_agent_id": args.user_agent_id,
            "limit": args.limit,
            "db_path": str(args.db_path),
            "export_csv": args.export_csv,
        }
    assert args.command in ("history-detail", "hd")
    return {"record_id": args.id, "db_path": str(args.db_path)}


# -- every form, parsed by ours -------------------------------------------------------------

PARSED = [form for form in FORMS if form.command in DEFAULTS]


@pytest.mark.parametrize("form", PARSED, ids=lambda form: form.line)
def test_each_form_binds_what_the_published_cli_binds(form: Form) -> None:
    args = parse(form.argv)
    assert published_view(args) == {**DEFAULTS[form.command], **form.bound}
    assert args.implementation == f"_{form.command}"


@pytest.mark.parametrize(
    "form", [form for form in FORMS if form.command == "help_print"], ids=lambda form: form.line
)
def test_each_help_form_prints_that_commands_help(
    form: Form, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(form.argv)
    assert exit_info.value.code == 0
    command = "" if form.argv[0].startswith("-") else f" {form.argv[0]}"
    command = command.replace(" hd", " history-detail")  # argparse names an alias's parser so
    out = capsys.readouterr().out
    assert out.startswith(f"usage: useragent{command} ")
    assert "examples:\n  useragent" in out


def test_no_arguments_print_the_help_and_succeed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    assert capsys.readouterr().out.startswith("usage: useragent ")


def test_version_prints_the_version_alone(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"{__version__}\n"


def test_the_version_command_prints_the_published_details(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import platform

    assert main(["version"]) == 0
    lines = dict(line.split(":", 1) for line in capsys.readouterr().out.splitlines())
    details = {name: value.strip() for name, value in lines.items()}
    assert details["UserAgentSdk version"] == __version__
    assert details["Python version"] == platform.python_version()
    assert details["Platform"] == platform.platform()
    assert details["Machine"] == platform.machine()
    assert details["Runtime"].startswith("trio ")
    assert Path(details["Root path"], "user_agent_sdk").is_dir()


@pytest.mark.parametrize("level", ["debug", "Warning", "critical"])
def test_log_levels_are_taken_in_any_case(level: str) -> None:
    assert parse(["run", "agent.py", "-l", level]).log_level == level.upper()


def test_dev_hands_run_the_meaning_of_the_published_forms() -> None:
    args = parse(shlex.split("dev agent.py c.json 4 DEBUG true --no-record-execution-logs"))
    child = parse(["run", *run_arguments(args)])
    assert published_view(child) == {**published_view(args), "record_execution_logs": False}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("run agent.py --debug=maybe", "argument --debug: expected true or false"),
        ("run agent.py c.json 4 maybe", "argument RECORD-EXECUTION-LOGS: expected true or false"),
        ("run agent.py c.json 4 true LOUD", "argument LEVEL: invalid choice: 'LOUD'"),
        ("run agent.py c.json 4 true INFO true extra", "unrecognized arguments: extra"),
        ("hd", "the following arguments are required: ID"),
        ("history A U many", "argument N: 'many' is not a whole number"),
        ("hd first", "argument ID: invalid int value: 'first'"),
        ("version now", "unrecognized arguments: now"),
    ],
)
def test_what_no_form_means_is_refused_naming_it(
    line: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse(shlex.split(line))
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


# -- the table, checked against the published CLI itself ------------------------------------

PROBE = """
import json, sys
from user_agent_sdk.cli.cli import app

for argv in json.load(sys.stdin):
    command, bound, _ = app.parse_args(argv, exit_on_error=False, print_error=False)
    arguments = {k: v for k, v in bound.arguments.items() if k not in ("console", "tokens")}
    print(json.dumps([command.__name__, arguments]))
"""


@pytest.mark.skipif(not PUBLISHED_PYTHON.exists(), reason="needs `nox -s bench`'s peer venv")
def test_the_table_is_what_the_published_cli_binds(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    done = subprocess.run(
        [str(PUBLISHED_PYTHON), "-c", PROBE],
        input=json.dumps([form.argv for form in FORMS]),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=True,
        timeout=60,
    )
    published = [json.loads(line) for line in done.stdout.splitlines()]
    assert published == [[form.command, form.bound] for form in FORMS]


# -- what the forms do -----------------------------------------------------------------------

PUBLISHED_CSV_HEADER = [
    "ID",
    "Task ID",
    "Agent ID",
    "User Agent ID",
    "Started At",
    "Ended At",
    "Status",
    "Input Data",
    "Output Data",
    "Error Message",
]


@pytest.mark.parametrize("option", ["--export-csv", "-e"])
def test_export_csv_writes_the_published_columns_and_still_shows_the_table(
    option: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = prepared_history(tmp_path)
    target = tmp_path / "out.csv"
    assert main(["history", "-db", str(db), "-n", "3", option, str(target)]) == 0
    out, err = capsys.readouterr()
    assert "3 of 4 matching executions" in out
    assert err == f"Exported 3 record(s) to {target}\n"
    with target.open(newline="", encoding="utf-8") as file:
        header, *rows = list(csv.reader(file))
    assert header == PUBLISHED_CSV_HEADER
    assert [row[0] for row in rows] == ["4", "3", "2"]
    assert rows[2][1:4] == ["plat-task-2", "deployed-A", "sum-agent"]
    assert rows[2][7] == json.dumps({"num1": 1, "num2": "x"})
    assert rows[0][8] == ""  # no output: empty, as the published CLI writes None


@pytest.mark.skipif(not PUBLISHED_PYTHON.exists(), reason="needs `nox -s bench`'s peer venv")
def test_export_csv_writes_the_bytes_the_published_cli_writes(tmp_path: Path) -> None:
    db = prepared_history(tmp_path)
    assert main(["history", "-db", str(db), "-e", str(tmp_path / "ours.csv")]) == 0
    their_db = tmp_path / "theirs.db"
    their_db.write_bytes(db.read_bytes())  # they add indexes of their own
    subprocess.run(
        [
            *(str(PUBLISHED_PYTHON.parent / "useragent"), "history", "-db", str(their_db)),
            *("-e", str(tmp_path / "theirs.csv")),
        ],
        capture_output=True,  # their table then fails on our extra columns: the CSV is first
        cwd=tmp_path,
        timeout=60,
    )
    assert (tmp_path / "ours.csv").read_bytes() == (tmp_path / "theirs.csv").read_bytes()


def test_history_forms_filter_and_read_the_named_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = prepared_history(tmp_path)
    assert main(["history", "deployed-A", "sum-agent", "1", str(db)]) == 0
    assert "1 of 2 matching executions" in capsys.readouterr().out
    assert main(["hd", "--record-id", "2", "-db", str(db)]) == 0
    assert "plat-task-2" in capsys.readouterr().out
    assert main(["history-detail", "3", str(db), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == 3


AGENT = """
from user_agent_sdk import user_agent


@user_agent()
def sum_agent(input_data: dict):
    return {"result": input_data["num1"] + input_data["num2"]}
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("flags", "recorded", "shown", "hidden"),
    [
        (["--no-record-execution-logs", "-l", "WARNING"], False, [], [" INFO "]),
        (["-r", "-d"], True, [" DEBUG "], []),
        (["credentials.json", "1", "true", "ERROR"], True, [], [" INFO ", " WARNING "]),
    ],
    ids=["no-record-quiet", "record-debug", "positional"],
)
async def test_what_run_records_and_logs(
    server: RunningServer,
    api: httpx.AsyncClient,
    tmp_path: Path,
    flags: list[str],
    recorded: bool,
    shown: list[str],
    hidden: list[str],
) -> None:
    write_credentials(tmp_path, server, agentId="sum")
    (tmp_path / "agent.py").write_text(textwrap.dedent(AGENT))
    async with worker_process(["run", "agent.py", *flags], cwd=tmp_path) as worker:
        done = await finished(api, await submit(api, "sum", {"num1": 2, "num2": 3}))
        worker.signal(signal.SIGINT)
        assert await worker.wait() == 0, worker.output
    assert done.output == {"result": 5}
    assert (tmp_path / "execution_history.db").exists() is recorded
    for text in shown:
        assert text in worker.output
    for text in hidden:
        assert text not in worker.output


# -- starting fast ---------------------------------------------------------------------------

HEAVY = ("trio", "httpx", "user_agent_sdk.server", "user_agent_sdk.runtime")
"""Neither these packages nor any module inside them."""
IMPORTS_OF = """
import sys
from user_agent_sdk.cli import main

try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(" ".join(sorted(sys.modules)), file=sys.stderr)
"""


@pytest.mark.parametrize("argv", [["--help"], ["version"], ["--version"], ["run", "--help"]])
def test_help_and_version_import_no_runtime_server_or_http_client(argv: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", IMPORTS_OF, *argv],
        capture_output=True,
        text=True,
        env=clean_env(),
        check=True,
        timeout=60,
    )
    imported = set(done.stderr.split())
    assert "user_agent_sdk.cli._parser" in imported
    assert not {
        name
        for name in imported
        for heavy in HEAVY
        if name == heavy or name.startswith(f"{heavy}.")
    }

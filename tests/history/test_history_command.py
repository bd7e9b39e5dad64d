"""``useragent history`` against a prepared database: what the user sees."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from user_agent_sdk.cli import main

from .prepared import prepared_history, useragent

pytestmark = pytest.mark.usefixtures("wide_terminal")


def history(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    return useragent(capsys, "history", *args)


def ids_in_table(output: str) -> list[int]:
    """The ID column of the rows of a rendered table."""
    return [int(line.split("│")[1]) for line in output.splitlines() if line.startswith("│")]


def test_the_table_lists_newest_first_with_status_duration_and_short_errors(
    capsys: pytest.CaptureFixture[str], db: Path
) -> None:
    code, out, _ = history(capsys, "--db-path", str(db))
    assert code == 0
    assert "Execution history" in out
    for header in ("ID", "Started (UTC)", "Task ID", "Agent ID", "User Agent ID", "Status"):
        assert header in out
    assert ids_in_table(out) == [4, 3, 2, 1]
    rows = {int(line.split("│")[1]): line for line in out.splitlines() if line.startswith("│")}
    assert "2025-03-01 08:00:00" in rows[1]
    for text in ("plat-task-1", "deployed-A", "sum-agent", "✓ success", "12.5 ms"):
        assert text in rows[1]
    assert "ctask-3" in rows[3]  # no platform task id: the Conductor one
    assert "850 ms" in rows[3]
    assert "0.42 ms" in rows[4]
    assert "2.51 s" in rows[2]
    assert "✗ error" in rows[2]
    # The first line of the error, cut short; `hd 2` has it all.
    assert "ValueError: the invoice total does not match th…" in rows[2]
    assert "Traceback" not in out
    assert "[red]looks like markup[/red]" in rows[4]  # shown as stored, not as markup
    assert "4 of 4 matching executions, newest first" in out


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--agent-id", "deployed-A"], [2, 1]),
        (["--user-agent-id", "minus-agent"], [4, 3]),
        (["--status", "error"], [4, 2]),
        (["--status", "success", "--user-agent-id", "sum-agent"], [1]),
        (["--since", "2025-03-01T08:01:30+00:00"], [4, 3]),
        (["--since", "2025-03-01T15:02+07:00"], [4, 3]),
        (["--limit", "2"], [4, 3]),
    ],
)
def test_filters_and_limit(
    capsys: pytest.CaptureFixture[str], db: Path, args: list[str], expected: list[int]
) -> None:
    code, out, _ = history(capsys, "--db-path", str(db), *args)
    assert code == 0
    assert ids_in_table(out) == expected


def test_limit_says_how_many_matched(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    _, out, _ = history(capsys, "--db-path", str(db), "-n", "1")
    assert "1 of 4 matching executions" in out


def test_a_relative_since_counts_back_from_now(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = prepared_history(tmp_path)
    _, out, _ = history(capsys, "--db-path", str(db), "--since", "1h")
    assert "No recorded executions" in out  # every row is from 2025


def test_json_for_scripts_decodes_input_and_output(
    capsys: pytest.CaptureFixture[str], db: Path
) -> None:
    code, out, _ = history(capsys, "--db-path", str(db), "--json", "--status", "success")
    assert code == 0
    found = json.loads(out)
    assert [item["id"] for item in found] == [3, 1]
    assert found[1] == {
        "id": 1,
        "task_id": "plat-task-1",
        "agent_id": "deployed-A",
        "user_agent_id": "sum-agent",
        "started_at": "2025-03-01T08:00:00.000+00:00",
        "ended_at": "2025-03-01T08:00:00.013+00:00",
        "status": "success",
        "input_data": {"num1": 1, "num2": 2},
        "output_data": {"result": 3},
        "error_message": None,
        "conductor_task_id": "ctask-1",
        "workflow_id": "wf-1",
        "attempt": 1,
        "duration_ms": 12.5,
    }


def test_json_keeps_text_that_is_not_json(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    _, out, _ = history(capsys, "--db-path", str(db), "--json", "-n", "1")
    (row,) = json.loads(out)
    assert row["input_data"] == "not json {[bold]red[/bold]"
    assert row["output_data"] is None


def test_csv_to_a_file(capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    code, out, _ = history(capsys, "--db-path", str(db), "--csv", str(target))
    assert code == 0
    assert f"Wrote 4 executions to {target}" in out
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    assert [row["id"] for row in rows] == ["4", "3", "2", "1"]
    assert rows[3]["input_data"] == '{"num1": 1, "num2": 2}'
    assert rows[2]["error_message"].startswith("ValueError: the invoice total")
    assert rows[0]["output_data"] == ""


def test_csv_to_stdout(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    code, out, _ = history(capsys, "--db-path", str(db), "--csv", "-", "--status", "error")
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0][:4] == ["id", "task_id", "agent_id", "user_agent_id"]
    assert [row[0] for row in rows[1:]] == ["4", "2"]


def test_stats_per_user_agent(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    code, out, _ = history(capsys, "--db-path", str(db), "--stats")
    assert code == 0
    lines = {line.split("│")[1].strip(): line for line in out.splitlines() if line.startswith("│")}
    assert [cell.strip() for cell in lines["minus-agent"].split("│")[2:-1]] == [
        "2",
        "50.0%",
        "0.42 ms",
        "850 ms",
        "850 ms",
    ]
    assert [cell.strip() for cell in lines["sum-agent"].split("│")[2:-1]] == [
        "2",
        "50.0%",
        "12.5 ms",
        "2.51 s",
        "2.51 s",
    ]


def test_stats_as_json_with_a_filter(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    _, out, _ = history(capsys, "--db-path", str(db), "--stats", "--json", "-u", "sum-agent")
    assert json.loads(out) == [
        {
            "user_agent_id": "sum-agent",
            "executions": 2,
            "successes": 1,
            "success_rate": 0.5,
            "p50_ms": 12.5,
            "p95_ms": 2510.0,
            "max_ms": 2510.0,
        }
    ]


def test_nothing_matches(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    code, out, _ = history(capsys, "--db-path", str(db), "--agent-id", "nobody")
    assert (code, out.strip()) == (0, f"No recorded executions in {db} match.")


def test_a_missing_database_exits_1_with_a_hint(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "none.db"
    code, out, err = history(capsys, "--db-path", str(missing))
    assert (code, out) == (1, "")
    assert err == (
        f"useragent history: {missing}: no execution history here; record one with "
        f"`useragent run AGENT.py -r`, or pass --db-path\n"
    )
    assert not missing.exists()


def test_the_default_database_is_in_the_working_directory(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepared_history(tmp_path, "execution_history.db")
    monkeypatch.chdir(tmp_path)
    code, out, _ = history(capsys, "--status", "success", "--json")
    assert code == 0
    assert [row["id"] for row in json.loads(out)] == [3, 1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "yesterday"], "'yesterday' is neither an age like 30m, 2h, 7d"),
        (["--limit", "0"], "must be at least 1, got 0"),
        (["--status", "ok"], "invalid choice: 'ok'"),
        (["--json", "--csv", "x.csv"], "not allowed with argument --json"),
    ],
)
def test_bad_options_exit_2_naming_the_value(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["history", *args])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_other_files_are_refused_by_name(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = tmp_path / "notes.db"
    text.write_text("these are my notes, not a database\n" * 100)
    code, _, err = history(capsys, "--db-path", str(text))
    assert code == 1
    assert err.startswith(f"useragent history: {text}: not an execution history database")


def test_started_shows_in_utc(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    _, out, _ = history(capsys, "--db-path", str(db), "--json", "-n", "1")
    (row,) = json.loads(out)
    assert datetime.fromisoformat(row["started_at"]).tzinfo == UTC

"""``useragent history-detail ID`` / ``hd ID`` against a prepared database."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from user_agent_sdk.cli import main
from user_agent_sdk.cli._history_detail import SHOWN_CHARS, SHOWN_LINES

from .prepared import LONG_ERROR
from .prepared import useragent as detail

pytestmark = pytest.mark.usefixtures("wide_terminal")


def field(output: str, name: str) -> str:
    """The value beside ``name`` in the metadata block."""
    for line in output.splitlines():
        if line.startswith(name + "  "):
            return line[len(name) :].strip()
    raise AssertionError(f"no {name!r} in:\n{output}")


def panel(output: str, title: str) -> list[str]:
    """The text lines inside the panel whose title starts with ``title``."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"╭─ {title}"))
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("╰"))
    return [line.strip("│").rstrip() for line in lines[start + 1 : end]]


def test_metadata_and_pretty_json(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    code, out, err = detail(capsys, "history-detail", "1", "--db-path", str(db))
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == "Execution 1  ✓ success"
    assert field(out, "Task ID") == "plat-task-1"
    assert field(out, "Conductor task ID") == "ctask-1"
    assert field(out, "Workflow ID") == "wf-1"
    assert field(out, "Agent ID") == "deployed-A"
    assert field(out, "User Agent ID") == "sum-agent"
    assert field(out, "Attempt") == "1"
    assert field(out, "Started") == "2025-03-01T08:00:00.000+00:00"
    assert field(out, "Ended") == "2025-03-01T08:00:00.013+00:00"
    assert field(out, "Duration") == "12.5 ms"
    assert field(out, "Status") == "✓ success"
    assert "Error" not in out
    assert [line.rstrip() for line in panel(out, "Input (JSON)")] == [
        " {",
        '   "num1": 1,',
        '   "num2": 2',
        " }",
    ]
    assert [line.rstrip() for line in panel(out, "Output (JSON)")] == [
        " {",
        '   "result": 3',
        " }",
    ]


def test_the_alias_hd_and_the_whole_error_in_a_panel(
    capsys: pytest.CaptureFixture[str], db: Path
) -> None:
    code, out, _ = detail(capsys, "hd", "2", "--db-path", str(db))
    assert code == 0
    assert out.splitlines()[0] == "Execution 2  ✗ error"
    assert field(out, "Attempt") == "3"
    assert field(out, "Duration") == "2.51 s"
    assert [line.strip() for line in panel(out, "Error")] == [
        line.strip() for line in LONG_ERROR.splitlines()
    ]


def test_unicode_stays_readable(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    _, out, _ = detail(capsys, "hd", "3", "--db-path", str(db))
    assert '"note": "naïve ☃"' in out
    assert field(out, "Task ID") == "—"  # no platform: nothing invented


def test_values_that_are_not_json_show_as_stored(
    capsys: pytest.CaptureFixture[str], db: Path
) -> None:
    code, out, _ = detail(capsys, "hd", "4", "--db-path", str(db))
    assert code == 0
    assert [line.strip() for line in panel(out, "Input (raw text, not JSON)")] == [
        "not json {[bold]red[/bold]"
    ]
    assert [line.strip() for line in panel(out, "Output")] == ["(none)"]
    assert [line.strip() for line in panel(out, "Error")] == ["[red]looks like markup[/red]"]


@pytest.mark.parametrize(
    ("stored", "title", "shown"),
    [
        (b"\x00\xffbinary", "Input (raw text, not JSON)", "\x00�binary"),  # a BLOB
        ('{"truncated": ', "Input (raw text, not JSON)", '{"truncated":'),
        ("", "Input (raw text, not JSON)", ""),
        (42, "Input (JSON)", "42"),  # SQLite keeps what it is given
    ],
)
def test_odd_values_of_other_writers_do_not_crash(
    capsys: pytest.CaptureFixture[str], db: Path, stored: object, title: str, shown: str
) -> None:
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE execution_history SET input_data = ? WHERE id = 1", (stored,))
    code, out, _ = detail(capsys, "hd", "1", "--db-path", str(db))
    assert code == 0
    assert [line.strip() for line in panel(out, title)] == [shown]


def test_a_big_input_is_cut_with_a_note_and_json_prints_it_whole(
    capsys: pytest.CaptureFixture[str], db: Path
) -> None:
    big = {"text": "ü" * 1_000_000, "items": list(range(1000))}
    with sqlite3.connect(db) as connection:
        connection.execute(
            "UPDATE execution_history SET input_data = ? WHERE id = 1",
            (json.dumps(big, ensure_ascii=False),),
        )
    code, out, _ = detail(capsys, "hd", "1", "--db-path", str(db))
    assert code == 0
    shown = panel(out, "Input (JSON)")
    assert shown[-1].strip().startswith("… ")
    assert shown[-1].strip().endswith("more characters; `useragent hd 1 --json` prints it all")
    assert len(out) < 5 * SHOWN_CHARS
    assert [line.strip() for line in panel(out, "Output (JSON)")] == ["{", '"result": 3', "}"]

    code, out, _ = detail(capsys, "history-detail", "1", "--json", "--db-path", str(db))
    assert code == 0
    whole = json.loads(out)
    assert whole["input_data"] == big
    assert (whole["id"], whole["output_data"], whole["task_id"]) == (
        1,
        {"result": 3},
        "plat-task-1",
    )


def test_many_short_lines_are_cut_too(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    with sqlite3.connect(db) as connection:
        connection.execute(
            "UPDATE execution_history SET output_data = ? WHERE id = 1",
            (json.dumps(list(range(5000))),),
        )
    _, out, _ = detail(capsys, "hd", "1", "--db-path", str(db))
    shown = panel(out, "Output (JSON)")
    assert len(shown) == SHOWN_LINES + 1
    assert "more characters; `useragent hd 1 --json` prints it all" in shown[-1]


def test_an_unknown_id_exits_1(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    code, out, err = detail(capsys, "hd", "99", "--db-path", str(db))
    assert (code, out, err) == (1, "", f"useragent hd: no execution with id 99 in {db}\n")


def test_a_missing_database_exits_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = detail(capsys, "history-detail", "1", "--db-path", str(tmp_path / "x.db"))
    assert (code, out) == (1, "")
    assert err.startswith(f"useragent history-detail: {tmp_path / 'x.db'}: no execution history")


def test_an_id_must_be_a_number(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["hd", "first"])
    assert exit_info.value.code == 2
    assert "invalid int value: 'first'" in capsys.readouterr().err

"""A database the seed's SDK wrote opens, migrates once, and stays usable by that SDK."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.processes import run_cli
from user_agent_sdk.history import SCHEMA_VERSION, HistoryError, HistoryStore

SEED_SCHEMA = Path(__file__).parent / "data" / "seed_v0.sql"
VIETNAM = {"TZ": "Asia/Ho_Chi_Minh", "COLUMNS": "200"}  # where the fixture's rows were written


def seed_database(directory: Path) -> Path:
    path = directory / "execution_history.db"
    with sqlite3.connect(path) as connection:
        connection.executescript(SEED_SCHEMA.read_text())
    return path


def schema(path: Path) -> tuple[int, list[str], set[str]]:
    with sqlite3.connect(path) as connection:
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        columns = [row[1] for row in connection.execute("PRAGMA table_info(execution_history)")]
        indexes = {row[1] for row in connection.execute("PRAGMA index_list(execution_history)")}
    return version, columns, indexes


def test_the_fixture_is_the_seed_schema(tmp_path: Path) -> None:
    version, columns, indexes = schema(seed_database(tmp_path))
    assert version == 0
    assert columns == [
        "id",
        "task_id",
        "agent_id",
        "user_agent_id",
        "started_at",
        "ended_at",
        "status",
        "input_data",
        "output_data",
        "error_message",
    ]
    assert indexes == {"idx_agent_id", "idx_user_agent_id"}


@pytest.mark.slow
def test_history_migrates_a_seed_database_and_reads_its_rows_in_utc(tmp_path: Path) -> None:
    db = seed_database(tmp_path)
    done = run_cli(["history", "--json", "--db-path", str(db)], env=VIETNAM)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [row["id"] for row in rows] == [3, 2, 1]
    assert rows[2] == {
        "id": 1,
        "task_id": "plat-task-1",
        "agent_id": "plat-agent-A",
        "user_agent_id": "sum-agent#user-agent",
        "started_at": "2025-03-01T02:15:00.250+00:00",  # 09:15:00.25 at UTC+07:00
        "ended_at": "2025-03-01T02:15:00.500+00:00",
        "status": "success",
        "input_data": {"num1": 1, "num2": 2},
        "output_data": {"result": 3},
        "error_message": None,
        "conductor_task_id": None,
        "workflow_id": None,
        "attempt": None,
        "duration_ms": 250.0,
    }
    assert rows[1]["duration_ms"] == 2000.0
    assert rows[1]["error_message"] == "unsupported operand type(s) for +: 'int' and 'str'"
    assert rows[0]["started_at"] == "2025-03-01T03:00:00.000+00:00"
    version, columns, indexes = schema(db)
    assert version == SCHEMA_VERSION
    assert columns[-4:] == ["conductor_task_id", "workflow_id", "attempt", "duration_ms"]
    assert indexes == {"idx_agent_id", "idx_user_agent_id", "idx_status", "idx_started_at"}

    # Once only: a second reader finds the times already in UTC.
    again = run_cli(["history", "--json", "--db-path", str(db)], env={"TZ": "America/Lima"})
    assert json.loads(again.stdout) == rows


@pytest.mark.slow
def test_stats_and_detail_read_a_migrated_database(tmp_path: Path) -> None:
    db = seed_database(tmp_path)
    stats = run_cli(["history", "--stats", "--db-path", str(db)], env=VIETNAM)
    assert stats.returncode == 0, stats.stderr
    sum_row = next(line for line in stats.stdout.splitlines() if "sum-agent#user-agent" in line)
    assert [cell.strip() for cell in sum_row.split("│")[2:-1]] == [
        "2",
        "50.0%",
        "250 ms",
        "2.00 s",
        "2.00 s",
    ]
    detail = run_cli(["hd", "2", "--db-path", str(db)], env=VIETNAM)
    assert detail.returncode == 0, detail.stderr
    assert "Conductor task ID  —" in detail.stdout
    assert "unsupported operand type(s) for +: 'int' and 'str'" in detail.stdout


@pytest.mark.slow
def test_the_seed_sdk_can_still_append_after_the_migration(tmp_path: Path) -> None:
    db = seed_database(tmp_path)
    assert run_cli(["history", "--db-path", str(db)], env=VIETNAM).returncode == 0
    with sqlite3.connect(db) as connection:  # the seed SDK's insert: named columns
        connection.execute(
            "INSERT INTO execution_history (task_id, agent_id, user_agent_id, started_at, "
            "ended_at, status, input_data, output_data, error_message) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                "t9",
                "a9",
                "sum-agent#user-agent",
                "2025-03-02T10:00:00",
                "2025-03-02T10:00:01",
                "success",
                "{}",
                "{}",
                None,
            ),
        )
    done = run_cli(["history", "--json", "-n", "1", "--db-path", str(db)], env=VIETNAM)
    (row,) = json.loads(done.stdout)
    assert (row["id"], row["task_id"], row["duration_ms"]) == (4, "t9", None)


@pytest.mark.slow
def test_a_newer_schema_is_refused_by_history_and_by_run(tmp_path: Path) -> None:
    db = tmp_path / "future.db"
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE execution_history (id INTEGER PRIMARY KEY)")
        connection.execute("PRAGMA user_version = 99")
    expected = (
        f"{db} was written by a newer user-agent-sdk (history schema 99, this one reads up "
        f"to {SCHEMA_VERSION}); upgrade, or pass another --db-path\n"
    )
    done = run_cli(["history", "--db-path", str(db)])
    assert (done.returncode, done.stderr) == (1, "useragent history: " + expected)

    agent = tmp_path / "agent.py"
    agent.write_text("from user_agent_sdk import user_agent\n\n@user_agent()\ndef a(): pass\n")
    env = {"CONDUCTOR_SERVER_URL": "http://127.0.0.1:9/api", "USERAGENT_AGENT_ID": "a"}
    done = run_cli(["run", str(agent), "-r", "--db-path", str(db)], env=env, timeout=60)
    assert done.returncode == 1
    assert done.stderr.endswith("useragent run: " + expected)


def test_another_sqlite_database_is_not_taken_for_a_history(tmp_path: Path) -> None:
    db = tmp_path / "queue.db"
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE tasks (id TEXT)")
    with pytest.raises(HistoryError, match="is a SQLite database but not an execution history"):
        HistoryStore.open(db, create=True)
    assert schema(db)[0] == 0  # untouched

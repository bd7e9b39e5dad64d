"""WAL checkpoints run beside the event loop: pages reach the database file, the WAL
stays small, and commits themselves never copy pages back."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import trio

from user_agent_sdk.server import ServerConfig, TaskSettings, serve
from user_agent_sdk.server._checkpoints import Checkpointer

from .conductor_calls import start

_MIB = 1024 * 1024


def _wal_connection(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE blobs (data BLOB)")
    return db


def _write(db: sqlite3.Connection, mib: int) -> None:
    db.execute("BEGIN")
    db.execute("INSERT INTO blobs VALUES (randomblob(10))")
    for _ in range(mib * 16):
        db.execute("INSERT INTO blobs VALUES (randomblob(65536))")
    db.execute("COMMIT")


async def _until(condition: object, what: str, limit_s: float = 10.0) -> None:
    assert callable(condition)
    with trio.move_on_after(limit_s):
        while not condition():
            await trio.sleep(0.02)
        return
    raise AssertionError(f"not within {limit_s} s: {what}")


async def test_commits_leave_pages_in_the_wal_until_the_checkpointer_copies_them(
    tmp_path: Path,
) -> None:
    path = tmp_path / "queue.db"
    db = _wal_connection(path)
    checkpointer = Checkpointer(str(path), db)
    async with trio.open_nursery() as nursery:
        await nursery.start(checkpointer.run)
        assert db.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
        _write(db, 4)  # past SQLite's own threshold (1,000 pages): it would have copied
        assert path.stat().st_size < _MIB
        assert Path(f"{path}-wal").stat().st_size > 4 * _MIB

        checkpointer.committed()
        await _until(lambda: path.stat().st_size > 4 * _MIB, "the pages reach the file")

        def commit_again() -> bool:
            """A commit after the thread's passes finishes the round on this connection."""
            _write(db, 0)
            checkpointer.committed()
            return checkpointer.rounds == 1

        await _until(commit_again, "a round")
        nursery.cancel_scope.cancel()
    # Stopped: the connection is left as SQLite configures it.
    assert db.execute("PRAGMA wal_autocheckpoint").fetchone() == (1000,)
    db.close()


async def test_under_sustained_writes_the_wal_still_starts_over(tmp_path: Path) -> None:
    # A checkpoint beside a writer that never pauses cannot copy the last pages: the
    # writer's own connection must. Without that the WAL grows by all that is written.
    path = tmp_path / "queue.db"
    db = _wal_connection(path)
    checkpointer = Checkpointer(str(path), db)
    wal = Path(f"{path}-wal")
    largest_wal = 0
    async with trio.open_nursery() as nursery:
        await nursery.start(checkpointer.run)
        for _ in range(1500):  # ~60 MiB, one commit every millisecond or so
            db.execute("BEGIN")
            db.execute("INSERT INTO blobs VALUES (randomblob(40000))")
            db.execute("COMMIT")
            checkpointer.committed()
            largest_wal = max(largest_wal, wal.stat().st_size)
            await trio.sleep(0.001)
        nursery.cancel_scope.cancel()
    assert checkpointer.rounds >= 3
    assert path.stat().st_size > 50 * _MIB
    assert largest_wal < 20 * _MIB, largest_wal
    assert db.execute("SELECT count(*) FROM blobs").fetchone() == (1500,)
    db.close()


async def test_a_busy_file_backed_server_keeps_its_wal_small_and_its_data(tmp_path: Path) -> None:
    path = tmp_path / "queue.db"
    config = ServerConfig(port=0, db=str(path), task_defaults=TaskSettings())
    payload = {"blob": "x" * 200_000}
    async with trio.open_nursery() as nursery:
        server = await nursery.start(serve, config)
        async with httpx.AsyncClient(base_url=server.api_url, timeout=10) as api:
            for _ in range(6):  # ~2 MiB of input per round, more with the task rows
                for _ in range(10):
                    await start(api, "big", payload)
                await trio.sleep(0.4)
            written = path.stat().st_size
            wal = Path(f"{path}-wal").stat().st_size
        nursery.cancel_scope.cancel()
    assert written > 10 * _MIB  # the inputs were copied into the database file
    assert wal < written / 2
    db = sqlite3.connect(path)
    assert db.execute("SELECT count(*) FROM workflows").fetchone() == (60,)
    db.close()

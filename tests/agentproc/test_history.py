"""History files: where they live, which ids may name one, and what survives concurrency.

The concurrency test is the acceptance test of the issue: 20 processes append batches to
one session at the same time, and afterwards every line is there, whole, with each batch
in one piece and each process's batches in order.
"""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import textwrap
import time
import warnings
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import agentproc
from agentproc import HistoryEntry, append_history, load_history, session_file_path
from tests.agentproc.agents import TIMEOUT, agent_env


def entry(role: str, content: str) -> HistoryEntry:
    return HistoryEntry(role=role, content=content, timestamp="2024-01-01T00:00:00+00:00")


def test_entries_come_back_in_order_across_appends(tmp_path: Path) -> None:
    append_history("s1", [entry("user", "hi"), entry("assistant", "hello")], tmp_path)
    append_history("s1", [entry("user", "again")], tmp_path)
    assert load_history("s1", tmp_path) == [
        entry("user", "hi"),
        entry("assistant", "hello"),
        entry("user", "again"),
    ]
    lines = (tmp_path / "s1.jsonl").read_text().splitlines()
    assert json.loads(lines[0]) == {
        "role": "user",
        "content": "hi",
        "timestamp": "2024-01-01T00:00:00+00:00",
    }


def test_an_unknown_session_has_no_history(tmp_path: Path) -> None:
    assert load_history("never-written", tmp_path) == []
    assert not tmp_path.joinpath("never-written.jsonl").exists()


def test_a_new_entry_is_stamped_with_the_current_utc_time() -> None:
    before = time.time()
    moment = datetime.fromisoformat(HistoryEntry(role="user", content="x").timestamp)
    assert moment.utcoffset() == timedelta(0)
    assert before - 1 <= moment.timestamp() <= time.time() + 1


def test_the_empty_id_of_a_new_session_stores_nothing(tmp_path: Path) -> None:
    root = tmp_path / "sessions"
    assert load_history("", root) == []
    append_history("", [entry("user", "lost on purpose")], root)
    assert not root.exists()
    with pytest.raises(ValueError, match="must be non-empty"):
        session_file_path("", root)


def test_an_empty_batch_creates_no_file(tmp_path: Path) -> None:
    append_history("s1", [], tmp_path / "sessions")
    assert not (tmp_path / "sessions").exists()


def test_the_folder_and_file_are_private(tmp_path: Path) -> None:
    root = tmp_path / "sessions"
    append_history("s1", [entry("user", "secret")], root)
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert stat.S_IMODE((root / "s1.jsonl").stat().st_mode) == 0o600


def test_the_root_is_agentproc_home_then_the_home_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("AGENTPROC_HOME", raising=False)
    assert session_file_path("s1") == tmp_path / "home" / ".agentproc" / "sessions" / "s1.jsonl"
    monkeypatch.setenv("AGENTPROC_HOME", str(tmp_path / "elsewhere"))
    assert session_file_path("s1") == tmp_path / "elsewhere" / "sessions" / "s1.jsonl"
    append_history("s1", [entry("user", "hi")])
    assert load_history("s1") == [entry("user", "hi")]
    assert (tmp_path / "elsewhere" / "sessions" / "s1.jsonl").exists()
    # An explicit folder wins over both, and is the sessions folder itself.
    explicit = tmp_path / "explicit"
    assert session_file_path("s1", explicit) == explicit / "s1.jsonl"
    assert load_history("s1", explicit) == []


HOSTILE_IDS = [
    "..",
    ".",
    "../x",
    "a/../../x",
    "x/..",
    "./x",
    "a/./b",
    "a b",
    " padded",
    "colon:id",
    "back\\slash",
    "nul\x00byte",
    "new\nline",
    "tab\t",
    "ünïcode",
    "日本",
    "emoji\U0001f600",
    "percent%2F",
    "x" * 250,
]


@pytest.mark.parametrize("session_id", HOSTILE_IDS)
def test_a_hostile_id_is_refused_before_any_file_is_touched(
    tmp_path: Path, session_id: str
) -> None:
    root = tmp_path / "root" / "sessions"
    with pytest.raises(ValueError, match="name a history file"):
        load_history(session_id, root)
    with pytest.raises(ValueError, match="name a history file"):
        append_history(session_id, [entry("user", "attack")], root)
    with pytest.raises(ValueError, match="name a history file"):
        session_file_path(session_id, root)
    assert list(tmp_path.rglob("*")) == []  # not even the folder was created


@pytest.mark.parametrize("session_id", ["/", "a/b", "/etc/passwd", "ab+/cd==", "...", "x.y~z"])
def test_a_valid_id_with_slashes_or_dots_stays_one_file_inside_the_root(
    tmp_path: Path, session_id: str
) -> None:
    root = tmp_path / "sessions"
    path = session_file_path(session_id, root)
    assert path.parent == root
    append_history(session_id, [entry("user", session_id)], root)
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [path.name]
    assert load_history(session_id, root) == [entry("user", session_id)]


def test_ids_that_differ_only_in_slashes_never_share_a_file(tmp_path: Path) -> None:
    ids = ["a/b", "a_2Fb", "ab", "a//b", "a/b/", "/ab", "ab/"]
    paths = {session_file_path(session_id, tmp_path) for session_id in ids}
    assert len(paths) == len(ids)


def test_the_longest_id_that_fits_a_file_name_is_accepted(tmp_path: Path) -> None:
    longest = "x" * (255 - len(".jsonl"))
    append_history(longest, [entry("user", "long")], tmp_path)
    assert load_history(longest, tmp_path) == [entry("user", "long")]
    with pytest.raises(ValueError, match="too long"):
        session_file_path(longest + "x", tmp_path)


def test_corrupt_lines_are_skipped_with_a_warning_each(tmp_path: Path) -> None:
    path = tmp_path / "s1.jsonl"
    good = json.dumps({"role": "user", "content": "kept", "timestamp": "t"}).encode()
    path.write_bytes(
        b"\n".join(
            [
                good,
                b"{not json",
                b'"a string, not an object"',
                b'{"role": "user"}',
                b'{"role": 5, "content": "x", "timestamp": "t"}',
                b'{"role": "user", "content": "\xff\xfe not utf-8"}',
                b"",
                b'{"role": "assistant", "content": "no timestamp", "extra": 1}',
            ]
        )
        + b"\n"
    )
    with pytest.warns(RuntimeWarning) as warned:
        history = load_history("s1", tmp_path)
    assert history == [
        HistoryEntry(role="user", content="kept", timestamp="t"),
        HistoryEntry(role="assistant", content="no timestamp", timestamp=""),
    ]
    messages = [str(w.message) for w in warned]
    assert len(messages) == 5
    assert messages[0].startswith(f"{path}:2: skipped a corrupt history line")
    assert [m.split(":")[1] for m in messages] == ["2", "3", "4", "5", "6"]


def test_a_torn_last_line_does_not_swallow_the_next_batch(tmp_path: Path) -> None:
    append_history("s1", [entry("user", "before")], tmp_path)
    with (tmp_path / "s1.jsonl").open("ab") as file:
        file.write(b'{"role": "assistant", "content": "the writer died he')  # no newline
    append_history("s1", [entry("user", "after")], tmp_path)
    with pytest.warns(RuntimeWarning, match=r"s1\.jsonl:2: skipped a corrupt history line"):
        history = load_history("s1", tmp_path)
    assert history == [entry("user", "before"), entry("user", "after")]


@settings(max_examples=100, deadline=None)
@given(role=st.text(max_size=20), content=st.text(max_size=200))
def test_any_text_round_trips_through_the_file(role: str, content: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        append_history("prop", [entry(role, content)], folder)
        assert load_history("prop", folder) == [entry(role, content)]
        data = Path(folder, "prop.jsonl").read_bytes()
    assert data.count(b"\n") == 1  # one entry, one line, whatever the text held


def test_the_history_helpers_load_on_first_use() -> None:
    script = textwrap.dedent(
        """
        import sys
        import agentproc
        assert "agentproc._history" not in sys.modules
        assert "cattrs" not in sys.modules
        from agentproc import load_history
        assert "agentproc._history" in sys.modules and load_history("") == []
        assert "load_history" in dir(agentproc)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr.decode()
    assert agentproc.HistoryEntry is HistoryEntry
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        agentproc.nothing_here  # noqa: B018


# One appending process: waits for the start signal so that all of them overlap, then
# appends BATCHES batches of ENTRIES entries; content sizes vary (up to ~20 kB a line) so that
# a batch is far larger than any single atomic write the kernel promises.
APPENDER = """
import os, sys, time
from agentproc import HistoryEntry, append_history

root, go, writer = sys.argv[1], sys.argv[2], int(sys.argv[3])
batches, entries = int(sys.argv[4]), int(sys.argv[5])
open(f"{go}.ready{writer}", "w").close()
deadline = time.monotonic() + 60
while not os.path.exists(go):
    if time.monotonic() > deadline:
        sys.exit("no start signal")
    time.sleep(0.001)
for batch in range(batches):
    size = 10 ** (1 + (writer + batch) % 4)  # 10 B .. 10 kB
    append_history("shared", [
        HistoryEntry(role=f"w{writer}", content=f"{batch}:{index}:" + "x\\n\\u00e9" * (size // 3))
        for index in range(entries)
    ], root)
"""

# Reads the history over and over while the appenders run: with the shared lock, it
# never sees a torn line (a warning is an error here).
READER = """
import os, sys, time, warnings
from agentproc import load_history
warnings.simplefilter("error")
root, go, stop = sys.argv[1], sys.argv[2], sys.argv[3]
while not os.path.exists(go):
    time.sleep(0.001)
reads = 0
while not os.path.exists(stop):
    load_history("shared", root)
    reads += 1
print(reads)
"""


def test_twenty_concurrent_processes_lose_and_tear_no_line(tmp_path: Path) -> None:
    writers, batches, entries = 20, 5, 4
    root, go, stop = tmp_path / "sessions", tmp_path / "go", tmp_path / "stop"
    env = agent_env(tmp_path)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", APPENDER, *map(str, (root, go, writer, batches, entries))],
            env=env,
            stderr=subprocess.PIPE,
        )
        for writer in range(writers)
    ]
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(root), str(go), str(stop)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + TIMEOUT
        while len(list(tmp_path.glob("go.ready*"))) < writers and time.monotonic() < deadline:
            time.sleep(0.01)  # all interpreters up: the appends then overlap
        go.touch()
        for process in processes:
            _, err = process.communicate(timeout=TIMEOUT * 2)
            assert process.returncode == 0, err.decode()
        stop.touch()
        reads, err = reader.communicate(timeout=TIMEOUT)
        assert reader.returncode == 0, err.decode()
        assert int(reads) > 0
    finally:
        for process in [*processes, reader]:
            if process.poll() is None:
                process.kill()
                process.wait()

    raw_lines = (root / "shared.jsonl").read_bytes().split(b"\n")
    assert raw_lines[-1] == b""  # the file ends with a whole line
    records = [json.loads(line) for line in raw_lines[:-1]]  # a torn line would fail here
    assert len(records) == writers * batches * entries

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a skipped line would be a lost one
        history = load_history("shared", root)
    assert len(history) == len(records)
    # Each batch is contiguous and in order, and each writer's batches keep their order.
    keys = [(e.role, *map(int, e.content.split(":", 2)[:2])) for e in history]
    for start in range(0, len(keys), entries):
        run = keys[start : start + entries]
        assert [k[:2] for k in run] == [run[0][:2]] * entries
        assert [k[2] for k in run] == list(range(entries))
    for writer in range(writers):
        mine = [k[1] for k in keys[::entries] if k[0] == f"w{writer}"]
        assert mine == list(range(batches))
    for e in history:
        batch, _, text = e.content.split(":", 2)
        size = 10 ** (1 + (int(e.role[1:]) + int(batch)) % 4)
        assert text == "x\n\u00e9" * (size // 3)

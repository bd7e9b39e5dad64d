"""Noticing that a script or the files beside it changed, by polling their mtimes.

Polling a directory's entries a few times a second costs next to nothing and needs no
dependency, works on every platform and file system (network and container mounts too),
and sees an editor's save-by-rename like any other write.
"""

from __future__ import annotations

import os
from pathlib import Path

import trio

WATCHED = frozenset({".py", ".json", ".yaml", ".yml", ".toml", ".ini", ".cfg", ".env"})
"""What counts as a change beside the script: code and configuration (``.env`` by name),
not the history database or logs that the running agent itself writes."""

Snapshot = dict[str, tuple[int, int]]
"""File name -> (mtime in ns, size)."""


class Watcher:
    """Watches ``script`` and the watched files of its directory (not subdirectories)."""

    def __init__(self, script: Path, interval: float = 0.5, settle: float = 0.2) -> None:
        self.script = script.resolve()
        self.directory = self.script.parent
        self.interval = interval
        self.settle = settle

    def snapshot(self) -> Snapshot:
        found: Snapshot = {}
        try:
            entries = list(os.scandir(self.directory))
        except OSError:
            return found  # the directory is being replaced: the next poll sees it again
        for entry in entries:
            if entry.path != str(self.script) and _kind(entry.name) not in WATCHED:
                continue
            try:
                if entry.is_file():
                    stat = entry.stat()
                    found[entry.name] = (stat.st_mtime_ns, stat.st_size)
            except OSError:
                continue  # removed between the listing and the stat
        return found

    async def changed(self, baseline: Snapshot) -> list[str]:
        """Wait until the watched files differ from ``baseline`` and have stopped changing
        (editors write in steps); returns the names that changed. Cancel to stop waiting."""
        while True:
            await trio.sleep(self.interval)
            current = await trio.to_thread.run_sync(self.snapshot)
            if current == baseline:
                continue
            while True:
                await trio.sleep(self.settle)
                settled = await trio.to_thread.run_sync(self.snapshot)
                if settled == current:
                    return _differences(baseline, current)
                current = settled


def _kind(name: str) -> str:
    return os.path.splitext(name)[1] or name


def _differences(before: Snapshot, after: Snapshot) -> list[str]:
    return sorted(
        name for name in before.keys() | after.keys() if before.get(name) != after.get(name)
    )

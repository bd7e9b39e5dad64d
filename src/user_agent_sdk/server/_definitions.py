"""Task and workflow definitions: what the server was told about task types and workflows."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from ..models import JsonObject, TaskDef, from_json_obj, to_json_obj
from . import _changes as changes
from ._commits import GroupCommit
from ._settings import TaskSettings
from ._store import Store


class Definitions:
    """The registered definitions of one server; a registration returns once durable."""

    def __init__(self, store: Store, writes: GroupCommit, defaults: TaskSettings) -> None:
        self._store = store
        self._writes = writes
        self._defaults = defaults

    def settings_for(self, task_type: str) -> TaskSettings:
        """The registered task definition's settings, else the server's defaults."""
        definition = self.task_def(task_type)
        return self._defaults if definition is None else TaskSettings.from_task_def(definition)

    async def register_task_defs(self, definitions: Iterable[TaskDef]) -> None:
        def put(db: sqlite3.Connection) -> None:
            for definition in definitions:
                changes.put_definition(db, "task", definition.name, to_json_obj(definition))

        await self._writes.write(put)

    async def register_workflow_def(self, name: str, definition: JsonObject) -> None:
        """Store a workflow definition (already checked to be one SIMPLE task)."""
        await self._writes.write(
            lambda db: changes.put_definition(db, "workflow", name, definition)
        )

    def workflow_def(self, name: str) -> JsonObject | None:
        return self._store.get_definition("workflow", name)

    def task_def(self, name: str) -> TaskDef | None:
        found = self._store.get_definition("task", name)
        return None if found is None else from_json_obj(found, TaskDef)

    def task_defs(self) -> list[TaskDef]:
        return [from_json_obj(found, TaskDef) for found in self._store.definitions("task")]

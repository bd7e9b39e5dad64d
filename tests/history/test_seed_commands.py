"""The seed README's section "Execution History", command by command, as a user types it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from user_agent_sdk.server import RunningServer

from ..runtime.support import clean_env, finished, run_cli, submit
from ..runtime.test_seed_readme import AGENT_ID, QUICK_START, useragent_run

pytestmark = pytest.mark.slow

WIDE = clean_env(COLUMNS="200")


async def history(project: Path, *args: str) -> str:
    code, output = await run_cli(list(args), cwd=project, env=WIDE)
    assert code == 0, output
    return output


async def test_the_seed_history_commands(
    server: RunningServer, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    project = tmp_path
    inputs: list[dict[str, Any]] = [
        {"num1": 1, "num2": 2, "__task_id__": "t-1", "__deployed_workflow_id__": "your-agent-id"},
        {"num1": 3, "num2": 4, "__task_id__": "t-2", "__deployed_workflow_id__": "other-agent"},
        {"num1": 5, "num2": 6},
    ]
    async with useragent_run(server, project, QUICK_START, "-r"):  # useragent run your_agent.py -r
        for data in inputs:
            await finished(api, await submit(api, AGENT_ID, data))
    assert (project / "execution_history.db").exists()

    # Show last 50 executions
    output = await history(project, "history")
    assert "3 of 3 matching executions" in output
    # Filter by agent ID
    output = await history(project, "history", "--agent-id", "your-agent-id")
    assert "t-1" in output
    assert "t-2" not in output
    # Filter by user agent ID
    output = await history(project, "history", "--user-agent-id", "user123")
    assert "No recorded executions" in output
    output = await history(project, "history", "--user-agent-id", AGENT_ID, "--json")
    assert len(json.loads(output)) == 3
    # Limit number of records
    output = await history(project, "history", "--limit", "100")
    assert "3 of 3 matching executions" in output
    # Use custom database path
    custom = tmp_path / "path" / "to" / "custom.db"
    custom.parent.mkdir(parents=True)
    shutil.copy(project / "execution_history.db", custom)
    output = await history(project, "history", "--db-path", str(custom), "--limit", "1")
    assert "1 of 3 matching executions" in output

    # Show details for execution ID 1, or with the short alias
    detail = await history(project, "history-detail", "1")
    assert detail == await history(project, "hd", "1")
    assert "Execution 1  ✓ success" in detail
    assert '"result": 3' in detail
    assert '"num1": 1' in detail
    assert "__task_id__" not in detail  # the handler's input, as the handler saw it
    # With custom database path
    code, output = await run_cli(["hd", "5", "--db-path", str(custom)], cwd=project, env=WIDE)
    assert (code, output) == (1, f"useragent hd: no execution with id 5 in {custom}\n")

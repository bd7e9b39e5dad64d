"""No secret reaches the output of ``useragent run``, at any log level."""

from __future__ import annotations

import signal
import textwrap
from pathlib import Path

import httpx
import pytest

from user_agent_sdk.server import MEMORY, ClientCredentials, RunningServer, ServerConfig

from .support import REPO, all_finished, run_cli, submit, worker_process, write_credentials

pytestmark = pytest.mark.slow

# -- secrets --------------------------------------------------------------------------------------

SECRET = "top-secret-0f3c9e"


@pytest.fixture
def server_config() -> ServerConfig:
    return ServerConfig(
        port=0,
        db=MEMORY,
        auth_required=True,
        credentials=ClientCredentials("agent-client", SECRET),
    )


async def authorized(server: RunningServer) -> httpx.AsyncClient:
    async with httpx.AsyncClient(base_url=server.api_url) as anonymous:
        response = await anonymous.post(
            "/token", json={"keyId": "agent-client", "keySecret": SECRET}
        )
    token = response.json()["token"]
    return httpx.AsyncClient(base_url=server.api_url, headers={"X-Authorization": token})


async def test_secrets_never_appear_in_the_output_even_with_debug_logging(
    server: RunningServer, tmp_path: Path
) -> None:
    write_credentials(tmp_path, server, agentId="secretive")
    agent = tmp_path / "agent.py"
    agent.write_text(
        textwrap.dedent(
            """
        from user_agent_sdk import user_agent

        @user_agent()
        def secretive(input_data, logger):
            logger.info("working")
            if input_data.get("fail"):
                raise ValueError("failing on purpose")
            return {"ok": True}
        """
        )
    )
    async with await authorized(server) as api:
        args = ["run", str(agent), "--debug", "--log-level", "debug"]
        async with worker_process(args, cwd=tmp_path) as worker:
            await worker.wait_for("serving agent id 'secretive'")
            ids = [await submit(api, "secretive", {"fail": n == 0}, retryCount=0) for n in range(3)]
            await all_finished(api, ids)
            worker.signal(signal.SIGTERM)
            assert await worker.wait() == 0
    assert "failing on purpose" in worker.output  # the debug output is really there
    assert "HTTP Request: POST" in worker.output
    assert SECRET not in worker.output


async def test_refused_credentials_exit_1_without_showing_the_secret(
    server: RunningServer, tmp_path: Path
) -> None:
    wrong = "wrong-secret-77aa"
    write_credentials(tmp_path, server, clientSecret=wrong)
    code, output = await run_cli(
        ["run", str(REPO / "examples" / "sum_agent.py"), "--log-level", "debug"],
        cwd=tmp_path,
        timeout=30,
    )
    assert code == 1, output
    assert "refused clientId 'agent-client'" in output
    assert wrong not in output
    assert SECRET not in output

"""The examples of the guides and reference pages run, and do what the pages say.

Each test takes its code from the page (``blocks(PAGE)``), so an edit to an example is
tested as written. Pages: guides/user-agents.md, guides/async-handlers.md, guides/server.md,
guides/history.md, guides/embedding.md, guides/operations.md, guides/security.md,
reference/settings.md, reference/credentials.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
import trustme
import yaml

from user_agent_sdk import Registry, Settings, register_user_agent
from user_agent_sdk._registry import collecting
from user_agent_sdk.conductor import OAuth2ClientCredentials, TaskResultStatus
from user_agent_sdk.config import derive_urls, settings_from_credentials_file
from user_agent_sdk.server import RunningServer
from user_agent_sdk.testing import embedded_server, run_task

from .pages import DOCS, blocks

GUIDES = DOCS / "guides"


def code(page: Path, index: int, language: str = "python") -> str:
    found = blocks(page)
    assert found[index][0] == language, f"{page}: block {index} is {found[index][0]}"
    return found[index][1]


def run_page_code(source: str, page: Path, **names: Any) -> dict[str, Any]:
    """Execute an example as a module, its ``@user_agent`` registrations kept to itself:
    each agent it registers is in the namespace under its name, as an ``AgentSpec``."""
    namespace: dict[str, Any] = {"__name__": "example", **names}
    with collecting() as registry:
        exec(compile(source, str(page), "exec"), namespace)
    for spec in registry.specs:
        namespace[spec.name] = spec  # with the options it was registered with
    return namespace


@pytest.fixture
async def server() -> Any:
    async with embedded_server() as running:
        yield running


@contextlib.contextmanager
def conductor_at(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch, cwd: Path
) -> Iterator[None]:
    """``load_settings()`` finds no credentials.json and connects to ``server``."""
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("CONDUCTOR_SERVER_URL", server.api_url)
    for name in ("CONDUCTOR_AUTH_KEY", "CONDUCTOR_AUTH_SECRET", "USERAGENT_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    yield


async def test_user_agents_summarize_completes_fails_for_good_and_logs(
    server: RunningServer,
) -> None:
    page = GUIDES / "user-agents.md"
    summarize = run_page_code(code(page, 0), page)["summarize"]
    done = await run_task(summarize, {"text": "three short words"}, server=server)
    assert (done.status, done.output) == (
        TaskResultStatus.COMPLETED,
        {"summary": "three short words"},
    )
    assert done.logs == ["INFO summarizing 3 words"]
    refused = await run_task(summarize, {"text": ""}, server=server)
    assert (refused.status, refused.reason) == (
        TaskResultStatus.FAILED_WITH_TERMINAL_ERROR,
        "nothing to summarize",
    )


async def test_async_handlers_run_on_asyncio_and_on_trio(server: RunningServer) -> None:
    page = GUIDES / "async-handlers.md"
    namespace = run_page_code(code(page, 0), page)
    for name in ("aio", "native"):
        done = await run_task(namespace[name], {}, server=server)
        assert (done.status, done.output) == (TaskResultStatus.COMPLETED, {"result": 3}), name


def test_the_server_embedded_prints_its_api_url() -> None:
    page = GUIDES / "server.md"
    printed: list[str] = []
    run_page_code(code(page, -1), page, print=printed.append)
    assert len(printed) == 1
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/api", printed[0])


async def test_history_records_what_the_runtime_served(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    page = GUIDES / "history.md"
    printed: list[tuple[object, ...]] = []
    namespace = run_page_code(code(page, -1), page, print=lambda *words: printed.append(words))
    monkeypatch.chdir(tmp_path)

    def check(input_data: dict[str, Any]) -> dict[str, Any]:
        if input_data["n"] < 0:
            raise ValueError("negative")
        return input_data

    agents = Registry()
    register_user_agent(check, agent_id="check", registry=agents)
    settings = Settings(api_url=server.api_url)
    done = trio.Event()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(namespace["serve_recorded"], settings, agents, done)
        async with httpx.AsyncClient(base_url=server.api_url) as http:
            ids = [
                (await http.post("/workflow/check", json={"n": n}, params={"retryCount": 0})).text
                for n in (1, -1)
            ]
            for workflow_id in ids:
                while (await http.get(f"/workflow/{workflow_id}/status")).json()["status"] in (
                    "RUNNING",
                ):
                    await trio.sleep(0.02)
        done.set()
    namespace["print_last_errors"]()
    assert [words[1:] for words in printed] == [("check", "ValueError: negative")]


async def test_embedding_with_open_runtime_serves_a_task_and_drains(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    page = GUIDES / "embedding.md"
    source = code(page, 0)
    assert "open_runtime(" in source
    assert source.endswith("trio.run(main)\n")
    with conductor_at(server, monkeypatch, tmp_path):
        namespace = run_page_code(source.removesuffix("trio.run(main)\n"), page)
        async with httpx.AsyncClient(base_url=server.api_url) as http:
            workflow_id = (await http.post("/workflow/double", json={"n": 21})).text
            with trio.fail_after(10):
                await namespace["main"]()  # returns once it has served the task, drained
            workflow = (await http.get(f"/workflow/{workflow_id}")).json()
    assert (workflow["status"], workflow["output"]) == ("COMPLETED", {"result": 42})


async def test_embedding_in_trio_serves_and_drains(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    page = GUIDES / "embedding.md"
    source = code(page, 2)
    assert source.endswith("trio.run(main)\n")
    with conductor_at(server, monkeypatch, tmp_path):
        namespace = run_page_code(source.removesuffix("trio.run(main)\n"), page)
        with trio.fail_after(10):
            await namespace["main"]()


async def test_embedding_in_asyncio_serves_beside_an_aiohttp_app(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    page = GUIDES / "embedding.md"
    source = code(page, 1)
    wait_forever = "await asyncio.Event().wait()"
    assert wait_forever in source
    assert '"127.0.0.1", 8000' in source
    # The program's "until stopped": here, until the agent has doubled one number.
    source = source.replace(wait_forever, "await until_served()").replace(
        '"127.0.0.1", 8000', '"127.0.0.1", 0'
    )
    source = source.removesuffix("asyncio.run(main())\n")

    async def until_served() -> None:
        async with httpx.AsyncClient(base_url=server.api_url) as http:
            workflow_id = (await http.post("/workflow/double", json={"n": 21})).text
            while (workflow := (await http.get(f"/workflow/{workflow_id}")).json())[
                "status"
            ] == "RUNNING":
                await asyncio.sleep(0.02)
        outputs.append(workflow["output"])

    outputs: list[dict[str, Any]] = []
    with conductor_at(server, monkeypatch, tmp_path):
        namespace = run_page_code(source, page, until_served=until_served)
        with trio.fail_after(20):
            await trio.to_thread.run_sync(asyncio.run, namespace["main"]())
    assert outputs == [{"n": 42}]


def test_the_probes_are_the_worker_endpoints() -> None:
    probes = yaml.safe_load(code(GUIDES / "operations.md", 1, "yaml"))
    assert probes["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert probes["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_settings_built_in_code() -> None:
    page = DOCS / "reference" / "settings.md"
    settings = run_page_code(code(page, 0), page)["settings"]
    assert (settings.api_url, settings.agent_id, settings.event_loop) == (
        "http://127.0.0.1:8080/api",
        "sum",
        "trio",
    )


def test_the_credentials_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    path.write_text(code(DOCS / "reference" / "credentials.md", 0, "json"))
    settings = settings_from_credentials_file(path, env={})
    api_url, token_url = derive_urls("https://next.akabot.io")
    assert (settings.api_url, settings.agent_id) == (api_url, "summarize")
    assert settings.credentials == OAuth2ClientCredentials(token_url, "my-client", "...")


def test_the_credentials_file_with_a_corporate_ca_loads(tmp_path: Path) -> None:
    text = code(GUIDES / "security.md", 0, "json")
    bundle = json.loads(text)["caBundle"]
    trustme.CA().cert_pem.write_to_path(str(tmp_path / bundle))
    path = tmp_path / "credentials.json"
    path.write_text(text)
    settings = settings_from_credentials_file(path, env={})
    assert settings.ca_bundle == str((tmp_path / bundle).resolve())

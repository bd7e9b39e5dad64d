"""The contenders: how each is started against a server, as its users start it.

- ``ours``: this project, ``useragent run agent.py -w N``, Conductor flavour
  (``CONDUCTOR_SERVER_URL`` + an Orkes key): the headline;
- ``ours-metrics``: ``ours`` with ``--metrics-port``, its ``/metrics`` scraped every
  second (:mod:`.scraped`; Prometheus' default is every 15 s): what metrics cost;
- ``ours-akabot``: the same program in the akaBot flavour (``credentials.json``: OAuth2
  token, single polls on the ``/tasks/external`` paths), as user-agent-sdk 0.2.0 talks;
- ``user-agent-sdk``: the reference akaBot SDK 0.2.0, ``useragent run agent.py --workers N``
  (N threads, each polling for one task) with the same ``credentials.json``, from its
  own venv;
- ``conductor-python``: the official Conductor client 2.x, a ``TaskHandler`` program
  (:mod:`.agents` says how it is configured for each workload, and why);
- ``raw``: :mod:`raw_client` (batch poll + one plain update per task, no handler): the
  least client CPU per task on Conductor's standard requests. Not a ceiling: a client
  posting many results per request (``update-batch``, as ours does against this server)
  costs the server less per task and moves more tasks per second than this one. Not run
  on the agent workloads (with no handler it would measure a no-op there), nor on
  ``async-10ms-asyncio`` (what it measures on ``async-10ms`` again).

N is the workload's concurrency (:attr:`.agents.Workload.concurrency`).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import sys
from collections.abc import Callable
from pathlib import Path

import attrs

from . import agents, venvs
from .server import Server

HEADLINE = "ours"
ALL = ("ours", "ours-metrics", "ours-akabot", "user-agent-sdk", "conductor-python", "raw")
_SCRAPED = Path(__file__).with_name("scraped.py")
SCRAPE_EVERY_S = 1.0
_RAW_CLIENT = Path(__file__).with_name("raw_client.py")
_NO_HANDLER_SKIPS = ("async-10ms-asyncio", "agent-async", "sync-500ms")


@attrs.frozen
class Launch:
    argv: list[str]
    env: dict[str, str]


@attrs.frozen
class Contender:
    """One way of serving tasks; :meth:`launch` writes its files into ``folder``."""

    name: str
    label: str
    version: str
    python: str
    make: Callable[[Path, Server, str, str], Launch]
    skipped: tuple[str, ...] = ()
    """Workloads it is not run on; ``skip_reason`` says why."""
    skip_reason: str = ""

    def launch(self, folder: Path, server: Server, workload: str, task_type: str) -> Launch:
        return self.make(folder, server, workload, task_type)


def _clean_env() -> dict[str, str]:
    """The harness's environment without anything that would point a client elsewhere."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CONDUCTOR_", "USERAGENT_", "conductor_worker"))
    }


def _conductor_env(server: Server) -> dict[str, str]:
    return {
        **_clean_env(),
        "CONDUCTOR_SERVER_URL": server.api_url,
        "CONDUCTOR_AUTH_KEY": server.client_id,
        "CONDUCTOR_AUTH_SECRET": server.client_secret,
    }


def _write_credentials(folder: Path, server: Server) -> None:
    path = folder / "credentials.json"
    path.write_text(json.dumps(server.credentials_json))
    path.chmod(0o600)


def _ours(flavour: str, scraped: bool = False) -> Callable[[Path, Server, str, str], Launch]:
    def make(folder: Path, server: Server, workload: str, task_type: str) -> Launch:
        script = folder / "agent.py"
        script.write_text(agents.user_agent_script("ours", workload, task_type))
        argv = [sys.executable, "-m", "user_agent_sdk.cli", "run", str(script)]
        argv += ["-w", str(agents.WORKLOADS[workload].concurrency), "--log-level", "warning"]
        if scraped:
            argv = [sys.executable, str(_SCRAPED), "--every", str(SCRAPE_EVERY_S), "--", *argv]
        if flavour == "conductor":
            return Launch(argv, _conductor_env(server))
        _write_credentials(folder, server)
        return Launch(argv, _clean_env())

    return make


def _user_agent_sdk(env: venvs.PeerEnv) -> Callable[[Path, Server, str, str], Launch]:
    def make(folder: Path, server: Server, workload: str, task_type: str) -> Launch:
        script = folder / "agent.py"
        script.write_text(agents.user_agent_script("uas", workload, task_type))
        _write_credentials(folder, server)
        argv = [str(env.bin("useragent")), "run", str(script)]
        workers = str(agents.WORKLOADS[workload].concurrency)
        return Launch([*argv, "--workers", workers], _clean_env())

    return make


def _conductor_python(env: venvs.PeerEnv) -> Callable[[Path, Server, str, str], Launch]:
    def make(folder: Path, server: Server, workload: str, task_type: str) -> Launch:
        script = folder / "worker.py"
        script.write_text(agents.conductor_script(workload, task_type))
        return Launch([str(env.python), str(script)], _conductor_env(server))

    return make


def _raw(folder: Path, server: Server, workload: str, task_type: str) -> Launch:
    # 8 connections of 4 tasks: enough requests in flight to keep the server busy, few
    # enough threads that the client's own cost stays the least of all contenders.
    lanes = 8
    argv = [sys.executable, str(_RAW_CLIENT), task_type, "--lanes", str(lanes)]
    argv += ["--batch", str(agents.WORKLOADS[workload].concurrency // lanes)]
    return Launch(argv, _conductor_env(server))


def build(name: str) -> Contender:
    """The contender ``name``, installing a peer into its venv first when needed."""
    here = platform.python_version()
    ours = importlib.metadata.version("user-agent-sdk")
    if name == "ours":
        return Contender(name, f"ours {ours} (Conductor)", ours, here, _ours("conductor"))
    if name == "ours-metrics":
        label = f"ours {ours} (Conductor, --metrics-port, scraped every {SCRAPE_EVERY_S:g} s)"
        return Contender(
            name,
            label,
            ours,
            here,
            _ours("conductor", scraped=True),
            skipped=tuple(w for w in agents.WORKLOADS if w != "noop"),
            skip_reason="what metrics cost is measured on (a), where the runtime's own work "
            "is the largest share of each task",
        )
    if name == "ours-akabot":
        return Contender(name, f"ours {ours} (akaBot)", ours, here, _ours("akabot"))
    if name == "user-agent-sdk":
        env = venvs.user_agent_sdk_env()
        return Contender(
            name, "user-agent-sdk 0.2.0", env.version, env.python_version, _user_agent_sdk(env)
        )
    if name == "conductor-python":
        env = venvs.conductor_python_env()
        label = f"conductor-python {env.version}"
        return Contender(name, label, env.version, env.python_version, _conductor_python(env))
    if name == "raw":
        return Contender(
            name,
            "raw client (poll + update)",
            "-",
            here,
            _raw,
            skipped=_NO_HANDLER_SKIPS,
            skip_reason="it runs no handler: on an agent workload it would measure a no-op, "
            "on async-10ms-asyncio its async-10ms run again",
        )
    raise SystemExit(f"unknown contender {name!r}: choose from {', '.join(ALL)}")

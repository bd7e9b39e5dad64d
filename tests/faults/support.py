"""The fault suite's machinery: real servers and workers, the agent they run, and the books.

A :class:`Scenario` starts ``useragent server`` and ``useragent run`` as child processes
(output to files under the test's ``tmp_path``), submits work over the server's HTTP API
and, at the end, settles the books: every workflow's final state read back through
``GET /api/workflow/{id}``, and every execution the agent performed, read from the file it
appends one line to per execution (``n task_id pid time``, one ``O_APPEND`` write each, so
lines of concurrent writers never mix, and a ``kill -9`` loses nothing already written).

The agent squares its input, ``{"n": n} -> {"n": n, "square": n * n}``, so every output
can be checked. :class:`Figures` counts what the issue's title asks about:

- **lost**: a workflow that is not ``COMPLETED`` at the end (after a generous wait);
- **wrong**: a ``COMPLETED`` workflow whose output is not its input squared, or whose
  completing task attempt was never executed by the agent (an output from nowhere);
- **re-executed**: an input the agent executed more than once.

Every process a scenario starts is stopped and reaped when the scenario ends, also when
the test fails (``kill -9`` then, after the chance to stop cleanly has passed).
"""

from __future__ import annotations

import collections
import http.client
import json
import os
import re
import secrets
import signal
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar
from urllib.parse import urlencode, urlsplit

import attrs
import trio

from ..processes import URL, useragent_command

AGENT_ID = "fault-square"
"""The task type (agent id) every scenario's agent serves."""
CLIENT_ID = "fault-suite"
"""The client id of servers started with ``--auth required``."""
LANES = 6
"""Threads that submit and read back workflows."""
UNFINISHED = frozenset({"RUNNING", "PAUSED"})
"""Workflow statuses that may still change."""

T = TypeVar("T")
R = TypeVar("R")

AGENT_SOURCE = """\
import os
import time

import trio

from user_agent_sdk import user_agent

_LOG = os.open(os.environ["FAULT_EXECUTIONS"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
_PID = os.getpid()
_SECONDS = float(os.environ["FAULT_TASK_SECONDS"])
_OPTIONS = dict(agent_id={agent_id!r}, worker_id=os.environ["FAULT_WORKER_ID"], workers=4)


def _done(input_data, task):
    n = input_data["n"]
    # One write per execution, O_APPEND: atomic, and on disk even if we are killed next.
    os.write(_LOG, f"{{n}} {{task.task_id}} {{_PID}} {{time.time():.3f}}\\n".encode())
    return {{"n": n, "square": n * n}}


if os.environ["FAULT_HANDLER"] == "async":

    @user_agent(**_OPTIONS, event_loop="trio")
    async def square(input_data, task):
        await trio.sleep(_SECONDS)
        return _done(input_data, task)

else:

    @user_agent(**_OPTIONS)
    def square(input_data, task):
        time.sleep(_SECONDS)
        return _done(input_data, task)
"""


def expected_output(n: int) -> dict[str, int]:
    return {"n": n, "square": n * n}


# -- child processes --------------------------------------------------------------------------


class Child:
    """One child process; its stdout and stderr go to ``log_path``."""

    def __init__(self, name: str, process: trio.Process, log_path: Path) -> None:
        self.name = name
        self.process = process
        self.log_path = log_path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process.returncode is None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tail(self, lines: int = 30) -> str:
        return "".join(self.output().splitlines(keepends=True)[-lines:])

    def signal(self, signum: int) -> None:
        if self.running:
            self.process.send_signal(signum)

    async def wait(self, timeout: float) -> int:
        """The exit code; AssertionError if it still runs after ``timeout`` seconds."""
        with trio.move_on_after(timeout):
            return await self.process.wait()
        raise AssertionError(f"{self.name} still runs after {timeout} s:\n{self.tail()}")

    async def kill(self) -> None:
        """``kill -9`` and reap."""
        self.signal(signal.SIGKILL)
        await self.process.wait()

    async def wait_for_output(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        """The first match of ``pattern`` in the output so far or to come."""
        with trio.move_on_after(timeout):
            while True:
                match = re.search(pattern, self.output())
                if match:
                    return match
                if not self.running:
                    break
                await trio.sleep(0.05)
        raise AssertionError(f"no {pattern!r} from {self.name}:\n{self.tail()}")


@asynccontextmanager
async def child(
    name: str, args: Iterable[str], *, cwd: Path, env: Mapping[str, str], log_path: Path
) -> AsyncIterator[Child]:
    """``useragent ARGS`` as a child; on exit SIGTERM, then SIGKILL after 15 s, and reaped."""
    with log_path.open("ab") as log_file:
        process = await trio.lowlevel.open_process(
            useragent_command(*args),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    proc = Child(name, process, log_path)
    try:
        yield proc
    finally:
        with trio.CancelScope(shield=True):
            if proc.running:
                proc.signal(signal.SIGTERM)
                with trio.move_on_after(15):
                    await process.wait()
            if proc.running:
                await proc.kill()


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without Conductor/useragent settings or proxies, plus ``extra``."""
    dropped = ("CONDUCTOR_", "USERAGENT_")
    proxies = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(dropped) and key.lower() not in proxies
    }
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


# -- what happened -------------------------------------------------------------------------------


@attrs.frozen
class Execution:
    """One line of the agent's execution file."""

    n: int
    task_id: str
    pid: int
    at: float
    """When it ended (``time.time()``)."""


def read_executions(path: Path) -> list[Execution]:
    if not path.exists():
        return []
    executions = []
    for line in path.read_text().splitlines():
        n, task_id, pid, at = line.split(" ")
        executions.append(Execution(int(n), task_id, int(pid), float(at)))
    return executions


def count_lines(path: Path) -> int:
    try:
        with path.open("rb") as file:
            return file.read().count(b"\n")
    except FileNotFoundError:
        return 0


@attrs.frozen(repr=False)
class Figures:
    """The books of one scenario; ``str()`` is the report a test prints and asserts with."""

    title: str
    tasks: int
    lost: list[str]
    """Workflows not COMPLETED at the end: ``id (status)``."""
    wrong: list[str]
    """COMPLETED workflows with a wrong output, or completed by an attempt never executed."""
    executions: int
    re_executed: dict[int, list[Execution]]
    """Inputs executed more than once, with their executions."""
    by_pid: dict[int, int]
    """Executions per worker process."""
    by_worker_id: dict[str, int]
    """Completed tasks per ``workerId``, as the server recorded them."""
    attempts: dict[str, int]
    """Task attempts by final status, over every workflow (retries included)."""
    failure_reasons: list[str]
    """``reasonForIncompletion`` of every attempt that did not complete (distinct, sorted)."""
    timed_out: dict[str, list[str]]
    """Ids of TIMED_OUT attempts, by the worker that held them."""
    unexecuted_timeouts: dict[str, float]
    """TIMED_OUT attempts the agent never executed (leased, never received or never
    started): task id -> when it was leased (``startTime``, seconds since the epoch)."""
    wall_s: float
    notes: tuple[str, ...] = ()

    @property
    def extra_executions(self) -> int:
        return sum(len(runs) - 1 for runs in self.re_executed.values())

    def unexplained_re_executions(self) -> dict[int, list[Execution]]:
        """Re-executed inputs none of whose executions was of an attempt whose lease ran
        out (the one reason for a task to run again here)."""
        expired = {task_id for ids in self.timed_out.values() for task_id in ids}
        return {
            n: runs
            for n, runs in self.re_executed.items()
            if not any(run.task_id in expired for run in runs)
        }

    def with_notes(self, *notes: str) -> Figures:
        return attrs.evolve(self, notes=(*self.notes, *notes))

    def __str__(self) -> str:
        lines = [
            f"== {self.title}",
            f"   tasks {self.tasks}, wall {self.wall_s:.1f} s",
            f"   lost {len(self.lost)}, wrong {len(self.wrong)}, "
            f"re-executed {len(self.re_executed)} inputs ({self.extra_executions} extra runs)",
            f"   executions {self.executions}, by pid {dict(sorted(self.by_pid.items()))}",
            f"   completed by workerId {dict(sorted(self.by_worker_id.items()))}",
            f"   attempts by status {dict(sorted(self.attempts.items()))}",
            f"   timed out, by holder {_sizes(self.timed_out)}; "
            f"{len(self.unexecuted_timeouts)} of them never executed",
        ]
        lines += [f"   lost: {item}" for item in self.lost[:10]]
        lines += [f"   wrong: {item}" for item in self.wrong[:10]]
        for n, runs in list(self.re_executed.items())[:10]:
            lines.append(f"   re-executed n={n}: {[(r.task_id, r.pid) for r in runs]}")
        lines += [f"   failure reason: {reason}" for reason in self.failure_reasons[:10]]
        lines += [f"   {note}" for note in self.notes]
        return "\n".join(lines)

    __repr__ = __str__  # what pytest shows of an assertion message


def _sizes(groups: Mapping[str, list[str]]) -> dict[str, int]:
    return {key: len(value) for key, value in sorted(groups.items())}


def tally(
    title: str,
    inputs: Mapping[str, int],
    workflows: Mapping[str, Mapping[str, Any]],
    executions: list[Execution],
    wall_s: float,
) -> Figures:
    """The books, from each workflow's final state and the agent's executions."""
    runs: dict[int, list[Execution]] = collections.defaultdict(list)
    for execution in executions:
        runs[execution.n].append(execution)
    executed_ids = {execution.task_id for execution in executions}
    lost, wrong, reasons = [], [], set()
    attempts: collections.Counter[str] = collections.Counter()
    by_worker: collections.Counter[str] = collections.Counter()
    timed_out: dict[str, list[str]] = collections.defaultdict(list)
    unexecuted: dict[str, float] = {}
    for workflow_id, n in inputs.items():
        workflow = workflows[workflow_id]
        tasks = workflow.get("tasks", [])
        for task in tasks:
            status = task.get("status", "?")
            attempts[status] += 1
            if status == "TIMED_OUT":
                timed_out[str(task.get("workerId"))].append(task["taskId"])
                if task["taskId"] not in executed_ids:
                    unexecuted[task["taskId"]] = int(task.get("startTime", 0)) / 1000
            elif status != "COMPLETED" and task.get("reasonForIncompletion"):
                reasons.add(f"{status}: {task['reasonForIncompletion']}")
        if workflow.get("status") != "COMPLETED":
            lost.append(f"{workflow_id} n={n} ({workflow.get('status')}, {len(tasks)} attempts)")
            continue
        if workflow.get("output") != expected_output(n):
            wrong.append(f"{workflow_id} n={n}: output {workflow.get('output')}")
            continue
        completing = [task for task in tasks if task.get("status") == "COMPLETED"]
        if len(completing) != 1 or completing[0]["taskId"] not in executed_ids:
            wrong.append(f"{workflow_id} n={n}: completed by {completing}, never executed")
            continue
        by_worker[str(completing[0].get("workerId"))] += 1
    return Figures(
        title=title,
        tasks=len(inputs),
        lost=lost,
        wrong=wrong,
        executions=len(executions),
        re_executed={n: found for n, found in sorted(runs.items()) if len(found) > 1},
        by_pid=dict(collections.Counter(execution.pid for execution in executions)),
        by_worker_id=dict(by_worker),
        attempts=dict(attempts),
        failure_reasons=sorted(reasons),
        timed_out=dict(timed_out),
        unexecuted_timeouts=unexecuted,
        wall_s=wall_s,
    )


# -- talking to the server ---------------------------------------------------------------------


class Api:
    """The server's HTTP API from threads, one keep-alive connection each (``http.client``:
    several times cheaper per request than httpx, which made submitting and reading back
    thousands of workflows the slowest part of a test).

    With ``secret``, requests carry an Orkes token from ``POST /api/token``, fetched again
    on a 401. A connection the server closed (it was restarted) is opened again, once (a
    submission whose answer was lost that way would be made twice: the scenarios submit
    only while the server is up).
    """

    def __init__(self, api_url: str, secret: str | None = None) -> None:
        parts = urlsplit(api_url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self._prefix = parts.path
        self._secret = secret
        self._local = threading.local()
        self._lock = threading.Lock()
        self._token: str | None = None
        self.tokens_fetched = 0

    def _connection(self, fresh: bool = False) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None or fresh:
            if connection is not None:
                connection.close()
            connection = http.client.HTTPConnection(self._host, self._port, timeout=60)
            self._local.connection = connection
        return connection

    def _send(self, method: str, path: str, payload: bytes | None) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        if self._secret is not None:
            headers["X-Authorization"] = self._current_token()
        for fresh in (False, True):
            connection = self._connection(fresh)
            try:
                connection.request(method, self._prefix + path, body=payload, headers=headers)
                response = connection.getresponse()
                return response.status, response.read()
            except (ConnectionError, http.client.HTTPException):
                if fresh:
                    raise
        raise AssertionError("unreachable")

    def _current_token(self, stale: str | None = None) -> str:
        with self._lock:
            if self._token is None or self._token == stale:
                body = json.dumps({"keyId": CLIENT_ID, "keySecret": self._secret}).encode()
                self._token = None
                status, answer = self._send_plain("POST", "/token", body)
                assert status == 200, f"POST /token: {status} {answer[:200]!r}"
                self._token = str(json.loads(answer)["token"])
                self.tokens_fetched += 1
            return self._token

    def _send_plain(self, method: str, path: str, payload: bytes) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection(self._host, self._port, timeout=60)
        try:
            connection.request(method, self._prefix + path, body=payload)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def call(self, method: str, path: str, body: object = None) -> bytes:
        """The answer's body; AssertionError unless the status is 200."""
        payload = None if body is None else json.dumps(body).encode()
        status, answer = self._send(method, path, payload)
        if status == 401 and self._secret is not None:
            self._current_token(stale=self._token)
            status, answer = self._send(method, path, payload)
        assert status == 200, f"{method} {path}: {status} {answer[:300]!r}"
        return answer

    def submit(self, n: int, query: str) -> str:
        return self.call("POST", f"/workflow/{AGENT_ID}{query}", {"n": n}).decode().strip()

    def workflow(self, workflow_id: str) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(
            self.call("GET", f"/workflow/{workflow_id}?includeTasks=true")
        )
        return found


def in_threads(function: Callable[[T], R], items: Iterable[T], lanes: int = LANES) -> list[R]:
    """``function`` of each item, over ``lanes`` threads, in order."""
    with ThreadPoolExecutor(lanes) as pool:
        return list(pool.map(function, items))


@attrs.frozen
class Worker:
    """What ``useragent run`` a scenario starts; ``name`` is also its workerId."""

    name: str
    workers: int
    """``-w``."""
    flavour: Literal["conductor", "akabot"] = "conductor"
    """"conductor": ``$CONDUCTOR_SERVER_URL`` (plus the Orkes key and secret when the server
    wants tokens); "akabot": a ``credentials.json`` in the worker's own directory."""
    handler: Literal["async", "sync"] = "async"
    """``async def`` or ``def``."""
    task_seconds: float = 0.002
    """How long the handler takes (a sleep)."""
    extra: tuple[str, ...] = ()
    """More options of ``useragent run``."""

    def __str__(self) -> str:
        extra = " ".join(self.extra)
        return f"{self.flavour}, -w {self.workers}{' ' if extra else ''}{extra}, {self.handler}"


@attrs.frozen
class ServerOptions:
    db: Path
    args: tuple[str, ...] = ()
    secret: str | None = None
    """The client secret of a server with ``--auth required`` (passed by environment)."""


class Scenario:
    """The processes and the work of one fault test; ``async with`` reaps every process."""

    def __init__(self, directory: Path, title: str) -> None:
        self.directory = directory
        self.title = title
        self.executions_path = directory / "executions.log"
        self.agent_path = directory / "agent.py"
        self.agent_path.write_text(AGENT_SOURCE.format(agent_id=AGENT_ID))
        self.inputs: dict[str, int] = {}
        self.server: Child | None = None
        self.servers: list[Child] = []
        self.base_url = ""
        self.workers: dict[str, Child] = {}
        self._server_options: ServerOptions | None = None
        self._port = 0
        self._stack = AsyncExitStack()
        self._api: Api | None = None
        self._started = time.monotonic()
        self._runs = 0
        self._notes: list[str] = []

    async def __aenter__(self) -> Scenario:
        await self._stack.__aenter__()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool | None:
        return await self._stack.__aexit__(kind, error, traceback)

    def note(self, text: str) -> None:
        """A line for the report, stamped with the seconds since the scenario began."""
        self._notes.append(f"{time.monotonic() - self._started:5.1f} s  {text}")

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api"

    @property
    def api(self) -> Api:
        assert self._api is not None, "start the server first"
        return self._api

    # -- the server --

    async def start_server(self, *args: str, auth: bool = False) -> Child:
        """``useragent server --db FILE ARGS`` on a free port (the same port on a restart).

        With ``auth``: ``--auth required`` with :data:`CLIENT_ID` and a secret of its own.
        """
        if self._server_options is None:
            secret = secrets.token_hex(16) if auth else None
            if auth:
                args = ("--auth", "required", "--client-id", CLIENT_ID, *args)
            self._server_options = ServerOptions(self.directory / "queue.db", args, secret)
        options = self._server_options
        self._runs += 1
        env = clean_env(**({"USERAGENT_CLIENT_SECRET": options.secret} if options.secret else {}))
        argv = ["server", "--db", str(options.db), "--port", str(self._port), *options.args]
        server = await self._stack.enter_async_context(
            child(
                f"server #{self._runs}",
                argv,
                cwd=self.directory,
                env=env,
                log_path=self.directory / f"server-{self._runs}.log",
            )
        )
        match = await server.wait_for_output(URL.pattern, timeout=30)
        self.base_url = match.group(1)
        self._port = int(self.base_url.rsplit(":", 1)[1])
        self.server = server
        self.servers.append(server)
        self.note(f"{server.name} up at {self.base_url} (pid {server.pid})")
        if self._api is None:
            self._api = Api(self.api_url, options.secret)
        return server

    # -- workers --

    async def start_worker(self, spec: Worker) -> Child:
        """``useragent run agent.py -w N`` as ``spec`` says, once it serves."""
        [worker] = await self.start_workers(spec)
        return worker

    async def start_workers(self, *specs: Worker) -> list[Child]:
        """Several workers started together (none gets a head start), once all serve."""
        started = [await self._launch(spec) for spec in specs]
        async with trio.open_nursery() as nursery:
            for worker in started:
                nursery.start_soon(partial(worker.wait_for_output, r"serving agent id", 30))
        for spec, worker in zip(specs, started, strict=True):
            self.note(f"{worker.name} serving: {spec} (pid {worker.pid})")
        return started

    async def _launch(self, spec: Worker) -> Child:
        assert spec.name not in self.workers
        home = self.directory / spec.name
        home.mkdir()
        env = clean_env(
            FAULT_EXECUTIONS=str(self.executions_path),
            FAULT_WORKER_ID=spec.name,
            FAULT_HANDLER=spec.handler,
            FAULT_TASK_SECONDS=str(spec.task_seconds),
        )
        secret = self._server_options.secret if self._server_options else None
        if spec.flavour == "akabot":
            credentials = {
                "clientId": CLIENT_ID,
                "clientSecret": secret or "anything-goes-without-auth",
                "agentId": AGENT_ID,
                "baseUrl": self.base_url,
            }
            (home / "credentials.json").write_text(json.dumps(credentials))
        else:
            env["CONDUCTOR_SERVER_URL"] = self.api_url
            if secret is not None:
                env |= {"CONDUCTOR_AUTH_KEY": CLIENT_ID, "CONDUCTOR_AUTH_SECRET": secret}
        argv = ["run", str(self.agent_path), "-w", str(spec.workers), *spec.extra]
        worker = await self._stack.enter_async_context(
            child(f"worker {spec.name}", argv, cwd=home, env=env, log_path=home / "worker.log")
        )
        self.workers[spec.name] = worker
        return worker

    async def kill(self, proc: Child) -> float:
        """``kill -9`` a server or worker of the scenario, and reap it; when it was killed
        (``time.time()``)."""
        killed_at = time.time()
        await proc.kill()
        self.note(f"kill -9 {proc.name}, after {self.executed()} executions")
        return killed_at

    # -- work --

    async def submit(self, count: int, **params: int) -> None:
        """Start ``count`` workflows, inputs ``n`` numbered on from those already submitted;
        ``params`` go on the query string (``responseTimeoutSeconds=3``)."""
        first = len(self.inputs)
        query = f"?{urlencode(params)}" if params else ""
        numbers = range(first, first + count)
        ids = await trio.to_thread.run_sync(
            in_threads, lambda n: self.api.submit(n, query), numbers
        )
        self.inputs |= dict(zip(ids, numbers, strict=True))
        self.note(f"submitted {count} workflows {query}")

    def executed(self, by: Child | None = None) -> int:
        """Executions so far (lines of the execution file), or those of worker ``by``."""
        if by is None:
            return count_lines(self.executions_path)
        return sum(
            1 for execution in read_executions(self.executions_path) if execution.pid == by.pid
        )

    async def wait_executed(
        self, at_least: int, *, by: Child | None = None, timeout: float = 60
    ) -> int:
        """Wait until the agent has executed ``at_least`` tasks in all (or in worker ``by``)."""
        with trio.move_on_after(timeout):
            while (done := self.executed(by)) < at_least:
                await trio.sleep(0.01 if by is None else 0.05)
            return done
        logs = "\n".join(f"-- {w.name}:\n{w.tail()}" for w in self.workers.values())
        raise AssertionError(
            f"{self.executed(by)} executions after {timeout} s, not {at_least}\n{logs}"
        )

    async def read_workflows(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Each workflow, with its tasks, as ``GET /api/workflow/{id}`` answers."""
        ids = list(ids)
        found = await trio.to_thread.run_sync(in_threads, self.api.workflow, ids)
        return dict(zip(ids, found, strict=True))

    async def settle(self, timeout: float = 90) -> dict[str, dict[str, Any]]:
        """Every workflow's state once all have ended, or as they are after ``timeout`` s."""
        deadline = trio.current_time() + timeout
        distinct = len(self.inputs)
        with trio.move_on_at(deadline):  # the cheap check first: every input executed
            while len({e.n for e in read_executions(self.executions_path)}) < distinct:
                await trio.sleep(0.1)
        workflows = await self.read_workflows(self.inputs)
        while trio.current_time() < deadline:
            open_ids = [i for i, w in workflows.items() if w.get("status") in UNFINISHED]
            if not open_ids:
                break
            await trio.sleep(0.5)
            workflows |= await self.read_workflows(open_ids)
        return workflows

    async def stop_worker(self, name: str, timeout: float = 45) -> tuple[int, float]:
        """SIGTERM worker ``name`` and wait for it: its exit code and how long it took."""
        worker = self.workers[name]
        began = time.monotonic()
        worker.signal(signal.SIGTERM)
        self.note(f"SIGTERM {worker.name}, after {self.executed()} executions")
        code = await worker.wait(timeout)
        took = time.monotonic() - began
        self.note(f"{worker.name} exited {code}, {took:.1f} s after SIGTERM")
        return code, took

    async def finish(self, timeout: float = 90) -> Figures:
        """Wait for the work to end, stop the workers (a late execution still counts) and
        settle the books."""
        workflows = await self.settle(timeout)
        self.note(f"every workflow ended (or {timeout} s passed)")
        for name, worker in self.workers.items():
            if worker.running:
                await self.stop_worker(name)
        wall = time.monotonic() - self._started
        executions = read_executions(self.executions_path)
        figures = tally(self.title, self.inputs, workflows, executions, wall)
        figures = figures.with_notes(*self._notes)
        print(f"\n{figures}")
        return figures


def log_lines(processes: Iterable[Child], pattern: str) -> list[str]:
    """Lines of the processes' output matching ``pattern``."""
    return [
        line
        for process in processes
        for line in process.output().splitlines()
        if re.search(pattern, line)
    ]

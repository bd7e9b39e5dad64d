"""A hello-world agent starts without what a hello turn does not need, and answers alike.

An ``async def`` handler that never awaits is answered without starting trio when the
script has not imported it; these tests pin down both halves: what such a process never
imports (so the cold start cannot silently grow back) and that every outcome on stdout,
stderr and the exit status is the one the same handler gives under trio.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.agentproc.agents import TIMEOUT, agent_env, read_line, run_agent, write_agent

WIRE_01 = {"AGENT_MESSAGE": "world", "AGENT_PROTOCOL_VERSION": "0.1"}
TURN_LINE = b'{"type":"turn","message":"world","protocol_version":"0.4"}\n'

HELLO_AGENT = """\
import atexit, os, sys
from agentproc import create_profile

def record_modules():
    with open(os.environ["MODULES_FILE"], "w") as out:
        out.write("\\n".join(sorted(sys.modules)))

atexit.register(record_modules)

async def handler(ctx):
    return "hello " + ctx.message

create_profile(handler)
"""

# Loaded only when a turn needs them: an event loop, converters, config, the bridge.
LAZY = {
    "trio",
    "asyncio",
    "cattrs",
    "yaml",
    "httpx",
    "agentproc.bridge",
    "agentproc._turn",
    "agentproc._channel",
    "agentproc._stdout_writer",
    "agentproc._permission_broker",
    "agentproc._history",
    "agentproc._attachments",
}
# Wire 0.1 has no JSON to read or write for a plain reply.
LAZY_01 = LAZY | {"json", "agentproc._events"}


def run_with_stdin(
    script: Path, stdin: bytes, env: dict[str, str]
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, script.name],
        cwd=script.parent,
        env=agent_env(script.parent, env),
        input=stdin,
        capture_output=True,
        timeout=TIMEOUT,
    )


def test_importing_agentproc_loads_no_event_loop(tmp_path: Path) -> None:
    code = "import sys, agentproc; print(sorted(sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(eval(done.stdout))  # a list of module names
    assert loaded & LAZY_01 == set()


def test_a_hello_turn_in_wire_01_loads_no_event_loop_and_no_json(tmp_path: Path) -> None:
    modules = tmp_path / "modules.txt"
    script = write_agent(tmp_path, HELLO_AGENT)
    run = run_agent(script, {**WIRE_01, "MODULES_FILE": str(modules)})
    assert (run.status, run.stdout) == (0, b"hello world\n")
    assert set(modules.read_text().split("\n")) & LAZY_01 == set()


def test_a_hello_turn_in_wire_04_loads_no_event_loop(tmp_path: Path) -> None:
    modules = tmp_path / "modules.txt"
    script = write_agent(tmp_path, HELLO_AGENT)
    done = run_with_stdin(script, TURN_LINE, {"MODULES_FILE": str(modules)})
    assert (done.returncode, done.stdout) == (0, b'{"type":"result","text":"hello world"}\n')
    assert set(modules.read_text().split("\n")) & LAZY == set()


def test_a_handler_that_awaits_runs_on_trio(tmp_path: Path) -> None:
    source = HELLO_AGENT.replace(
        'return "hello " + ctx.message',
        'await ctx.send_partial("hi")\n    return "hello " + ctx.message',
    )
    modules = tmp_path / "modules.txt"
    run = run_agent(write_agent(tmp_path, source), {**WIRE_01, "MODULES_FILE": str(modules)})
    assert run.status == 0
    assert run.lines == ['AGENT_PARTIAL:"hi"', "hello world"]
    assert "trio" in modules.read_text().split("\n")


def test_a_script_that_imports_trio_runs_even_a_never_awaiting_handler_in_the_trio_run(
    tmp_path: Path,
) -> None:
    source = """\
import trio
from agentproc import create_profile

async def handler(ctx):
    return str(trio.lowlevel.in_trio_run())

create_profile(handler)
"""
    run = run_agent(write_agent(tmp_path, source), WIRE_01)
    assert (run.status, run.lines) == (0, ["True"])


# One never-awaiting handler, its behaviour chosen by the message; run with and without
# trio imported first, every case must give the same stdout, stderr and status.
CASES_AGENT = """\
{prelude}import sys, threading
from agentproc import AgentResult, ProtocolError, create_profile

async def handler(ctx):
    case = ctx.message
    if case == "text":
        return "hello\\nAGENT_ERROR: not an error\\n  indented"
    if case == "result":
        return AgentResult(response="r", session_id="conv-1", usage={{"output_tokens": 3}})
    if case == "bad session":
        return AgentResult(response="r", session_id="a b")
    if case == "bad usage":
        return AgentResult(response="r", usage=[1])
    if case == "none":
        return None
    if case == "protocol error":
        raise ProtocolError("no luck")
    if case == "empty protocol error":
        raise ProtocolError("")
    if case == "crash":
        raise ValueError("boom\\nsecond line")
    if case == "exit 3":
        sys.exit(3)
    if case == "exit text":
        sys.exit("bye")
    if case == "not a reply":
        return 42
    if case == "print":
        print("to stderr")
        return "printed"
    if case == "main thread":
        return str(threading.current_thread() is threading.main_thread())
    if case == "permission":
        return repr(ctx.read_permission_response())
    if case == "events":  # wire 0.4: written at call time, awaited or not
        ctx.send_partial("mulling", role="thinking")
        ctx.send_partial("out")
        ctx.send_error("careful")
        return AgentResult(response="after", session_id="s1")
    return "unknown case"

create_profile(handler)
"""

CASES = [
    "text",
    "result",
    "bad session",
    "bad usage",
    "none",
    "protocol error",
    "empty protocol error",
    "crash",
    "exit 3",
    "exit text",
    "not a reply",
    "print",
    "main thread",
    "permission",
]


def _outcome(folder: Path, prelude: str, case: str, wire: str) -> tuple[int, bytes, bytes]:
    script = write_agent(folder, CASES_AGENT.format(prelude=prelude))
    if wire == "0.1":
        done = run_with_stdin(script, b"", {"AGENT_MESSAGE": case, "AGENT_PROTOCOL_VERSION": "0.1"})
    else:
        line = b'{"type":"turn","message":"%s"}\n' % case.encode()
        done = run_with_stdin(script, line, {})
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize("wire", ["0.1", "0.4"])
@pytest.mark.parametrize("case", CASES)
def test_a_never_awaiting_handler_answers_as_it_does_under_trio(
    tmp_path: Path, case: str, wire: str
) -> None:
    at_once = _outcome(tmp_path / "at-once", "", case, wire)
    on_trio = _outcome(tmp_path / "trio", "import trio\n", case, wire)
    assert at_once == on_trio


def test_wire_04_events_sent_without_await_are_written_as_under_trio(tmp_path: Path) -> None:
    at_once = _outcome(tmp_path / "at-once", "", "events", "0.4")
    on_trio = _outcome(tmp_path / "trio", "import trio\n", "events", "0.4")
    assert at_once == on_trio
    assert at_once[1].count(b"\n") == 4  # two partials, the error, the result


def test_a_signal_during_a_never_awaiting_handler_ends_the_turn_with_its_status(
    tmp_path: Path,
) -> None:
    # The handler cannot be cancelled (it never yields), on trio or without: the signal is
    # acted on once it returns, after its answer is out. (On trio, whether the signal task
    # sees it before the turn ends is a race; here it always does.)
    source = """\
import time
from agentproc import create_profile

async def handler(ctx):
    ctx.send_partial("working")
    time.sleep(1)
    return "done"

create_profile(handler)
"""
    script = write_agent(tmp_path, source)
    process = subprocess.Popen(
        [sys.executable, script.name],
        cwd=tmp_path,
        env=agent_env(tmp_path),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        bufsize=0,
    )
    assert process.stdin is not None
    process.stdin.write(TURN_LINE)
    process.stdin.close()
    assert read_line(process) == '{"type":"partial","text":"working"}'
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=TIMEOUT) == 143
    assert process.stdout is not None
    assert process.stdout.read() == b'{"type":"result","text":"done"}\n'

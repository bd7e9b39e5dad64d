"""The whole system on one machine, with no account: ``nox -s demo``.

1. ``useragent server`` starts a Conductor-compatible task server (in memory, a free port)
   and prints a credentials.json for it;
2. ``useragent run examples/sum_agent.py -w 8`` serves the seed's sum agent against it;
3. ``useragent submit`` starts tasks and prints each output as it completes;
4. everything is stopped with SIGTERM, the way an operator would.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console

HERE = Path(__file__).resolve().parent
AGENT_ID = "demo-sum-agent"
console = Console()


def useragent(*args: str) -> list[str]:
    return [sys.executable, "-m", "user_agent_sdk.cli", *args]


def start_server(folder: Path) -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen(
        useragent(
            "server", "--memory", "--port", "0", "--print-credentials", "--agent-id", AGENT_ID
        ),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    banner = [server.stdout.readline(), server.stdout.readline()]
    base_url = banner[0].split()[-1]
    credentials = "".join(iter(server.stdout.readline, "}\n")) + "}\n"
    (folder / "credentials.json").write_text(credentials)
    console.print(f"[bold]1.[/] {banner[0].strip()}")
    console.print(
        f"   credentials.json for it: {json.loads(credentials)['baseUrl']}, agentId {AGENT_ID}"
    )
    return server, base_url


def submit(base_url: str, numbers: dict[str, int], count: int) -> list[object]:
    result = subprocess.run(
        useragent(
            "submit",
            AGENT_ID,
            "--input",
            json.dumps(numbers),
            "--count",
            str(count),
            "--wait",
            "--timeout",
            "60",
            "--server",
            base_url,
        ),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"useragent submit failed:\n{result.stderr}")
    return [json.loads(line) for line in result.stdout.splitlines()]


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        server, base_url = start_server(folder)
        worker = None
        try:
            agent = HERE / "sum_agent.py"
            worker = subprocess.Popen(
                useragent("run", str(agent), "-w", "8", "-c", str(folder / "credentials.json")),
                stderr=subprocess.DEVNULL,
                text=True,
            )
            console.print(f"[bold]2.[/] useragent run {agent.relative_to(HERE.parent)} -w 8")
            console.print("[bold]3.[/] useragent submit: inputs and the outputs the agent returned")
            for numbers, count in (({"num1": 2, "num2": 3}, 5), ({"num1": 40, "num2": 2}, 3)):
                outputs = submit(base_url, numbers, count)
                for output in outputs:
                    console.print(f"   {json.dumps(numbers)} -> {json.dumps(output)}")
        finally:
            console.print("[bold]4.[/] stopping the worker and the server (SIGTERM)")
            if worker is not None:
                stop(worker)
            stop(server)
    console.print("[green]done[/]")


if __name__ == "__main__":
    main()

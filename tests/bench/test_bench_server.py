"""The harness's server: started with auth, its secret kept off the command line."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

# benchmarks/ is not an installed package: the harness runs as a script beside it.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from peers.server import Api, running_server


def test_a_secret_starting_with_a_dash_starts_the_server_and_is_not_in_its_argv() -> None:
    # secrets.token_urlsafe() starts with "-" about one time in 64: once, in a full
    # bench run, argparse took such a secret for an option and the server never started.
    secret = "-dash-first-secret"
    with running_server(secret) as server:
        status, _ = Api(server).call("GET", "/tasks/queue/size?taskType=nothing")
        assert status == 200  # authenticated with a token for that secret
        assert not [pid for pid, argv in _command_lines() if secret.encode() in argv]


def _command_lines() -> list[tuple[str, bytes]]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):  # gone meanwhile
                found.append((entry.name, (entry / "cmdline").read_bytes()))
    return found

"""This project beside its peers, on the same machine, server and load (``nox -s bench``).

:mod:`bench_peers` (the script beside this package) runs it; the modules here do one
thing each: :mod:`.venvs` installs the peers, :mod:`.contenders` starts them,
:mod:`.server` runs and calls ``useragent server``, :mod:`.proctree` samples CPU and
memory, :mod:`.records` reads the server's records, :mod:`.runner` measures one
contender on one workload, :mod:`.report` and :mod:`.chart` present the result.
"""

from __future__ import annotations

from .agents import WORKLOADS, Workload
from .contenders import ALL, HEADLINE, Contender, build
from .runner import ContenderFailed, Options, measure
from .server import ServerFailed, running_server

__all__ = [
    "ALL",
    "HEADLINE",
    "WORKLOADS",
    "Contender",
    "ContenderFailed",
    "Options",
    "ServerFailed",
    "Workload",
    "build",
    "measure",
    "running_server",
]

"""The embedded server reads the wire models without loading the worker's client."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
import user_agent_sdk.server
print(sorted(name for name in ("user_agent_sdk.conductor._client", "httpx") if name in sys.modules))
"""


def test_importing_the_server_loads_neither_the_client_nor_httpx() -> None:
    # A fresh interpreter: this one has long since imported both.
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


def test_the_client_exports_the_very_models_of_the_models_package() -> None:
    from user_agent_sdk import conductor, models

    for name in models.__all__:
        assert name in conductor.__all__
        assert getattr(conductor, name) is getattr(models, name)

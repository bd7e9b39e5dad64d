"""``useragent server`` is reachable without credentials only from this machine, unless told."""

from __future__ import annotations

import logging

import httpx
import pytest

from user_agent_sdk.cli import _parser, _server

from ..processes import run_cli, server_process


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1", "localhost", "LocalHost"]
)
def test_loopback_addresses_and_localhost_are_loopback(host: str) -> None:
    assert _server.is_loopback(host)


@pytest.mark.parametrize(
    "host", ["0.0.0.0", "::", "", "192.168.1.10", "10.0.0.1", "fe80::1", "example.com"]
)
def test_wildcards_other_addresses_and_names_are_beyond_loopback(host: str) -> None:
    assert not _server.is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.com"])
def test_beyond_loopback_without_auth_is_refused_before_listening(host: str) -> None:
    result = run_cli(["server", "--port", "0", "--memory", "--host", host], timeout=30)
    assert result.returncode == 2
    assert "listening" not in result.stdout
    assert result.stderr.splitlines() == [
        f"useragent server: --host {host} is reachable from other machines, and with "
        "--auth none anyone there could submit, lease and complete tasks and read every "
        "input and output: add --auth required (workers then need the printed credentials), "
        "or --allow-unauthenticated if you mean it"
    ]


# The checks below stop short of listening: no test opens a port beyond loopback.


def config_for(*argv: str) -> object:
    return _server._config(_parser.parse(["server", "--memory", *argv]))


def test_beyond_loopback_with_auth_required_is_accepted_silently(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        config = config_for("--host", "0.0.0.0", "--auth", "required")
    assert config is not None
    assert caplog.records == []


def test_allow_unauthenticated_accepts_it_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        config = config_for("--host", "0.0.0.0", "--allow-unauthenticated")
    assert config is not None
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert "--host 0.0.0.0 with --auth none" in record.getMessage()


def test_loopback_without_auth_is_accepted_silently(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        config = config_for("--host", "127.0.0.2")
    assert config is not None
    assert caplog.records == []


def test_a_server_on_another_loopback_address_serves_without_auth() -> None:
    with server_process("--memory", "--host", "127.0.0.2") as server:
        assert server.base_url.startswith("http://127.0.0.2:")
        response = httpx.post(f"{server.api_url}/workflow/hello", json={})
        assert response.status_code == 200

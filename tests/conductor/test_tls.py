"""https to servers with private CAs, and what a worker is told when connecting fails.

Every server here is started by the test on 127.0.0.1 with a throwaway CA (trustme);
the DNS test uses a name under ``.invalid``, which never resolves.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import trio
import trustme

from user_agent_sdk import Registry, Settings, register_user_agent
from user_agent_sdk.conductor import (
    CONDUCTOR,
    ConductorClient,
    OAuth2ClientCredentials,
    ServerUnavailable,
)
from user_agent_sdk.config import ConfigError, load_settings
from user_agent_sdk.runtime import Runtime, serve

from .conftest import SenderFactory

EMPTY_POLL = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n[]"
TOKEN = json.dumps({"access_token": "t0k", "expires_in": 300}).encode()
TOKEN_ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    b"Content-Length: " + str(len(TOKEN)).encode() + b"\r\n\r\n" + TOKEN
)

Handler = Callable[[trio.SSLStream[trio.SocketStream]], Awaitable[None]]


def answering(answer: bytes) -> Handler:
    """A handler that reads one request head, sends ``answer`` and closes."""

    async def handle(stream: trio.SSLStream[trio.SocketStream]) -> None:
        received = b""
        while b"\r\n\r\n" not in received:
            data = await stream.receive_some(65536)
            if not data:
                return
            received += data
        await stream.send_all(answer)

    return handle


@asynccontextmanager
async def tls_server(cert: trustme.LeafCert, handle: Handler) -> AsyncIterator[int]:
    """A TLS server on 127.0.0.1 presenting ``cert``; yields its port."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    listeners = await trio.open_ssl_over_tcp_listeners(0, context, host="127.0.0.1")

    async def serve_one(stream: trio.SSLStream[trio.SocketStream]) -> None:
        # The client refusing the certificate breaks the handshake here: expected.
        try:
            await handle(stream)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        finally:
            await trio.aclose_forcefully(stream)

    async with trio.open_nursery() as nursery:
        await nursery.start(trio.serve_listeners, serve_one, listeners)
        transport = listeners[0].transport_listener
        assert isinstance(transport, trio.SocketListener)
        yield transport.socket.getsockname()[1]
        nursery.cancel_scope.cancel()


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_bundle(ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "corporate-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


async def poll(port: int, ca_bundle: str | None, sender_for: SenderFactory) -> object:
    async with ConductorClient(
        f"https://127.0.0.1:{port}/api", CONDUCTOR, sender=sender_for(ca_bundle=ca_bundle)
    ) as client:
        with trio.fail_after(20):
            return await client.poll("sum", count=1, worker_id="w")


async def test_a_server_signed_by_the_ca_bundle_is_trusted(
    ca: trustme.CA, ca_bundle: str, sender_for: SenderFactory
) -> None:
    async with tls_server(ca.issue_cert("127.0.0.1"), answering(EMPTY_POLL)) as port:
        assert await poll(port, ca_bundle, sender_for) == []


async def test_ssl_cert_file_is_trusted_without_a_ca_bundle(
    ca: trustme.CA, ca_bundle: str, monkeypatch: pytest.MonkeyPatch, sender_for: SenderFactory
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", ca_bundle)
    async with tls_server(ca.issue_cert("127.0.0.1"), answering(EMPTY_POLL)) as port:
        assert await poll(port, None, sender_for) == []


async def test_an_untrusted_certificate_is_named_with_the_host(
    ca: trustme.CA, sender_for: SenderFactory
) -> None:
    async with tls_server(ca.issue_cert("127.0.0.1"), answering(EMPTY_POLL)) as port:
        with pytest.raises(ServerUnavailable) as caught:
            await poll(port, None, sender_for)
    message = str(caught.value)
    assert "certificate verify failed" in message
    assert "127.0.0.1" in message
    assert "caBundle" in message


async def test_a_certificate_for_another_host_name_says_so(
    ca: trustme.CA, ca_bundle: str, sender_for: SenderFactory
) -> None:
    async with tls_server(ca.issue_cert("other.example"), answering(EMPTY_POLL)) as port:
        with pytest.raises(ServerUnavailable) as caught:
            await poll(port, ca_bundle, sender_for)
    message = str(caught.value)
    assert "certificate verify failed" in message
    assert "another host name" in message


async def test_a_tls_server_closing_mid_answer_is_reported_without_hanging(
    ca: trustme.CA, ca_bundle: str, sender_for: SenderFactory
) -> None:
    half = answering(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n[")
    async with tls_server(ca.issue_cert("127.0.0.1"), half) as port:
        with pytest.raises(ServerUnavailable) as caught:
            await poll(port, ca_bundle, sender_for)
    assert "the server closed the TLS connection abruptly" in str(caught.value)


async def test_the_token_endpoint_trusts_the_ca_bundle_too(
    ca: trustme.CA, ca_bundle: str, sender_for: SenderFactory
) -> None:
    async with tls_server(ca.issue_cert("127.0.0.1"), answering(TOKEN_ANSWER)) as port:
        token_url = f"https://127.0.0.1:{port}/token"
        credentials = OAuth2ClientCredentials(token_url, "id", "secret")
        async with ConductorClient(
            f"https://127.0.0.1:{port}/api",
            CONDUCTOR,
            credentials,
            sender=sender_for(ca_bundle=ca_bundle),
        ) as client:
            with trio.fail_after(20):
                await client.authenticate()


async def test_an_untrusted_token_endpoint_is_named(
    ca: trustme.CA, sender_for: SenderFactory
) -> None:
    async with tls_server(ca.issue_cert("127.0.0.1"), answering(TOKEN_ANSWER)) as port:
        token_url = f"https://127.0.0.1:{port}/token"
        credentials = OAuth2ClientCredentials(token_url, "id", "secret")
        async with ConductorClient(
            f"https://127.0.0.1:{port}/api", CONDUCTOR, credentials, sender=sender_for()
        ) as client:
            with pytest.raises(ServerUnavailable) as caught:
                await client.authenticate()
    assert "certificate verify failed for 127.0.0.1" in str(caught.value)


async def test_an_unknown_host_name_is_named(sender_for: SenderFactory) -> None:
    async with ConductorClient(
        "http://no-such-host.invalid/api", CONDUCTOR, sender=sender_for()
    ) as client:
        with pytest.raises(ServerUnavailable, match="cannot resolve the host name 'no-such-host"):
            await client.poll("sum", count=1, worker_id="w")


async def test_a_refused_connection_names_host_and_port(sender_for: SenderFactory) -> None:
    with trio.socket.socket() as sock:
        await sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        async with ConductorClient(
            f"http://127.0.0.1:{port}/api", CONDUCTOR, sender=sender_for()
        ) as client:
            with pytest.raises(ServerUnavailable) as caught:
                await client.poll("sum", count=1, worker_id="w")
    assert f"connection refused by 127.0.0.1:{port}" in str(caught.value)


def write_credentials(directory: Path, **fields: str) -> Path:
    path = directory / "credentials.json"
    path.write_text(json.dumps({"clientId": "id", "clientSecret": "secret", **fields}))
    return path


def test_ca_bundle_comes_from_credentials_json_relative_to_it(
    tmp_path: Path, ca_bundle: str
) -> None:
    path = write_credentials(tmp_path, caBundle=Path(ca_bundle).name)
    assert load_settings(path, env={}).ca_bundle == ca_bundle


def test_ca_bundle_comes_from_the_environment(tmp_path: Path, ca_bundle: str) -> None:
    path = write_credentials(tmp_path)
    assert load_settings(path, env={"USERAGENT_CA_BUNDLE": ca_bundle}).ca_bundle == ca_bundle
    env = {"CONDUCTOR_SERVER_URL": "https://c.test/api", "USERAGENT_CA_BUNDLE": ca_bundle}
    assert load_settings(env=env, cwd=tmp_path / "none").ca_bundle == ca_bundle


def test_a_missing_ca_bundle_names_the_file_and_field(tmp_path: Path) -> None:
    path = write_credentials(tmp_path, caBundle="missing.pem")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    assert "'caBundle'" in str(caught.value)
    assert "missing.pem: no such file" in str(caught.value)


def test_a_ca_bundle_without_certificates_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty.pem").write_text("not a certificate\n")
    env = {
        "CONDUCTOR_SERVER_URL": "https://c.test/api",
        "USERAGENT_CA_BUNDLE": str(tmp_path / "empty.pem"),
    }
    with pytest.raises(ConfigError, match=r"\$USERAGENT_CA_BUNDLE: .*empty.pem: holds no PEM"):
        load_settings(env=env, cwd=tmp_path)


def nothing() -> dict[str, int]:
    return {}


async def test_readyz_names_an_untrusted_certificate_and_its_host(ca: trustme.CA) -> None:
    """The text a worker logs is the text its /readyz gives a probe."""
    registry = Registry()
    register_user_agent(nothing, registry=registry, agent_id="sum", poll_interval=100)
    async with tls_server(ca.issue_cert("127.0.0.1"), answering(EMPTY_POLL)) as port:
        settings = Settings(api_url=f"https://127.0.0.1:{port}/api", metrics_port=0)
        async with trio.open_nursery() as nursery:
            runtime: Runtime = await nursery.start(serve, settings, registry)
            async with httpx.AsyncClient(timeout=10) as http:
                with trio.fail_after(20):
                    while (
                        answer := await http.get(f"http://127.0.0.1:{runtime.metrics_port}/readyz")
                    ).json().get("not_ready", {}).get("sum", "") in ("", "starting"):
                        await trio.sleep(0.05)
            nursery.cancel_scope.cancel()
    assert answer.status_code == 503
    reason = answer.json()["not_ready"]["sum"]
    assert reason.startswith("cannot poll: ")
    assert "certificate verify failed" in reason
    assert f"127.0.0.1:{port}" in reason

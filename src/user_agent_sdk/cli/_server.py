"""``useragent server``: the embedded Conductor-compatible task server."""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import os
import signal
import sys
from pathlib import Path

import trio

from ..server import MEMORY, ClientCredentials, RunningServer, ServerConfig, TaskSettings, serve
from ..transport import default_max_connections
from . import _errors, _logging
from ._heap import freeze_startup_heap

log = logging.getLogger("user_agent_sdk.cli")


def run(args: argparse.Namespace) -> int:
    _logging.configure(args.log_level, args.log_format)
    config = _config(args)
    if config is None:
        return 2
    freeze_startup_heap()
    try:
        trio.run(_serve_until_signalled, config, args)
    except Exception as error:
        cause = _errors.find(error, OSError)
        if cause is None:
            raise
        where = f"{args.host}:{args.port}"
        print(f"useragent server: cannot listen on {where}: {cause.strerror}", file=sys.stderr)
        return 1
    return 0


def is_loopback(host: str) -> bool:
    """True if ``host`` is reachable from this machine only: 127.0.0.0/8, ::1 or localhost.

    Any other name counts as reachable from elsewhere, since where it resolves to is not
    ours to vouch for; so does an empty host or a wildcard such as ``0.0.0.0``.
    """
    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def _exposure_allowed(args: argparse.Namespace) -> bool:
    """False, after saying why on stderr, for an unauthenticated server beyond loopback."""
    if args.auth == "required" or is_loopback(args.host):
        return True
    if args.allow_unauthenticated:
        log.warning(
            "--host %s with --auth none: anyone who can reach it may submit, lease and "
            "complete tasks and read every input and output",
            args.host,
        )
        return True
    print(
        f"useragent server: --host {args.host} is reachable from other machines, and with "
        "--auth none anyone there could submit, lease and complete tasks and read every "
        "input and output: add --auth required (workers then need the printed credentials), "
        "or --allow-unauthenticated if you mean it",
        file=sys.stderr,
    )
    return False


def _config(args: argparse.Namespace) -> ServerConfig | None:
    if not _exposure_allowed(args):
        return None
    secret: str | None = args.client_secret or os.environ.get("USERAGENT_CLIENT_SECRET")
    if secret and not args.client_id:
        print("useragent server: --client-secret needs --client-id", file=sys.stderr)
        return None
    if args.client_id and not secret:
        print(
            "useragent server: --client-id needs --client-secret (or $USERAGENT_CLIENT_SECRET)",
            file=sys.stderr,
        )
        return None
    for name in (
        "port",
        "token_ttl",
        "response_timeout",
        "max_attempts",
        "max_body_bytes",
        "max_batch",
        "max_connections",
        "request_timeout",
    ):
        value = getattr(args, name)
        if value is None:  # --max-connections: the server's default
            continue
        if value < 0 or (value == 0 and name != "port"):
            option = "--" + name.replace("_", "-")
            print(f"useragent server: {option} must be positive", file=sys.stderr)
            return None
    credentials = (
        ClientCredentials(args.client_id, secret)
        if args.client_id and secret
        else ClientCredentials.generate()
    )
    return ServerConfig(
        host=args.host,
        port=args.port,
        db=MEMORY if args.memory else args.db,
        auth_required=args.auth == "required",
        credentials=credentials,
        token_ttl_seconds=args.token_ttl,
        task_defaults=TaskSettings(
            response_timeout_s=args.response_timeout,
            max_attempts=args.max_attempts,
            retry_delay_s=max(0, args.retry_delay),
        ),
        max_body_bytes=args.max_body_bytes,
        max_batch=args.max_batch,
        max_connections=args.max_connections or default_max_connections(),
        request_timeout=args.request_timeout,
        metrics=args.metrics,
    )


async def _serve_until_signalled(config: ServerConfig, args: argparse.Namespace) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            running: RunningServer = await nursery.start(serve, config)
            _announce(running, args)
            async for signum in signals:
                print(f"useragent server: {signal.Signals(signum).name}, stopping", file=sys.stderr)
                nursery.cancel_scope.cancel()
                break


def _announce(running: RunningServer, args: argparse.Namespace) -> None:
    config = running.config
    where = "memory" if config.db == MEMORY else str(Path(config.db).resolve())
    auth = "required" if config.auth_required else "none"
    print(f"useragent server listening on {running.base_url}", flush=True)
    print(f"  Conductor API: {running.api_url}   db: {where}   auth: {auth}", flush=True)
    if config.metrics:
        print(f"  metrics: {running.base_url}/metrics", flush=True)
    if args.print_credentials:
        credentials = {
            "clientId": config.credentials.client_id,
            "clientSecret": config.credentials.client_secret,
            "agentId": args.agent_id,
            "baseUrl": running.base_url,
        }
        print(json.dumps(credentials, indent=2), flush=True)
    elif config.auth_required and not args.client_id:
        print(
            "  auth is required and the client credentials were generated: "
            "pass --print-credentials to see them",
            flush=True,
        )

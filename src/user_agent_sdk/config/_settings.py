"""The one frozen description of a runtime's connection and knobs."""

from __future__ import annotations

import logging

import attrs

from ..conductor import CONDUCTOR, Credentials, Flavour

EVENT_LOOPS = ("asyncio", "trio")
"""What an ``async def`` handler may be written for."""


@attrs.frozen(kw_only=True)
class Settings:
    """Where to connect, as whom, and how the runtime behaves.

    Built by :func:`~user_agent_sdk.config.load_settings` from ``credentials.json`` or
    the ``CONDUCTOR_*`` variables, or directly in code::

        Settings(api_url="http://127.0.0.1:8080/api", agent_id="sum")

    Secrets live inside ``credentials`` and never appear in a repr.
    """

    api_url: str
    """The task API root, ending in ``/api``."""
    flavour: Flavour = CONDUCTOR
    """The server's paths and token style: ``CONDUCTOR`` (Conductor OSS, Orkes tokens) or
    ``AKABOT`` (akaBot 2.0, OAuth2 client credentials), from ``user_agent_sdk.conductor``."""
    credentials: Credentials | None = None
    """How to get a token: ``OrkesKey`` or ``OAuth2ClientCredentials``; None: no token."""
    agent_id: str | None = None
    """The task type of agents registered without an ``agent_id``."""
    ca_bundle: str | None = None
    """A PEM file of the CAs trusted for https (a corporate CA, say): ``caBundle`` in
    ``credentials.json`` or ``$USERAGENT_CA_BUNDLE``. None: ``$SSL_CERT_FILE`` when set,
    else certifi's public CAs."""
    source: str = "settings"
    """Where these settings came from, for messages (a file path, an environment variable)."""
    workers: int | None = None
    """Overrides every agent's ``workers`` (``useragent run -w``)."""
    worker_id: str | None = None
    """Overrides every agent's ``worker_id``; None: the agent's, else the host name."""
    grace_s: float = 30.0
    """On stop: how long running tasks may take to finish before they are cancelled."""
    record_history: bool = False
    """``useragent run -r``: the execution history store records every finished task."""
    task_log_level: int = logging.INFO
    """Lines below this level written through a task's ``logger`` are dropped."""
    event_loop: str = "asyncio"
    """Where ``async def`` handlers that do not name one run: ``"asyncio"`` (as the
    published user-agent-sdk runs them) or ``"trio"`` (``useragent run --event-loop``)."""
    metrics_port: int | None = None
    """Serve ``/metrics`` (Prometheus), ``/healthz`` and ``/readyz`` on this port
    (``useragent run --metrics-port``); 0 picks a free one; None: no endpoint."""
    metrics_host: str = "127.0.0.1"
    """The address the metrics endpoint listens on (``--metrics-host``)."""

    def __attrs_post_init__(self) -> None:
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")
        if self.event_loop not in EVENT_LOOPS:
            raise ValueError(
                f"event_loop must be one of {', '.join(EVENT_LOOPS)}, got {self.event_loop!r}"
            )
        if self.metrics_port is not None and not 0 <= self.metrics_port <= 65535:
            raise ValueError(f"metrics_port must be 0-65535, got {self.metrics_port}")
        if self.grace_s < 0:
            raise ValueError(f"grace_s must not be negative, got {self.grace_s}")

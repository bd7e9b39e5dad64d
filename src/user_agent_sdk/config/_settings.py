"""The one frozen description of a runtime's connection and knobs."""

from __future__ import annotations

import logging

import attrs

from ..conductor import CONDUCTOR, Credentials, Flavour


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
    credentials: Credentials | None = None
    agent_id: str | None = None
    """The task type of agents registered without an ``agent_id``."""
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

    def __attrs_post_init__(self) -> None:
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")
        if self.grace_s < 0:
            raise ValueError(f"grace_s must not be negative, got {self.grace_s}")

"""The two kinds of server the client speaks to, as data.

- **akaBot** (:data:`AKABOT`): OAuth2 client credentials, ``Authorization: Bearer``;
  single polls ``GET /tasks/external/poll/{type}`` (several in flight for several
  tasks), updates ``POST /tasks/external``; logs travel inside ``TaskResult.logs``.
- **Conductor** (:data:`CONDUCTOR`): Orkes ``POST /token`` and ``X-Authorization`` when
  a key and secret are given, nothing otherwise; batch long polls
  ``GET /tasks/poll/batch/{type}``; updates ``POST /tasks``, or ``POST /tasks/update-v2``
  which also leases the next task of the same type, saving a poll per task.
"""

from __future__ import annotations

import attrs


@attrs.frozen
class Flavour:
    """How to speak to one kind of server: its task paths and polling style."""

    name: str
    poll_path: str
    """Relative to the API URL; ``{task_type}`` is replaced (percent-encoded)."""
    batch_poll: bool
    """True: one poll asks for N tasks (``count``) and may wait ``timeout`` ms for work.
    False: one poll answers at once with one task or 204; N tasks need N polls."""
    update_path: str
    update_and_poll_path: str | None = None
    """Where a result is posted and the next task leased in one request, if anywhere."""
    update_batch_path: str | None = None
    """Where many results are posted and tasks leased in one request, if anywhere (our
    server's extension; ``{task_type}`` as in ``poll_path``)."""


AKABOT = Flavour(
    name="akaBot",
    poll_path="/tasks/external/poll/{task_type}",
    batch_poll=False,
    update_path="/tasks/external",
)
"""akaBot 2.0: single polls only, on the platform's external paths."""

CONDUCTOR = Flavour(
    name="Conductor",
    poll_path="/tasks/poll/batch/{task_type}",
    batch_poll=True,
    update_path="/tasks",
    update_and_poll_path="/tasks/update-v2",
    update_batch_path="/tasks/update-batch/{task_type}",
)
"""Conductor OSS and Orkes: batch long polls."""

"""``sender_for``: each test that takes it runs once per sender, ours and httpx's."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from user_agent_sdk.transport import HttpxSender, PoolSender, Sender

SenderFactory = Callable[..., Sender]
"""Called as ``sender_for(ca_bundle=...)``: a new sender of the kind under test."""


@pytest.fixture(params=[PoolSender, HttpxSender], ids=["pool", "httpx"])
def sender_for(request: pytest.FixtureRequest) -> SenderFactory:
    kind: SenderFactory = request.param
    return kind

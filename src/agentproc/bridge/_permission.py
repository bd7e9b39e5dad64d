"""Wire 0.4's permission channel, the bridge's side: requests in, decisions out on stdin.

An approver is any callable that takes a :class:`PermissionRequest` and returns a
:class:`PermissionAnswer` (or an awaitable of one); returning None leaves the request
unanswered (the agent waits, and the turn's timeout denies it). Ready-made approvers:
:func:`allow_tools` (a policy: listed tools allowed, the rest denied) and :func:`deny_all`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any, Literal

import attrs

_UNUSABLE_ID = re.compile(r"[\s\x00-\x1f]")


@attrs.frozen
class PermissionRequest:
    """One ``permission_request`` an agent sent: a tool it wants to run."""

    request_id: str
    tool_name: str
    input: dict[str, Any]
    description: str | None = None
    tool_use_id: str | None = None

    def summary(self) -> str:
        """One line for a person deciding: the description, or the tool and its input."""
        if self.description:
            return self.description
        shown = json.dumps(self.input, ensure_ascii=False)
        return f"{self.tool_name} {shown[:160]}"


@attrs.frozen
class PermissionAnswer:
    """A decision: ``allow`` (optionally with a changed input) or ``deny`` with a reason."""

    behavior: Literal["allow", "deny"]
    updated_input: dict[str, Any] | None = None
    message: str = ""

    @classmethod
    def allow(cls, updated_input: dict[str, Any] | None = None) -> PermissionAnswer:
        return cls("allow", updated_input)

    @classmethod
    def deny(cls, message: str = "") -> PermissionAnswer:
        return cls("deny", None, message)


Approver = Callable[
    [PermissionRequest], PermissionAnswer | Awaitable[PermissionAnswer | None] | None
]
"""Decides one request; may be async. An exception denies ("permission handler error")."""


def read_request(raw: Mapping[str, Any]) -> PermissionRequest | None:
    """The request an event holds, or None when it lacks a usable ``request_id``, a
    non-empty ``tool_name`` or an object ``input``."""
    request_id = usable_request_id(raw)
    tool_name = raw.get("tool_name")
    tool_input = raw.get("input")
    if request_id is None or not isinstance(tool_name, str) or not tool_name:
        return None
    if not isinstance(tool_input, dict):
        return None
    description = raw.get("description")
    tool_use_id = raw.get("tool_use_id")
    return PermissionRequest(
        request_id=request_id,
        tool_name=tool_name,
        input=tool_input,
        description=description if isinstance(description, str) else None,
        tool_use_id=tool_use_id if isinstance(tool_use_id, str) else None,
    )


def usable_request_id(raw: Mapping[str, Any]) -> str | None:
    """``request_id`` when it can be answered: a non-empty string without whitespace."""
    request_id = raw.get("request_id")
    if not isinstance(request_id, str) or not request_id:
        return None
    return None if _UNUSABLE_ID.search(request_id) else request_id


def response_line(request_id: str, answer: PermissionAnswer) -> bytes:
    """The ``permission_response`` line for ``answer``: ``updated_input`` only when the
    approver gave one, ``message`` only when non-empty."""
    response: dict[str, Any] = {
        "type": "permission_response",
        "request_id": request_id,
        "behavior": "allow" if answer.behavior == "allow" else "deny",
    }
    if answer.updated_input is not None:
        response["updated_input"] = answer.updated_input
    if answer.message:
        response["message"] = answer.message
    return (json.dumps(response, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def allow_tools(tools: Collection[str]) -> Approver:
    """A policy: requests for ``tools`` are allowed (input unchanged), all others denied."""
    allowed = frozenset(tools)

    def decide(request: PermissionRequest) -> PermissionAnswer:
        if request.tool_name in allowed:
            return PermissionAnswer.allow()
        shown = ", ".join(sorted(allowed)) or "none"
        return PermissionAnswer.deny(f"{request.tool_name} is not an allowed tool ({shown})")

    return decide


def deny_all(message: str = "denied by policy") -> Approver:
    """A policy that denies every request with ``message``."""

    def decide(request: PermissionRequest) -> PermissionAnswer:
        return PermissionAnswer.deny(message)

    return decide

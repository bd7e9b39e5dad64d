"""Routes: a method, a path template and its handler, matched against a request's path."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import attrs

from ._http import Request, Response

RouteHandler = Callable[[Request, dict[str, str]], Awaitable[Response]]
"""Answers a request, given the path's parameters (percent-decoded) by name."""


@attrs.frozen
class Route:
    method: str
    template: str
    """The path as declared, ``{name}`` for each parameter: the ``route`` label of metrics."""
    handler: RouteHandler
    public: bool = False
    """Answered without a token even when auth is required."""
    pattern: re.Pattern[str] = attrs.field(init=False)

    @pattern.default
    def _compile(self) -> re.Pattern[str]:
        return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.template) + "$")

"""A griffe extension: the reST of our docstrings as the Markdown mkdocstrings renders.

The docstrings are written for Sphinx-style readers (``literal``, :class:`Name`,
``Example::`` before an indented block); mkdocstrings renders docstrings as Markdown. This
rewrites, in every docstring of the package, cross-reference roles as code spans (their
last dotted part when written ``~a.b.C``), double backquotes as single ones, and a
paragraph's closing ``::`` as ``:`` (the indented block after it is code in Markdown too).
Field lists (``:param x:``) are left to griffe's Sphinx parser.

Listed under ``extensions`` of the python handler in ``mkdocs.yml``. Not type-checked
with the rest (griffe is installed only for the docs).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?[a-z]+:`(~?)([^`<]*?)(?:\s*<([^`>]+)>)?`")
_DOUBLE = re.compile(r"``(.+?)``", re.DOTALL)
_LITERAL_MARK = re.compile(r"(\S)::$|^\s*::$", re.MULTILINE)


def rst_to_markdown(text: str) -> str:
    def role(match: re.Match[str]) -> str:
        short, title, target = match.group(1), match.group(2).strip(), match.group(3)
        name = title or target or ""
        if short:
            name = name.rsplit(".", 1)[-1]
        return f"`{name}`"

    text = _ROLE.sub(role, text)
    text = _DOUBLE.sub(lambda match: f"`{match.group(1)}`", text)
    return _LITERAL_MARK.sub(lambda match: f"{match.group(1)}:" if match.group(1) else "", text)


class RstToMarkdown(griffe.Extension):
    def on_package(self, *, pkg: griffe.Module, **_: Any) -> None:
        seen: set[int] = set()
        stack: list[griffe.Object] = [pkg]
        while stack:
            obj = stack.pop()
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            if obj.docstring is not None:
                obj.docstring.value = rst_to_markdown(obj.docstring.value)
            stack.extend(member for member in obj.members.values() if not member.is_alias)

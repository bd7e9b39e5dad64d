"""``AGENT_ATTACHMENTS`` (a JSON array) -> ``list[Attachment]``, through a cattrs converter.

Loaded only for turns that carry attachments: JSON and cattrs are the largest imports an
agent would otherwise pay for on every turn, and most turns are text only.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable

import cattrs
from cattrs.gen import make_dict_structure_fn, override

from agentproc._context import Attachment


def _exact_str(value: object, _: object) -> str:
    # cattrs would turn 5 into "5"; an attachment whose url is a number is a bad entry.
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _optional_str(value: object, _: object) -> str:
    return "" if value is None else _exact_str(value, None)


@functools.cache
def attachment_converter() -> cattrs.Converter:
    """The converter for one entry: ``type`` and ``url`` must be strings, ``name`` may be
    missing or null (-> ``""``); unknown keys are ignored."""
    converter = cattrs.Converter()
    converter.register_structure_hook(str, _exact_str)
    converter.register_structure_hook(
        Attachment,
        make_dict_structure_fn(Attachment, converter, name=override(struct_hook=_optional_str)),
    )
    return converter


def parse_attachments(raw: str, warn: Callable[[str], None]) -> list[Attachment]:
    """The attachments that ``raw`` lists; ``[]`` when it is blank or not a JSON array.

    Never fails: each problem is reported through ``warn`` and leaves out the entry (an entry
    without a string ``type`` and ``url``) or the whole list (text that is not an array).
    Unknown types are kept.
    """
    if not raw.strip():
        return []
    try:
        items = json.loads(raw)
    except ValueError as exc:
        warn(f"AGENT_ATTACHMENTS is not valid JSON ({exc}); using no attachments")
        return []
    if not isinstance(items, list):
        warn("AGENT_ATTACHMENTS is not a JSON array; using no attachments")
        return []
    converter = attachment_converter()
    kept = []
    for index, item in enumerate(items):
        try:
            attachment = converter.structure(item, Attachment)
        except Exception:  # cattrs reports bad shapes with several exception types
            attachment = None
        if attachment is None or not attachment.type or not attachment.url:
            warn(f"AGENT_ATTACHMENTS[{index}] skipped: it needs a string type and url")
            continue
        kept.append(attachment)
    return kept

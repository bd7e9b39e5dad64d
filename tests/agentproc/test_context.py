"""``AGENT_*`` variables -> AgentContext, with the spec's defaults."""

from __future__ import annotations

import json

import pytest

from agentproc import AgentContext, Attachment
from agentproc._context import context_from_env


def read(env: dict[str, str]) -> tuple[AgentContext, list[str]]:
    warnings: list[str] = []
    return context_from_env(env, warnings.append), warnings


def test_an_empty_environment_gives_the_spec_defaults() -> None:
    context, warnings = read({})
    assert context == AgentContext(
        message="",
        session_id="",
        session_name="default",
        from_user="",
        streaming=True,
        protocol_version="0.1",
        image_url="",
        file_url="",
        attachments=[],
    )
    assert warnings == []


def test_every_variable_reaches_its_field() -> None:
    context, _ = read(
        {
            "AGENT_MESSAGE": "hello",
            "AGENT_SESSION_ID": "s-1",
            "AGENT_SESSION_NAME": "work",
            "AGENT_FROM_USER": "u42",
            "AGENT_STREAMING": "0",
            "AGENT_PROTOCOL_VERSION": "0.2",
            "AGENT_IMAGE_URL": "https://example.test/i.png",
            "AGENT_FILE_URL": "https://example.test/f.txt",
            "AGENT_ATTACHMENTS": '[{"type": "audio", "url": "https://example.test/a.ogg"}]',
            "UNRELATED": "ignored",
        }
    )
    assert context == AgentContext(
        message="hello",
        session_id="s-1",
        session_name="work",
        from_user="u42",
        streaming=False,
        protocol_version="0.2",
        image_url="https://example.test/i.png",
        file_url="https://example.test/f.txt",
        attachments=[Attachment(type="audio", url="https://example.test/a.ogg")],
    )


@pytest.mark.parametrize(
    ("value", "streaming"), [("1", True), ("0", False), (" 0 ", False), ("", True)]
)
def test_streaming_is_off_only_for_zero(value: str, streaming: bool) -> None:
    assert read({"AGENT_STREAMING": value})[0].streaming is streaming


def test_an_empty_session_name_stays_empty() -> None:
    assert read({"AGENT_SESSION_NAME": ""})[0].session_name == ""


def test_attachments_keep_unknown_types_and_default_the_name() -> None:
    raw = [
        {"type": "image", "url": "u1", "name": "pic.png"},
        {"type": "hologram", "url": "u2"},
        {"type": "file", "url": "u3", "name": None, "size": 12},
    ]
    context, warnings = read({"AGENT_ATTACHMENTS": json.dumps(raw)})
    assert context.attachments == [
        Attachment(type="image", url="u1", name="pic.png"),
        Attachment(type="hologram", url="u2", name=""),
        Attachment(type="file", url="u3", name=""),
    ]
    assert warnings == []


def test_bad_attachment_entries_are_skipped_with_a_warning_each() -> None:
    raw = [
        {"type": "image"},
        {"url": "u"},
        {"type": "", "url": "u"},
        {"type": 5, "url": "u"},
        {"type": "image", "url": ["u"]},
        "image",
        None,
        {"type": "image", "url": "kept"},
    ]
    context, warnings = read({"AGENT_ATTACHMENTS": json.dumps(raw)})
    assert context.attachments == [Attachment(type="image", url="kept")]
    assert len(warnings) == 7
    assert warnings[0] == "AGENT_ATTACHMENTS[0] skipped: it needs a string type and url"


@pytest.mark.parametrize("raw", ["", "   ", "not json", "{", '{"type": "image"}', "42", "null"])
def test_unparseable_attachments_give_an_empty_list(raw: str) -> None:
    assert read({"AGENT_ATTACHMENTS": raw})[0].attachments == []


def test_a_context_made_by_hand_has_the_same_defaults() -> None:
    assert AgentContext(message="hi") == read({"AGENT_MESSAGE": "hi"})[0]

"""The code blocks of the seed (``shared/seeds/000_3a7ed6fbc60a62f3.txt``), verbatim.

Each is copied character for character; ``test_seed.py`` checks them against the seed file
whenever it is reachable. The Python blocks call LLM helpers the seed leaves undefined
(``my_llm``, ``stream_llm``, ...): :data:`STUBS` defines them, and a test writes
``STUBS + block`` as ``agent.py``, so the block itself runs unchanged.
"""

from __future__ import annotations

SEED_FILE = "000_3a7ed6fbc60a62f3.txt"

# bash
INSTALL = """\
pip install agentproc
"""

# python
BASIC_USAGE = """\
from agentproc import create_profile

async def handler(ctx):
    # ctx.message           — user message text
    # ctx.session_id        — previous session id (empty = new session)
    # ctx.session_name      — human-readable session name
    # ctx.from_user         — sender identifier
    # ctx.streaming         — True if bridge expects streaming output
    # ctx.protocol_version  — protocol version string (e.g. "0.1")
    # ctx.image_url         — image attachment URL (empty if none)
    # ctx.file_url          — file attachment URL (empty if none)
    # ctx.attachments       — parsed AGENT_ATTACHMENTS (draft, [] if unset)
    reply = await my_llm(ctx.message)
    return reply

create_profile(handler)
"""

# yaml
PROFILE_YAML = """\
command: python3 ./agent.py
timeout_secs: 60
"""

# python
SESSION_ID = """\
from agentproc import create_profile, AgentResult

async def handler(ctx):
    reply, new_session_id = await my_cli(ctx.message, ctx.session_id)
    return AgentResult(response=reply, session_id=new_session_id)

create_profile(handler)
"""

# python
STREAMING = """\
from agentproc import create_profile, AgentResult

async def handler(ctx):
    session_id = ctx.session_id
    async for chunk, session_id in stream_llm(ctx.message, ctx.session_id):
        await ctx.send_partial(chunk)
    return AgentResult(response="", session_id=session_id)

create_profile(handler)
"""

# python
ERROR_HANDLING = """\
from agentproc import create_profile, AgentResult, ProtocolError

async def handler(ctx):
    # Form 1: call send_error, then return / raise
    if rate_limited():
        await ctx.send_error("rate limited; retry in 60s")
        return                       # bridge discards any reply body

    # Form 2: raise ProtocolError — SDK emits AGENT_ERROR: and exits 1
    if bad_input(ctx.message):
        raise ProtocolError("bad input")

    return AgentResult(response=await my_llm(ctx.message))

create_profile(handler)
"""

# python
ATTACHMENTS = """\
from agentproc import create_profile, Attachment

async def handler(ctx):
    # Prefer the multi-attachment list when present, fall back to single vars
    images = [a for a in ctx.attachments if a.type == "image"] or (
        [Attachment(type="image", url=ctx.image_url)] if ctx.image_url else []
    )
    reply = await my_vision_llm(ctx.message, [a.url for a in images])
    return reply

create_profile(handler)
"""

# python
HISTORY = """\
from agentproc import create_profile, AgentResult, load_history, append_history, HistoryEntry

async def handler(ctx):
    history = load_history(ctx.session_id)
    messages = [{"role": e.role, "content": e.content} for e in history]
    messages.append({"role": "user", "content": ctx.message})

    reply = await call_openai(messages)

    append_history(ctx.session_id, [
        HistoryEntry(role="user", content=ctx.message),
        HistoryEntry(role="assistant", content=reply),
    ])
    return AgentResult(response=reply, session_id=ctx.session_id)

create_profile(handler)
"""

# bash
LOCAL_TESTING = r"""AGENT_MESSAGE="hello" \
AGENT_SESSION_ID="" \
AGENT_SESSION_NAME="default" \
AGENT_FROM_USER="test" \
AGENT_STREAMING="1" \
AGENT_PROTOCOL_VERSION="0.1" \
python3 ./agent.py
"""

# The helpers the Python blocks call. Deterministic, async where the blocks await them, and
# trio-flavoured (trio.sleep(0)) to show the handler runs under trio.
STUBS = """\
import os

import trio


async def my_llm(message):
    await trio.sleep(0)
    return f"echo: {message}"


async def my_cli(message, session_id):
    await trio.sleep(0)
    return f"cli: {message}", session_id or "cli-session-1"


async def stream_llm(message, session_id):
    for chunk in ["Hello,\\n", 'he said "', message, '"']:
        await trio.sleep(0)
        yield chunk, "stream-session-7"


def rate_limited():
    return os.environ.get("STUB_RATE_LIMITED") == "1"


def bad_input(message):
    return message == "bad"


async def my_vision_llm(message, urls):
    await trio.sleep(0)
    return f"saw {len(urls)} image(s)" + "".join(f" {url}" for url in urls)


async def call_openai(messages):
    await trio.sleep(0)
    turn = sum(1 for m in messages if m["role"] == "user")
    return f"turn {turn}: {messages[-1]['content']} ({len(messages)} messages)"


"""

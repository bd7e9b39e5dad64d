"""The bridge side of the agent-process protocol: start an agent per message from a profile.

::

    import trio
    from agentproc.bridge import TurnInput, load_profile, run_turn

    async def main() -> None:
        profile = load_profile("profile.yaml")
        result = await run_turn(profile, TurnInput(message="hi"), on_partial=print)
        print(result.reply if result.ok else result.error)
        # next turn: TurnInput(message=..., session_id=result.session_id)

    trio.run(main)

A profile YAML holds the keys of the wire-0.1 table (``command``, ``args``, ``stdin``,
``cwd``, ``env``, ``env_allowlist``, ``timeout_secs``, ``kill_grace_secs``,
``max_reply_chars``, ``truncation_suffix``, ``include_stderr_in_reply``,
``send_error_reply``, ``streaming``) or of the wire-0.4 one (:data:`WIRE04_PROFILE_KEYS`:
no ``stdin`` nor reply keys; ``permission``, ``executor``), and ``wire`` to say which; a
hub profile (keys under ``agentproc:``) is 0.4. Public names: :class:`Profile`,
:class:`ProfileError`, :func:`load_profile`, :func:`parse_profile`, :class:`TurnInput`,
:func:`run_turn`, :class:`RunResult`, :class:`Partial` (a partial's text and role),
:class:`LaunchError` and the exit codes; for 0.4's permission channel
:class:`PermissionRequest`, :class:`PermissionAnswer`, the :data:`Approver` type and the
policies :func:`allow_tools` and :func:`deny_all`; and
:func:`dies_with_this_process` (with :class:`Tie` and :data:`LIFELINE_VARIABLE`), which
:func:`run_turn` uses so that agents die with the process that started them, however it
dies. The command line is
``agentproc run -p profile.yaml --prompt hi``.

"Profile" here always means the profile YAML, how to start an agent (:class:`Profile`,
parsed in ``_profile_yaml``); :func:`agentproc.create_profile`, on the agent's side, is
what an agent script calls to be the process that a profile starts.

This package is not imported by ``agentproc`` itself, so that agent scripts, which only
need the agent side, do not pay for it at start-up.
"""

from agentproc.bridge._events import Partial
from agentproc.bridge._launch import LaunchError, TurnInput
from agentproc.bridge._lifeline import LIFELINE_VARIABLE, Tie, dies_with_this_process
from agentproc.bridge._permission import (
    Approver,
    PermissionAnswer,
    PermissionRequest,
    allow_tools,
    deny_all,
)
from agentproc.bridge._profile_yaml import (
    DEFAULT_KILL_GRACE_SECS,
    DEFAULT_MAX_REPLY_CHARS,
    DEFAULT_TIMEOUT_SECS,
    DEFAULT_TRUNCATION_SUFFIX,
    PROFILE_KEYS,
    WIRE04_PROFILE_KEYS,
    Profile,
    ProfileError,
    load_profile,
    parse_profile,
)
from agentproc.bridge._result import EXIT_ERROR, EXIT_OK, EXIT_TIMEOUT, RunResult
from agentproc.bridge._runner import PartialCallback, run_turn

__all__ = [
    "DEFAULT_KILL_GRACE_SECS",
    "DEFAULT_MAX_REPLY_CHARS",
    "DEFAULT_TIMEOUT_SECS",
    "DEFAULT_TRUNCATION_SUFFIX",
    "EXIT_ERROR",
    "EXIT_OK",
    "EXIT_TIMEOUT",
    "LIFELINE_VARIABLE",
    "PROFILE_KEYS",
    "WIRE04_PROFILE_KEYS",
    "Approver",
    "LaunchError",
    "Partial",
    "PartialCallback",
    "PermissionAnswer",
    "PermissionRequest",
    "Profile",
    "ProfileError",
    "RunResult",
    "Tie",
    "TurnInput",
    "allow_tools",
    "deny_all",
    "dies_with_this_process",
    "load_profile",
    "parse_profile",
    "run_turn",
]

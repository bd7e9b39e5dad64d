"""The ``agentproc`` command: ``agentproc run`` runs one turn of an agent, as a bridge would,
in wire 0.1 or 0.4 (``--wire``, the profile's ``wire:`` key, or its hub form).

Exit status: the turn's (0 success, 1 the agent reported an error or failed, 124 timeout,
or the agent's own status); 2 for a bad command line or profile; 126/127 when the agent
cannot be started; 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
from collections.abc import Sequence

import attrs
import trio

from agentproc.bridge import (
    Approver,
    LaunchError,
    PermissionAnswer,
    PermissionRequest,
    Profile,
    ProfileError,
    RunResult,
    TurnInput,
    allow_tools,
    deny_all,
    load_profile,
    run_turn,
)
from agentproc.bridge._profile_yaml import WIRES

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

_DESCRIPTION = """\
Start the agent that PROFILE describes for one message, the way a chat bridge does:
the turn travels in AGENT_* environment variables (wire 0.1) or as one JSON line on the
agent's stdin (wire 0.4), partials are printed as they arrive, then the reply. Thinking
partials (0.4), the agent's stderr, errors and the session id go to stderr. The exit
status is the turn's: 0, 1 (agent error), 124 (timeout) or the agent's.

Wire 0.4 profiles with permission: true may ask to run tools: --allow TOOL allows those
tools and denies the rest, --deny-all denies all; without either, you are asked when
stdin is a terminal, and every request is denied when it is not.
"""

_EPILOG = """\
examples:
  agentproc run -p profile.yaml --prompt "hello"
  echo "hello" | agentproc run -p profile.yaml
  agentproc run -p profile.yaml --prompt "and now?" --session SESSION_ID
  agentproc run -p profile.yaml --prompt hi --json --env MODEL=small
  agentproc run -p hub/echo-agent/profile.yaml --wire 0.4 --prompt hi
  agentproc --profile hub/echo-agent/profile.yaml --prompt hi   (the protocol CLI's form)
  agentproc run -p profile.yaml --prompt "tidy up" --allow Read --allow Grep
"""


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {text}")
    return value


def _assignment(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agentproc",
        description="Tools for agent-process protocol agents (wire 0.1 and 0.4).",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    run = commands.add_parser(
        "run",
        help="run one turn of an agent from its profile YAML",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "-p", "--profile", required=True, metavar="PROFILE", help="the profile YAML of the agent"
    )
    run.add_argument(
        "--prompt",
        metavar="TEXT",
        help="the user's message (default: read from stdin, trailing newlines removed)",
    )
    run.add_argument(
        "--stdin",
        action="store_true",
        help="read the message from stdin (what happens anyway without --prompt)",
    )
    run.add_argument("--image-url", default="", metavar="URL", help="an image attachment")
    run.add_argument("--file-url", default="", metavar="URL", help="a file attachment")
    run.add_argument(
        "--session",
        default="",
        metavar="ID",
        help="the session id a previous turn declared (default: a new session)",
    )
    run.add_argument("--session-name", default="default", metavar="NAME", help="the session's name")
    run.add_argument(
        "--from", dest="from_user", default="", metavar="USER", help="AGENT_FROM_USER (0.1)"
    )
    run.add_argument(
        "--wire",
        choices=WIRES,
        help="the protocol the agent speaks (default: the profile's wire: key; a hub "
        "profile, with its keys under agentproc:, is 0.4; any other is 0.1)",
    )
    run.add_argument(
        "--cwd",
        metavar="DIR",
        help="the agent's working directory instead of the profile's cwd "
        "(relative: to the profile's folder)",
    )
    run.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="TOOL",
        help="0.4 permission requests for TOOL are allowed, all others denied (repeatable)",
    )
    run.add_argument("--deny-all", action="store_true", help="deny every 0.4 permission request")
    run.add_argument(
        "--timeout",
        type=_positive_seconds,
        metavar="S",
        help="seconds the turn may take (default: the profile's timeout_secs)",
    )
    run.add_argument(
        "--no-stream",
        action="store_true",
        help="run with streaming off (0.1: AGENT_STREAMING=0): partials are ignored",
    )
    run.add_argument(
        "--env",
        action="append",
        type=_assignment,
        default=[],
        metavar="NAME=VALUE",
        help="add a variable to the agent's environment, over the profile's env "
        "(repeatable; no ${VAR} expansion)",
    )
    run.add_argument(
        "--json",
        action="store_true",
        help="print the whole result as JSON instead of the partials and the reply",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``agentproc`` console script; returns the exit status.

    ``agentproc --profile P --prompt T`` (the protocol's own CLI, no subcommand) means
    ``agentproc run --profile P --prompt T``.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and (argv[0] in ("-p", "--profile") or argv[0].startswith("--profile=")):
        argv = ["run", *argv]
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _run(args: argparse.Namespace) -> int:
    if args.allow and args.deny_all:
        return _fail("--allow and --deny-all exclude each other", EXIT_USAGE)
    try:
        profile = load_profile(args.profile, wire=args.wire)
        profile = attrs.evolve(
            profile,
            env={**profile.env, **dict(args.env)},
            timeout_secs=args.timeout if args.timeout is not None else profile.timeout_secs,
            streaming=profile.streaming and not args.no_stream,
            cwd=args.cwd if args.cwd is not None else profile.cwd,
        )
        turn = TurnInput(
            message=_message(args.prompt),
            session_id=args.session,
            session_name=args.session_name,
            from_user=args.from_user,
            image_url=args.image_url,
            file_url=args.file_url,
        )
        return trio.run(_turn, profile, turn, args.json, _approver(args))
    except ProfileError as exc:
        return _fail(str(exc), EXIT_USAGE)


def _message(prompt: str | None) -> str:
    if prompt is not None:
        return prompt
    if sys.stdin.isatty():
        print("agentproc: type the message, then Ctrl-D", file=sys.stderr, flush=True)
    return sys.stdin.read().rstrip("\r\n")


def _approver(args: argparse.Namespace) -> Approver:
    if args.allow:
        return allow_tools(args.allow)
    if args.deny_all:
        return deny_all()
    if sys.stdin.isatty() and sys.stderr.isatty():
        return _ask_at_the_terminal
    return deny_all("no terminal to ask; run with --allow TOOL to allow a tool")


async def _ask_at_the_terminal(request: PermissionRequest) -> PermissionAnswer:
    question = (
        f"\nagentproc: the agent asks to run {request.tool_name} (request {request.request_id})"
        f"\n  {request.summary()}\nAllow? [y/N] "
    )

    def ask() -> str:
        sys.stderr.write(question)
        sys.stderr.flush()
        try:
            return input()
        except EOFError:
            return ""

    answer = await trio.to_thread.run_sync(ask, abandon_on_cancel=True)
    if answer.strip().lower() in ("y", "yes"):
        return PermissionAnswer.allow()
    return PermissionAnswer.deny("denied by the user")


async def _turn(profile: Profile, turn: TurnInput, as_json: bool, approver: Approver) -> int:
    printer = _PartialPrinter()
    result: RunResult | None = None
    stopped_by: list[int] = []
    # The agent runs in a session of its own, so a terminal's Ctrl-C or a SIGTERM to this
    # process never reaches it: each becomes a cancellation, which ends the agent's group.
    with trio.open_signal_receiver(*_STOP_SIGNALS) as signals:
        async with trio.open_nursery() as nursery:

            async def stop_on_signal() -> None:
                async for signum in signals:
                    stopped_by.append(signum)
                    nursery.cancel_scope.cancel()

            nursery.start_soon(stop_on_signal)
            try:
                result = await run_turn(
                    profile,
                    turn,
                    on_partial=None if as_json else printer,
                    on_stderr=lambda line: print(line, file=sys.stderr, flush=True),
                    on_permission=approver,
                )
            except LaunchError as exc:  # here, before the nursery wraps it in a group
                return _fail(str(exc), exc.exit_code)
            finally:
                nursery.cancel_scope.cancel()
    if stopped_by or result is None:
        printer.end_line()
        name = signal.Signals(stopped_by[0]).name if stopped_by else "a signal"
        print(f"agentproc: stopped by {name}; the agent was ended", file=sys.stderr)
        return 128 + stopped_by[0] if stopped_by else EXIT_INTERRUPTED
    return _report(result, turn, printer, as_json)


def _report(result: RunResult, turn: TurnInput, printer: _PartialPrinter, as_json: bool) -> int:
    if as_json:
        document = {**attrs.asdict(result), "ok": result.ok, "thinking": list(result.thinking)}
        print(json.dumps(document, ensure_ascii=False, indent=2))
        return result.exit_code
    printer.end_line()
    if result.reply:
        print(result.reply)
    sys.stdout.flush()
    if result.error is not None:
        print(f"agentproc: error: {result.error}", file=sys.stderr)
    if result.session_id and result.session_id != turn.session_id:
        again = shlex.quote(result.session_id)
        print(
            f"agentproc: session {result.session_id} (continue with --session {again})",
            file=sys.stderr,
        )
    return result.exit_code


class _PartialPrinter:
    """Prints partials as they come, without adding newlines between chunks."""

    def __init__(self) -> None:
        self._open_line = False

    def __call__(self, text: str) -> None:
        if getattr(text, "role", None) not in (None, "output"):
            # Thinking (wire 0.4) is not the reply: it goes where the agent's notes go.
            print(f"agentproc: {getattr(text, 'role', '')}: {text}", file=sys.stderr, flush=True)
            return
        sys.stdout.write(text)
        sys.stdout.flush()
        if text:
            self._open_line = not text.endswith("\n")

    def end_line(self) -> None:
        """End the line the partials left open, so the reply starts on its own."""
        if self._open_line:
            sys.stdout.write("\n")
            self._open_line = False


def _fail(message: str, code: int) -> int:
    print(f"agentproc: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())

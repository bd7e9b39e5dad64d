"""What each ``useragent`` command accepts: its options, their defaults, its help.

Nothing here imports more than the standard library, so ``useragent --help`` answers at
once; a command's module (``_run``, ``_server``...) is imported only when it runs, and the
few defaults that belong to the library are repeated here (``tests/cli`` checks they agree).

Every form of the published user-agent-sdk 0.2.0 CLI (cyclopts) means the same here: its
short options (``-l``, ``-d``, ``-db``, ``-e``), ``--no-`` flags and ``--flag=false``, its
upper-case log levels (any case here), ``--record-id``, and the positional form of each of
its options (``useragent run agent.py credentials.json 4``).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime

PROG = "useragent"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
EVENT_LOOPS = ("asyncio", "trio")
"""As :data:`user_agent_sdk.config.EVENT_LOOPS`."""
DEFAULT_DB_PATH = Path("execution_history.db")
"""As :data:`user_agent_sdk.history.DEFAULT_DB_PATH`."""
STATUSES = ("success", "error")
"""As :data:`user_agent_sdk.history.STATUSES`."""
SERVER_MAX_BATCH = 1000
"""As ``user_agent_sdk.server._app.MAX_BATCH``."""
DEFAULT_SERVER = "http://127.0.0.1:8080"
DEFAULT_AGENT_ID = "local-agent"

_TRUE = frozenset({"yes", "y", "1", "true", "t"})
_FALSE = frozenset({"no", "n", "0", "false", "f"})
"""The words the published CLI takes for a flag's value (``--debug=no``), in any case."""

PUBLISHED_POSITIONALS: dict[str, tuple[str, ...]] = {
    "run": ("path", "config_file", "workers", "record_execution_logs", "log_level", "debug"),
    "dev": ("path", "config_file", "workers", "log_level", "debug"),
    "history": ("agent_id", "user_agent_id", "limit", "db_path", "export_csv"),
    "history-detail": ("id", "db_path"),
    "hd": ("id", "db_path"),
}
"""The published CLI takes each option of these commands positionally too, in this order:
``run agent.py c.json 4`` is ``run -p agent.py -c c.json -w 4``. An option also given by
name is skipped here (the published CLI refuses that mix)."""


# -- parsing -------------------------------------------------------------------------------


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """``argv`` (without the program name) as the chosen command's arguments.

    Usage mistakes print the command's usage and a one-line error, and exit 2.
    """
    parser, commands = build()
    command = commands.get(next((token for token in argv if not token.startswith("-")), ""))
    if command is not None:
        argv = _flag_values_spelled_out(command, argv)
    args, unknown = parser.parse_known_args(argv)
    command = commands[args.command]
    if args.command in PUBLISHED_POSITIONALS:
        _place_positionals(command, args, unknown)
    elif unknown:
        command.error(f"unrecognized arguments: {' '.join(unknown)}")
    return args


def build() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The ``useragent`` parser, and each command's parser by name (aliases too)."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        formatter_class=HelpFormatter,
        description=_text(
            """
            Run user agents (Conductor workers) for akaBot 2.0 or any Conductor server, and a
            local Conductor-compatible server to run them against.
            """
        ),
        epilog=_examples(
            "useragent run agent.py                  # serve the agents of agent.py",
            "useragent server --memory               # a local server on :8080",
            "useragent history                       # what `run -r` recorded",
            "useragent run --help                    # a command's options",
        ),
    )
    parser.add_argument(
        "--version", action=_PrintVersion, help="print the version of user-agent-sdk and exit"
    )
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", title="commands", required=True
    )
    for declare in (_run, _dev, _server, _submit, _history, _history_detail, _version):
        declare(subparsers)
    return parser, subparsers.choices


def _flag_values_spelled_out(parser: argparse.ArgumentParser, argv: Sequence[str]) -> list[str]:
    """``argv`` with ``--flag=VALUE`` (``-d=false``, ``--no-debug=yes``) spelled as the flag
    or its ``--no-`` form, which is what argparse takes."""
    flags = {
        option: action
        for action in parser._actions  # argparse has no public list of a parser's options
        if isinstance(action, Flag)
        for option in action.option_strings
    }
    spelled: list[str] = []
    for index, word in enumerate(argv):
        if word == "--":
            return spelled + list(argv[index:])
        option, equals, text = word.partition("=")
        action = flags.get(option) if equals else None
        if action is None:
            spelled.append(word)
            continue
        value = _truth(parser, option, text)
        spelled.append(action.spelling(value != option.startswith("--no-")))
    return spelled


def _place_positionals(
    parser: argparse.ArgumentParser, args: argparse.Namespace, unknown: list[str]
) -> None:
    """Give the command's positional words to :data:`PUBLISHED_POSITIONALS` in order."""
    # argparse hands positionals that follow an option to no one: they come back unknown.
    stray = [token for token in unknown if token.startswith("-")]
    if stray:
        parser.error(f"unrecognized arguments: {' '.join(stray)}")
    words = [*([] if args.first is None else [args.first]), *args.more, *unknown]
    del args.first, args.more
    actions = {action.dest: action for action in parser._actions}
    for dest in PUBLISHED_POSITIONALS[args.command]:
        action = actions[dest]
        if words and getattr(args, dest) == action.default:
            setattr(args, dest, _converted(parser, action, words.pop(0)))
    if words:
        parser.error(f"unrecognized arguments: {' '.join(words)}")
    if args.command in ("history-detail", "hd") and args.id is None:
        parser.error("the following arguments are required: ID")


def _converted(parser: argparse.ArgumentParser, action: argparse.Action, text: str) -> Any:
    """``text`` as ``action`` would take it, or a usage error naming the published CLI's
    name for the positional (``WORKERS``) and what is wrong."""
    name = action.metavar if isinstance(action.metavar, str) else action.dest.upper()
    name = name.replace("_", "-")
    if isinstance(action, Flag):
        return _truth(parser, name, text)
    convert: Callable[[str], Any] = action.type if callable(action.type) else str
    try:
        value = convert(text)
    except argparse.ArgumentTypeError as exc:
        parser.error(f"argument {name}: {exc}")
    except (TypeError, ValueError):
        kind = getattr(action.type, "__name__", "")
        parser.error(f"argument {name}: invalid {kind} value: {text!r}")
    if action.choices is not None and value not in action.choices:
        choices = ", ".join(map(repr, action.choices))
        parser.error(f"argument {name}: invalid choice: {text!r} (choose from {choices})")
    return value


def _truth(parser: argparse.ArgumentParser, option: str, text: str) -> bool:
    if text.lower() not in _TRUE | _FALSE:
        parser.error(f"argument {option}: expected true or false (or yes/no, 1/0), got {text!r}")
    return text.lower() in _TRUE


# -- building blocks -----------------------------------------------------------------------


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and examples as written; each option's default after its help."""

    def _get_help_string(self, action: argparse.Action) -> str:
        help = action.help or ""
        default = action.default
        if default is None or default is False or default is argparse.SUPPRESS:
            return help
        if "default" in help or not action.option_strings:
            return help
        return help + " (default: %(default)s)"


class Flag(argparse.Action):
    """An on/off option: ``--name`` (and its short form) turns it on, ``--no-name`` off."""

    def __init__(
        self,
        option_strings: Sequence[str],
        dest: str,
        default: bool = False,
        help: str | None = None,
    ) -> None:
        negative = [f"--no-{option[2:]}" for option in option_strings if option.startswith("--")]
        super().__init__([*option_strings, *negative], dest, nargs=0, default=default, help=help)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, not (option_string or "").startswith("--no-"))

    def format_usage(self) -> str:
        return self.option_strings[0]

    def spelling(self, on: bool) -> str:
        """The long option that turns it on, or off."""
        positive = next(
            option
            for option in self.option_strings
            if option.startswith("--") and not option.startswith("--no-")
        )
        return positive if on else f"--no-{positive[2:]}"


class _PrintVersion(argparse.Action):
    def __init__(self, option_strings: Sequence[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        from .. import __version__

        print(__version__)
        parser.exit()


def _text(text: str) -> str:
    """A description written as an indented triple-quoted string, as it is to be shown."""
    lines = [line.strip() for line in text.strip("\n").splitlines()]
    return "\n".join(lines)


def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def _command(
    subparsers: Any,
    name: str,
    implementation: str,
    *,
    summary: str,
    description: str,
    examples: Sequence[str],
    aliases: Sequence[str] = (),
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        aliases=list(aliases),
        help=summary,
        description=f"{summary[0].upper()}{summary[1:]}.\n\n{_text(description)}",
        epilog=_examples(*examples),
        formatter_class=HelpFormatter,
    )
    parser.set_defaults(implementation=implementation)
    return parser


def _published_positionals(parser: argparse.ArgumentParser, metavar: str | None, help: str) -> None:
    """The command's positional words (see :data:`PUBLISHED_POSITIONALS`): ``metavar`` is
    shown; the published CLI's positional forms of the options are taken silently."""
    if metavar is None:
        parser.set_defaults(first=None)
    else:
        parser.add_argument("first", nargs="?", metavar=metavar, help=help)
    parser.add_argument("more", nargs="*", help=argparse.SUPPRESS)


def _level(text: str) -> str:
    return text.upper()


def _add_log_level(parser: argparse.ArgumentParser, *short: str) -> None:
    parser.add_argument(
        *short,
        "--log-level",
        type=_level,
        choices=LEVELS,
        default="INFO",
        metavar="LEVEL",
        help=f"log this and above: {', '.join(LEVELS)}, in any case",
    )


def _add_log_format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="text: a line per record for people; json: one JSON object per line (time, "
        "level, logger, message, and task_id, agent_id, workflow_id when about a task)",
    )


def _port(text: str) -> int:
    port = int(text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0-65535, not {port}")
    return port


def _add_db_path(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "-db",
        "--db-path",
        type=Path,
        default=DEFAULT_DB_PATH,
        metavar="FILE",
        help=what,
    )


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _since(text: str) -> datetime:
    from ..history import parse_since  # the runtime's too: only once --since is given

    try:
        return parse_since(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# -- the commands --------------------------------------------------------------------------


def _run(subparsers: Any) -> None:
    parser = _command(
        subparsers,
        "run",
        "_run",
        summary="serve the user agents a script defines, until Ctrl-C or SIGTERM",
        description="""
            Load AGENT.py, find its functions decorated with @user_agent() and serve their
            tasks: from akaBot 2.0 with the credentials.json of the working directory (or
            -c FILE), or from the Conductor server at $CONDUCTOR_SERVER_URL. Ctrl-C or
            SIGTERM stops polling and lets running tasks finish within --grace seconds; a
            second Ctrl-C quits at once. With --profile PROFILE.yaml instead of a script,
            serve an agentproc profile: each task is one turn of that agent.

            The published CLI's positional form works too: AGENT.py [CONFIG-FILE [WORKERS
            [RECORD-EXECUTION-LOGS [LOG-LEVEL [DEBUG]]]]], as in `run agent.py c.json 4`.

            Exit status: 0 once drained, 1 when serving failed, 2 for a mistake in the
            options, the script or the configuration, 130 after a second Ctrl-C.
        """,
        examples=(
            "useragent run agent.py",
            "useragent run agent.py -w 8 -r -l DEBUG",
            "useragent run -p agent.py -c prod-credentials.json --grace 60",
            "useragent run --profile assistant.yaml",
        ),
    )
    add_run_arguments(parser)


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``useragent run``, which ``useragent dev`` takes too."""
    _published_positionals(parser, "AGENT.py", "the script to run")
    parser.add_argument("-p", "--path", metavar="AGENT.py", help="the script (as AGENT.py)")
    parser.add_argument(
        "-w",
        "--workers",
        type=int,
        metavar="N",
        help="tasks each agent runs at once (default: its @user_agent(workers=...), else 1)",
    )
    parser.add_argument(
        "-c",
        "--config-file",
        type=Path,
        metavar="FILE",
        help="credentials file (default: ./credentials.json, else $CONDUCTOR_SERVER_URL)",
    )
    parser.add_argument(
        "-r",
        "--record-execution-logs",
        action=Flag,
        help="record every execution in the local history (see `useragent history`)",
    )
    parser.add_argument(
        "--db-path",
        type=Path,
        default=DEFAULT_DB_PATH,
        metavar="FILE",
        help="the history file -r records into",
    )
    _add_log_level(parser, "-l")
    parser.add_argument(
        "-d",
        "--debug",
        action=Flag,
        help="log at DEBUG, each HTTP request too (never credentials or tokens)",
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="on Ctrl-C or SIGTERM, how long running tasks may take to finish",
    )
    parser.add_argument(
        "--event-loop",
        choices=EVENT_LOOPS,
        default="asyncio",
        help="what `async def` handlers are written for, unless their "
        "@user_agent(event_loop=...) says: asyncio (asyncio.sleep, aiohttp...; as the "
        "published user-agent-sdk runs them) or trio",
    )
    parser.add_argument(
        "--metrics-port",
        type=_port,
        metavar="PORT",
        help="serve Prometheus metrics on http://HOST:PORT/metrics, and the probes /healthz "
        "(alive) and /readyz (every agent reaches the server); 0 picks a free port",
    )
    parser.add_argument(
        "--metrics-host",
        default="127.0.0.1",
        metavar="HOST",
        help="the address --metrics-port listens on (0.0.0.0 for a scraper on another host)",
    )
    _add_log_format(parser)
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="PROFILE.yaml",
        help="serve an agentproc profile instead of a script: task input {message, "
        "session_id, session_name, from_user} -> output {response, session_id, partials}",
    )


def _dev(subparsers: Any) -> None:
    parser = _command(
        subparsers,
        "dev",
        "_dev",
        summary="run the user agents of a script, restarting them when it changes",
        description="""
            Like `useragent run`, with the same options. When AGENT.py (or --profile's file)
            or a file beside it (.py, .json, .yaml, .toml, .ini, .cfg, .env) changes, the
            running agents drain as on shutdown and the new code takes over. No task is
            lost: those not started yet wait on the server for the new code. An edit that
            does not load is reported, and the next save is tried.
        """,
        examples=(
            "useragent dev agent.py",
            "useragent dev agent.py -w 4 -r",
            "useragent dev --profile assistant.yaml",
        ),
    )
    add_run_arguments(parser)


def _server(subparsers: Any) -> None:
    parser = _command(
        subparsers,
        "server",
        "_server",
        summary="run a local Conductor-compatible task server",
        description="""
            Serve the Conductor OSS task API and akaBot's paths on this machine, with the
            queue in SQLite: `useragent run` and the official Conductor clients work
            against it. It prints its base URL; the API is that URL plus /api. Stop it
            with Ctrl-C or SIGTERM; queued and finished work stays in the database.
        """,
        examples=(
            "useragent server",
            "useragent server --port 0 --memory --print-credentials",
            "USERAGENT_CLIENT_SECRET=s3cret useragent server --auth required --client-id me",
            "useragent server --host 0.0.0.0 --auth required --print-credentials",
        ),
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind; one beyond loopback (not 127.0.0.0/8, ::1 or localhost) "
        "needs --auth required, or --allow-unauthenticated",
    )
    parser.add_argument("--port", type=int, default=8080, help="port to bind; 0 picks a free one")
    store = parser.add_mutually_exclusive_group()
    store.add_argument(
        "--db",
        default="useragent-server.db",
        metavar="PATH",
        help="SQLite file holding the queue; created if missing",
    )
    store.add_argument(
        "--memory", action="store_true", help="keep everything in memory (lost when it stops)"
    )
    parser.add_argument(
        "--auth",
        choices=("none", "required"),
        default="none",
        help="'required' refuses API calls without a valid token; 'none' hands a token to "
        "anyone who asks",
    )
    parser.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        help="serve a --host beyond loopback with --auth none: anyone who can reach it may "
        "submit, lease and complete tasks and read every input and output (logged as a "
        "warning at start)",
    )
    parser.add_argument("--client-id", metavar="ID", help="client id that may request tokens")
    parser.add_argument(
        "--client-secret",
        metavar="SECRET",
        help="its secret (default: $USERAGENT_CLIENT_SECRET, else generated); prefer the "
        "variable: a command line shows in `ps` (and a secret starting with '-' needs "
        "--client-secret=SECRET)",
    )
    parser.add_argument(
        "--token-ttl", type=int, default=3600, metavar="SECONDS", help="token lifetime"
    )
    parser.add_argument(
        "--response-timeout",
        type=int,
        default=60,
        metavar="SECONDS",
        help="lease of a polled task: with no update by then it is handed out again (a "
        "task definition or the submission may set another)",
    )
    parser.add_argument(
        "--max-attempts",
        type=int,
        default=3,
        metavar="N",
        help="attempts in all for a task that fails",
    )
    parser.add_argument(
        "--retry-delay",
        type=int,
        default=0,
        metavar="SECONDS",
        help="wait before a failed task is retried",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        default=10 * 1024 * 1024,
        metavar="N",
        help="larger request bodies are refused with 413",
    )
    parser.add_argument(
        "--max-batch",
        type=int,
        default=SERVER_MAX_BATCH,
        metavar="N",
        help="most tasks one poll may lease, and most results one update-batch may carry; "
        "a request asking for more is refused with 400",
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        metavar="N",
        help="most connections open at once: a new one past the cap closes the longest-idle "
        "keep-alive connection, or waits in the listen backlog while none is idle (default: "
        "10000, or the open-file limit less 100 where that is lower)",
    )
    parser.add_argument(
        "--request-timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="a request must arrive in full (head and body) within this long of its first "
        "byte, else it is answered 408 and its connection closed; raise it for large "
        "uploads over slow links",
    )
    parser.add_argument(
        "--print-credentials",
        action="store_true",
        help="print a credentials.json that points a user agent at this server",
    )
    parser.add_argument(
        "--agent-id",
        default=DEFAULT_AGENT_ID,
        help="agentId (task type) written into the printed credentials",
    )
    parser.add_argument(
        "--metrics",
        action="store_true",
        help="serve Prometheus metrics at /metrics on the server's port: queue depth per "
        "task type, tasks leased, completed, failed, timed out, requests by route and "
        "status, request latency, commit time, database size (no token needed)",
    )
    _add_log_level(parser)
    _add_log_format(parser)


def _submit(subparsers: Any) -> None:
    parser = _command(
        subparsers,
        "submit",
        "_submit",
        summary="start workflows for an agent and optionally wait for their outputs",
        description="""
            Start COUNT workflows named AGENT_ID on a Conductor server (a name with no
            workflow definition runs one task of that type, which is what a user agent
            serves). Prints the workflow ids, or with --wait each output as a line of JSON;
            exits 1 if any failed. $CONDUCTOR_AUTH_KEY and $CONDUCTOR_AUTH_SECRET
            authenticate, when set.
        """,
        examples=(
            'useragent submit sum-agent --input \'{"num1": 2, "num2": 3}\'',
            "useragent submit sum-agent --input-file input.json --count 100 --wait",
            "produce-input | useragent submit sum-agent --input-file - --wait",
        ),
    )
    parser.add_argument("agent_id", metavar="AGENT_ID", help="the agent id (task type) to run")
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--input",
        metavar="JSON",
        help="the workflow input, a JSON object (default: {}; Linux refuses a command-line "
        "argument over 128 KiB: pass a larger input with --input-file)",
    )
    source.add_argument(
        "--input-file",
        metavar="FILE",
        help="read the input, a JSON object in UTF-8, from FILE ('-': standard input)",
    )
    parser.add_argument("--count", type=int, default=1, metavar="N", help="how many to start")
    parser.add_argument(
        "--wait", action="store_true", help="wait for each to end and print its output as JSON"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="with --wait: give up after this long, exit 1 (default: wait as long as it takes)",
    )
    parser.add_argument(
        "--server",
        metavar="URL",
        default=os.environ.get("CONDUCTOR_SERVER_URL", DEFAULT_SERVER),
        help=f"server base URL or its /api URL (default: $CONDUCTOR_SERVER_URL, else "
        f"{DEFAULT_SERVER})",
    )
    parser.add_argument(
        "--response-timeout",
        type=int,
        metavar="SECONDS",
        help="lease of each task (responseTimeoutSeconds) for these submissions "
        "(default: the server's)",
    )
    parser.add_argument(
        "--max-attempts",
        type=int,
        metavar="N",
        help="attempts in all for these submissions (default: the server's)",
    )


def _history(subparsers: Any) -> None:
    parser = _command(
        subparsers,
        "history",
        "_history",
        summary="list the executions `useragent run -r` recorded",
        description="""
            List recorded executions, newest first, or with --stats summarize them per user
            agent. `useragent hd ID` shows one in detail. The filters combine. The published
            CLI's positional form works too: [AGENT-ID [USER-AGENT-ID [LIMIT [DB-PATH
            [EXPORT-CSV]]]]].
        """,
        examples=(
            "useragent history",
            "useragent history --status error --since 2h",
            "useragent history -u sum-agent -n 100 -e sum-agent.csv",
            "useragent history --stats --json",
        ),
    )
    _published_positionals(parser, None, "")
    parser.add_argument(
        "-a",
        "--agent-id",
        metavar="ID",
        help="only executions for this akaBot agent id (the task's __deployed_workflow_id__)",
    )
    parser.add_argument(
        "-u",
        "--user-agent-id",
        metavar="ID",
        help="only executions of this user agent (its agent id: the Conductor task type)",
    )
    parser.add_argument("--status", choices=STATUSES, help="only successes, or only errors")
    parser.add_argument(
        "--since",
        type=_since,
        metavar="T",
        help="only executions started at or after T: an age (30m, 2h, 7d) or an ISO-8601 "
        "time (2025-01-31, 2025-01-31T08:00; local time unless it names a zone)",
    )
    parser.add_argument(
        "-n",
        "--limit",
        type=_positive,
        default=50,
        metavar="N",
        help="list at most N executions (--stats counts every match)",
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print JSON instead, for scripts")
    output.add_argument(
        "--csv",
        metavar="FILE",
        help="write every column as CSV to FILE ('-': standard output) instead of the table",
    )
    parser.add_argument(
        "-e",
        "--export-csv",
        metavar="FILE",
        help="also write the listed executions to FILE as the published CLI does: columns "
        "ID, Task ID, Agent ID, User Agent ID, Started At, Ended At, Status, Input Data, "
        "Output Data, Error Message",
    )
    parser.add_argument(
        "--stats",
        action="store_true",
        help="per user agent: executions, success rate, p50/p95/max duration",
    )
    _add_db_path(parser, "the history to read, where `useragent run -r` records")


def _history_detail(subparsers: Any) -> None:
    parser = _command(
        subparsers,
        "history-detail",
        "_history_detail",
        aliases=["hd"],
        summary="show one recorded execution: metadata, error, input and output",
        description="""
            Show execution ID of `useragent history`: its metadata, its error, and its
            input and output as JSON (or as the raw text stored, when not JSON). Each of
            the last three is cut after 100 lines or 5,000 characters; --json prints the
            whole execution. The published CLI's `hd ID DB-PATH` works too.
        """,
        examples=(
            "useragent hd 42",
            "useragent history-detail 42 --json",
            "useragent hd 42 -db /path/to/custom.db",
        ),
    )
    _published_positionals(parser, "ID", "the execution's id (the first column of the list)")
    parser.add_argument("--record-id", dest="id", type=int, metavar="ID", help="the same as ID")
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the execution as JSON, input and output whole (for scripts)",
    )
    _add_db_path(parser, "the history to read, where `useragent run -r` records")


def _version(subparsers: Any) -> None:
    _command(
        subparsers,
        "version",
        "_version",
        summary="print the version of user-agent-sdk and of what it runs on",
        description="""
            One line each, labelled as the published CLI labels them: this package's
            version, Python's, the platform (OS, release, machine), the machine, trio's and
            httpx's versions, where the package is installed and the interpreter.
            `useragent --version` prints the version alone.
        """,
        examples=("useragent version", "useragent --version"),
    )

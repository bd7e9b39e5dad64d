"""The ``useragent`` command: a thin shell over the library's public API.

``_parser`` declares what every command accepts and imports only the standard library, so
``useragent --help`` answers at once. Each command lives in its own module (``_run``,
``_server``...) with ``run(args) -> int``, which does the work and returns the exit code;
that module, and what it needs (trio, httpx, the server), is imported only when the
command runs.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from importlib import import_module

from . import _parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``useragent`` console script; returns the exit code.

    Usage mistakes print a one-line error and raise ``SystemExit(2)``, as argparse does.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv:
        _parser.build()[0].print_help()
        return 0
    args = _parser.parse(argv)
    command: Callable[..., int] = import_module(f"{__name__}.{args.implementation}").run
    try:
        return command(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""The ``completeness`` command.

One module per sub-command, each with ``register(commands)`` (its arguments) and ``run(args)``
(parse, call the package, print); the logic lives in the package. Exit status: 0 on success
(whatever the verdicts), 2 for an error the package raises on purpose
(:class:`~completeness.errors.CompletenessError`: one line on stderr), 1 for a bug (traceback).
"""

from __future__ import annotations

import argparse
import sys

from ..errors import CompletenessError
from . import audit, benchmark, catalog, discover, learn, paper, scan, search, sensitivity

__all__ = ["build_parser", "main"]

#: The sub-commands in the order ``--help`` lists them.
COMMANDS = (catalog, audit, learn, sensitivity, scan, search, discover, benchmark, paper)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="completeness",
        description="Measure how unique, sensitive and complete atomic descriptors are.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.register(commands)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from .. import __version__

        print(__version__)
        return 0
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(args.run(args) or 0)
    except CompletenessError as error:
        print(f"completeness {args.command}: error: {error}", file=sys.stderr)
        return 2

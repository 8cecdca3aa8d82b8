"""The ``completeness`` command.

One module per sub-command, each with ``register(commands)`` (its arguments) and ``run(args)``
(parse, call the package, print); the logic lives in the package. Exit status: 0 on success
(whatever the verdicts), 2 for an error the package raises on purpose
(:class:`~completeness.errors.CompletenessError`: one line on stderr), 1 for a bug (traceback).
The thread policy (:mod:`completeness.threads`, ``--threads``) is applied once, before the
sub-command runs.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from ..errors import CompletenessError
from ..threads import apply_thread_policy
from . import (
    audit,
    benchmark,
    catalog,
    discover,
    learn,
    paper,
    report,
    scan,
    search,
    sensitivity,
)
from ._common import check_numbers

__all__ = ["build_parser", "main"]

#: The sub-commands in the order ``--help`` lists them.
COMMANDS = (catalog, audit, report, learn, sensitivity, scan, search, discover, benchmark, paper)


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (``completeness search: error: ...``, exit 2), like every
    other error of the command; sub-command parsers inherit the class."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="completeness",
        description="Measure how unique, sensitive and complete atomic descriptors are.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument(
        "--threads",
        default=None,
        metavar="N",
        help="threads of the native libraries (BLAS, OpenMP) in this process and its workers: a "
        "positive integer or 'default' (the libraries' own); default $COMPLETENESS_THREADS, "
        "else 1 (see completeness.threads)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.register(commands)
    for sub in commands.choices.values():
        sub.add_argument(
            "--max-pairs",
            type=int,
            metavar="N",
            help="refuse periodic systems whose cell and cutoff imply more than N neighbour "
            "pairs (default 2e7, or $COMPLETENESS_MAX_PAIRS); raise it for huge cells",
        )
    check_numbers(parser)  # one rule per numeric flag (completeness.cli._common.NUMBER_FLAGS)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help, or a one-line usage error (exit 2): returned, not raised
        return int(done.code or 0)
    if args.version:
        from .. import __version__

        print(__version__)
        return 0
    if args.command is None:
        parser.print_help()
        return 0
    previous = os.environ.get(_MAX_PAIRS)
    if args.max_pairs is not None:  # (an environment variable: worker processes inherit it)
        os.environ[_MAX_PAIRS] = str(args.max_pairs)
    try:
        apply_thread_policy(args.threads)  # once, before any sub-command loads a library
        return int(args.run(args) or 0)
    except CompletenessError as error:
        print(f"completeness {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as stop:  # SIGINT, or SIGTERM during a parallel map: a clean stop
        number = getattr(stop, "signal", signal.SIGINT)
        print(f"completeness {args.command}: {str(stop) or 'interrupted'}", file=sys.stderr)
        return 128 + number
    finally:
        if previous is None:
            os.environ.pop(_MAX_PAIRS, None)
        else:
            os.environ[_MAX_PAIRS] = previous


_MAX_PAIRS = "COMPLETENESS_MAX_PAIRS"

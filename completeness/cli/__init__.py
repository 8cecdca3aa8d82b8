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

__all__ = ["build_parser", "main"]

#: The sub-commands in the order ``--help`` lists them.
COMMANDS = (catalog, audit, report, learn, sensitivity, scan, search, discover, benchmark, paper)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
        apply_thread_policy(args.threads)  # once, before any sub-command loads a library
        return int(args.run(args) or 0)
    except CompletenessError as error:
        print(f"completeness {args.command}: error: {error}", file=sys.stderr)
        return 2

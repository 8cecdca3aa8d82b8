"""The ``completeness`` command.

Each sub-command is a function ``_cmd_<name>(args)`` registered in :func:`build_parser`; the
logic lives in the package, this module only parses arguments, calls it and prints.
Exit status: 0 on success (whatever the verdicts), 2 for bad input, 1 for unexpected errors.
"""

from __future__ import annotations

import argparse
import sys

from .environments import InputError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="completeness",
        description="Measure how unique, sensitive and complete atomic descriptors are.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in _COMMANDS:
        register(commands)
    return parser


# ---- sub-commands (each registers itself in _COMMANDS) -------------------------------------

_COMMANDS: list = []


def _cmd_catalog(args) -> int:
    from .structures.catalog import write_catalog

    paths = write_catalog(args.out)
    print(f"wrote {len(paths) - 2} pairs, index.json and README.md to {args.out}")
    return 0


def _register_catalog(commands) -> None:
    parser = commands.add_parser(
        "catalog",
        help="verify every registered degenerate pair and write the catalog (extxyz + index)",
    )
    parser.add_argument(
        "--out", default="structures", help="output directory (default: structures)"
    )
    parser.set_defaults(run=_cmd_catalog)


_COMMANDS.append(_register_catalog)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from . import __version__

        print(__version__)
        return 0
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(args.run(args) or 0)
    except InputError as error:
        print(f"completeness {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

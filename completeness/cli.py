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


def _read_structure(path: str):
    """One structure from a file (first frame), or InputError naming the file."""
    import os

    import ase.io

    if not os.path.isfile(path):
        raise InputError(f"structure file {path!r} does not exist; check the path")
    try:
        atoms = ase.io.read(path, index=0)
    except Exception as error:  # ase raises many types for unreadable files: one message
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise InputError(
            f"cannot read structure file {path!r} ({first}); give an extxyz/xyz file"
        ) from None
    if len(atoms) == 0:
        raise InputError(f"structure file {path!r} has no atoms; give the centre and neighbours")
    return atoms


def _write_atomically(path: str, write) -> None:
    """Write through a temporary file in the same directory, then rename (nothing half-written)."""
    import os
    import tempfile

    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise InputError(f"cannot write {path!r}: directory {directory!r} does not exist")
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".completeness-", suffix=".tmp")
    os.close(handle)
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def _cmd_audit(args) -> int:
    import json

    from .analysis.distance import user_pair
    from .analysis.report import catalog_pairs, run_audit
    from .descriptors.defaults import builtin_descriptors, resolve_descriptors

    # everything that can fail on bad input happens before any computation or output
    descriptors = resolve_descriptors(args.descriptor) if args.descriptor else builtin_descriptors()
    statement = None
    if args.pair:
        first, second = (_read_structure(path) for path in args.pair)
        pair = user_pair(first, second, name="user-pair")
        pairs = [pair]
        statement = pair.claim.statement
        if not args.quiet:
            print(f"oracle: {statement}", flush=True)
    else:
        pairs = catalog_pairs()
    audit = run_audit(
        descriptors,
        pairs,
        cards=not args.pair,
        timings=not args.no_timings,
        seed=args.seed,
        progress=sys.stderr.isatty() and not args.quiet,
        pair_statement=statement,
    )
    outputs = {}
    if args.json:
        outputs["json"] = json.dumps(audit.to_dict(), indent=1, sort_keys=False) + "\n"
    if args.markdown:
        outputs["markdown"] = audit.markdown()
    figure = audit.figure() if args.figure else None
    for kind, target in (("json", args.json), ("markdown", args.markdown)):
        if kind in outputs and target != "-":
            _write_atomically(target, lambda tmp, text=outputs[kind]: _write_text(tmp, text))
    if figure is not None:
        _write_atomically(args.figure, lambda tmp: figure.savefig(tmp, format="png", dpi=120))
    stdout_outputs = [
        outputs[k] for k in ("json", "markdown") if k in outputs and getattr(args, k) == "-"
    ]
    if stdout_outputs:
        for text in stdout_outputs:
            sys.stdout.write(text)
    elif not args.quiet:
        text = audit.text()
        if statement is not None:  # already printed before the computation
            text = text.split("\n", 2)[2]
        sys.stdout.write(text)
    return 0


def _write_text(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def _register_audit(commands) -> None:
    parser = commands.add_parser(
        "audit",
        help="verdicts of descriptors on degenerate pairs, and a report card per descriptor",
        description=(
            "Audit descriptors: the verdict (degenerate / resolved / inconclusive) on every "
            "catalog pair, or on your own pair, and a report card on the six criteria. "
            "Exit status 0 whatever the verdicts; 2 for bad input."
        ),
    )
    parser.add_argument(
        "--descriptor",
        action="append",
        metavar="NAME",
        help="a built-in key (e.g. power-spectrum), a class name (e.g. PowerSpectrum) or "
        "module:attr for your own (object with compute() or callable (positions, numbers) -> "
        "vector); repeat for several (default: every built-in descriptor)",
    )
    parser.add_argument(
        "--pair",
        nargs=2,
        metavar=("A.xyz", "B.xyz"),
        help="audit your own pair (centre = atom 0, every other atom a neighbour); the oracle "
        "first says whether it is congruent and up to which body order it coincides",
    )
    parser.add_argument(
        "--json", nargs="?", const="-", metavar="PATH", help="write JSON (to stdout without PATH)"
    )
    parser.add_argument(
        "--markdown", nargs="?", const="-", metavar="PATH", help="write Markdown (stdout: no PATH)"
    )
    parser.add_argument("--figure", metavar="PATH", help="write a verdict heat map (PNG)")
    parser.add_argument(
        "--no-timings",
        action="store_true",
        help="skip the efficiency timings (the only machine-dependent numbers)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of every random structure")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.set_defaults(run=_cmd_audit)


_COMMANDS.append(_register_audit)


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

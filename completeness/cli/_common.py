"""What the sub-commands share: the same flags for the same things, one descriptor resolver,
reading a structure file and writing JSON.

Flag names: ``--descriptor`` (every spelling of
:func:`completeness.descriptors.defaults.resolve_descriptor`), ``--cutoff`` / ``--n-radial`` /
``--max-angular`` / ``--density-width`` / ``--correlation-order`` (hyperparameters set on that
descriptor), ``--backend`` / ``--n-workers`` / ``--scheduler`` (parallelism), ``--json [PATH]``
(the result as JSON; ``-`` or no PATH: stdout), ``--out DIR`` (a directory of files), ``--seed``,
``--quiet``.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import InputError, first_line
from ..io import json_text, write_text


class Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` shows every default that is a value (not ``None``/``False``), also for
    options without a help text."""

    def _format_action(self, action):
        if not action.help and action.option_strings and _shown(action.default):
            action.help = "(default: %(default)s)"
        return super()._format_action(action)

    def _get_help_string(self, action):
        text = (action.help or "").strip()
        if "%(default)" in text or not _shown(action.default) or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)".strip()


def _shown(default) -> bool:
    return default is not None and default is not False and default != argparse.SUPPRESS


DESCRIPTOR_HELP = (
    "a built-in key (e.g. power-spectrum: the audit's settings), a class name (e.g. "
    "PowerSpectrum: its own defaults), library:Name (e.g. featomic:SoapPowerSpectrum) or "
    "module:attr for your own (object with compute() or callable (positions, numbers) -> vector)"
)

#: The hyperparameter flags and the keyword each sets on the descriptor.
HYPERS = {
    "cutoff": (float, "cutoff radius (Å)"),
    "n_radial": (int, "number of radial basis functions"),
    "max_angular": (int, "largest angular channel l"),
    "density_width": (float, "Gaussian density width (Å)"),
    "correlation_order": (int, "correlation order nu (body order nu + 1)"),
}


def add_command(commands, name: str, **options) -> argparse.ArgumentParser:
    """A sub-command's parser (defaults shown in ``--help``)."""
    return commands.add_parser(name, formatter_class=Formatter, **options)


def add_descriptor(parser, *, multiple: bool = False, default=None, required: bool = False):
    """``--descriptor`` (repeatable when ``multiple``)."""
    what = "; repeat for several" if multiple else ""
    parser.add_argument(
        "--descriptor",
        action="append" if multiple else "store",
        default=default,
        required=required,
        metavar="NAME",
        help=DESCRIPTOR_HELP + what,
    )


def add_hypers(parser) -> None:
    """The hyperparameter flags (default: the descriptor's own value)."""
    group = parser.add_argument_group("descriptor hyperparameters (default: the descriptor's)")
    for name, (kind, text) in HYPERS.items():
        group.add_argument(f"--{name.replace('_', '-')}", type=kind, default=None, help=text)


def hypers(args) -> dict:
    """The hyperparameters given on the command line, as keywords."""
    return {name: getattr(args, name) for name in HYPERS if getattr(args, name, None) is not None}


def add_parallel(parser, *, backend=None, help_backend="parallelism") -> None:
    """``--backend``, ``--n-workers`` and ``--scheduler``."""
    parser.add_argument(
        "--backend", choices=["serial", "processes", "dask"], default=backend, help=help_backend
    )
    parser.add_argument("--n-workers", type=int, help="processes or LocalCluster workers")
    parser.add_argument("--scheduler", help="dask scheduler address, e.g. tcp://host:8786")


def add_json(parser, what: str = "the result") -> None:
    """``--json [PATH]``: ``what`` as JSON (stdout with ``-`` or without PATH)."""
    parser.add_argument(
        "--json", nargs="?", const="-", metavar="PATH", help=f"write {what} as JSON ('-': stdout)"
    )


def add_quiet(parser) -> None:
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")


def one_descriptor(args):
    """The one descriptor named by ``--descriptor`` with the hyperparameters on the line."""
    from ..descriptors.defaults import resolve_descriptor

    return resolve_descriptor(args.descriptor, hypers(args))


def printer(args):
    """``print`` unless ``--quiet`` or the JSON goes to stdout (then: nothing)."""
    if getattr(args, "quiet", False) or getattr(args, "json", None) == "-":
        return lambda *values, **options: None
    return print


def write_json_output(args, data) -> None:
    """``data`` to ``--json``'s target (stdout for ``-``), written atomically."""
    if args.json == "-":
        sys.stdout.write(json_text(data))
    elif args.json:
        write_text(args.json, json_text(data))


def read_structure(path: str):
    """One structure from a file (first frame), or InputError naming the file."""
    import os

    import ase.io

    if not os.path.isfile(path):
        raise InputError(f"structure file {path!r} does not exist; check the path")
    try:
        atoms = ase.io.read(path, index=0)
    except Exception as error:  # ase raises many types for unreadable files: one message
        raise InputError(
            f"cannot read structure file {path!r} ({first_line(error)}); give an extxyz/xyz file"
        ) from None
    if len(atoms) == 0:
        raise InputError(f"structure file {path!r} has no atoms; give the centre and neighbours")
    return atoms

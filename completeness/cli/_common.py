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
import math
import sys

from ..io import check_outputs, json_text, write_together


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
    "module:attr for your own (object with compute(), callable (positions, numbers) -> vector, "
    "configured dscribe descriptor, featomic calculator or ASE calculator)"
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


def check_files(args, **flags) -> dict:
    """Check ``--json``'s target and the other output ``flags`` (``{"--modes": path}``) before
    any work (:func:`completeness.io.check_outputs`); return ``{flag: path}`` of the files."""
    return check_outputs({"--json": getattr(args, "json", None), **flags})


def write_json_output(args, data, files: dict | None = None, contents: dict | None = None):
    """``data`` to ``--json``'s target (stdout for ``-``) and the other ``contents`` (by flag) to
    ``files`` (:func:`check_files`), all files together: all or nothing."""
    files = check_files(args) if files is None else files
    contents = dict(contents or {})
    if "--json" in files:
        contents["--json"] = json_text(data)
    write_together({path: contents[flag] for flag, path in files.items()})
    if getattr(args, "json", None) == "-":
        sys.stdout.write(json_text(data))


def read_structure(path: str):
    """One structure from a file (first frame), or InputError naming the file."""
    from ..environments import read_structures

    return read_structures(path, index=0)[0]


# --------------------------------------------------------------------------------------------
# numbers on the command line: one checker for every flag (argparse ``type=``)
# --------------------------------------------------------------------------------------------


def integer(minimum: int):
    """``type=`` for an integer flag of at least ``minimum`` (a one-line error otherwise)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text!r}")
        return value

    parse.__name__ = f"integer >= {minimum}"
    return parse


def number(*, above=None, minimum=None, below=None):
    """``type=`` for a finite real flag, ``> above`` or ``>= minimum``, and ``< below``."""
    bounds = [f"> {above:g}"] if above is not None else []
    bounds += [f">= {minimum:g}"] if minimum is not None else []
    bounds += [f"< {below:g}"] if below is not None else []
    wanted = "a finite number" + (" " + " and ".join(bounds) if bounds else "")

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if (
            not math.isfinite(value)
            or (above is not None and value <= above)
            or (minimum is not None and value < minimum)
            or (below is not None and value >= below)
        ):
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {text!r}")
        return value

    parse.__name__ = wanted
    return parse


#: The rule of every numeric flag, by name: the same flag means the same thing in every
#: sub-command. :func:`check_numbers` installs them; a numeric flag without a rule is a bug
#: (``tests/test_cli_reliability.py`` checks every sub-command).
NUMBER_FLAGS = {
    # sizes of a descriptor
    "cutoff": number(above=0.0),
    "n_radial": integer(1),
    "max_angular": integer(0),
    "density_width": number(above=0.0),
    "correlation_order": integer(1),
    # counts
    "k": integer(1),
    "top": integer(1),
    "components": integer(0),
    "max_alignments": integer(1),
    "n_workers": integer(1),
    "neighbours": integer(1),
    "restarts": integer(1),
    "max_iterations": integer(1),
    "n_pairs": integer(1),
    "n_modes": integer(1),
    "n_t": integer(2),
    "follow": integer(1),
    "max_pairs": integer(1),
    "model_layer": integer(1),  # 1-based
    # indices and seeds
    "seed": integer(0),
    "seeds": integer(0),
    "centre": integer(0),
    "neighbour": integer(0),
    # lengths (Å), tolerances, fractions, seconds
    "min_structural": number(minimum=0.0),
    "min_separation": number(minimum=0.0),
    "min_radial_spread": number(minimum=0.0),
    "t_min": number(above=0.0),
    "t_max": number(above=0.0),
    "step": number(above=0.0),
    "rtol": number(above=0.0, below=1.0),
    "test_fraction": number(above=0.0, below=1.0),
    "timeout": number(above=0.0),
    "resolution": number(above=0.0),
}


def check_numbers(parser: argparse.ArgumentParser) -> None:
    """Give every numeric flag of ``parser`` (and of its sub-commands) its rule."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                check_numbers(sub)
        elif action.type in (int, float):
            if action.dest not in NUMBER_FLAGS:
                raise KeyError(f"numeric flag --{action.dest} has no rule in NUMBER_FLAGS")
            action.type = NUMBER_FLAGS[action.dest]

"""What several sub-commands share: reading a structure file, resolving a descriptor."""

from __future__ import annotations

import argparse
import math

from ..errors import InputError


def read_structure(path: str):
    """One structure from a file (first frame), or InputError naming the file."""
    from ..environments import read_structures

    return read_structures(path, index=0)[0]


def descriptor_with_hypers(args):
    """The one descriptor named by ``--descriptor``, with the hyperparameters given on the line."""
    import inspect

    from sklearn.base import clone

    from ..descriptors.defaults import resolve_descriptors

    chosen = resolve_descriptors([args.descriptor])
    if len(chosen) != 1:
        raise InputError(
            f"--descriptor {args.descriptor} names {len(chosen)} descriptors "
            f"({sorted(chosen)}); name one of them"
        )
    descriptor = next(iter(chosen.values()))
    offered = {
        "cutoff": args.cutoff,
        "n_radial": args.n_radial,
        "max_angular": args.max_angular,
        "density_width": args.density_width,
    }
    offered = {k: v for k, v in offered.items() if v is not None}
    if offered:
        accepted = inspect.signature(type(descriptor)).parameters
        unknown = sorted(set(offered) - set(accepted))
        if unknown:
            raise InputError(
                f"{type(descriptor).__name__} has no hyperparameter {unknown[0]}; drop "
                f"--{unknown[0].replace('_', '-')}"
            )
        descriptor = clone(descriptor).set_params(**offered)
    return descriptor


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
    "workers": integer(1),
    "neighbours": integer(1),
    "restarts": integer(1),
    "max_iterations": integer(1),
    "n_pairs": integer(1),
    "n_modes": integer(1),
    "n_t": integer(2),
    "follow": integer(1),
    "max_pairs": integer(1),
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

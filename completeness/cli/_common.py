"""What several sub-commands share: reading a structure file, resolving a descriptor."""

from __future__ import annotations

from ..errors import InputError, first_line


def read_structure(path: str):
    """One structure from a file (first frame), or InputError naming the file."""
    import os

    import ase.io

    if not os.path.isfile(path):
        raise InputError(f"structure file {path!r} does not exist; check the path")
    try:
        atoms = ase.io.read(path, index=0)
    except Exception as error:  # ase raises many types for unreadable files: one message
        first = first_line(error)
        raise InputError(
            f"cannot read structure file {path!r} ({first}); give an extxyz/xyz file"
        ) from None
    if len(atoms) == 0:
        raise InputError(f"structure file {path!r} has no atoms; give the centre and neighbours")
    return atoms


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

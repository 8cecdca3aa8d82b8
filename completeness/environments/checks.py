"""Validation of everything the package accepts as structures: cutoffs, species, systems, files,
centre indices, and the size of a periodic neighbour list before it is allocated.

Every failure is one :class:`~completeness.errors.InputError` that names the problem and the fix.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import ase
import numpy as np

from ..errors import InputError, first_line

COINCIDENT_TOLERANCE = 1e-6

#: The shortest accepted cutoff (Å): a thousand times shorter than any chemical bond, and well
#: above the scale at which neighbour-list cell sizes underflow.
MIN_CUTOFF = 1e-3

#: Default limit on the number of neighbour pairs a periodic system may produce (about 1 GB of
#: neighbour list alone, before any descriptor work). Raise it with ``max_pairs=``, the
#: ``COMPLETENESS_MAX_PAIRS`` environment variable, or the command line's ``--max-pairs``.
MAX_NEIGHBOUR_PAIRS = 20_000_000

#: The largest atomic number of a known element.
MAX_ATOMIC_NUMBER = 118

# True for the atomic numbers 1..118, False at both ends (look-ups clip out-of-range numbers)
_KNOWN_ELEMENT = np.zeros(MAX_ATOMIC_NUMBER + 2, dtype=bool)
_KNOWN_ELEMENT[1 : MAX_ATOMIC_NUMBER + 1] = True
_KNOWN_ELEMENT.flags.writeable = False


def check_cutoff(cutoff, name: str = "cutoff") -> float:
    """``cutoff`` as a float; :class:`InputError` unless it is positive and finite."""
    try:
        value = float(cutoff)
    except (TypeError, ValueError):
        raise InputError(
            f"{name} must be a positive number of Å, got {cutoff!r}; pass e.g. {name}=5.0"
        ) from None
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"{name} must be a positive finite number of Å, got {cutoff!r}")
    if value < MIN_CUTOFF:
        raise InputError(
            f"{name} = {value:g} Å is shorter than {MIN_CUTOFF:g} Å, far below any interatomic "
            f"distance; give the cutoff in Å (e.g. {name}=5.0)"
        )
    return value


def atomic_number(value) -> int:
    """One species as an atomic number in 1..118: a chemical symbol ('C') or an integer (6)."""
    if isinstance(value, str):
        from ase.data import atomic_numbers

        if value not in atomic_numbers or atomic_numbers[value] == 0:
            raise InputError(f"unknown chemical symbol {value!r}; use a symbol like 'C' or 6")
        return int(atomic_numbers[value])
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer, float)):
        raise InputError(f"species must be atomic numbers or symbols, got {value!r}")
    if isinstance(value, float) and not value.is_integer():
        raise InputError(f"atomic number must be an integer, got {value!r}")
    number = int(value)
    if not 1 <= number <= MAX_ATOMIC_NUMBER:
        raise InputError(
            f"atomic number {number} is out of range 1..{MAX_ATOMIC_NUMBER}; use the element's "
            "atomic number (H = 1)"
        )
    return number


def check_atomic_numbers(numbers, where: str = "input") -> np.ndarray:
    """``numbers`` as an int64 array; :class:`InputError` naming the first one outside 1..118."""
    array = np.asarray(numbers)
    if array.size and not np.issubdtype(array.dtype, np.integer):
        return np.asarray([atomic_number(value) for value in array.tolist()], dtype=np.int64)
    array = array.astype(np.int64)
    bad = np.flatnonzero((array < 1) | (array > MAX_ATOMIC_NUMBER))
    if bad.size:
        raise InputError(
            f"{where} has atomic number {int(array[bad[0]])} at atom {int(bad[0])}, outside "
            f"1..{MAX_ATOMIC_NUMBER}; use the element's atomic number (H = 1)"
        )
    return array


def max_pairs_limit(max_pairs) -> int:
    """The pair limit in force: ``max_pairs``, else ``COMPLETENESS_MAX_PAIRS``, else
    :data:`MAX_NEIGHBOUR_PAIRS`."""
    if max_pairs is None:
        text = os.environ.get("COMPLETENESS_MAX_PAIRS")
        if not text:
            return MAX_NEIGHBOUR_PAIRS
        try:
            max_pairs = int(float(text))
        except ValueError:
            raise InputError(
                f"COMPLETENESS_MAX_PAIRS must be a positive integer, got {text!r}"
            ) from None
    if isinstance(max_pairs, bool) or int(max_pairs) < 1:
        raise InputError(f"max_pairs must be a positive integer, got {max_pairs!r}")
    return int(max_pairs)


def estimate_pairs(atoms: ase.Atoms, cutoff: float, n_centres: int | None = None) -> float:
    """About how many (centre, neighbour) pairs ``atoms`` has within ``cutoff``.

    For ``d`` periodic directions spanning a lattice of covolume ``v`` (length, area or volume),
    each centre sees about ``n_atoms * (b_d(cutoff) / v + 1)`` neighbours, with ``b_d`` the
    volume of the ``d``-ball (``2r``, ``pi r^2``, ``4/3 pi r^3``); a finite system at most
    ``n_atoms - 1``. Computed from the cell alone, before any neighbour list is allocated.
    """
    n_atoms = len(atoms)
    n_centres = n_atoms if n_centres is None else n_centres
    pbc = np.asarray(atoms.pbc, dtype=bool)
    if not pbc.any():
        return float(n_centres) * max(n_atoms - 1, 0)
    lattice = np.asarray(atoms.cell)[pbc]
    covolume = np.sqrt(max(np.linalg.det(lattice @ lattice.T), 0.0))
    ball = {1: 2 * cutoff, 2: np.pi * cutoff**2, 3: 4 / 3 * np.pi * cutoff**3}[len(lattice)]
    with np.errstate(divide="ignore", over="ignore"):
        per_centre = n_atoms * (ball / covolume + 1.0)
    return float(n_centres) * float(per_centre)


def check_size(atoms: ase.Atoms, cutoff: float, n_centres, index: int, max_pairs) -> None:
    limit = max_pairs_limit(max_pairs)
    estimate = estimate_pairs(atoms, cutoff, n_centres)
    if not estimate <= limit:  # (also catches inf and nan from a collapsed cell)
        raise InputError(
            f"system {index} with cutoff {cutoff:g} Å would give about {estimate:.3g} neighbour "
            f"pairs (limit {limit:.3g}): its periodic cell is tiny for this cutoff; check "
            "atoms.cell, or raise the limit with max_pairs= / --max-pairs"
        )


def check_systems(systems) -> list[ase.Atoms]:
    """Return ``systems`` as a list of validated ``ase.Atoms``.

    Accepts one ``ase.Atoms`` or a sequence of them. Checks shapes, finiteness of positions and
    cell, and a non-degenerate cell along periodic directions. Coincident atoms are detected when
    neighbour lists are built (where the pairs are known anyway).
    """
    if isinstance(systems, ase.Atoms):
        systems = [systems]
    elif isinstance(systems, (str, bytes)) or not isinstance(systems, Sequence):
        raise InputError(
            f"expected an ase.Atoms or a list of ase.Atoms, got {type(systems).__name__}; "
            "read files with ase.io.read(path, index=':')"
        )
    systems = list(systems)
    all_positions, all_numbers = [], []
    for index, atoms in enumerate(systems):
        if not isinstance(atoms, ase.Atoms):
            raise InputError(
                f"system {index} is a {type(atoms).__name__}, not an ase.Atoms; "
                "convert it with ase.Atoms(numbers=..., positions=...)"
            )
        all_numbers.append(atoms.arrays["numbers"])
        positions = atoms.arrays["positions"]
        if positions.ndim != 2 or positions.shape[1] != 3:
            raise InputError(
                f"system {index} has positions of shape {positions.shape}, expected (n_atoms, 3)"
            )
        if len(positions) == 0:
            raise InputError(f"system {index} has no atoms; give at least the centre atom")
        all_positions.append(positions)
        pbc = atoms.pbc
        if pbc[0] or pbc[1] or pbc[2]:
            cell = np.asarray(atoms.cell)
            if not np.isfinite(cell).all():
                raise InputError(f"system {index} has a non-finite cell; fix atoms.cell")
            lengths = np.linalg.norm(cell, axis=1)
            if np.any(lengths[atoms.pbc] < COINCIDENT_TOLERANCE) or (
                np.all(atoms.pbc) and abs(np.linalg.det(cell)) < COINCIDENT_TOLERANCE
            ):
                raise InputError(
                    f"system {index} is periodic (pbc={atoms.pbc.tolist()}) but its cell is "
                    "degenerate; set atoms.cell or use atoms.pbc = False"
                )
    # atomic numbers and finiteness: one reduction for the whole batch on the common path, then
    # the first offending system named
    numbers = _joined(all_numbers)
    known = _KNOWN_ELEMENT.take(numbers, mode="clip") if numbers.dtype.kind in "iu" else None
    if known is None or not np.logical_and.reduce(known, axis=None):
        for index, atoms in enumerate(systems):
            check_atomic_numbers(atoms.arrays["numbers"], f"system {index}")
    if all_positions and not np.logical_and.reduce(np.isfinite(_joined(all_positions)), axis=None):
        for index, atoms in enumerate(systems):
            bad = np.flatnonzero(~np.isfinite(atoms.arrays["positions"]).all(axis=1))
            if bad.size:
                raise InputError(
                    f"system {index} has non-finite (NaN or inf) positions at atom "
                    f"{int(bad[0])}; fix the coordinates"
                )
    return systems


def _joined(arrays: list) -> np.ndarray:
    """The arrays end to end (the one array itself when there is one: no copy)."""
    if len(arrays) == 1:
        return arrays[0]
    return np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.int64)


def read_structures(path, index=":", what: str = "structure file") -> list[ase.Atoms]:
    """The frames ``index`` of a structure file (ase.io), validated by :func:`check_systems`.

    Every failure is one :class:`InputError` naming the file: missing, a directory, unreadable,
    an unknown chemical symbol, no frames, no atoms, atomic numbers outside 1..118.
    """
    import ase.io

    name = os.fspath(path)
    if os.path.isdir(name):
        raise InputError(f"{what} {name!r} is a directory; give a structure file inside it")
    if not os.path.isfile(name):
        raise InputError(f"{what} {name!r} does not exist; check the path")
    try:
        frames = ase.io.read(name, index=index)
    except KeyError as error:  # ase looks chemical symbols up in a dict
        raise InputError(
            f"{what} {name!r} holds an unknown chemical symbol {first_line(error)}; use element "
            "symbols like C, H, O"
        ) from None
    except Exception as error:  # ase raises many types for unreadable files: one message
        raise InputError(
            f"cannot read {what} {name!r} ({first_line(error)}); give an extxyz/xyz file"
        ) from None
    frames = frames if isinstance(frames, list) else [frames]
    if not frames:
        raise InputError(f"{what} {name!r} holds no structures")
    for frame in frames:
        if len(frame) == 0:
            raise InputError(f"{what} {name!r} has no atoms; give the centre and neighbours")
    try:
        return check_systems(frames)
    except InputError as error:
        raise InputError(f"{what} {name!r}: {error}") from None


def check_centres(atoms: ase.Atoms, centres, system_index: int) -> np.ndarray:
    if centres is None:
        return np.arange(len(atoms))
    array = np.atleast_1d(np.asarray(centres))
    if array.ndim != 1 or (array.size and not np.issubdtype(array.dtype, np.integer)):
        raise InputError(
            f"centre indices for system {system_index} must be integers, got {centres!r}"
        )
    out_of_range = array[(array < 0) | (array >= len(atoms))]
    if out_of_range.size:
        raise InputError(
            f"centre index {int(out_of_range[0])} is out of range for system {system_index} "
            f"with {len(atoms)} atoms; use an index in 0..{len(atoms) - 1}"
        )
    return array.astype(np.int64)


def raise_coincident(system_index: int, i: int, j: int, distance: float):
    raise InputError(
        f"atoms {i} and {j} of system {system_index} coincide (distance {distance:.3g} Å < "
        f"{COINCIDENT_TOLERANCE:g} Å); remove the duplicate atom"
    )


def check_apart(system_index: int, i, j, distances) -> None:
    """:class:`InputError` naming the first pair ``(i[k], j[k])`` of a neighbour list closer than
    ``COINCIDENT_TOLERANCE``."""
    close = distances < COINCIDENT_TOLERANCE
    if close.any():
        k = int(np.flatnonzero(close)[0])
        raise_coincident(system_index, int(i[k]), int(j[k]), float(distances[k]))


def centres_per_system_fast(systems: list[ase.Atoms], centers):
    """:func:`centres_per_system`, vectorised for a flat list; also says if all lists agree."""
    if centers is None or isinstance(centers, (int, np.integer)):
        flat = centers is not None
    else:
        centers = list(centers)
        flat = all(isinstance(c, (int, np.integer)) for c in centers)
    if not flat or not systems:
        return centres_per_system(systems, centers), False
    centers = [centers] if isinstance(centers, (int, np.integer)) else centers
    smallest = min(len(atoms.arrays["positions"]) for atoms in systems)
    if centers and (min(centers) < 0 or max(centers) >= smallest):
        # the per-system check raises the usual message for the first offending system
        return centres_per_system(systems, centers), True
    checked = np.array(centers, dtype=np.int64)
    return [checked] * len(systems), True


def centres_per_system(systems: list[ase.Atoms], centers) -> list[np.ndarray]:
    """The centre indices of every system: all atoms (``None``), one flat list used for every
    system, or one list (or ``None``) per system; InputError for an index out of range."""
    if centers is None:
        return [np.arange(len(atoms)) for atoms in systems]
    if isinstance(centers, (int, np.integer)):
        centers = [int(centers)]
    centers = list(centers)
    flat = all(isinstance(c, (int, np.integer)) for c in centers)
    if flat:
        return [check_centres(atoms, centers, k) for k, atoms in enumerate(systems)]
    if len(centers) != len(systems):
        raise InputError(
            f"got centre lists for {len(centers)} systems but {len(systems)} systems; give one "
            "list (or None) per system, or one flat list of indices used for every system"
        )
    return [
        check_centres(atoms, c, k)
        for k, (atoms, c) in enumerate(zip(systems, centers, strict=True))
    ]

"""Centred atomic environments, and all input validation.

An *environment* is what an atom-centred descriptor sees: the species of a centre atom, and the
vectors ``r_ij = r_j - r_i`` (with periodic images) to every neighbour ``j`` closer than a cutoff,
together with the species of each neighbour and which atom of the system it is (so that gradients
can be assigned to atoms).

Two shapes are provided:

* :class:`Environment`: one centre, used by the oracle and by users who build environments
  directly from neighbour vectors (:meth:`Environment.from_vectors`).
* :class:`Neighbourhoods`: many centres from many systems flattened into one array of pairs, the
  layout that the descriptors vectorise over.

Every public entry point of the package that accepts structures funnels them through
:func:`check_systems`, so bad input fails here, early, with a one-line message that names the
problem and the fix.

This module imports only :mod:`completeness.errors` of the package (its floors:
docs/architecture.md).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import ase
import numpy as np

from .errors import InputError, first_line

__all__ = [
    "COINCIDENT_TOLERANCE",
    "MAX_NEIGHBOUR_PAIRS",
    "MIN_CUTOFF",
    "Environment",
    "InputError",
    "Neighbourhoods",
    "atomic_number",
    "build_neighbourhoods",
    "check_atomic_numbers",
    "check_cutoff",
    "check_systems",
    "environment",
    "estimate_pairs",
    "read_structures",
]

#: Two atoms closer than this (in Å) are "coincident": no physical structure has them, and
#: directions (hence spherical harmonics and gradients) are undefined at zero distance.
COINCIDENT_TOLERANCE = 1e-6

#: The shortest accepted cutoff (Å): a thousand times shorter than any chemical bond, and well
#: above the scale at which neighbour-list cell sizes underflow.
MIN_CUTOFF = 1e-3

#: Default limit on the number of neighbour pairs a periodic system may produce (about 1 GB of
#: neighbour list alone, before any descriptor work). Raise it with ``max_pairs=``, the
#: ``COMPLETENESS_MAX_PAIRS`` environment variable, or the command line's ``--max-pairs``.
MAX_NEIGHBOUR_PAIRS = 20_000_000

#: The largest atomic number of a known element.
_MAX_ATOMIC_NUMBER = 118

# Finite clusters up to this size get all pairs by numpy broadcasting: for the small molecules and
# clusters of typical scans this is several times faster than a neighbour-list call.
_BRUTE_FORCE_ATOMS = 64


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------


def check_cutoff(cutoff, name: str = "cutoff") -> float:
    """``cutoff`` as a float; :class:`InputError` unless it is positive and finite."""
    try:
        value = float(cutoff)
    except (TypeError, ValueError):
        raise InputError(
            f"{name} must be a positive number of Å, got {cutoff!r}; pass e.g. {name}=5.0"
        ) from None
    if not np.isfinite(value) or value <= 0:
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
    if not 1 <= number <= _MAX_ATOMIC_NUMBER:
        raise InputError(
            f"atomic number {number} is out of range 1..{_MAX_ATOMIC_NUMBER}; use the element's "
            "atomic number (H = 1)"
        )
    return number


def check_atomic_numbers(numbers, where: str = "input") -> np.ndarray:
    """``numbers`` as an int64 array; :class:`InputError` naming the first one outside 1..118."""
    array = np.asarray(numbers)
    if array.size and not np.issubdtype(array.dtype, np.integer):
        return np.asarray([atomic_number(value) for value in array.tolist()], dtype=np.int64)
    array = array.astype(np.int64)
    bad = np.flatnonzero((array < 1) | (array > _MAX_ATOMIC_NUMBER))
    if bad.size:
        raise InputError(
            f"{where} has atomic number {int(array[bad[0]])} at atom {int(bad[0])}, outside "
            f"1..{_MAX_ATOMIC_NUMBER}; use the element's atomic number (H = 1)"
        )
    return array


def _max_pairs(max_pairs) -> int:
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


def _check_size(atoms: ase.Atoms, cutoff: float, n_centres, index: int, max_pairs) -> None:
    limit = _max_pairs(max_pairs)
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
    numbers = np.concatenate(all_numbers) if all_numbers else np.zeros(0, dtype=np.int64)
    if numbers.size and (numbers.min() < 1 or numbers.max() > _MAX_ATOMIC_NUMBER):
        for index, atoms in enumerate(systems):
            check_atomic_numbers(atoms.arrays["numbers"], f"system {index}")
    if all_positions and not np.isfinite(np.concatenate(all_positions)).all():
        for index, atoms in enumerate(systems):
            bad = np.flatnonzero(~np.isfinite(atoms.arrays["positions"]).all(axis=1))
            if bad.size:
                raise InputError(
                    f"system {index} has non-finite (NaN or inf) positions at atom "
                    f"{int(bad[0])}; fix the coordinates"
                )
    return systems


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


def _check_centres(atoms: ase.Atoms, centres, system_index: int) -> np.ndarray:
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


def _raise_coincident(system_index: int, i: int, j: int, distance: float):
    raise InputError(
        f"atoms {i} and {j} of system {system_index} coincide (distance {distance:.3g} Å < "
        f"{COINCIDENT_TOLERANCE:g} Å); remove the duplicate atom"
    )


# --------------------------------------------------------------------------------------------
# pairs
# --------------------------------------------------------------------------------------------


def _all_pairs(atoms: ase.Atoms, system_index: int):
    """Every ordered pair (i, j != i) of a non-periodic system: the 'no cutoff' neighbour list."""
    positions = atoms.positions
    n = len(positions)
    i, j = _OFF_DIAGONAL.get(n) or _OFF_DIAGONAL.setdefault(n, np.nonzero(~np.eye(n, dtype=bool)))
    vectors = positions[j] - positions[i]
    distances = np.sqrt(np.einsum("pa,pa->p", vectors, vectors))
    return i, j, vectors, distances


_OFF_DIAGONAL: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _cutoff_pairs(atoms: ase.Atoms, cutoff: float):
    """Full neighbour list within ``cutoff`` (vesin; periodic images included)."""
    import vesin

    pbc = np.asarray(atoms.pbc, dtype=bool)
    box = np.asarray(atoms.cell) if pbc.any() else np.zeros((3, 3))
    periodic = bool(pbc.all()) if (pbc.all() or not pbc.any()) else pbc.tolist()
    nl = vesin.NeighborList(cutoff=cutoff, full_list=True)
    i, j, vectors, distances = nl.compute(
        points=atoms.positions, box=box, periodic=periodic, quantities="ijDd"
    )
    return (
        i.astype(np.int64),
        j.astype(np.int64),
        np.asarray(vectors, dtype=np.float64),
        np.asarray(distances, dtype=np.float64),
    )


# --------------------------------------------------------------------------------------------
# one environment
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Environment:
    """One centred environment.

    Attributes
    ----------
    vectors : (n_neighbours, 3) float array
        ``r_j - r_i`` in Å, periodic images included.
    species : (n_neighbours,) int array
        Atomic numbers of the neighbours.
    centre_species : int
        Atomic number of the centre.
    neighbour_index : (n_neighbours,) int array
        Index in the source system of each neighbour (an atom may appear several times
        through periodic images).
    centre_index : int
        Index of the centre in the source system.
    cutoff : float or None
        The cutoff used, or None when every other atom of a finite cluster is a neighbour.
    """

    vectors: np.ndarray
    species: np.ndarray
    centre_species: int
    neighbour_index: np.ndarray
    centre_index: int = 0
    cutoff: float | None = None

    @property
    def n_neighbours(self) -> int:
        return len(self.vectors)

    @property
    def distances(self) -> np.ndarray:
        return np.linalg.norm(self.vectors, axis=1)

    @classmethod
    def from_vectors(cls, vectors, species=None, centre_species: int = 1) -> Environment:
        """Build an environment from neighbour vectors (centre at the origin).

        ``species`` defaults to 1 (H) for every neighbour. Vectors are validated like atoms.
        ``centre_species=0`` marks a dummy centre (a point, not an atom: e.g. a centroid).
        """
        array = np.asarray(vectors, dtype=np.float64)
        if array.size == 0:
            array = array.reshape(0, 3)
        if array.ndim != 2 or array.shape[1] != 3:
            raise InputError(
                f"neighbour vectors must have shape (n_neighbours, 3), got {array.shape}"
            )
        if species is None:
            species = np.ones(len(array), dtype=np.int64)
        species = check_atomic_numbers(np.asarray(species).reshape(-1), "species")
        dummy = not isinstance(centre_species, str) and centre_species == 0
        centre_species = 0 if dummy else atomic_number(centre_species)
        if species.shape != (len(array),):
            raise InputError(
                f"got {species.size} species for {len(array)} neighbour vectors; give one "
                "atomic number per neighbour"
            )
        atoms = ase.Atoms(
            numbers=np.concatenate([[centre_species or 1], species]),
            positions=np.vstack([np.zeros((1, 3)), array]),
        )
        built = environment(atoms, centre=0)
        if dummy:
            object.__setattr__(built, "centre_species", 0)
        return built

    def to_atoms(self) -> ase.Atoms:
        """The environment as a finite cluster: centre at the origin (atom 0), then neighbours."""
        return ase.Atoms(
            numbers=np.concatenate([[self.centre_species], self.species]).astype(int),
            positions=np.vstack([np.zeros((1, 3)), self.vectors]),
        )


def environment(
    atoms: ase.Atoms, centre: int = 0, cutoff: float | None = None, *, max_pairs=None
) -> Environment:
    """The environment of atom ``centre`` of ``atoms``.

    With ``cutoff=None`` every other atom of a finite (non-periodic) cluster is a neighbour;
    periodic systems need a cutoff. An environment with no neighbour inside the cutoff is valid.
    """
    (atoms,) = check_systems(atoms)
    (centre,) = _check_centres(atoms, [centre], 0)
    if cutoff is None:
        if np.any(atoms.pbc):
            raise InputError(
                "a periodic system needs a cutoff to define environments; pass cutoff=..."
            )
        i, j, vectors, distances = _all_pairs(atoms, 0)
    else:
        cutoff = check_cutoff(cutoff)
        if np.any(atoms.pbc):
            _check_size(atoms, cutoff, len(atoms), 0, max_pairs)
        i, j, vectors, distances = _cutoff_pairs(atoms, cutoff)
    close = distances < COINCIDENT_TOLERANCE
    if close.any():
        k = int(np.flatnonzero(close)[0])
        _raise_coincident(0, int(i[k]), int(j[k]), float(distances[k]))
    mine = i == centre
    return Environment(
        vectors=vectors[mine],
        species=atoms.numbers[j[mine]].astype(np.int64),
        centre_species=int(atoms.numbers[centre]),
        neighbour_index=j[mine],
        centre_index=int(centre),
        cutoff=None if cutoff is None else float(cutoff),
    )


# --------------------------------------------------------------------------------------------
# many environments: the layout descriptors vectorise over
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Neighbourhoods:
    """Many centred environments flattened into one list of (centre, neighbour) pairs.

    Pairs are grouped by sample: the pairs of sample ``s`` are
    ``slice(pair_offsets[s], pair_offsets[s + 1])``.

    Attributes
    ----------
    samples : (n_samples, 2) int array
        ``(system index, centre atom index)`` of each sample.
    centre_species : (n_samples,) int array
    n_atoms : (n_systems,) int array
        Number of atoms of each system (to size dense gradients).
    pair_sample : (n_pairs,) int array
        The sample each pair belongs to (non-decreasing).
    pair_offsets : (n_samples + 1,) int array
    pair_neighbour : (n_pairs,) int array
        Index of the neighbour atom within its own system.
    pair_species : (n_pairs,) int array
    pair_vectors : (n_pairs, 3) float array
    pair_distances : (n_pairs,) float array
    cutoff : float
    """

    samples: np.ndarray
    centre_species: np.ndarray
    n_atoms: np.ndarray
    pair_sample: np.ndarray
    pair_offsets: np.ndarray
    pair_neighbour: np.ndarray
    pair_species: np.ndarray
    pair_vectors: np.ndarray
    pair_distances: np.ndarray
    cutoff: float

    @property
    def n_samples(self) -> int:
        return len(self.samples)

    @property
    def n_pairs(self) -> int:
        return len(self.pair_sample)

    @property
    def species(self) -> np.ndarray:
        """Sorted unique atomic numbers of centres and neighbours."""
        return np.unique(np.concatenate([self.centre_species, self.pair_species]))

    def environment(self, sample: int) -> Environment:
        """Sample ``sample`` as an :class:`Environment`."""
        pairs = slice(self.pair_offsets[sample], self.pair_offsets[sample + 1])
        return Environment(
            vectors=self.pair_vectors[pairs],
            species=self.pair_species[pairs],
            centre_species=int(self.centre_species[sample]),
            neighbour_index=self.pair_neighbour[pairs],
            centre_index=int(self.samples[sample, 1]),
            cutoff=self.cutoff,
        )


def build_neighbourhoods(systems, cutoff: float, centers=None, *, max_pairs=None) -> Neighbourhoods:
    """Validate ``systems`` and build the neighbourhoods of the requested centres.

    Parameters
    ----------
    systems : ase.Atoms or sequence of ase.Atoms
    cutoff : float
        Spherical cutoff in Å; pairs with ``d < cutoff`` are kept.
    centers : None, sequence of int, or sequence of sequences of int
        ``None``: every atom of every system. A flat sequence of ints: the same centres in every
        system. A sequence with one entry per system (each None or a sequence of ints): per system.
    max_pairs : int, optional
        Refuse (:class:`InputError`) a periodic system whose cell and cutoff imply more neighbour
        pairs than this (:func:`estimate_pairs`, checked before allocating); default
        ``COMPLETENESS_MAX_PAIRS`` or :data:`MAX_NEIGHBOUR_PAIRS`.

    Notes
    -----
    Finite systems of up to ``_BRUTE_FORCE_ATOMS`` atoms that share their size and their centre
    list are handled together by numpy broadcasting over the whole group (no Python loop over
    systems); periodic or large systems get a vesin neighbour list each. Within a sample, pairs of
    brute-forced systems are ordered by neighbour index.
    """
    systems = check_systems(systems)
    cutoff = check_cutoff(cutoff)
    per_system, uniform_centres = centres_per_system_fast(systems, centers)
    n_systems = len(systems)
    n_atoms = np.fromiter(
        (len(atoms.arrays["positions"]) for atoms in systems), np.int64, n_systems
    )
    n_centres = np.fromiter((len(c) for c in per_system), np.int64, n_systems)
    sample_offsets = np.concatenate([[0], np.cumsum(n_centres)]).astype(np.int64)
    n_samples = int(sample_offsets[-1])

    # group finite, small systems by size (and centre list) for the batched brute force
    groups: dict[tuple, list[int]] = {}
    singles = []
    for index, atoms in enumerate(systems):
        pbc = atoms.pbc
        size = int(n_atoms[index])
        if 2 <= size <= _BRUTE_FORCE_ATOMS and not (pbc[0] or pbc[1] or pbc[2]):
            key = (size, None) if uniform_centres else (size, per_system[index].tobytes())
            groups.setdefault(key, []).append(index)
        else:
            singles.append(index)

    centre_species = np.zeros(n_samples, dtype=np.int64)
    samples = np.zeros((n_samples, 2), dtype=np.int64)
    samples[:, 0] = np.repeat(np.arange(n_systems), n_centres)
    chunks = []  # (pair_sample, pair_neighbour, pair_species, vectors, distances)

    for (size, _), members in groups.items():
        members = np.asarray(members, dtype=np.int64)
        centres = per_system[int(members[0])]
        positions = np.stack([systems[k].arrays["positions"] for k in members])
        numbers = np.stack([systems[k].arrays["numbers"] for k in members]).astype(np.int64)
        vectors = positions[:, None, :, :] - positions[:, :, None, :]  # [g, i, j] = r_j - r_i
        distances = np.sqrt(np.einsum("gijx,gijx->gij", vectors, vectors))
        inside = distances < cutoff
        diagonal = np.arange(size)
        inside[:, diagonal, diagonal] = False
        close = inside & (distances < COINCIDENT_TOLERANCE)
        if close.any():
            g, i, j = (int(x[0]) for x in np.nonzero(close))
            _raise_coincident(int(members[g]), i, j, float(distances[g, i, j]))
        rows = sample_offsets[members][:, None] + np.arange(len(centres))
        samples[rows.reshape(-1), 1] = np.tile(centres, len(members))
        centre_species[rows.reshape(-1)] = numbers[:, centres].reshape(-1)
        g, c, j = np.nonzero(inside[:, centres, :])
        i = centres[c]
        chunks.append(
            (
                sample_offsets[members[g]] + c,
                j,
                numbers[g, j],
                vectors[g, i, j],
                distances[g, i, j],
            )
        )

    for index in singles:
        atoms = systems[index]
        centres = per_system[index]
        numbers = atoms.numbers.astype(np.int64)
        if len(atoms) == 1:
            i = j = np.zeros(0, dtype=np.int64)
            vectors, distances = np.zeros((0, 3)), np.zeros(0)
        elif len(atoms) <= _BRUTE_FORCE_ATOMS and not np.any(atoms.pbc):
            i, j, vectors, distances = _all_pairs(atoms, index)
            inside = distances < cutoff
            i, j, vectors, distances = i[inside], j[inside], vectors[inside], distances[inside]
        else:
            if np.any(atoms.pbc):
                _check_size(atoms, cutoff, len(atoms), index, max_pairs)
            i, j, vectors, distances = _cutoff_pairs(atoms, cutoff)
        close = distances < COINCIDENT_TOLERANCE
        if close.any():
            k = int(np.flatnonzero(close)[0])
            _raise_coincident(index, int(i[k]), int(j[k]), float(distances[k]))
        rows = sample_offsets[index] + np.arange(len(centres))
        samples[rows, 1] = centres
        centre_species[rows] = numbers[centres]
        # map atom index -> local sample index (or -1), keep pairs whose first atom is a centre
        local = np.full(len(atoms), -1, dtype=np.int64)
        local[centres] = np.arange(len(centres))
        keep = local[i] >= 0
        order = np.argsort(local[i[keep]], kind="stable")
        chunks.append(
            (
                sample_offsets[index] + local[i[keep]][order],
                j[keep][order],
                numbers[j[keep][order]],
                vectors[keep][order],
                distances[keep][order],
            )
        )

    if chunks:
        pair_sample = np.concatenate([c[0] for c in chunks]).astype(np.int64)
        columns = [np.concatenate([c[k] for c in chunks]) for k in range(1, 5)]
        if np.any(pair_sample[1:] < pair_sample[:-1]):  # (one group of systems: sorted already)
            order = np.argsort(pair_sample, kind="stable")
            pair_sample = pair_sample[order]
            columns = [column[order] for column in columns]
        pair_neighbour, pair_species = (c.astype(np.int64, copy=False) for c in columns[:2])
        pair_vectors, pair_distances = (c.astype(np.float64, copy=False) for c in columns[2:])
    else:
        pair_sample = pair_neighbour = pair_species = np.zeros(0, dtype=np.int64)
        pair_vectors, pair_distances = np.zeros((0, 3)), np.zeros(0)
    counts = np.bincount(pair_sample, minlength=n_samples)
    return Neighbourhoods(
        samples=samples,
        centre_species=centre_species,
        n_atoms=n_atoms,
        pair_sample=pair_sample,
        pair_offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        pair_neighbour=pair_neighbour,
        pair_species=pair_species,
        pair_vectors=pair_vectors.reshape(-1, 3),
        pair_distances=pair_distances,
        cutoff=cutoff,
    )


def centres_per_system_fast(systems: list[ase.Atoms], centers):
    """:func:`centres_per_system`, vectorised for a flat list; also says if all lists agree."""
    if centers is None or isinstance(centers, (int, np.integer)):
        flat = centers is not None
    else:
        centers = list(centers)
        flat = all(isinstance(c, (int, np.integer)) for c in centers)
    if not flat or not systems:
        return centres_per_system(systems, centers), False
    array = np.atleast_1d(np.asarray(centers))
    sizes = np.fromiter((len(atoms.arrays["positions"]) for atoms in systems), np.int64)
    if array.size and (array.min() < 0 or array.max() >= sizes.min()):
        # the per-system check raises the usual message for the first offending system
        return centres_per_system(systems, centers), True
    checked = _check_centres(systems[0], array, 0)
    return [checked] * len(systems), True


def _concat(arrays, dtype):
    if not arrays:
        return np.zeros(0, dtype=dtype)
    return np.concatenate(arrays).astype(dtype, copy=False)


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
        return [_check_centres(atoms, centers, k) for k, atoms in enumerate(systems)]
    if len(centers) != len(systems):
        raise InputError(
            f"got centre lists for {len(centers)} systems but {len(systems)} systems; give one "
            "list (or None) per system, or one flat list of indices used for every system"
        )
    return [
        _check_centres(atoms, c, k)
        for k, (atoms, c) in enumerate(zip(systems, centers, strict=True))
    ]

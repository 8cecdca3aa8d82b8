"""Many centred environments flattened into one list of pairs (:class:`Neighbourhoods`): the
layout the descriptors vectorise over."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from . import images
from .checks import (
    COINCIDENT_TOLERANCE,
    centres_per_system_fast,
    check_apart,
    check_cutoff,
    check_size,
    check_systems,
    raise_coincident,
)
from .one_centre import Environment
from .pairs import BRUTE_FORCE_ATOMS, cutoff_pairs


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
    Finite systems whose centre rows hold at most ``BRUTE_FORCE_ATOMS**2`` (centre, atom) pairs
    (every atom of a cluster of up to 64 atoms, or one centre among up to 4096 atoms) and that
    share their size and their centre list are handled together by numpy broadcasting over the
    whole group, on the rows of the requested centres only (no Python loop over systems);
    periodic or larger systems get a vesin neighbour list each. Within a sample, pairs of
    brute-forced systems are ordered by neighbour index. Coincident atoms are reported when
    one of them is a requested centre (for brute-forced systems) or when they are within the
    cutoff of each other (vesin).
    """
    systems = check_systems(systems)
    cutoff = check_cutoff(cutoff)
    per_system, uniform_centres = centres_per_system_fast(systems, centers)
    n_systems = len(systems)
    n_atoms = np.fromiter(
        (len(atoms.arrays["positions"]) for atoms in systems), np.int64, n_systems
    )
    groups, periodic, singles = _group_small_systems(systems, n_atoms, per_system, uniform_centres)
    if len(groups) == 1 and not periodic and not singles:  # one group holds every system
        return _one_group_batch(systems, per_system[0], cutoff, n_atoms)
    if uniform_centres:
        n_centres = len(per_system[0])
        sample_offsets = np.arange(n_systems + 1, dtype=np.int64) * n_centres
    else:
        n_centres = np.fromiter((len(c) for c in per_system), np.int64, n_systems)
        sample_offsets = np.zeros(n_systems + 1, dtype=np.int64)
        np.cumsum(n_centres, out=sample_offsets[1:])
    n_samples = int(sample_offsets[-1])

    # (every row is filled by the system it belongs to)
    centre_species = np.empty(n_samples, dtype=np.int64)
    samples = np.empty((n_samples, 2), dtype=np.int64)
    samples[:, 0] = np.arange(n_systems).repeat(n_centres)
    samples_of = _Samples(sample_offsets, samples, centre_species)
    chunks = [
        _brute_force_group(systems, members, per_system[members[0]], cutoff, samples_of)
        for members in groups.values()
    ]
    for members in periodic.values():
        chunk, too_large = _periodic_group(
            systems, members, per_system[members[0]], cutoff, samples_of, max_pairs
        )
        chunks += [chunk] if chunk is not None else []
        singles += too_large
    chunks += [
        _one_system(systems[index], index, per_system[index], cutoff, max_pairs, samples_of)
        for index in sorted(singles)
    ]
    return _assemble(chunks, samples, centre_species, n_atoms, cutoff)


def _group_small_systems(systems, n_atoms, per_system, uniform_centres):
    """Small finite systems and small fully periodic ones, each grouped by size (and centre
    list) for the batched brute force, and the indices of every other system."""
    finite: dict[tuple, list[int]] = {}
    periodic: dict[tuple, list[int]] = {}
    singles = []
    sizes = n_atoms.tolist()
    for index, atoms in enumerate(systems):
        pbc = atoms.pbc
        size = sizes[index]
        if size >= 2 and size * len(per_system[index]) <= BRUTE_FORCE_ATOMS**2:
            key = (size, None) if uniform_centres else (size, per_system[index].tobytes())
            if not (pbc[0] or pbc[1] or pbc[2]):
                finite.setdefault(key, []).append(index)
                continue
            if pbc[0] and pbc[1] and pbc[2]:
                periodic.setdefault(key, []).append(index)
                continue
        singles.append(index)
    return finite, periodic, singles


class _Samples(NamedTuple):
    """Where each system's samples go: its first row, and the arrays filled row by row."""

    offsets: np.ndarray  # (n_systems + 1,) first sample of each system
    samples: np.ndarray  # (n_samples, 2), column 1 filled here
    centre_species: np.ndarray  # (n_samples,)


def _stacked(systems, members):
    """Positions ``(G, N, 3)`` and atomic numbers ``(G, N)`` of systems of one size ``N``."""
    if len(members) == 1:  # no copies
        positions = systems[members[0]].arrays["positions"][None]
        numbers = systems[members[0]].arrays["numbers"][None]
    else:  # (one concatenation: np.stack of many small arrays costs five times more)
        n_systems = len(members)
        positions = np.concatenate([systems[k].arrays["positions"] for k in members])
        positions = positions.reshape(n_systems, -1, 3)
        numbers = np.concatenate([systems[k].arrays["numbers"] for k in members])
        numbers = numbers.reshape(n_systems, -1)
    return positions, numbers.astype(np.int64, copy=False)


def _within_cutoff(positions, centres, cutoff, members):
    """``(vectors, distances, inside)``, each ``[g, c, j]`` for ``r_j - r_(centre c)`` of system
    ``members[g]`` (the rows of the centres only); ``inside`` excludes the centres themselves.
    Raises for coincident atoms."""
    vectors = positions[:, None, :, :] - positions[:, centres, None, :]
    distances = np.sqrt(np.einsum("gcjx,gcjx->gcj", vectors, vectors))
    # every row holds its centre at distance exactly 0; any other atom that close coincides
    near = distances < COINCIDENT_TOLERANCE
    if np.count_nonzero(near) > near.shape[0] * near.shape[1]:
        near[:, np.arange(len(centres)), centres] = False
        g, c, j = (int(x[0]) for x in np.nonzero(near))
        raise_coincident(int(members[g]), int(centres[c]), j, float(distances[g, c, j]))
    inside = distances < cutoff
    inside ^= near  # the centres themselves (cutoff > COINCIDENT_TOLERANCE)
    return vectors, distances, inside


def _one_group_batch(systems, centres, cutoff, n_atoms) -> Neighbourhoods:
    """Every system of the batch finite and small, of one size and one centre list: the
    :class:`Neighbourhoods` straight from the broadcast arrays of :func:`_within_cutoff`."""
    members = range(len(systems))
    positions, numbers = _stacked(systems, members)
    vectors, distances, inside = _within_cutoff(positions, centres, cutoff, members)
    n_systems, n_centres = inside.shape[:2]
    samples = np.empty((n_systems, n_centres, 2), dtype=np.int64)
    samples[:, :, 0] = np.arange(n_systems)[:, None]
    samples[:, :, 1] = centres
    pair_offsets = np.zeros(n_systems * n_centres + 1, dtype=np.int64)
    np.add.reduce(inside, axis=2, dtype=np.int64).reshape(-1).cumsum(out=pair_offsets[1:])
    g, c, j = inside.nonzero()
    return Neighbourhoods(
        samples=samples.reshape(-1, 2),
        centre_species=numbers[:, centres].reshape(-1),
        n_atoms=n_atoms,
        pair_sample=g * n_centres + c,
        pair_offsets=pair_offsets,
        pair_neighbour=j,
        pair_species=numbers[g, j],
        pair_vectors=vectors[g, c, j],
        pair_distances=distances[inside],  # (a mask keeps the order of nonzero)
        cutoff=cutoff,
    )


def _brute_force_group(systems, members, centres, cutoff, samples_of: _Samples):
    """The pairs of a group of finite systems of one size and one centre list, by broadcasting:
    ``(pair_sample, pair_neighbour, pair_species, vectors, distances)``."""
    positions, numbers = _stacked(systems, members)
    vectors, distances, inside = _within_cutoff(positions, centres, cutoff, members)
    first = _fill_samples(samples_of, members, centres, numbers)
    g, c, j = inside.nonzero()
    return first[g] + c, j, numbers[g, j], vectors[g, c, j], distances[g, c, j]


def _fill_samples(samples_of: _Samples, members, centres, numbers) -> np.ndarray:
    """Write the centres and their species into the sample rows of the systems ``members``
    (atomic numbers ``numbers`` ``(G, N)``); return the first row of each."""
    first = samples_of.offsets[members]
    rows = first[:, None] + np.arange(len(centres))
    samples_of.samples[rows, 1] = centres
    samples_of.centre_species[rows] = numbers[:, centres]
    return first


def _periodic_group(systems, members, centres, cutoff, samples_of: _Samples, max_pairs):
    """The pairs of the fully periodic systems ``members`` (one size, one centre list) whose
    image cells make at most :data:`~.images.PERIODIC_BRUTE_FORCE_ENTRIES` candidates, by
    broadcasting (:mod:`.images`): ``(chunk or None, the other members)``."""
    positions, numbers = _stacked(systems, members)
    cells = np.stack([np.asarray(systems[k].cell) for k in members])
    extents = images.image_extents(positions, cells, cutoff)
    small = images.candidates(extents, len(centres), positions.shape[1])
    small = small <= images.PERIODIC_BRUTE_FORCE_ENTRIES
    members = np.asarray(members, dtype=np.int64)
    if not small.all():
        positions, numbers, cells, extents = (
            array[small] for array in (positions, numbers, cells, extents)
        )
    if not small.any():
        return None, members.tolist()
    images.check_group_size(systems, members[small], cells, len(centres), cutoff, max_pairs)
    g, c, j, vectors, distances = images.periodic_group_pairs(
        positions, cells, centres, cutoff, extents, members[small]
    )
    first = _fill_samples(samples_of, members[small], centres, numbers)
    chunk = (first[g] + c, j, numbers[g, j], vectors, distances)
    return chunk, members[~small].tolist()


def _one_system(atoms, index, centres, cutoff, max_pairs, samples_of: _Samples):
    """The pairs of one periodic, large or single-atom system (same tuple as
    :func:`_brute_force_group`), ordered by centre."""
    numbers = atoms.numbers.astype(np.int64)
    if len(atoms) == 1 and not np.any(atoms.pbc):  # (a periodic atom sees its own images)
        i = j = np.zeros(0, dtype=np.int64)
        vectors, distances = np.zeros((0, 3)), np.zeros(0)
    else:
        if np.any(atoms.pbc):
            check_size(atoms, cutoff, len(atoms), index, max_pairs)
        i, j, vectors, distances = cutoff_pairs(atoms, cutoff)
    check_apart(index, i, j, distances)
    first = samples_of.offsets[index]
    rows = first + np.arange(len(centres))
    samples_of.samples[rows, 1] = centres
    samples_of.centre_species[rows] = numbers[centres]
    # map atom index -> local sample index (or -1), keep pairs whose first atom is a centre
    local = np.full(len(atoms), -1, dtype=np.int64)
    local[centres] = np.arange(len(centres))
    keep = local[i] >= 0
    order = np.argsort(local[i[keep]], kind="stable")
    return (
        first + local[i[keep]][order],
        j[keep][order],
        numbers[j[keep][order]],
        vectors[keep][order],
        distances[keep][order],
    )


def _assemble(chunks, samples, centre_species, n_atoms, cutoff) -> Neighbourhoods:
    """One :class:`Neighbourhoods` from the chunks of pairs, sorted by sample."""
    n_samples = len(samples)
    if chunks:
        if len(chunks) == 1:  # one group of systems, or one system: sorted by sample already
            pair_sample, *columns = chunks[0]
        else:
            pair_sample = np.concatenate([c[0] for c in chunks])
            columns = [np.concatenate([c[k] for c in chunks]) for k in range(1, 5)]
        if len(chunks) > 1 and np.any(pair_sample[1:] < pair_sample[:-1]):
            order = np.argsort(pair_sample, kind="stable")
            pair_sample = pair_sample[order]
            columns = [column[order] for column in columns]
        pair_sample = pair_sample.astype(np.int64, copy=False)
        pair_neighbour = columns[0].astype(np.int64, copy=False)
        pair_species = columns[1].astype(np.int64, copy=False)
        pair_vectors = columns[2].astype(np.float64, copy=False)
        pair_distances = columns[3].astype(np.float64, copy=False)
    else:
        pair_sample = pair_neighbour = pair_species = np.zeros(0, dtype=np.int64)
        pair_vectors, pair_distances = np.zeros((0, 3)), np.zeros(0)
    pair_offsets = np.zeros(n_samples + 1, dtype=np.int64)
    np.cumsum(np.bincount(pair_sample, minlength=n_samples), out=pair_offsets[1:])
    return Neighbourhoods(
        samples=samples,
        centre_species=centre_species,
        n_atoms=n_atoms,
        pair_sample=pair_sample,
        pair_offsets=pair_offsets,
        pair_neighbour=pair_neighbour,
        pair_species=pair_species,
        pair_vectors=pair_vectors.reshape(-1, 3),
        pair_distances=pair_distances,
        cutoff=cutoff,
    )

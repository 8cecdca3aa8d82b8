"""Neighbour pairs of one system: every ordered pair of a small finite cluster by numpy
broadcasting, or a vesin neighbour list within a cutoff (periodic images included)."""

from __future__ import annotations

import ase
import numpy as np

#: Finite clusters up to this size get all pairs by numpy broadcasting: for the small molecules
#: and clusters of typical scans this is several times faster than a neighbour-list call.
BRUTE_FORCE_ATOMS = 64


def all_pairs(atoms: ase.Atoms):
    """Every ordered pair (i, j != i) of a non-periodic system: the 'no cutoff' neighbour list."""
    positions = atoms.positions
    n = len(positions)
    i, j = _OFF_DIAGONAL.get(n) or _OFF_DIAGONAL.setdefault(n, np.nonzero(~np.eye(n, dtype=bool)))
    vectors = positions[j] - positions[i]
    distances = np.sqrt(np.einsum("pa,pa->p", vectors, vectors))
    return i, j, vectors, distances


_OFF_DIAGONAL: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def cutoff_pairs(atoms: ase.Atoms, cutoff: float):
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

"""Neighbour pairs of small, fully periodic systems by numpy broadcasting over the periodic images
of their cells, for a group of systems of one size and one centre list at once.

A neighbour ``j`` of centre ``i`` seen through the lattice shift ``S`` (integers) is at
``r_ij = (r_j - r_i) + S_0 a + S_1 b + S_2 c``, ``a, b, c`` the rows of the cell: the
arithmetic of vesin's neighbour list, so vectors and distances are equal to vesin's bit for bit
(only the order of the pairs within a sample differs). The shifts that can hold a neighbour
follow from the fractional coordinates: along lattice direction ``k`` a vector shorter than the
cutoff has a fractional component of at most ``h_k = cutoff |b_k|`` (``b_k`` the reciprocal
vector, a column of the inverse cell), so the integer ``|S_k| <= floor(h_k + spread_k)`` with
``spread_k`` the extent of the atoms' fractional coordinates along ``k``.
"""

from __future__ import annotations

import numpy as np

from .checks import COINCIDENT_TOLERANCE, check_size, max_pairs_limit, raise_coincident

#: A fully periodic system is brute-forced when its centres, the image cells that can hold a
#: neighbour and its atoms make at most this many (centre, shift, atom) candidates; larger ones
#: get a vesin neighbour list each. Measured break-even on 2 cores (batches of 40 cubic cells,
#: all atoms centres): 430 and 1,700 candidates 120 us per system against vesin's 270 and 200;
#: 6,900 and 8,000 candidates 400-530 us against 280-470.
PERIODIC_BRUTE_FORCE_ENTRIES = 2**12

#: Candidates held in memory at once (chunks of systems of a group).
_CHUNK_ENTRIES = 2**20


def image_extents(positions, cells, cutoff):
    """``(G, 3)`` the largest ``|S_k|`` of a shift that can hold a neighbour, for systems of
    positions ``(G, N, 3)`` and cells ``(G, 3, 3)``."""
    inverse = np.linalg.inv(cells)
    fractional = np.matmul(positions, inverse)
    spread = fractional.max(axis=1) - fractional.min(axis=1)
    reach = cutoff * np.linalg.norm(inverse, axis=1)  # |b_k|: norms of the columns
    with np.errstate(over="ignore", invalid="ignore"):
        return np.floor(np.minimum(reach + spread, 2.0**40)).astype(np.int64)


def candidates(extents, n_centres: int, n_atoms: int) -> np.ndarray:
    """``(G,)`` number of (centre, shift, atom) candidates of each system."""
    return n_centres * np.prod(2.0 * extents + 1.0, axis=1) * n_atoms  # (floats: no overflow)


def periodic_group_pairs(positions, cells, centres, cutoff, extents, members):
    """The pairs of a group of fully periodic systems: ``(g, c, j, vectors, distances)`` with
    ``g`` the index in the group, ``c`` the index in ``centres``, ordered by system, centre,
    shift and atom. Raises for coincident atoms (``members`` names the systems)."""
    reach = extents.max(axis=0)
    axes = [np.arange(-n, n + 1) for n in reach]
    shifts = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    n_systems, n_atoms = positions.shape[:2]
    per_system = len(centres) * len(shifts) * n_atoms
    chunk = max(1, _CHUNK_ENTRIES // max(per_system, 1))
    parts = []
    for start in range(0, n_systems, chunk):
        stop = min(n_systems, start + chunk)
        parts.append(
            _chunk_pairs(
                positions[start:stop], cells[start:stop], shifts, centres, cutoff, start, members
            )
        )
    g, c, j, vectors, distances = (np.concatenate(column) for column in zip(*parts, strict=True))
    return g, c, j, vectors, distances


def _chunk_pairs(positions, cells, shifts, centres, cutoff, offset, members):
    # one component x, y, z at a time, each a contiguous (G, C, S, N) array:
    # (r_j - r_i) + (S_0 a + S_1 b + S_2 c), summed in that order
    components = []
    for x in range(3):
        lattice = (
            shifts[None, :, 0] * cells[:, None, 0, x]
            + shifts[None, :, 1] * cells[:, None, 1, x]
            + shifts[None, :, 2] * cells[:, None, 2, x]
        )  # (G, S)
        along = positions[:, :, x]  # (G, N)
        difference = along[:, None, :] - along[:, centres, None]  # (G, C, N)
        components.append(difference[:, :, None, :] + lattice[:, None, :, None])
    squared = components[0] * components[0]
    squared += components[1] * components[1]
    squared += components[2] * components[2]
    distances = np.sqrt(squared)
    # each centre is at distance exactly 0 from itself (zero shift); any other that close
    # coincides
    near = distances < COINCIDENT_TOLERANCE
    if np.count_nonzero(near) > near.shape[0] * near.shape[1]:
        zero = int(np.flatnonzero(~shifts.any(axis=1))[0])
        near[:, np.arange(len(centres)), zero, centres] = False
        g, c, _, j = (int(x[0]) for x in np.nonzero(near))
        raise_coincident(int(members[offset + g]), int(centres[c]), j, float(distances[near][0]))
    inside = distances < cutoff
    inside ^= near  # the centres themselves
    g, c, s, j = np.nonzero(inside)
    vectors = np.stack([component[g, c, s, j] for component in components], axis=1)
    return g + offset, c, j, vectors, distances[g, c, s, j]


def check_group_size(systems, members, cells, n_centres: int, cutoff, max_pairs) -> None:
    """:func:`~completeness.environments.checks.check_size` for a group of fully periodic
    systems of one size: the estimate of every system at once, the message (from
    :func:`~completeness.environments.checks.check_size`) for the first one over the limit."""
    n_atoms = len(systems[members[0]])
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        per_centre = n_atoms * (4 / 3 * np.pi * cutoff**3 / np.abs(np.linalg.det(cells)) + 1.0)
    for index in np.asarray(members)[~(n_centres * per_centre <= max_pairs_limit(max_pairs))]:
        check_size(systems[int(index)], cutoff, n_centres, int(index), max_pairs)

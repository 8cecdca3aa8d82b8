"""Structural separation of two environments: RMSD after the optimal rotation (and reflection)
and species-preserving permutation, with its gradient."""

from __future__ import annotations

import itertools
import math

import numpy as np

from ...environments import InputError, atomic_number
from ...numerics import rotation_from_covariance

#: Enumerating more species-preserving permutations than this is refused (8! for one species).
MAX_PERMUTATIONS = 40_320


def species_list(species, n: int) -> tuple[int, ...]:
    """``None`` -> n H atoms; one species -> n of them; else exactly n species."""
    if species is None:
        return (1,) * n
    if isinstance(species, (str, int, np.integer)):
        return (atomic_number(species),) * n
    values = [atomic_number(s) for s in species]
    if len(values) == 1:
        return (values[0],) * n
    if len(values) != n:
        raise InputError(
            f"got {len(values)} neighbour species for {n} neighbours; give one species (used for "
            "every neighbour) or one per neighbour"
        )
    return tuple(values)


# --------------------------------------------------------------------------------------------
# separation
# --------------------------------------------------------------------------------------------


def species_permutations(species) -> np.ndarray:
    """Every permutation ``P`` (``(count, n)`` int array) with ``species[P] == species``."""
    species = np.asarray(species)
    n = len(species)
    groups = [np.flatnonzero(species == s) for s in np.unique(species)]
    if permutation_count(species) > MAX_PERMUTATIONS:
        raise InputError(
            f"{permutation_count(species)} species-preserving permutations of {n} neighbours "
            f"to enumerate (at most {MAX_PERMUTATIONS}); use fewer neighbours or more species"
        )
    out = []
    for choice in itertools.product(*(itertools.permutations(g) for g in groups)):
        perm = np.empty(n, dtype=np.int64)
        for group, image in zip(groups, choice, strict=True):
            perm[group] = image
        out.append(perm)
    return np.asarray(out, dtype=np.int64).reshape(-1, n)


def permutation_count(species) -> int:
    _, counts = np.unique(np.asarray(species), return_counts=True)
    return math.prod(math.factorial(int(c)) for c in counts)


def separation_and_gradient(a, b, permutations, reflections: bool):
    """``(s, ds/da, ds/db)`` for the separation of the module docstring."""
    n = len(a)
    bp = b[permutations]  # (P, n, 3)
    h = np.einsum("ji,pjk->pik", a, bp)  # A^T B_P
    sigma = np.linalg.svd(h, compute_uv=False)
    if reflections:
        trace = sigma.sum(axis=1)
    else:
        sign = np.sign(np.linalg.det(h))
        trace = sigma[:, 0] + sigma[:, 1] + np.where(sign < 0, -1.0, 1.0) * sigma[:, 2]
    best = int(np.argmax(trace))
    msd = max((np.sum(a * a) + np.sum(b * b) - 2.0 * trace[best]) / n, 0.0)
    # R a_j ~ b_P(j), i.e. A R^T ~ B_P
    rotation = rotation_from_covariance(h[best], None if reflections else 1)
    s = math.sqrt(msd)
    if s == 0:
        return 0.0, np.zeros_like(a), np.zeros_like(b)
    grad_a = 2.0 * (a - bp[best] @ rotation) / n
    grad_bp = 2.0 * (bp[best] - a @ rotation.T) / n
    grad_b = np.zeros_like(b)
    grad_b[permutations[best]] = grad_bp
    return s, grad_a / (2 * s), grad_b / (2 * s)


def separation(a, b, species=None, *, reflections: bool = True) -> float:
    """Root-mean-square deviation (Å) of two neighbour sets after the optimal alignment.

    Minimum over orthogonal maps (only rotations when ``reflections`` is False) and every
    species-preserving permutation; ``a`` and ``b`` are ``(n, 3)`` neighbour vectors from the
    centre, ``species`` their (common) atomic numbers (default: all equal).
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2 or a.shape[1] != 3:
        raise InputError(f"need two (n, 3) neighbour arrays of one shape, got {a.shape}, {b.shape}")
    species = np.ones(len(a), dtype=np.int64) if species is None else np.asarray(species)
    permutations = species_permutations(species)
    return separation_and_gradient(a, b, permutations, reflections)[0]

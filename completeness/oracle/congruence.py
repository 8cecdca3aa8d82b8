"""Exact congruence of two environments (:func:`congruent`) and the body order up to which two
environments are indistinguishable (:func:`degeneracy_order`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..environments import InputError
from ..numerics import kabsch
from .signatures import signatures_equal
from .tolerance import as_environment, check_body_order, distance_tolerance, largest_distance

# Complete distance-consistent assignments tried by `congruent` before it gives up (undecided).
_MAX_ASSIGNMENTS = 100_000


@dataclass(frozen=True)
class Congruence:
    """Result of :func:`congruent`.

    Attributes
    ----------
    congruent : bool or None
        True: an orthogonal map (fixing the centre) and a species-preserving permutation map ``a``
        onto ``b`` within the tolerance. False: certainly not. None: undecided (more neighbours
        than ``max_neighbours`` and equal 2- and 3-body signatures).
    proper : bool or None
        When congruent: True if a rotation suffices, False if a reflection is needed. None
        otherwise.
    rmsd : float
        Root-mean-square deviation ``sqrt(mean_j |R a_j - b_perm(j)|^2)`` in Å of the best
        alignment found (of the returned one when congruent); ``inf`` when no species- and
        distance-consistent assignment exists, ``nan`` when undecided.
    permutation : (n_neighbours,) int array or None
        ``permutation[j]`` is the neighbour of ``b`` matched to neighbour ``j`` of ``a``.
    rotation : (3, 3) array or None
        Orthogonal ``R`` (det +1 when proper, -1 otherwise) with
        ``a.vectors @ R.T ~ b.vectors[permutation]``.
    """

    congruent: bool | None
    proper: bool | None
    rmsd: float
    permutation: np.ndarray | None = field(default=None, repr=False)
    rotation: np.ndarray | None = field(default=None, repr=False)


def _aligned(p: np.ndarray, q: np.ndarray, determinant: int) -> tuple[np.ndarray, float, float]:
    """:func:`~completeness.numerics.kabsch` with ``det R = determinant``, the largest deviation
    and the rmsd of ``R p_j`` from ``q_j``."""
    rotation = kabsch(p, q, determinant)
    deviation = np.linalg.norm(p @ rotation.T - q, axis=1)
    return rotation, float(deviation.max()), float(np.sqrt(np.mean(deviation**2)))


def congruent(
    a,
    b,
    *,
    allow_reflection: bool = True,
    tolerance: float | None = None,
    max_neighbours: int = 9,
) -> Congruence:
    """Exact congruence test of two environments (the centre is kept fixed at the origin).

    Species-preserving assignments of the neighbours of ``a`` to those of ``b`` are built one
    neighbour at a time; a candidate must have the same species and radial distance, and its
    distances to every neighbour already assigned must match (so only assignments that preserve
    the whole distance matrix, i.e. the Gram matrix, survive, and their number is bounded by the
    symmetry group of the environment rather than by ``n!``). Each complete assignment is
    aligned with the Kabsch algorithm, with a proper rotation and, if allowed, with a reflection.

    Parameters
    ----------
    a, b : Environment or ase.Atoms (centre = atom 0)
    allow_reflection : bool
        Accept improper orthogonal maps (mirror images count as congruent).
    tolerance : float, optional
        In Å; default ``DISTANCE_TOLERANCE + RELATIVE_TOLERANCE * L``. Congruent means every
        aligned neighbour lies within ``tolerance`` of its partner.
    max_neighbours : int
        Above this many neighbours the search is not attempted: the answer is False if the
        2- or 3-body signatures differ (different signatures imply non-congruent), else None.

    Returns
    -------
    Congruence
    """
    a = as_environment(a, "a")
    b = as_environment(b, "b")
    if isinstance(max_neighbours, bool) or not isinstance(max_neighbours, (int, np.integer)):
        raise InputError(f"max_neighbours must be an integer, got {max_neighbours!r}")
    scale = largest_distance(a, b)
    tol = distance_tolerance(tolerance, scale)
    not_congruent = Congruence(False, None, math.inf, None, None)
    n = a.n_neighbours
    if (
        n != b.n_neighbours
        or a.centre_species != b.centre_species
        or not np.array_equal(np.sort(a.species), np.sort(b.species))
    ):
        return not_congruent
    if n == 0:
        return Congruence(True, True, 0.0, np.zeros(0, dtype=np.int64), np.eye(3))
    if not signatures_equal(a, b, 2, tolerance=tol):
        return not_congruent
    if n > max_neighbours:
        if not signatures_equal(a, b, 3, tolerance=tol):
            return not_congruent
        return Congruence(None, None, math.nan, None, None)

    found = _best_alignments(a, b, tol, allow_reflection)
    if found is None:
        return not_congruent
    best, n_leaves = found
    if not best:
        return not_congruent
    for determinant, proper in ((1, True), (-1, False)):
        if determinant in best and best[determinant][0] <= tol:
            _, rmsd, permutation, rotation = best[determinant]
            return Congruence(True, proper, rmsd, permutation, rotation)
    if n_leaves >= _MAX_ASSIGNMENTS:
        return Congruence(None, None, math.nan, None, None)
    rmsd = min(value[1] for value in best.values())
    return Congruence(False, None, rmsd, None, None)


def _best_alignments(a, b, tol: float, allow_reflection: bool):
    """Depth-first search over species- and distance-preserving assignments of the neighbours of
    ``a`` to those of ``b`` (the method of :func:`congruent`): ``(best, n_leaves)`` with
    ``best[determinant] = (largest deviation, rmsd, assignment, rotation)`` of the best aligned
    complete assignment per determinant, or None when some neighbour has no candidate."""
    n = a.n_neighbours
    p = np.asarray(a.vectors, dtype=np.float64)
    q = np.asarray(b.vectors, dtype=np.float64)
    da = np.linalg.norm(p[:, None] - p[None], axis=-1)
    db = np.linalg.norm(q[:, None] - q[None], axis=-1)
    ra, rb = np.linalg.norm(p, axis=1), np.linalg.norm(q, axis=1)
    candidates = [
        np.flatnonzero((b.species == a.species[j]) & (np.abs(rb - ra[j]) <= tol)) for j in range(n)
    ]
    if any(len(c) == 0 for c in candidates):
        return None
    # assign the most constrained neighbours first: fewer branches near the root
    order = sorted(range(n), key=lambda j: (len(candidates[j]), -ra[j]))

    best: dict[int, tuple[float, float, np.ndarray, np.ndarray]] = {}
    determinants = (1, -1) if allow_reflection else (1,)
    assignment = np.full(n, -1, dtype=np.int64)
    used = np.zeros(n, dtype=bool)
    n_leaves = 0

    def search(depth: int) -> bool:
        """Depth-first search; True stops everything (a proper alignment was found)."""
        nonlocal n_leaves
        if depth == n:
            n_leaves += 1
            target = q[assignment]
            for determinant in determinants:
                rotation, deviation, rmsd = _aligned(p, target, determinant)
                if determinant not in best or deviation < best[determinant][0]:
                    best[determinant] = (deviation, rmsd, assignment.copy(), rotation)
            return best[1][0] <= tol or n_leaves >= _MAX_ASSIGNMENTS
        j = order[depth]
        previous = order[:depth]
        for k in candidates[j]:
            if used[k]:
                continue
            if depth and np.any(np.abs(da[j, previous] - db[k, assignment[previous]]) > tol):
                continue
            assignment[j] = k
            used[k] = True
            stop = search(depth + 1)
            used[k] = False
            assignment[j] = -1
            if stop:
                return True
        return False

    search(0)
    return best, n_leaves


@dataclass(frozen=True)
class DegeneracyOrder:
    """Result of :func:`degeneracy_order`.

    Attributes
    ----------
    o3 : int
        Highest ``k`` in ``1..max_checked`` whose O(3) k-body signatures agree (0 if the centre
        species, the number of neighbours or the neighbour-species multisets differ). Equal
        k-body signatures imply equal lower-order ones, so every order up to ``o3`` agrees.
    so3 : int
        The same for the oriented (SO(3)) signatures; ``so3 <= o3``.
    max_checked : int
    congruence : Congruence
    parity_only : bool
        O(3) signatures agree at every checked order but SO(3) ones do not: mirror images.
    """

    o3: int
    so3: int
    max_checked: int
    congruence: Congruence
    parity_only: bool


def degeneracy_order(
    a, b, max_body_order: int = 5, *, tolerance: float | None = None
) -> DegeneracyOrder:
    """Up to which body order two environments are indistinguishable, O(3) and SO(3).

    Parameters
    ----------
    a, b : Environment or ase.Atoms (centre = atom 0)
    max_body_order : int
        Highest body order compared (``n^(max_body_order - 1)`` tuples per environment).
    tolerance : float, optional
        Distance tolerance in Å for signatures and congruence (default: module docstring).

    Returns
    -------
    DegeneracyOrder
        Signatures are compared order by order, from 1 up, stopping at the first that differs;
        oriented signatures differ from O(3) ones only from order 4 on.
    """
    a = as_environment(a, "a")
    b = as_environment(b, "b")
    max_body_order = check_body_order(max_body_order)
    congruence = congruent(a, b, tolerance=tolerance)
    o3 = 0
    for k in range(1, max_body_order + 1):
        if not signatures_equal(a, b, k, tolerance=tolerance):
            break
        o3 = k
    so3 = min(o3, 3)
    for k in range(4, o3 + 1):
        if not signatures_equal(a, b, k, oriented=True, tolerance=tolerance):
            break
        so3 = k
    return DegeneracyOrder(
        o3=o3,
        so3=so3,
        max_checked=max_body_order,
        congruence=congruence,
        parity_only=(o3 == max_body_order and so3 < max_body_order),
    )

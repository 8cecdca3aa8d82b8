"""k-body signatures of one environment (:func:`signature`) and their comparison
(:func:`signatures_equal`); the definitions are in the docstring of :mod:`completeness.oracle`."""

from __future__ import annotations

import itertools

import numpy as np

from ..environments import Environment, InputError
from .tolerance import (
    as_environment,
    check_body_order,
    distance_tolerance,
    largest_distance,
    multisets_equal,
)

# Tuples of a k-body signature are enumerated in memory: refuse beyond this many rows.
_MAX_TUPLES = 5_000_000


def signature_columns(body_order: int, *, oriented: bool = False) -> list[str]:
    """Names of the columns of :func:`signature` for ``body_order`` (``j1..`` are the tuple).

    ``Z0``: centre species; ``Zj1..``: neighbour species; ``d(a,b)``: distance between points
    ``a`` and ``b`` of (centre ``0``, ``j1``, ``j2``, ...); ``V(a,b,c)``: ``r_a . (r_b x r_c)``.
    """
    body_order = check_body_order(body_order)
    if body_order == 1:
        return ["Z0", "Zj"]
    m = body_order - 1
    points = ["0"] + [f"j{i + 1}" for i in range(m)]
    names = ["Z0"] + [f"Z{p}" for p in points[1:]]
    names += [f"d({points[a]},{points[b]})" for a, b in itertools.combinations(range(m + 1), 2)]
    if oriented:
        names += [f"V({','.join(points[i + 1] for i in t)})" for t in triples(m)]
    return names


def triples(m: int) -> list[tuple[int, int, int]]:
    return list(itertools.combinations(range(m), 3))


def _column_kinds(body_order: int, oriented: bool) -> np.ndarray:
    """0 = species, 1 = distance, 2 = signed volume, for each column of the signature."""
    if body_order == 1:
        return np.zeros(2, dtype=np.int64)
    m = body_order - 1
    kinds = [0] * (m + 1) + [1] * (m * (m + 1) // 2)
    if oriented:
        kinds += [2] * len(triples(m))
    return np.asarray(kinds, dtype=np.int64)


def _raw_signature(env: Environment, body_order: int, oriented: bool) -> np.ndarray:
    """Unsorted rows of the k-body signature (one row per ordered tuple of neighbours)."""
    vectors = np.asarray(env.vectors, dtype=np.float64)
    species = np.asarray(env.species, dtype=np.float64)
    n = len(vectors)
    if body_order == 1:
        rows = np.empty((n, 2))
        rows[:, 0] = env.centre_species
        rows[:, 1] = species
        return rows
    m = body_order - 1
    n_tuples = n**m
    if n_tuples > _MAX_TUPLES:
        raise InputError(
            f"{n} neighbours at body order {body_order} give {n_tuples} tuples (limit "
            f"{_MAX_TUPLES}); lower body_order or use a smaller cutoff"
        )
    n_columns = len(_column_kinds(body_order, oriented))
    if n == 0:
        return np.zeros((0, n_columns))
    # every ordered tuple (j1..jm) in 0..n-1, as point indices 1..n (0 is the centre)
    tuples = np.indices((n,) * m).reshape(m, -1).T
    points = np.concatenate([np.zeros((n_tuples, 1), dtype=np.int64), tuples + 1], axis=1)
    positions = np.vstack([np.zeros((1, 3)), vectors])
    difference = positions[:, None, :] - positions[None, :, :]
    distance = np.sqrt(np.einsum("abx,abx->ab", difference, difference))
    columns = [np.full(n_tuples, float(env.centre_species))]
    columns += [species[tuples[:, i]] for i in range(m)]
    columns += [
        distance[points[:, a], points[:, b]] for a, b in itertools.combinations(range(m + 1), 2)
    ]
    if oriented and m >= 3:
        # triple products r_i . (r_j x r_k) for every (i, j, k), gathered per tuple
        triple = np.einsum("ia,jka->ijk", vectors, np.cross(vectors[:, None, :], vectors[None]))
        columns += [triple[tuples[:, a], tuples[:, b], tuples[:, c]] for a, b, c in triples(m)]
    return np.stack(columns, axis=1)


def _column_tolerances(kinds: np.ndarray, tolerance: float, scale: float) -> np.ndarray:
    """Per-column tolerance: species 0.5 (integers), distances ``tolerance``, volumes 3 L^2 tol."""
    volume = 3.0 * max(scale, 1.0) ** 2 * tolerance
    return np.where(kinds == 0, 0.5, np.where(kinds == 1, tolerance, volume))


def _canonical_order(rows: np.ndarray, column_tolerance: np.ndarray) -> np.ndarray:
    """Lexicographic order of ``rows`` on values rounded to a grid of 4 tolerances per column."""
    if len(rows) == 0:
        return np.zeros(0, dtype=np.int64)
    keys = np.round(rows / (4.0 * column_tolerance))
    return np.lexsort(keys.T[::-1])


def signature(env, body_order: int, *, oriented: bool = False) -> np.ndarray:
    """Canonical sorted k-body signature of one environment.

    Parameters
    ----------
    env : Environment or ase.Atoms
        With ``ase.Atoms`` the centre is atom 0 and every other atom is a neighbour.
    body_order : int
        ``k >= 1``. ``k = 1``: rows ``(Z_0, Z_j)`` (species only). ``k >= 2``: one row per ordered
        tuple ``(j_1..j_{k-1})`` of neighbours, repeats included (``n^(k-1)`` rows):
        ``(Z_0, Z_j1.., d(0,j1), .., d(j_{k-2}, j_{k-1}), [V(a,b,c)..])`` with ``d`` the distances
        of the upper triangle of the distance matrix of (centre, tuple) and, if ``oriented``, the
        triple products ``V(a,b,c) = r_a . (r_b x r_c)`` for ``a < b < c`` in the tuple.
        See :func:`signature_columns` for the column names.
    oriented : bool
        SO(3) flavour: append the signed volumes (only changes anything for ``k >= 4``).

    Returns
    -------
    (n_rows, n_columns) float array, rows sorted lexicographically on values rounded to a grid of
    four default tolerances (a canonical order up to round-off; compare signatures with
    :func:`signatures_equal`, which is robust to swapped near-equal rows).
    """
    env = as_environment(env, "env")
    body_order = check_body_order(body_order)
    rows = _raw_signature(env, body_order, bool(oriented))
    scale = largest_distance(env)
    tol = _column_tolerances(
        _column_kinds(body_order, bool(oriented)), distance_tolerance(None, scale), scale
    )
    return rows[_canonical_order(rows, tol)]


def signatures_equal(
    a, b, body_order: int, *, oriented: bool = False, tolerance: float | None = None
) -> bool:
    """Whether two environments have the same k-body signature (see :func:`signature`).

    Parameters
    ----------
    a, b : Environment or ase.Atoms (centre = atom 0)
    body_order : int
    oriented : bool
        Compare SO(3) signatures (with signed volumes) instead of O(3) ones.
    tolerance : float, optional
        Absolute distance tolerance in Å; default ``DISTANCE_TOLERANCE + RELATIVE_TOLERANCE * L``
        with ``L`` the largest centre-neighbour distance of the two. Signed volumes use
        ``3 L^2`` times it.

    Returns
    -------
    bool
        True when a bijection between the rows exists such that species agree exactly and every
        distance (volume) agrees within the tolerance. The centre species must also agree.
    """
    a = as_environment(a, "a")
    b = as_environment(b, "b")
    body_order = check_body_order(body_order)
    if a.centre_species != b.centre_species or a.n_neighbours != b.n_neighbours:
        return False
    scale = largest_distance(a, b)
    tol = distance_tolerance(tolerance, scale)
    kinds = _column_kinds(body_order, bool(oriented))
    return multisets_equal(
        _raw_signature(a, body_order, bool(oriented)),
        _raw_signature(b, body_order, bool(oriented)),
        _column_tolerances(kinds, tol, scale),
    )

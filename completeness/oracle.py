"""Basis-free ground truth: k-body signatures, exact congruence, degeneracy order, certificates.

A descriptor of body order ``nu + 1`` (a ``nu``-point correlation of the neighbour density) can at
most see the multiset of ``(nu + 1)``-body clusters of an environment: the centre together with
``nu`` neighbours, repeats allowed. In the limit of a complete radial and angular basis it sees
exactly that (Pozdnyakov, Willatt, Bartok, Ortner, Csanyi, Ceriotti, "Incompleteness of atomic
structure representations", Phys. Rev. Lett. 125, 166001 (2020), doi:10.1103/PhysRevLett.125.166001;
Nigam, Pozdnyakov, Ceriotti, J. Chem. Phys. 153, 121101 (2020), doi:10.1063/5.0021116). This module
computes those multisets directly, without any basis, so that it can judge descriptors:

* :func:`signature` / :func:`signatures_equal`: the k-body signature of an environment

  .. math::

      S_k = \\{\\!\\{ (Z_0, Z_{j_1}, \\dots, Z_{j_{k-1}},\\; D(0, j_1, \\dots, j_{k-1}),
                     \\; [V_{abc}]) : (j_1, \\dots, j_{k-1}) \\in \\{1..n\\}^{k-1} \\}\\!\\}

  over *ordered* tuples of neighbours (repeats included), where ``D`` is the upper triangle of the
  distance matrix of the centre and the tuple's neighbours and, for the oriented (SO(3)) flavour,
  ``V_abc = r_a . (r_b x r_c)`` for every triple ``a < b < c`` of the tuple (6 times the signed
  volume of the tetrahedron it spans with the centre). The O(3) signature is invariant under
  rotations, reflections and permutations; the SO(3) one changes under a reflection of a chiral
  environment.
* :func:`congruent`: exact congruence of two environments (centre fixed) by pruned backtracking
  over species-preserving neighbour assignments followed by Kabsch alignment (W. Kabsch, Acta
  Cryst. A 32, 922 (1976), doi:10.1107/S0567739476001873), with and without reflection.
* :func:`degeneracy_order`: up to which body order two environments are indistinguishable.
* :func:`global_distances_equal`, :func:`wl_distinguishing_iteration`: whole point clouds
  (Pozdnyakov & Ceriotti, Mach. Learn.: Sci. Technol. 3, 045020 (2022),
  doi:10.1088/2632-2153/aca1f8; Joshi et al., ICML 2023, arXiv:2301.09308).
* :func:`certify_equal_signatures`, :func:`certify_different_signatures`: exact proofs with sympy
  for symbolic or rational coordinates.

Tolerance
---------
Floating-point signatures are compared with the tolerance ``DISTANCE_TOLERANCE + RELATIVE_TOLERANCE
* L`` (Å), ``L`` the largest centre-neighbour distance of the two environments. Why these numbers:

* round-off: coordinates carry a relative error of ~1e-16; a rotation plus a permutation changes
  a 5 Å distance by ~1e-14 Å, and ``RELATIVE_TOLERANCE = 1e-9`` keeps clusters of any size (even
  100 Å) far above that;
* stored structures: extended-XYZ files keep 8 decimals, i.e. distance errors ~1e-8 Å, which the
  absolute part ``DISTANCE_TOLERANCE = 1e-6`` Å (the package's coincidence threshold) tolerates;
* physics: thermal vibrations are ~1e-2 Å and the smallest displacements studied in sensitivity
  scans (docs/science.md §3) start at 1e-8 Å only for *feature* differences, never for deciding
  whether two structures are the same: a 1e-4 Å displacement is 100 times the tolerance and is
  reported as different (tested).

At a stated resolution. A pair whose coordinates are known to ``resolution`` Å (each coordinate
within ``± resolution`` of the truth: float64 round-off for structures built in memory,
:func:`float64_resolution`; the written precision for structures read from files) is judged with
the tolerance :func:`tolerance_at` ``= RESOLUTION_FACTOR * resolution`` (8): a distance between
two atoms that each move by at most ``sqrt(3) resolution`` changes by at most ``2 sqrt(3)
resolution``, and two members carry independent errors, ``4 sqrt(3) = 6.9``; rounded up to 8.
"Equal at body order k" then means "equal within what the coordinates can tell". Signatures that
differ by less than ``MARGINAL_FACTOR`` (100) tolerances differ by an amount comparable to the
resolution: the verdicts (:mod:`completeness.analysis.distance`) expect neither degeneracy nor
resolution there, for the same factor of 100 separates their "degenerate" and "resolved"
margins.

Signed volumes (Å^3) are compared with ``3 max(L, 1 Å)^2`` times the distance tolerance: that is
how much a triple product of vectors of length <= L changes when each vector moves by the
tolerance.

Multisets are compared robustly: an exact per-column test (sorting a single column commutes with
perturbations smaller than the tolerance) rejects most different pairs quickly; then both multisets
are sorted lexicographically on values rounded to a grid of 4 tolerances and compared
elementwise; if that fails (round-off can swap near-equal rows across a grid boundary) the answer is
decided exactly by a maximum bipartite matching between rows that agree within the tolerance in
every column (KD-tree in the Chebyshev metric, scipy's Hopcroft-Karp).

Its floor (docs/architecture.md) is above :mod:`completeness.environments` and
:mod:`completeness.numerics`, below the structures and descriptors.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass, field

import ase
import numpy as np

from .environments import Environment, InputError, check_systems, environment
from .numerics import kabsch

__all__ = [
    "DISTANCE_TOLERANCE",
    "MARGINAL_FACTOR",
    "RELATIVE_TOLERANCE",
    "RESOLUTION_FACTOR",
    "Certificate",
    "Congruence",
    "DegeneracyOrder",
    "certify_different_signatures",
    "certify_equal_signatures",
    "congruent",
    "degeneracy_order",
    "float64_resolution",
    "global_distances_equal",
    "signature",
    "signature_columns",
    "signatures_equal",
    "tolerance_at",
    "wl_distinguishing_iteration",
]

#: Absolute part of the default tolerance, in Å (see the module docstring for the reasoning).
DISTANCE_TOLERANCE = 1e-6
#: Relative part of the default tolerance, times the largest centre-neighbour distance.
RELATIVE_TOLERANCE = 1e-9
#: Tolerance at a stated coordinate resolution, in resolutions (module docstring).
RESOLUTION_FACTOR = 8.0
#: Signatures within this many tolerances differ by an amount comparable to the resolution.
MARGINAL_FACTOR = 100.0
#: float64 round-off of a coordinate, in machine epsilons times max(1 Å, |coordinate|).
ROUND_OFF_EPSILONS = 8.0

# Tuples of a k-body signature are enumerated in memory: refuse beyond this many rows.
_MAX_TUPLES = 5_000_000
# Complete distance-consistent assignments tried by `congruent` before it gives up (undecided).
_MAX_ASSIGNMENTS = 100_000


# --------------------------------------------------------------------------------------------
# input
# --------------------------------------------------------------------------------------------


def _as_environment(value, name: str) -> Environment:
    """An :class:`Environment`, or an ``ase.Atoms`` read as centre = atom 0, neighbours = rest."""
    if isinstance(value, Environment):
        return value
    if isinstance(value, ase.Atoms):
        return environment(value, centre=0)
    raise InputError(
        f"{name} must be a completeness.environments.Environment or an ase.Atoms (centre = atom "
        f"0), got {type(value).__name__}; build one with Environment.from_vectors(vectors, species)"
    )


def float64_resolution(*structures) -> float:
    """Resolution (Å) of float64 coordinates: ``8 eps max(1 Å, largest |coordinate|)``.

    ``structures``: ase.Atoms, Environments (their neighbour vectors) or coordinate arrays.
    Eight machine epsilons cover the rounding of the stored coordinates and of the differences
    and rotations applied to them before any signature or feature is computed.
    """
    largest = 1.0
    for item in structures:
        if isinstance(item, ase.Atoms):
            values = item.positions
        elif isinstance(item, Environment):
            values = item.vectors
        else:
            values = np.asarray(item, dtype=np.float64)
        if np.size(values):
            largest = max(largest, float(np.max(np.abs(values))))
    return ROUND_OFF_EPSILONS * float(np.finfo(np.float64).eps) * largest


def tolerance_at(resolution: float) -> float:
    """The oracle's distance tolerance (Å) for coordinates known to ``resolution`` Å."""
    resolution = float(resolution)
    if not (math.isfinite(resolution) and resolution > 0):
        raise InputError(f"resolution must be a positive number of Å, got {resolution!r}")
    return RESOLUTION_FACTOR * resolution


def _check_body_order(body_order, minimum: int = 1) -> int:
    if isinstance(body_order, bool) or not isinstance(body_order, (int, np.integer)):
        raise InputError(f"body_order must be an integer >= {minimum}, got {body_order!r}")
    if body_order < minimum:
        raise InputError(f"body_order must be >= {minimum}, got {body_order}")
    return int(body_order)


def _scale(*environments: Environment) -> float:
    """Largest centre-neighbour distance of the environments (0 without neighbours)."""
    return max((float(e.distances.max()) for e in environments if e.n_neighbours), default=0.0)


def _distance_tolerance(tolerance, scale: float) -> float:
    if tolerance is None:
        return DISTANCE_TOLERANCE + RELATIVE_TOLERANCE * scale
    try:
        value = float(tolerance)
    except (TypeError, ValueError):
        raise InputError(f"tolerance must be a number of Å or None, got {tolerance!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise InputError(f"tolerance must be a positive finite number of Å, got {tolerance!r}")
    return value


# --------------------------------------------------------------------------------------------
# k-body signatures
# --------------------------------------------------------------------------------------------


def signature_columns(body_order: int, *, oriented: bool = False) -> list[str]:
    """Names of the columns of :func:`signature` for ``body_order`` (``j1..`` are the tuple).

    ``Z0``: centre species; ``Zj1..``: neighbour species; ``d(a,b)``: distance between points
    ``a`` and ``b`` of (centre ``0``, ``j1``, ``j2``, ...); ``V(a,b,c)``: ``r_a . (r_b x r_c)``.
    """
    body_order = _check_body_order(body_order)
    if body_order == 1:
        return ["Z0", "Zj"]
    m = body_order - 1
    points = ["0"] + [f"j{i + 1}" for i in range(m)]
    names = ["Z0"] + [f"Z{p}" for p in points[1:]]
    names += [f"d({points[a]},{points[b]})" for a, b in itertools.combinations(range(m + 1), 2)]
    if oriented:
        names += [f"V({','.join(points[i + 1] for i in t)})" for t in _triples(m)]
    return names


def _triples(m: int) -> list[tuple[int, int, int]]:
    return list(itertools.combinations(range(m), 3))


def _column_kinds(body_order: int, oriented: bool) -> np.ndarray:
    """0 = species, 1 = distance, 2 = signed volume, for each column of the signature."""
    if body_order == 1:
        return np.zeros(2, dtype=np.int64)
    m = body_order - 1
    kinds = [0] * (m + 1) + [1] * (m * (m + 1) // 2)
    if oriented:
        kinds += [2] * len(_triples(m))
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
        columns += [triple[tuples[:, a], tuples[:, b], tuples[:, c]] for a, b, c in _triples(m)]
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
    env = _as_environment(env, "env")
    body_order = _check_body_order(body_order)
    rows = _raw_signature(env, body_order, bool(oriented))
    scale = _scale(env)
    tol = _column_tolerances(
        _column_kinds(body_order, bool(oriented)), _distance_tolerance(None, scale), scale
    )
    return rows[_canonical_order(rows, tol)]


def _multisets_equal(a: np.ndarray, b: np.ndarray, column_tolerance: np.ndarray) -> bool:
    """Whether a bijection maps the rows of ``a`` onto rows of ``b`` agreeing within tolerance."""
    if a.shape != b.shape:
        return False
    if len(a) == 0:
        return True
    x = a / column_tolerance
    y = b / column_tolerance
    # necessary and round-off robust: each column sorted on its own must agree elementwise
    if np.any(np.abs(np.sort(x, axis=0) - np.sort(y, axis=0)) > 1.0):
        return False
    # sufficient: same order of the rows' rounded values in both, elementwise agreement. The
    # order is by a hash of the rounded row (one argsort instead of a lexsort over every column;
    # a collision or a row near a grid boundary only sends the decision to the matching below)
    weights = np.random.default_rng(0).integers(1, 2**62, size=x.shape[1])
    xs = x[np.argsort(np.round(x / 4.0).astype(np.int64) @ weights, kind="stable")]
    ys = y[np.argsort(np.round(y / 4.0).astype(np.int64) @ weights, kind="stable")]
    if np.all(np.abs(xs - ys) <= 1.0):
        return True
    # exact decision: perfect matching between rows within tolerance (Chebyshev metric)
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_bipartite_matching
    from scipy.spatial import cKDTree

    neighbours = cKDTree(x).query_ball_tree(cKDTree(y), r=1.0, p=np.inf)
    if any(len(row) == 0 for row in neighbours):
        return False
    indptr = np.cumsum([0] + [len(row) for row in neighbours])
    indices = np.concatenate([np.asarray(row, dtype=np.int64) for row in neighbours])
    graph = csr_matrix((np.ones(len(indices)), indices, indptr), shape=(len(x), len(y)))
    matching = maximum_bipartite_matching(graph, perm_type="column")
    return bool(np.all(matching >= 0))


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
    a = _as_environment(a, "a")
    b = _as_environment(b, "b")
    body_order = _check_body_order(body_order)
    if a.centre_species != b.centre_species or a.n_neighbours != b.n_neighbours:
        return False
    scale = _scale(a, b)
    tol = _distance_tolerance(tolerance, scale)
    kinds = _column_kinds(body_order, bool(oriented))
    return _multisets_equal(
        _raw_signature(a, body_order, bool(oriented)),
        _raw_signature(b, body_order, bool(oriented)),
        _column_tolerances(kinds, tol, scale),
    )


# --------------------------------------------------------------------------------------------
# congruence
# --------------------------------------------------------------------------------------------


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
    a = _as_environment(a, "a")
    b = _as_environment(b, "b")
    if isinstance(max_neighbours, bool) or not isinstance(max_neighbours, (int, np.integer)):
        raise InputError(f"max_neighbours must be an integer, got {max_neighbours!r}")
    scale = _scale(a, b)
    tol = _distance_tolerance(tolerance, scale)
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

    p = np.asarray(a.vectors, dtype=np.float64)
    q = np.asarray(b.vectors, dtype=np.float64)
    da = np.linalg.norm(p[:, None] - p[None], axis=-1)
    db = np.linalg.norm(q[:, None] - q[None], axis=-1)
    ra, rb = np.linalg.norm(p, axis=1), np.linalg.norm(q, axis=1)
    candidates = [
        np.flatnonzero((b.species == a.species[j]) & (np.abs(rb - ra[j]) <= tol)) for j in range(n)
    ]
    if any(len(c) == 0 for c in candidates):
        return not_congruent
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


# --------------------------------------------------------------------------------------------
# degeneracy order of a pair
# --------------------------------------------------------------------------------------------


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
    a = _as_environment(a, "a")
    b = _as_environment(b, "b")
    max_body_order = _check_body_order(max_body_order)
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


# --------------------------------------------------------------------------------------------
# whole point clouds
# --------------------------------------------------------------------------------------------


def _finite_cloud(atoms, name: str) -> ase.Atoms:
    if not isinstance(atoms, ase.Atoms):
        raise InputError(
            f"{name} must be an ase.Atoms (a whole point cloud), got {type(atoms).__name__}"
        )
    (atoms,) = check_systems(atoms)
    if np.any(atoms.pbc):
        raise InputError(
            f"{name} is periodic; whole-cloud tests need a finite cluster: set atoms.pbc = False"
        )
    return atoms


def _pair_distances(positions: np.ndarray) -> np.ndarray:
    return np.linalg.norm(positions[:, None, :] - positions[None, :, :], axis=-1)


def global_distances_equal(a: ase.Atoms, b: ase.Atoms, tolerance: float | None = None) -> bool:
    """Whether two finite clouds have the same multiset of pairwise distances with species.

    The multiset is ``{(min(Z_i, Z_j), max(Z_i, Z_j), |r_i - r_j|) : i < j}``, compared with the
    distance tolerance of :func:`signatures_equal` (``L`` the largest pairwise distance). Equal
    multisets do not imply congruence (homometric sets; Pozdnyakov & Ceriotti, MLST 3, 045020
    (2022), doi:10.1088/2632-2153/aca1f8).
    """
    a = _finite_cloud(a, "a")
    b = _finite_cloud(b, "b")
    if len(a) != len(b) or not np.array_equal(np.sort(a.numbers), np.sort(b.numbers)):
        return False
    rows = []
    scale = 0.0
    for atoms in (a, b):
        i, j = np.triu_indices(len(atoms), k=1)
        distance = _pair_distances(atoms.positions)[i, j]
        z = atoms.numbers
        rows.append(np.stack([np.minimum(z[i], z[j]), np.maximum(z[i], z[j]), distance], axis=1))
        scale = max(scale, float(distance.max(initial=0.0)))
    tol = _distance_tolerance(tolerance, scale)
    return _multisets_equal(rows[0], rows[1], np.array([0.5, 0.5, tol]))


def _distance_labels(values: np.ndarray, tolerance: float) -> np.ndarray:
    """Integer labels of ``values``: equal labels for chains of values closer than ``tolerance``.

    Rounding to a fixed grid would split two copies of one distance that straddle a grid boundary;
    single-linkage clustering of the sorted values does not.
    """
    if values.size == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(values, kind="stable")
    gaps = np.diff(values[order]) > tolerance
    labels = np.empty(values.size, dtype=np.int64)
    labels[order] = np.concatenate([[0], np.cumsum(gaps)])
    return labels


def _refine(colour: np.ndarray, mask: np.ndarray, label: np.ndarray, palette: dict) -> np.ndarray:
    """One 1-WL step: colour_i <- palette[(colour_i, sorted multiset of (colour_j, d_ij label))]."""
    out = np.empty(len(colour), dtype=np.int64)
    for i in range(len(colour)):
        messages = sorted(zip(colour[mask[i]].tolist(), label[i, mask[i]].tolist(), strict=True))
        out[i] = palette.setdefault((int(colour[i]), tuple(messages)), len(palette))
    return out


def wl_distinguishing_iteration(
    a: ase.Atoms,
    b: ase.Atoms,
    *,
    cutoff: float | None = None,
    max_iterations: int = 10,
    tolerance: float | None = None,
) -> int | None:
    """First iteration of geometric 1-WL (distance-only) colour refinement that separates a, b.

    The invariant geometric Weisfeiler-Leman test restricted to pairwise distances, i.e. the
    power of distance-only message passing such as SchNet (Joshi, Bodnar, Mathis, Cohen, Lio,
    "On the expressive power of geometric graph neural networks", ICML 2023, arXiv:2301.09308;
    Pozdnyakov & Ceriotti, MLST 3, 045020 (2022)):

    .. math::

        c_i^{(0)} = Z_i, \\qquad
        c_i^{(t+1)} = \\mathrm{HASH}\\big(c_i^{(t)}, \\{\\!\\{(c_j^{(t)}, d_{ij}) :
                      j \\ne i, d_{ij} < r_c\\}\\!\\}\\big)

    with one colour table shared by both clouds, so colours are comparable. Distances are
    labelled by single-linkage clustering of all distances of both clouds with the default
    distance tolerance (robust to round-off, unlike rounding to a grid).

    Parameters
    ----------
    a, b : ase.Atoms
        Finite clouds.
    cutoff : float, optional
        Neighbours are atoms closer than ``cutoff`` (Å); None: complete graph.
    max_iterations : int
    tolerance : float, optional
        Distance tolerance in Å (default: module docstring).

    Returns
    -------
    int or None
        0 if the species multisets (or sizes) differ, else the first iteration ``t`` whose colour
        multisets differ; None if they never do within ``max_iterations`` (the refinement also
        stops early once the joint colour partition is stable: it can never separate them then).
    """
    a = _finite_cloud(a, "a")
    b = _finite_cloud(b, "b")
    if isinstance(max_iterations, bool) or not isinstance(max_iterations, (int, np.integer)):
        raise InputError(f"max_iterations must be an integer, got {max_iterations!r}")
    if cutoff is not None:
        from .environments import check_cutoff

        cutoff = check_cutoff(cutoff)
    if len(a) != len(b):
        return 0
    n = len(a)
    matrices = [_pair_distances(atoms.positions) for atoms in (a, b)]
    adjacency = []
    for d in matrices:
        mask = ~np.eye(n, dtype=bool)
        if cutoff is not None:
            mask &= d < cutoff
        adjacency.append(mask)
    scale = max(float(d.max(initial=0.0)) for d in matrices)
    tol = _distance_tolerance(tolerance, scale)
    both = np.concatenate([d[mask] for d, mask in zip(matrices, adjacency, strict=True)])
    labels_flat = _distance_labels(both, tol)
    labels = []
    offset = 0
    for d, mask in zip(matrices, adjacency, strict=True):
        table = np.full(d.shape, -1, dtype=np.int64)
        count = int(mask.sum())
        table[mask] = labels_flat[offset : offset + count]
        offset += count
        labels.append(table)

    palette: dict = {}
    colours = [
        np.array([palette.setdefault(("Z", int(z)), len(palette)) for z in atoms.numbers])
        for atoms in (a, b)
    ]
    if Counter(colours[0].tolist()) != Counter(colours[1].tolist()):
        return 0
    n_classes = len(set(colours[0].tolist()) | set(colours[1].tolist()))
    for iteration in range(1, max_iterations + 1):
        colours = [
            _refine(colour, mask, label, palette)
            for colour, mask, label in zip(colours, adjacency, labels, strict=True)
        ]
        if Counter(colours[0].tolist()) != Counter(colours[1].tolist()):
            return iteration
        classes = len(set(colours[0].tolist()) | set(colours[1].tolist()))
        if classes == n_classes:
            return None
        n_classes = classes
    return None


# --------------------------------------------------------------------------------------------
# exact certificates (sympy)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Certificate:
    """An exact (symbolic) comparison of two k-body multisets.

    Attributes
    ----------
    body_order : int
    oriented : bool
        Whether signed volumes (triple products) were part of each tuple.
    equal : bool
        Whether the multisets of tuples of (expanded) squared distances agree exactly.
    symbols : tuple of sympy.Symbol
        Free symbols of the coordinates: with symbols, ``equal`` holds for all their values.
    matching : tuple of (plus tuple, minus tuple) or None
        When equal: a bijection between ordered neighbour tuples (0-based neighbour indices) of
        ``plus`` and ``minus`` whose squared-distance polynomials are identical.
    witness : dict or None
        When different: ``{"tuple": neighbour indices, "member": "plus" or "minus", "values":
        tuple of sympy expressions, "count_plus": int, "count_minus": int}`` for the first tuple
        whose multiplicity differs.
    statement : str
        Human-readable statement of what was proven.
    """

    body_order: int
    oriented: bool
    equal: bool
    symbols: tuple = ()
    matching: tuple | None = field(default=None, repr=False)
    witness: dict | None = None
    statement: str = ""


def _sympy_coordinates(value, name: str):
    import sympy

    try:
        matrix = sympy.Matrix(value)
    except (TypeError, ValueError, sympy.SympifyError) as error:
        raise InputError(
            f"{name} must be a sympy Matrix of shape (n_neighbours, 3), got "
            f"{type(value).__name__} ({error})"
        ) from None
    if matrix.shape[1] != 3 or matrix.shape[0] == 0:
        raise InputError(
            f"{name} has shape {matrix.shape}, expected (n_neighbours, 3) with n_neighbours >= 1"
        )
    if any(entry.has(sympy.Float) for entry in matrix):
        raise InputError(
            f"{name} contains floating-point numbers; certificates need exact values: use "
            "sympy.Rational(5, 2) or symbols instead of 2.5"
        )
    return matrix


def _sympy_species(species, n: int, name: str) -> list[int]:
    if species is None:
        return [0] * n
    values = [int(z) for z in np.asarray(species).reshape(-1)]
    if len(values) != n:
        raise InputError(f"{name} has {len(values)} entries for {n} neighbours; give one each")
    return values


def _symbolic_tuples(matrix, species: list[int], body_order: int, oriented: bool):
    """(tuple of neighbour indices, tuple of expanded polynomials) for every ordered tuple."""
    import sympy

    n = matrix.shape[0]
    rows = [matrix.row(j) for j in range(n)]
    points = [sympy.zeros(1, 3), *rows]
    squared = {}
    for i in range(n + 1):
        for j in range(i, n + 1):
            difference = points[i] - points[j]
            squared[i, j] = squared[j, i] = sympy.expand((difference * difference.T)[0, 0])
    volume = {}
    m = body_order - 1
    if oriented and m >= 3:
        for i, j, k in itertools.product(range(n), repeat=3):
            volume[i, j, k] = sympy.expand(sympy.Matrix.vstack(rows[i], rows[j], rows[k]).det())
    out = []
    for neighbours in itertools.product(range(n), repeat=m):
        chosen = (0, *(j + 1 for j in neighbours))
        values = [sympy.Integer(species[j]) for j in neighbours]
        values += [
            squared[chosen[x], chosen[y]] for x, y in itertools.combinations(range(m + 1), 2)
        ]
        if oriented and m >= 3:
            values += [volume[tuple(neighbours[t] for t in triple)] for triple in _triples(m)]
        out.append((neighbours, tuple(values)))
    return out


def _polynomial_key(expression, generators):
    """Canonical, hashable form of an expanded polynomial (terms sorted by monomial)."""
    import sympy

    if generators:
        try:
            polynomial = sympy.Poly(expression, *generators)
        except sympy.PolynomialError:
            raise InputError(
                f"coordinates must be polynomial in their symbols; got {expression}"
            ) from None
        return tuple(sorted((monomial, str(c)) for monomial, c in polynomial.terms()))
    return sympy.srepr(sympy.expand(expression))


def _certify(plus, minus, body_order, oriented, plus_species, minus_species, exact_numbers):
    body_order = _check_body_order(body_order, minimum=2)
    plus = _sympy_coordinates(plus, "plus")
    minus = _sympy_coordinates(minus, "minus")
    if plus.shape != minus.shape:
        raise InputError(
            f"plus has {plus.shape[0]} neighbours and minus {minus.shape[0]}; certificates compare "
            "environments with the same number of neighbours"
        )
    n = plus.shape[0]
    if n ** (body_order - 1) > 100_000:
        raise InputError(
            f"{n} neighbours at body order {body_order} is too many symbolic tuples; lower it"
        )
    symbols = tuple(sorted(plus.free_symbols | minus.free_symbols, key=str))
    if exact_numbers and (symbols or not all(entry.is_Rational for entry in (*plus, *minus))):
        raise InputError(
            "certify_different_signatures needs exact rational coordinates (sympy.Rational or "
            "int), no symbols: a difference of polynomials is not a difference for all values"
        )
    species = (
        _sympy_species(plus_species, n, "plus_species"),
        _sympy_species(minus_species, n, "minus_species"),
    )
    tuples = [
        _symbolic_tuples(matrix, z, body_order, bool(oriented))
        for matrix, z in zip((plus, minus), species, strict=True)
    ]
    keyed = [
        [
            (neighbours, values, tuple(_polynomial_key(v, symbols) for v in values))
            for neighbours, values in member
        ]
        for member in tuples
    ]
    counts = [Counter(key for _, _, key in member) for member in keyed]
    what = (
        f"{'oriented ' if oriented else ''}{body_order}-body tuples of squared distances"
        f"{' and signed volumes' if oriented and body_order >= 4 else ''}"
        f" over the {n ** (body_order - 1)} ordered neighbour tuples"
    )
    scope = (
        f"for all values of {', '.join(map(str, symbols))}" if symbols else "for these coordinates"
    )
    if counts[0] == counts[1]:
        pool: dict = {}
        for neighbours, _, key in keyed[1]:
            pool.setdefault(key, []).append(neighbours)
        matching = tuple((neighbours, pool[key].pop(0)) for neighbours, _, key in keyed[0])
        statement = (
            f"The multisets of {what} of plus and minus are identical {scope}: each tuple of "
            f"plus is matched to a tuple of minus with identical expanded polynomials."
        )
        return Certificate(body_order, bool(oriented), True, symbols, matching, None, statement)
    witness = None
    for member_index, member in enumerate(keyed):
        for neighbours, values, key in member:
            if counts[0][key] != counts[1][key]:
                witness = {
                    "tuple": neighbours,
                    "member": ("plus", "minus")[member_index],
                    "values": values,
                    "count_plus": counts[0][key],
                    "count_minus": counts[1][key],
                }
                break
        if witness is not None:
            break
    scope = (
        "as polynomials in " + ", ".join(map(str, symbols)) + " (a difference for generic "
        "values, not proven for every value)"
        if symbols
        else "for these exact coordinates"
    )
    statement = (
        f"The multisets of {what} of plus and minus differ {scope}: the tuple "
        f"{witness['values']} (neighbours {witness['tuple']} of {witness['member']}) occurs "
        f"{witness['count_plus']} times in plus and {witness['count_minus']} times in minus."
    )
    return Certificate(body_order, bool(oriented), False, symbols, None, witness, statement)


def certify_equal_signatures(
    plus,
    minus,
    body_order: int = 3,
    *,
    oriented: bool = False,
    plus_species=None,
    minus_species=None,
) -> Certificate:
    """Prove with sympy that two environments have the same k-body multiset for all parameters.

    Each ordered tuple of neighbours gives the tuple of expanded squared distances of the
    distance matrix of (centre, tuple) (polynomials in the coordinates' symbols; squared so that
    everything stays polynomial), plus the species and, if ``oriented``, the triple products.
    Two multisets of polynomial tuples that are identical as polynomials agree for every value
    of the symbols, which proves the degeneracy on the whole family (e.g. the manifold of
    Pozdnyakov et al., PRL 125, 166001 (2020), doi:10.1103/PhysRevLett.125.166001).

    Parameters
    ----------
    plus, minus : sympy.Matrix of shape (n_neighbours, 3)
        Exact entries: integers, rationals, symbols and polynomial expressions (no floats).
    body_order : int
        ``k >= 2``; ``n^(k-1)`` tuples are built.
    oriented : bool
    plus_species, minus_species : sequence of int, optional
        Neighbour species; default all equal.

    Returns
    -------
    Certificate
        ``equal`` is True with the matching, or False with a witness (then the multisets differ
        as polynomials, which does *not* prove a difference at every parameter value).
    """
    return _certify(plus, minus, body_order, oriented, plus_species, minus_species, False)


def certify_different_signatures(
    plus,
    minus,
    body_order: int = 4,
    *,
    oriented: bool = False,
    plus_species=None,
    minus_species=None,
) -> Certificate:
    """Prove with exact rational arithmetic that two environments' k-body multisets differ.

    Same tuples as :func:`certify_equal_signatures`, but coordinates must be rational numbers
    (no symbols), so a tuple whose multiplicity differs is an exact witness of the difference.

    Returns
    -------
    Certificate
        ``equal`` False with a ``witness`` when the multisets differ; ``equal`` True (with the
        matching) when they do not, in which case nothing different was certified.
    """
    return _certify(plus, minus, body_order, oriented, plus_species, minus_species, True)

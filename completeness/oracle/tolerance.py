"""The oracle's tolerances (module docstring of :mod:`completeness.oracle`), the input checks its
functions share, and the tolerant comparison of two multisets of rows."""

from __future__ import annotations

import math

import ase
import numpy as np

from ..environments import Environment, InputError, environment

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


def as_environment(value, name: str) -> Environment:
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


def check_body_order(body_order, minimum: int = 1) -> int:
    if isinstance(body_order, bool) or not isinstance(body_order, (int, np.integer)):
        raise InputError(f"body_order must be an integer >= {minimum}, got {body_order!r}")
    if body_order < minimum:
        raise InputError(f"body_order must be >= {minimum}, got {body_order}")
    return int(body_order)


def largest_distance(*environments: Environment) -> float:
    """Largest centre-neighbour distance of the environments (0 without neighbours)."""
    return max((float(e.distances.max()) for e in environments if e.n_neighbours), default=0.0)


def distance_tolerance(tolerance, scale: float) -> float:
    if tolerance is None:
        return DISTANCE_TOLERANCE + RELATIVE_TOLERANCE * scale
    try:
        value = float(tolerance)
    except (TypeError, ValueError):
        raise InputError(f"tolerance must be a number of Å or None, got {tolerance!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise InputError(f"tolerance must be a positive finite number of Å, got {tolerance!r}")
    return value


def multisets_equal(a: np.ndarray, b: np.ndarray, column_tolerance: np.ndarray) -> bool:
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

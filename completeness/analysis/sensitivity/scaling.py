"""Scaling exponents: how fast the features move along a path of one neighbour."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import ase
import numpy as np
from scipy.spatial.transform import Rotation

from ...environments import (
    InputError,
    environment,
)
from .evaluator import ROUNDOFF_FACTOR, Evaluator, as_environment

# --------------------------------------------------------------------------------------------
# scaling exponents
# --------------------------------------------------------------------------------------------


def response_distance(a: np.ndarray, b: np.ndarray, metric: str) -> np.ndarray:
    """Row-wise ``||a - b||`` (relative to ``||b||`` for ``metric='relative'``)."""
    difference = np.linalg.norm(np.atleast_2d(a) - b, axis=-1)
    if metric == "absolute":
        return difference
    if metric != "relative":
        raise InputError(f"metric must be 'relative' or 'absolute', got {metric!r}")
    scale = np.linalg.norm(b)
    if scale == 0:
        raise InputError("the reference features are all zero; use metric='absolute'")
    return difference / scale


def path_vectors(
    vectors,
    t_values,
    *,
    path: str = "linear",
    direction=None,
    neighbour: int = 0,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Neighbour vectors along a displacement path: ``(batch (len(t), n, 3), direction (n, 3))``.

    Paths
    -----
    ``"linear"``: ``r(t) = r + t u`` with ``u = direction / ||direction||`` (an ``(n, 3)`` field;
    default a seeded random unit field).
    ``"radial"`` (Onat et al. 2020): neighbour ``neighbour`` moves along its bond,
    ``r_j(t) = r_j + t r_j / |r_j|``.
    ``"tangential"`` (Onat et al. 2020): neighbour ``neighbour`` moves by ``t u`` with u a unit
    vector perpendicular to its bond (``direction``: a 3-vector, projected perpendicular; default
    seeded random) and is rescaled back onto its sphere, ``r_j(t) = |r_j| (r_j + t u) /
    |r_j + t u|``, so every distance to the centre is unchanged.
    """
    vectors = np.asarray(vectors, dtype=np.float64)
    t = np.asarray(t_values, dtype=np.float64).reshape(-1)
    n = len(vectors)
    rng = np.random.default_rng(seed)
    if path == "linear":
        u = rng.normal(size=(n, 3)) if direction is None else np.asarray(direction, dtype=float)
        if u.shape != (n, 3):
            u = u.reshape(-1)
            if u.size != 3 * n:
                raise InputError(
                    f"direction has {u.size} components; give an (n_neighbours, 3) = ({n}, 3) "
                    "displacement field"
                )
            u = u.reshape(n, 3)
        norm = np.linalg.norm(u)
        if norm == 0:
            raise InputError("direction is zero; give a non-zero displacement field")
        u = u / norm
        return vectors[None] + t[:, None, None] * u[None], u
    if path not in ("radial", "tangential"):
        raise InputError(f"path must be 'linear', 'radial' or 'tangential', got {path!r}")
    if not 0 <= neighbour < n:
        raise InputError(f"neighbour {neighbour} is out of range; use 0..{n - 1}")
    r = vectors[neighbour]
    radius = np.linalg.norm(r)
    bond = r / radius
    unit_field = np.zeros((n, 3))
    batch = np.repeat(vectors[None], len(t), axis=0)
    if path == "radial":
        unit_field[neighbour] = bond
        batch[:, neighbour] = r + t[:, None] * bond
        return batch, unit_field
    u = rng.normal(size=3) if direction is None else np.asarray(direction, dtype=float)
    if u.shape != (3,):
        raise InputError(f"a tangential direction is one 3-vector, got shape {u.shape}")
    u = u - np.dot(u, bond) * bond
    if np.linalg.norm(u) < 1e-12:
        raise InputError("the tangential direction is parallel to the bond; choose another")
    u = u / np.linalg.norm(u)
    moved = r + t[:, None] * u
    batch[:, neighbour] = radius * moved / np.linalg.norm(moved, axis=1, keepdims=True)
    unit_field[neighbour] = u
    return batch, unit_field


def roundoff_level(
    descriptor, atoms, centre: int = 0, *, metric="relative", n_rotations=4, seed=0, cutoff=None
) -> float:
    """Round-off level of the feature distance at an environment, measured.

    The largest distance between the features of the environment and of ``n_rotations`` seeded
    random rigid rotations of it: for an invariant descriptor that difference is pure round-off.
    Floored at the machine epsilon (an exactly reproducible descriptor still has round-off in
    any displaced evaluation).
    """
    env = as_environment(descriptor, atoms, centre, cutoff)
    evaluator = Evaluator(descriptor, env)
    return _roundoff(evaluator, env.vectors, metric, n_rotations, seed)


def _roundoff(evaluator, vectors, metric, n_rotations, seed):
    rng = np.random.default_rng(seed)
    rotations = Rotation.random(n_rotations, random_state=rng).as_matrix()
    batch = np.concatenate([vectors[None], np.einsum("rab,nb->rna", rotations, vectors)])
    values = evaluator.values(batch)
    level = float(np.max(response_distance(values[1:], values[0], metric)))
    return max(level, float(np.finfo(np.float64).eps))


@dataclass(frozen=True, eq=False)
class ScalingFit:
    """A fitted scaling exponent ``||f(x(t)) - f(x)|| ~ A t^k``.

    Attributes
    ----------
    exponent, standard_error : float
        ``k`` and its standard error from the least-squares fit of ``log d`` on ``log t``.
    prefactor : float
        ``A``.
    t, distance : (m,) float arrays
        Every displacement and the feature distance it produced.
    used : (m,) bool array
        Points used in the fit (above ``ROUNDOFF_FACTOR * roundoff``).
    roundoff : float
        Measured round-off level of the distance (see :func:`roundoff_level`).
    local_slopes : (m - 1,) float array
        ``d log d / d log t`` between successive points: flat where the power law holds.
    path : str
    direction : (n, 3) float array
        The unit displacement field at ``t = 0``.
    """

    exponent: float
    standard_error: float
    prefactor: float
    t: np.ndarray
    distance: np.ndarray
    used: np.ndarray
    roundoff: float
    local_slopes: np.ndarray
    path: str = "linear"
    direction: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))


def fit_exponent(t, distance, roundoff: float = 0.0, *, factor: float = ROUNDOFF_FACTOR):
    """Least-squares power law through the points with ``distance > factor * roundoff``.

    Returns ``(k, standard_error, prefactor, used)``. The rule excludes the round-off region:
    a point is kept only where the response is at least ``factor`` times the measured
    round-off, so its logarithm carries a relative error below ``1 / factor``. The standard
    error is the usual OLS one, ``sqrt(SSR / (m - 2) / sum (x - mean x)^2)`` on ``x = log t``.
    At least three points must remain.
    """
    t = np.asarray(t, dtype=np.float64)
    distance = np.asarray(distance, dtype=np.float64)
    used = (t > 0) & (distance > factor * roundoff) & (distance > 0)
    m = int(used.sum())
    if m < 3:
        raise InputError(
            f"only {m} points lie above the round-off region ({factor:g} x {roundoff:.2e}); "
            "use larger displacements t"
        )
    x, y = np.log(t[used]), np.log(distance[used])
    xm = x - x.mean()
    sxx = float(xm @ xm)
    if sxx == 0:
        raise InputError("all fitted t are equal; give a range of displacements")
    slope = float(xm @ (y - y.mean()) / sxx)
    intercept = float(y.mean() - slope * x.mean())
    residuals = y - (intercept + slope * x)
    error = math.sqrt(float(residuals @ residuals) / (m - 2) / sxx) if m > 2 else math.inf
    return slope, error, math.exp(intercept), used


def response(
    descriptor,
    atoms,
    centre: int = 0,
    t_values=None,
    *,
    path: str = "linear",
    direction=None,
    neighbour: int = 0,
    metric: str = "relative",
    seed: int = 0,
    cutoff: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Feature distance along a path: ``(t, distance, direction)`` (see :func:`path_vectors`)."""
    path_options = {"path": path, "direction": direction, "neighbour": neighbour, "seed": seed}
    _, _, t, distance, unit_field = _along_path(
        descriptor, atoms, centre, cutoff, t_values, metric, path_options
    )
    return t, distance, unit_field


def _along_path(descriptor, atoms, centre, cutoff, t_values, metric, path_options):
    """``(environment, evaluator, t, distance, direction)`` of :func:`response`."""
    env = as_environment(descriptor, atoms, centre, cutoff)
    evaluator = Evaluator(descriptor, env)
    t = _t_values(t_values)
    batch, unit_field = path_vectors(env.vectors, t, **path_options)
    values = evaluator.values(np.concatenate([env.vectors[None], batch]))
    return env, evaluator, t, response_distance(values[1:], values[0], metric), unit_field


def _t_values(t_values):
    t = np.logspace(-6, -3, 13) if t_values is None else np.asarray(t_values, dtype=float)
    t = t.reshape(-1)
    if t.size < 3 or np.any(~np.isfinite(t)) or np.any(t <= 0):
        raise InputError("t_values must be at least 3 positive finite displacements (Å)")
    return t


def scaling_exponent(
    descriptor,
    atoms,
    centre: int = 0,
    direction=None,
    t_values=None,
    *,
    path: str = "linear",
    neighbour: int = 0,
    metric: str = "relative",
    seed: int = 0,
    cutoff: float | None = None,
) -> ScalingFit:
    """Scaling exponent k of ``||f(x(t)) - f(x)|| ~ t^k`` at the environment of ``centre``.

    ``x(t)`` is the path of :func:`path_vectors` (``"linear"`` along ``direction``, or Onat et
    al.'s ``"radial"`` / ``"tangential"`` paths of neighbour ``neighbour``, J. Chem. Phys. 153,
    144106 (2020), doi:10.1063/5.0016005). The distance is ``||f(t) - f(0)|| / ||f(0)||`` by
    default. ``t_values`` (Å, default ``logspace(-6, -3, 13)``) set the fit window: keep them in
    the asymptotic (small-t) regime; points in the round-off region are excluded by the rule of
    :func:`fit_exponent`, with the round-off level measured by :func:`roundoff_level`.
    ``k = 1``: linear response; ``k = 2``: the first-order change vanishes along this path
    (symmetric reference, fold point).
    """
    path_options = {"path": path, "direction": direction, "neighbour": neighbour, "seed": seed}
    env, evaluator, t, distance, unit = _along_path(
        descriptor, atoms, centre, cutoff, t_values, metric, path_options
    )
    roundoff = _roundoff(evaluator, env.vectors, metric, 4, seed)
    k, error, prefactor, used = fit_exponent(t, distance, roundoff)
    order = np.argsort(t)
    with np.errstate(divide="ignore", invalid="ignore"):
        slopes = np.diff(np.log(distance[order])) / np.diff(np.log(t[order]))
    return ScalingFit(
        exponent=k,
        standard_error=error,
        prefactor=prefactor,
        t=t,
        distance=distance,
        used=used,
        roundoff=roundoff,
        local_slopes=slopes,
        path=path,
        direction=unit,
    )


def radial_jitter(
    atoms: ase.Atoms, centre: int, cutoff: float, amplitude: float = 0.02, seed: int = 0
) -> ase.Atoms:
    """A copy of ``atoms`` whose neighbours of ``centre`` are moved radially by up to ``amplitude``.

    Every atom within ``cutoff`` of the centre is moved along its bond so that its distance is
    multiplied by ``1 + U(-amplitude, amplitude)`` (seeded), the symmetry-breaking used by Onat
    et al. (2020) (+-2 %) to turn the quadratic tangential response of a perfect crystal into a
    linear one. The cell must be wider than twice the cutoff (each neighbour a distinct atom).
    """
    env = environment(atoms, centre=centre, cutoff=cutoff)
    if len(np.unique(env.neighbour_index)) != env.n_neighbours:
        raise InputError(
            "an atom appears several times (periodic images) in the environment; use a "
            "supercell wider than twice the cutoff"
        )
    rng = np.random.default_rng(seed)
    factors = 1.0 + rng.uniform(-amplitude, amplitude, size=env.n_neighbours)
    out = atoms.copy()
    # move each neighbour atom (not its image) by the change of its bond vector
    out.positions[env.neighbour_index] += env.vectors * (factors - 1.0)[:, None]
    return out

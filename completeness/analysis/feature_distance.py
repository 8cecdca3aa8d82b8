"""Feature distance of two structures, and the noise floor: how far a structure's features move
for copies of it known to a resolution (verdicts: :mod:`completeness.analysis.distance`).

Definitions
-----------
Relative feature distance (``scope="environment"``: the centre, atom 0, of each member)::

    d(+, -) = ||f+ - f-|| / max(||f+||, ||f-||)            (0 when both are zero)

the same relative difference as :func:`completeness.testing.relative_difference`.

For ``scope="global"`` (whole clouds) each member gives the multiset of its per-atom feature
vectors ``F+`` and ``F-`` (one row per atom). The distance is the relative Frobenius distance
after the optimal species-preserving assignment of rows (Hungarian algorithm,
:func:`scipy.optimize.linear_sum_assignment`, on squared Euclidean costs)::

    d(+, -) = min_pi sqrt(sum_i ||F+_i - F-_pi(i)||^2) / max(||F+||_F, ||F-||_F)

so two clouds are at distance 0 exactly when their multisets of atom-centred features agree.

Noise floor. Each member is copied ``n_transforms`` times: every coordinate moved uniformly within
``± rho`` (the pair's resolution), then a random rotation about its centre (or centroid), a random
permutation of its atoms (the centre stays atom 0 in environment scope) and a random translation
(seeded by the pair's name). The floor is the largest distance between a member and one of its
copies: the round-off of this descriptor on these structures, and its response to what the
coordinates cannot tell. A verdict never takes it below ``ROUND_OFF_FLOOR`` = 16 float64 machine
epsilons (3.6e-15): a relative difference of a few eps is what summing a few hundred terms of equal
size leaves behind in any implementation.
"""

from __future__ import annotations

import ase
import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.transform import Rotation

from ..descriptors.user import UserDescriptor, as_descriptor
from ..environments import InputError
from ..oracle import float64_resolution

__all__ = [
    "N_TRANSFORMS",
    "feature_distance",
    "feature_rows",
    "noise_floor",
    "noisy_copy",
    "random_copy",
    "scoped_distance",
]

#: Random rotation+permutation+translation copies of each member for the noise floor.
N_TRANSFORMS = 4


def feature_distance(a, b, *, numbers_a=None, numbers_b=None) -> float:
    """Relative distance between two feature vectors, or two multisets of feature rows.

    1-D inputs: ``||a - b|| / max(||a||, ||b||)``. 2-D inputs ``(n_atoms, n_features)``: the
    relative Frobenius distance after the optimal assignment of rows (within each species when
    ``numbers_a``/``numbers_b`` are given). Returns 0 when both are zero.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise InputError(f"feature arrays have different shapes {a.shape} and {b.shape}")
    scale = max(np.linalg.norm(a), np.linalg.norm(b))
    if scale == 0:
        return 0.0
    if a.ndim == 1:
        return float(np.linalg.norm(a - b) / scale)
    if a.ndim != 2:
        raise InputError(f"features must be 1-D or 2-D, got shape {a.shape}")
    if numbers_a is None:
        numbers_a = np.zeros(len(a), dtype=np.int64)
        numbers_b = np.zeros(len(b), dtype=np.int64)
    numbers_a, numbers_b = np.asarray(numbers_a), np.asarray(numbers_b)
    if not np.array_equal(np.sort(numbers_a), np.sort(numbers_b)):
        raise InputError("the two clouds have different compositions; compare equal atoms")
    total = 0.0
    for species in np.unique(numbers_a):
        rows_a = a[numbers_a == species]
        rows_b = b[numbers_b == species]
        cost = (
            np.einsum("if,if->i", rows_a, rows_a)[:, None]
            + np.einsum("jf,jf->j", rows_b, rows_b)[None, :]
            - 2.0 * rows_a @ rows_b.T
        )
        cost = np.maximum(cost, 0.0)
        rows, cols = linear_sum_assignment(cost)
        # recompute the matched differences exactly (the expanded cost loses digits)
        total += float(np.sum((rows_a[rows] - rows_b[cols]) ** 2))
    return float(np.sqrt(total) / scale)


def random_copy(atoms: ase.Atoms, rng: np.random.Generator, scope: str) -> ase.Atoms:
    """A randomly rotated (about the centre or centroid), permuted (centre kept first in
    environment scope) and translated copy of ``atoms``."""
    rotation = Rotation.random(random_state=rng).as_matrix()
    n = len(atoms)
    if scope == "environment":
        order = np.concatenate([[0], 1 + rng.permutation(n - 1)]) if n > 1 else np.arange(n)
        origin = atoms.positions[0]
    else:
        order = rng.permutation(n)
        origin = atoms.positions.mean(axis=0)
    out = atoms[order]
    shift = rng.normal(scale=2.0, size=3)
    out.positions = (atoms.positions[order] - origin) @ rotation.T + origin + shift
    return out


def noisy_copy(atoms: ase.Atoms, rng: np.random.Generator, resolution: float, scope: str):
    """A :func:`random_copy` of ``atoms`` with every coordinate first moved uniformly within
    ``± resolution``: what the coordinates cannot tell apart from ``atoms``."""
    moved = atoms.copy()
    moved.positions = atoms.positions + rng.uniform(-resolution, resolution, size=(len(atoms), 3))
    return random_copy(moved, rng, scope)


def noise_floor(
    descriptor,
    structures,
    *,
    scope: str = "environment",
    resolution: float | None = None,
    n_transforms=N_TRANSFORMS,
    seed=0,
):
    """Measured noise floor of ``descriptor`` on ``structures`` (before ``ROUND_OFF_FLOOR``).

    The largest distance between a structure and a copy perturbed within ``± resolution`` per
    coordinate (default: float64 round-off of its coordinates), then randomly rotated, permuted
    and translated.
    """
    user = as_descriptor(descriptor)
    rng = np.random.default_rng(seed)
    systems, reference = [], []
    for atoms in structures:
        original = len(systems)
        systems.append(atoms)
        reference.append(None)
        size = float64_resolution(atoms) if resolution is None else float(resolution)
        for _ in range(n_transforms):
            systems.append(noisy_copy(atoms, rng, size, scope))
            reference.append(original)
    rows = feature_rows(user, systems, scope)
    worst = 0.0
    for k, original in enumerate(reference):
        if original is not None:
            distance = scoped_distance(
                rows[original], rows[k], systems[original], systems[k], scope
            )
            worst = max(worst, distance)
    return worst


def feature_rows(user: UserDescriptor, systems, scope) -> list[np.ndarray]:
    """Per-system features: the centre row (environment) or all atom rows (global)."""
    if scope == "environment":
        values = user.compute(systems, centers=[0]).values
        return [values[k] for k in range(len(systems))]
    values = user.compute(systems).values
    offsets = np.concatenate([[0], np.cumsum([len(s) for s in systems])])
    return [values[offsets[k] : offsets[k + 1]] for k in range(len(systems))]


def scoped_distance(a, b, atoms_a, atoms_b, scope) -> float:
    if scope == "environment":
        return feature_distance(a, b)
    return feature_distance(a, b, numbers_a=atoms_a.numbers, numbers_b=atoms_b.numbers)

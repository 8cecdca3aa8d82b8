"""Reusable checks for any descriptor (invariance, gradients) and random environments for tests.

Users run these on their own descriptors exactly as the package's tests do::

    from completeness.testing import assert_invariant, assert_gradients
    assert_invariant(my_descriptor, atoms)
    assert_gradients(my_descriptor, atoms)

A descriptor here is anything the audit accepts
(:func:`completeness.descriptors.user.as_descriptor`): a
:class:`completeness.descriptors.Descriptor`, an object with ``compute(systems, centers=...,
gradients=...)`` returning ``values`` (and ``gradients`` when asked), or a plain callable
``(positions, numbers) -> vector`` whose row 0 is the centre. Every transformed copy (and every
displaced copy of the finite differences) is computed in one batch.

Reflection is checked as the descriptor
declares it: ``parity == "O(3)"`` means features are unchanged by a mirror; a descriptor that also
has ``feature_parity(species)`` (``+1`` for scalars, ``-1`` for pseudoscalars) is checked to flip
exactly the pseudoscalar features.
"""

from __future__ import annotations

import ase
import numpy as np
from scipy.spatial.transform import Rotation

from .numerics import central_differences

__all__ = [
    "assert_gradients",
    "assert_invariant",
    "finite_difference_gradients",
    "finite_difference_step",
    "random_cluster",
    "random_environment",
    "relative_difference",
]

#: Attributes that hold a descriptor's cutoff radii (Å).
_CUTOFF_NAMES = ("cutoff", "radial_cutoff", "angular_cutoff")


def relative_difference(a, b) -> float:
    """``||a - b|| / max(||a||, ||b||)`` (0 when both are zero): the package's relative distance."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    scale = max(np.linalg.norm(a), np.linalg.norm(b))
    if scale == 0:
        return 0.0
    return float(np.linalg.norm(a - b) / scale)


def _batch_values(user, systems, centres) -> np.ndarray:
    """Values of ``systems[k]`` at centre ``centres[k]`` (one row each), in one compute call."""
    return user.compute(list(systems), centers=[[int(c)] for c in centres]).values


def _user(descriptor):
    from .descriptors.user import as_descriptor

    return as_descriptor(descriptor)


def _transformed(atoms: ase.Atoms, matrix=None, shift=None, order=None) -> ase.Atoms:
    out = atoms.copy()
    if order is not None:
        out = out[order]
    positions = out.positions - atoms.positions.mean(axis=0)
    if matrix is not None:
        positions = positions @ matrix.T
        if np.any(out.pbc):
            out.set_cell(np.asarray(out.cell) @ matrix.T, scale_atoms=False)
    positions = positions + atoms.positions.mean(axis=0)
    if shift is not None:
        positions = positions + shift
    out.positions = positions
    return out


def assert_invariant(
    descriptor,
    atoms: ase.Atoms,
    centre: int = 0,
    *,
    n_trials: int = 3,
    rtol: float = 1e-12,
    seed: int = 0,
    reflection: bool = True,
) -> dict[str, float]:
    """Check rotation, permutation, translation (and reflection) invariance at one centre.

    Returns the largest relative difference seen for each operation; raises AssertionError when
    one exceeds ``rtol``. The centre is tracked through permutations.
    """
    rng = np.random.default_rng(seed)
    user = _user(descriptor)
    copies = [("reference", atoms, centre)]
    for _ in range(n_trials):
        rotation = Rotation.random(random_state=rng).as_matrix()
        copies.append(("rotation", _transformed(atoms, matrix=rotation), centre))
        order = rng.permutation(len(atoms))
        new_centre = int(np.flatnonzero(order == centre)[0])
        copies.append(("permutation", _transformed(atoms, order=order), new_centre))
        shift = rng.normal(scale=3.0, size=3)
        copies.append(("translation", _transformed(atoms, shift=shift), centre))
    if reflection:
        copies.append(("reflection", _transformed(atoms, matrix=np.diag([1.0, 1.0, -1.0])), centre))
    values = _batch_values(user, [c[1] for c in copies], [c[2] for c in copies])
    reference = values[0]
    signs = None
    feature_parity = getattr(user.wrapped, "feature_parity", None)
    if feature_parity is not None:
        signs = np.asarray(feature_parity(np.unique(atoms.numbers)), dtype=np.float64)
    worst: dict[str, float] = {}
    for (kind, _, _), row in zip(copies[1:], values[1:], strict=True):
        if kind == "reflection":
            if signs is not None:
                worst[kind] = relative_difference(reference * signs, row)
            elif user.parity == "O(3)":
                worst[kind] = relative_difference(reference, row)
            continue
        worst[kind] = max(worst.get(kind, 0.0), relative_difference(reference, row))

    failed = {kind: error for kind, error in worst.items() if not error <= rtol}
    if failed:
        name = user.name
        details = ", ".join(f"{kind} {error:.2e}" for kind, error in failed.items())
        raise AssertionError(f"{name} is not invariant to rtol={rtol:g}: {details}")
    return worst


def finite_difference_gradients(descriptor, atoms: ase.Atoms, centers, step: float = 1e-5):
    """Central differences of the values w.r.t. every atom position (one batched compute).

    Returns an array of shape ``(n_samples, n_atoms, 3, n_features)`` (the Features layout).
    """
    user = _user(descriptor)
    centers = list(range(len(atoms))) if centers is None else [int(c) for c in centers]

    def values(batch):  # every displaced copy in one compute call
        displaced = []
        for positions in batch:
            copy = atoms.copy()
            copy.positions = positions
            displaced.append(copy)
        computed = user.compute(displaced, centers=[centers] * len(displaced)).values
        return computed.reshape(len(batch), len(centers), -1)

    derivatives = central_differences(values, atoms.positions, step)  # (atom, axis, sample, F)
    return np.ascontiguousarray(derivatives.transpose(2, 0, 1, 3))


def finite_difference_step(descriptor, atoms: ase.Atoms, step: float = 1e-5) -> float:
    """The central-difference step for ``atoms``: ``step``, or a quarter of the smallest gap
    between an interatomic distance and one of the descriptor's cutoffs when that is smaller.

    A displacement of ``step`` moves a distance by at most ``2 step``: with the step a quarter of
    the gap no displaced copy crosses a cutoff, so correct gradients of atoms next to the
    cutoff pass (a difference across the cutoff measures the cutoff function's kink instead).
    """
    from ase.neighborlist import neighbor_list

    cutoffs = [
        float(value)
        for name in _CUTOFF_NAMES
        if isinstance(value := getattr(descriptor, name, None), (int, float, np.floating))
        and np.isfinite(value)
        and value > 0
    ]
    if not cutoffs or len(atoms) < 2:
        return float(step)
    distances = neighbor_list("d", atoms, max(cutoffs) + 4 * step)
    if distances.size == 0:
        return float(step)
    gap = min(float(np.min(np.abs(distances - cutoff))) for cutoff in cutoffs)
    return float(min(step, gap / 4)) if gap > 0 else float(step)


def assert_gradients(
    descriptor,
    atoms: ase.Atoms,
    centers=None,
    *,
    step: float = 1e-5,
    rtol: float = 1e-6,
) -> float:
    """Check analytic gradients against central differences; return the relative error.

    The step is ``step`` or smaller next to a cutoff (:func:`finite_difference_step`). Fails
    when the relative difference ``||g - g_fd|| / ||g_fd||`` exceeds ``rtol``, and also when the
    analytic gradient is identically zero while the finite-difference one is not (a descriptor
    that silently returns zeros must not pass).
    """
    if centers is None:
        centers = list(range(len(atoms)))
    step = finite_difference_step(descriptor, atoms, step)
    features = descriptor.compute(atoms, centers=centers, gradients=True)
    name = getattr(descriptor, "name", type(descriptor).__name__)
    if getattr(features, "gradients", None) is None:
        raise AssertionError(f"{name}.compute(..., gradients=True) returned no gradients")
    analytic = np.asarray(features.gradients)[:, : len(atoms)]
    numeric = finite_difference_gradients(descriptor, atoms, centers, step)
    if analytic.shape != numeric.shape:
        raise AssertionError(
            f"{name} gradients have shape {analytic.shape}, expected {numeric.shape}"
        )
    if not np.any(analytic) and np.any(np.abs(numeric) > 1e-8):
        raise AssertionError(
            f"{name} returned an all-zero gradient; finite differences are not zero"
        )
    error = relative_difference(numeric, analytic)
    if not error <= rtol:
        raise AssertionError(
            f"{name} analytic gradients differ from central differences: relative error "
            f"{error:.2e} > rtol={rtol:g}"
        )
    return error


# ---- random environments for tests and checks -------------------------------------------------


def random_environment(rng, n_neighbours, radius=4.0, species=(1,), centre=6, min_gap=0.0):
    """A centre (atom 0, species ``centre``) at the origin and ``n_neighbours`` neighbours with
    random directions and radii between ``radius / 4^(1/3)`` and ``radius`` (uniform in volume);
    neighbour species cycle through ``species``. With ``min_gap`` > 0 the draw is repeated (up
    to 1000 times) until no two neighbours are closer than ``min_gap``."""
    for _ in range(1000):
        vectors = rng.normal(size=(n_neighbours, 3))
        vectors *= (
            radius
            * rng.uniform(0.25, 1.0, size=n_neighbours) ** (1 / 3)
            / np.linalg.norm(vectors, axis=1)
        )[:, None]
        if n_neighbours < 2 or min_gap <= 0:
            break
        gaps = np.linalg.norm(vectors[:, None] - vectors[None], axis=-1)
        if gaps[np.triu_indices(n_neighbours, 1)].min() > min_gap:
            break
    numbers = [centre] + [species[k % len(species)] for k in range(n_neighbours)]
    return ase.Atoms(numbers=numbers, positions=np.vstack([np.zeros(3), vectors]))


def random_cluster(seed, n_neighbours=7, radius=3.8, species=(1, 6, 8), min_distance=0.7):
    """A centre (atom 0) at the origin and ``n_neighbours`` points uniform in a ball of
    ``radius``, no two atoms closer than ``min_distance``; species drawn from ``species``, the
    first neighbours covering every species. ``seed``: an int or a numpy Generator."""
    rng = np.random.default_rng(seed)
    points = [np.zeros(3)]
    while len(points) < n_neighbours + 1:
        candidate = rng.uniform(-radius, radius, 3)
        if np.linalg.norm(candidate) > radius:
            continue
        if min(np.linalg.norm(candidate - p) for p in points) < min_distance:
            continue
        points.append(candidate)
    numbers = rng.choice(species, size=len(points))
    covered = min(len(species), n_neighbours)
    numbers[1 : 1 + covered] = list(species)[:covered]
    return ase.Atoms(numbers=numbers, positions=np.array(points))

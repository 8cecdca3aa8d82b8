"""Reusable checks for any descriptor: invariance and gradients.

Users run these on their own descriptors exactly as the package's tests do::

    from completeness.testing import assert_invariant, assert_gradients
    assert_invariant(my_descriptor, atoms)
    assert_gradients(my_descriptor, atoms)

A descriptor here is anything with ``compute(systems, centers=..., gradients=...)`` returning an
object with ``values`` (and ``gradients`` when asked), as
:class:`completeness.descriptors.Descriptor` does. Reflection is checked as the descriptor
declares it: ``parity == "O(3)"`` means features are unchanged by a mirror; a descriptor that also
has ``feature_parity(species)`` (``+1`` for scalars, ``-1`` for pseudoscalars) is checked to flip
exactly the pseudoscalar features.
"""

from __future__ import annotations

import ase
import numpy as np
from scipy.spatial.transform import Rotation

__all__ = [
    "assert_gradients",
    "assert_invariant",
    "finite_difference_gradients",
    "finite_difference_step",
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


def _values(descriptor, atoms, centre):
    return np.asarray(descriptor.compute(atoms, centers=[centre]).values, dtype=np.float64)


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
    reference = _values(descriptor, atoms, centre)
    worst: dict[str, float] = {}

    def record(kind, other):
        error = relative_difference(reference, other)
        worst[kind] = max(worst.get(kind, 0.0), error)

    for _ in range(n_trials):
        rotation = Rotation.random(random_state=rng).as_matrix()
        record("rotation", _values(descriptor, _transformed(atoms, matrix=rotation), centre))
        order = rng.permutation(len(atoms))
        new_centre = int(np.flatnonzero(order == centre)[0])
        record("permutation", _values(descriptor, _transformed(atoms, order=order), new_centre))
        shift = rng.normal(scale=3.0, size=3)
        record("translation", _values(descriptor, _transformed(atoms, shift=shift), centre))

    if reflection:
        mirror = np.diag([1.0, 1.0, -1.0])
        mirrored = _values(descriptor, _transformed(atoms, matrix=mirror), centre)
        parity = getattr(descriptor, "parity", None)
        feature_parity = getattr(descriptor, "feature_parity", None)
        if feature_parity is not None:
            species = np.unique(atoms.numbers)
            signs = np.asarray(feature_parity(species), dtype=np.float64)
            worst["reflection"] = relative_difference(reference * signs, mirrored)
        elif parity == "O(3)":
            worst["reflection"] = relative_difference(reference, mirrored)

    failed = {kind: error for kind, error in worst.items() if not error <= rtol}
    if failed:
        name = getattr(descriptor, "name", type(descriptor).__name__)
        details = ", ".join(f"{kind} {error:.2e}" for kind, error in failed.items())
        raise AssertionError(f"{name} is not invariant to rtol={rtol:g}: {details}")
    return worst


def finite_difference_gradients(descriptor, atoms: ase.Atoms, centers, step: float = 1e-5):
    """Central differences of ``compute(...).values`` w.r.t. every atom position.

    Returns an array of shape ``(n_samples, n_atoms, 3, n_features)`` (the Features layout).
    """
    base = np.asarray(descriptor.compute(atoms, centers=centers).values)
    out = np.zeros((base.shape[0], len(atoms), 3, base.shape[1]))
    for atom in range(len(atoms)):
        for axis in range(3):
            plus, minus = atoms.copy(), atoms.copy()
            plus.positions[atom, axis] += step
            minus.positions[atom, axis] -= step
            f_plus = np.asarray(descriptor.compute(plus, centers=centers).values)
            f_minus = np.asarray(descriptor.compute(minus, centers=centers).values)
            out[:, atom, axis, :] = (f_plus - f_minus) / (2 * step)
    return out


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

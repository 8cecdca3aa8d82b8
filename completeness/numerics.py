"""Shared numerics, one home each: rigid alignment (Kabsch) and central differences.

This module imports nothing of the package (floor 1 of docs/architecture.md), so that every
floor can use it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["central_differences", "kabsch", "rotation_from_covariance"]


def rotation_from_covariance(covariance: np.ndarray, determinant: int | None = 1) -> np.ndarray:
    """The orthogonal ``R`` maximising ``trace(R H)`` for ``H = covariance`` (3 x 3).

    Kabsch, Acta Cryst. A 32, 922 (1976), doi:10.1107/S0567739476001873: with
    ``H = U S V^T``, ``R = V diag(1, 1, s) U^T``. ``determinant=1`` gives the best proper
    rotation and ``-1`` the best improper map (``s`` flips the smallest singular value when
    needed); ``None`` the best orthogonal map of either kind (``s = 1``). Guard: when
    ``det(V U^T)`` is zero to round-off (a degenerate ``H``, e.g. coplanar points), its sign is
    taken as +1 instead of 0, so the result is always orthogonal.
    """
    u, _, vt = np.linalg.svd(np.asarray(covariance, dtype=np.float64))
    s = 1.0
    if determinant is not None:
        s = float(determinant) * (np.sign(np.linalg.det(vt.T @ u.T)) or 1.0)
    return vt.T @ np.diag([1.0, 1.0, s]) @ u.T


def kabsch(p: np.ndarray, q: np.ndarray, determinant: int | None = 1) -> np.ndarray:
    """Orthogonal ``R`` minimising ``sum_j |R p_j - q_j|^2`` (``p``, ``q``: ``(n, 3)``, already
    centred); ``determinant`` as in :func:`rotation_from_covariance`. Empty point sets give the
    identity (or the reflection ``diag(1, 1, -1)`` for ``determinant=-1``)."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    if len(p) == 0:
        return np.diag([1.0, 1.0, -1.0 if determinant == -1 else 1.0])
    return rotation_from_covariance(p.T @ q, determinant)


def central_differences(function, x, step: float = 1e-5, *, with_value: bool = False):
    """Derivatives of ``function`` at ``x`` by central differences, in one batched call.

    ``function`` takes a batch ``(m, *x.shape)`` and returns ``(m, *f_shape)``. Returns the
    derivatives as ``(*x.shape, *f_shape)`` (``d f / d x[i]`` at index ``i``), and with
    ``with_value`` also ``f(x)`` (evaluated in the same batch, first). The truncation error is
    ``O(step^2)``, the round-off ``O(eps / step)``.
    """
    x = np.asarray(x, dtype=np.float64)
    size = x.size
    displacements = (np.eye(size) * step).reshape(size, *x.shape)
    displaced = [x + displacements, x - displacements]
    batch = np.concatenate([x[None], *displaced] if with_value else displaced)
    values = np.asarray(function(batch))
    first = 1 if with_value else 0
    plus, minus = values[first : first + size], values[first + size :]
    derivatives = ((plus - minus) / (2 * step)).reshape(*x.shape, *values.shape[1:])
    return (values[0], derivatives) if with_value else derivatives

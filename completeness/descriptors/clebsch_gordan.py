"""Clebsch-Gordan coupling of real spherical harmonics (sphericart's convention).

Real spherical harmonics
------------------------
sphericart computes the real harmonics of the Wikipedia article "Spherical harmonics, real
form", stored as ``m = -l..l``. In terms of scipy's complex harmonics ``Y_l^m`` (which contain the
Condon-Shortley phase)::

    Y_{l,m}  = sqrt(2) (-1)^m Re Y_l^m     (m > 0)
    Y_{l,0}  = Y_l^0
    Y_{l,-m} = sqrt(2) (-1)^m Im Y_l^m     (m > 0)

i.e. ``Y_real = U_l @ Y_complex`` with the unitary matrix :func:`complex_to_real_matrix`::

    U[m, m] = (-1)^m / sqrt 2,  U[m, -m] = 1 / sqrt 2                   (m > 0)
    U[0, 0] = 1
    U[-m, -m] = i / sqrt 2,     U[-m, m] = -i (-1)^m / sqrt 2           (m > 0)

(pinned by ``tests/test_clebsch_gordan.py`` against scipy).

Real coupling coefficients
--------------------------
Complex Clebsch-Gordan coefficients ``<l1 m1 l2 m2 | l3 m3>`` (from ``wigners``) couple two
objects that transform like complex harmonics into a third. Expressed for real components
``a = U_{l1} A``, ``b = U_{l2} B``, the coupled real object ``t = U_{l3} T`` is
``t_{m3} = sum_{m1 m2} K_{m1 m2 m3} a_{m1} b_{m2}`` with::

    K_{m1 m2 m3} = sum_{mu} conj(U_{l1})[m1, mu1] conj(U_{l2})[m2, mu2] U_{l3}[m3, mu3]
                   <l1 mu1 l2 mu2 | l3 mu3>

``K`` is purely real when ``l1 + l2 + l3`` is even and purely imaginary when it is odd. We
return the real tensor ``Re K`` (even) or ``Im K = -i K`` (odd): multiplying by the constant
``-i`` does not change equivariance, so in both cases :func:`real_clebsch_gordan` maps two real
equivariants of orders ``l1, l2`` to a real equivariant of order ``l3`` and is orthonormal::

    sum_{m1 m2} C_{m1 m2 m3} C_{m1 m2 m3'} = delta_{m3 m3'}

For odd ``l1 + l2 + l3`` the coupled object has the opposite inversion parity to a proper
order-``l3`` tensor (e.g. ``l1 = l2 = l3 = 1`` gives the cross product ``a x b / sqrt 2``, a
pseudovector). The coupling of ``Y_{l1}(r)`` with ``Y_{l2}(r)`` at the same point is the Gaunt
relation ``sqrt((2 l1 + 1)(2 l2 + 1) / (4 pi (2 l3 + 1))) <l1 0 l2 0 | l3 0> Y_{l3}(r)``, which
vanishes for odd ``l1 + l2 + l3``.

Reference: D. A. Varshalovich, A. N. Moskalev, V. K. Khersonskii, *Quantum Theory of Angular
Momentum* (World Scientific, 1988), doi:10.1142/0270; real-harmonic coupling as in
M. J. Willatt, F. Musil, M. Ceriotti, J. Chem. Phys. 150, 154110 (2019),
doi:10.1063/1.5090481.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import wigners

__all__ = [
    "complex_to_real_matrix",
    "couple",
    "coupling_is_odd",
    "real_clebsch_gordan",
    "triangle",
]


def triangle(l1: int, l2: int, l3: int) -> bool:
    """True when ``|l1 - l2| <= l3 <= l1 + l2`` (the coupling is allowed)."""
    return abs(l1 - l2) <= l3 <= l1 + l2


def coupling_is_odd(l1: int, l2: int, l3: int) -> bool:
    """True when ``l1 + l2 + l3`` is odd (the complex coupling is imaginary, see module doc)."""
    return (l1 + l2 + l3) % 2 == 1


@cache
def complex_to_real_matrix(l: int) -> np.ndarray:
    """Unitary ``U_l`` with ``Y_real = U_l @ Y_complex`` (rows/columns ordered ``m = -l..l``)."""
    if l < 0:
        raise ValueError(f"l must be >= 0, got {l}")
    u = np.zeros((2 * l + 1, 2 * l + 1), dtype=np.complex128)
    u[l, l] = 1.0
    s = 1.0 / np.sqrt(2.0)
    for m in range(1, l + 1):
        sign = (-1.0) ** m
        u[l + m, l + m] = sign * s
        u[l + m, l - m] = s
        u[l - m, l - m] = 1j * s
        u[l - m, l + m] = -1j * sign * s
    u.setflags(write=False)
    return u


@cache
def real_clebsch_gordan(l1: int, l2: int, l3: int) -> np.ndarray:
    """Real coupling tensor ``C[m1, m2, m3]`` (shape ``(2l1+1, 2l2+1, 2l3+1)``), cached.

    ``t_{m3} = sum C[m1, m2, m3] a_{m1} b_{m2}`` is a real order-``l3`` equivariant when ``a``,
    ``b`` are real order-``l1``, ``l2`` equivariants in sphericart's convention. Equals
    ``Re K`` for even and ``Im K`` for odd ``l1 + l2 + l3`` (``K`` defined in the module doc).
    Raises ``ValueError`` when the triangle condition fails.
    """
    if min(l1, l2, l3) < 0 or not triangle(l1, l2, l3):
        raise ValueError(f"(l1, l2, l3) = ({l1}, {l2}, {l3}) violates |l1-l2| <= l3 <= l1+l2")
    cg = wigners.clebsch_gordan_array(l1, l2, l3)
    u1 = complex_to_real_matrix(l1)
    u2 = complex_to_real_matrix(l2)
    u3 = complex_to_real_matrix(l3)
    k = np.einsum("ai,bj,ck,ijk->abc", u1.conj(), u2.conj(), u3, cg, optimize=True)
    if coupling_is_odd(l1, l2, l3):
        real, rest = k.imag.copy(), k.real
    else:
        real, rest = k.real.copy(), k.imag
    # the other part vanishes analytically; anything above round-off is a convention bug
    if np.abs(rest).max(initial=0.0) > 1e-12:
        raise AssertionError(f"real coupling ({l1}, {l2}, {l3}) is not purely real/imaginary")
    real[np.abs(real) < 1e-15] = 0.0
    real.setflags(write=False)
    return real


def couple(a: np.ndarray, b: np.ndarray, l3: int) -> np.ndarray:
    """Couple the last axes of ``a`` (order l1) and ``b`` (order l2) to order ``l3``.

    ``a`` and ``b`` broadcast over their leading axes; returns ``(..., 2 l3 + 1)``.
    """
    l1 = (a.shape[-1] - 1) // 2
    l2 = (b.shape[-1] - 1) // 2
    return np.einsum("...i,...j,ijk->...k", a, b, real_clebsch_gordan(l1, l2, l3))

r"""Radial bases of the spherical expansion, the smooth cutoff, and their splines.

The spherical expansion of the neighbour density of a centre ``i`` is

.. math::

    c^a_{nlm}(i) = \sum_{j \in i,\, a_j = a} f_c(r_{ij})\, I_{nl}(r_{ij})\, Y_{lm}(\hat r_{ij}),

with real spherical harmonics :math:`Y_{lm}` (sphericart), a smooth cutoff :math:`f_c` and a
*radial integral* :math:`I_{nl}(r)` that depends on the basis and on the density of one atom:

``"gto"``
    SOAP's Gaussian density (Bartók, Kondor, Csányi, PRB 87, 184115 (2013),
    doi:10.1103/PhysRevB.87.184115) projected on orthonormalised Gaussian-type orbitals, the
    convention of librascal/featomic. Each neighbour contributes the normalised Gaussian
    :math:`g(\mathbf x) = (\pi\sigma^2)^{-3/4} \exp(-|\mathbf x - \mathbf r|^2 / 2\sigma^2)`
    (:math:`\sigma` = ``density_width``). Primitive orbitals
    :math:`R_n(x) = N_n x^n \exp(-b_n x^2)`, :math:`b_n = 1/(2\sigma_n^2)`,
    :math:`\sigma_n = r_c \max(\sqrt n, 1) / n_{radial}` (:math:`n = 0 \dots n_{radial}-1`),
    :math:`N_n^2 = 2 / (\sigma_n^{2n+3}\Gamma(n + 3/2))`, are Löwdin-orthonormalised with the
    overlap :math:`S` (:math:`\tilde R = S^{-1/2} R`). With :math:`a = 1/(2\sigma^2)` the integral
    :math:`\int d^3x\, g(\mathbf x) R_n(x) Y_{lm}(\hat x) = I_{nl}(r) Y_{lm}(\hat r)` is

    .. math::

        I_{nl}(r) = (\pi\sigma^2)^{-3/4}\, 4\pi\, N_n \frac{\sqrt\pi}{4}
            \frac{\Gamma(\frac{n+l+3}{2})}{\Gamma(l+\frac32)}
            \frac{(a r)^l}{(a+b_n)^{(n+l+3)/2}}\,
            e^{-a r^2}\, {}_1F_1\!\left(\tfrac{n+l+3}{2}; l+\tfrac32;
            \tfrac{a^2 r^2}{a+b_n}\right),

    evaluated through Kummer's transformation
    :math:`e^{-ar^2}{}_1F_1(\alpha;\beta;z) = e^{z-ar^2}{}_1F_1(\beta-\alpha;\beta;-z)` so that
    no intermediate overflows; then rotated by :math:`S^{-1/2}`.

``"spherical_bessel"``
    Laplacian eigenstates in a sphere of radius :math:`r_c` (Bigi, Huguenin-Dumittan, Ceriotti,
    Manolopoulos, JCP 157, 234101 (2022), doi:10.1063/5.0124363) with a delta density, so the
    radial integral is the basis function itself:
    :math:`I_{nl}(r) = N_{nl}\, j_l(z_{nl} r / r_c)`, :math:`z_{nl}` the (n+1)-th positive zero of
    :math:`j_l`, :math:`N_{nl} = \sqrt{2 / r_c^3} / |j_{l+1}(z_{nl})|` (orthonormal on
    :math:`[0, r_c]` with weight :math:`r^2`).

Both are tabulated once per set of hyperparameters and evaluated with a cubic Hermite spline in
``r`` (values and exact first derivatives at the nodes); the grid is refined until the spline
error at the interval midpoints is below ``SPLINE_ACCURACY`` relative to the largest value.

The cutoff is featomic's *shifted cosine*: :math:`f_c = 1` for :math:`r < r_c - w`,
:math:`\frac12[1 + \cos(\pi (r - r_c + w) / w)]` for :math:`r_c - w \le r < r_c`, 0 beyond
(:math:`w` = ``cutoff_width``); it is :math:`C^1`, so features and gradients are continuous when
an atom crosses the cutoff.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import special
from scipy.optimize import brentq

from ..environments import InputError

__all__ = [
    "RADIAL_BASES",
    "SPLINE_ACCURACY",
    "RadialSpline",
    "gto_radial_integral",
    "radial_spline",
    "shifted_cosine_cutoff",
    "spherical_bessel_radial_integral",
    "spherical_bessel_zeros",
]

#: Names accepted by the ``radial_basis`` hyperparameter.
RADIAL_BASES = ("gto", "spherical_bessel")

#: Target maximum spline error, relative to the largest absolute value of the tabulated functions.
SPLINE_ACCURACY = 1e-10


# --------------------------------------------------------------------------------------------
# cutoff
# --------------------------------------------------------------------------------------------


def shifted_cosine_cutoff(distances, cutoff: float, cutoff_width: float, derivative=True):
    """Shifted-cosine cutoff function and its derivative with respect to the distance.

    Returns ``(f, df/dr)`` with the shapes of ``distances`` (``df/dr`` None when
    ``derivative`` is False).
    """
    r = np.asarray(distances, dtype=np.float64)
    f = np.empty_like(r)
    f.fill(1.0)
    df = np.zeros_like(r) if derivative else None
    if cutoff_width > 0:
        start = cutoff - cutoff_width
        inside = r > start
        phase = np.pi * (r[inside] - start) / cutoff_width
        f[inside] = 0.5 * (1.0 + np.cos(phase))
        if derivative:
            df[inside] = -0.5 * np.pi / cutoff_width * np.sin(phase)
    outside = r >= cutoff
    f[outside] = 0.0
    if derivative:
        df[outside] = 0.0
    return f, df


# --------------------------------------------------------------------------------------------
# closed forms
# --------------------------------------------------------------------------------------------


def _gto_orthonormalisation(cutoff: float, n_radial: int):
    """``(b_n, N_n, S^{-1/2})`` of the GTO basis (see the module docstring)."""
    n = np.arange(n_radial, dtype=np.float64)
    sigma = cutoff * np.maximum(np.sqrt(n), 1.0) / n_radial
    b = 1.0 / (2.0 * sigma**2)
    norm = np.sqrt(2.0 / (sigma ** (2 * n + 3) * special.gamma(n + 1.5)))
    # S_nn' = N_n N_n' Gamma((n+n'+3)/2) / (2 (b_n + b_n')^((n+n'+3)/2))
    s = 0.5 * (n[:, None] + n[None, :] + 3)
    overlap = (
        norm[:, None] * norm[None, :] * special.gamma(s) / (2 * (b[:, None] + b[None, :]) ** s)
    )
    eigenvalues, eigenvectors = np.linalg.eigh(overlap)
    if eigenvalues.min() <= 1e-14 * eigenvalues.max():
        raise InputError(
            f"the GTO basis with n_radial={n_radial} is numerically linearly dependent; use "
            "n_radial <= 20 or radial_basis='spherical_bessel'"
        )
    inverse_sqrt = (eigenvectors / np.sqrt(eigenvalues)) @ eigenvectors.T
    return b, norm, inverse_sqrt


def gto_radial_integral(
    distances, n_radial: int, max_angular: int, cutoff: float, density_width: float
):
    """Closed-form Gaussian-density GTO radial integral ``I_nl(r)`` and ``dI_nl/dr``.

    Returns two arrays of shape ``(len(distances), n_radial, max_angular + 1)``.
    """
    r = np.asarray(distances, dtype=np.float64).reshape(-1)
    b, norm, inverse_sqrt = _gto_orthonormalisation(cutoff, n_radial)
    a = 1.0 / (2.0 * density_width**2)
    prefactor_density = (np.pi * density_width**2) ** -0.75 * 4 * np.pi * np.sqrt(np.pi) / 4
    values = np.zeros((len(r), n_radial, max_angular + 1))
    derivatives = np.zeros_like(values)
    for n in range(n_radial):
        p = a + b[n]
        z = a * a * r * r / p
        damping = np.exp(z - a * r * r)  # exp(-a b r^2 / p) <= 1
        dz = 2 * a * a * r / p  # dz/dr
        for l in range(max_angular + 1):
            alpha = 0.5 * (n + l + 3)
            beta = l + 1.5
            constant = (
                prefactor_density
                * norm[n]
                * math.exp(math.lgamma(alpha) - math.lgamma(beta))
                * a**l
                / p**alpha
            )
            # e^{-a r^2} 1F1(alpha; beta; z) = e^{z - a r^2} 1F1(beta - alpha; beta; -z)
            hyp = damping * special.hyp1f1(beta - alpha, beta, -z)
            # d/dz 1F1(alpha; beta; z) = alpha/beta 1F1(alpha+1; beta+1; z)
            dhyp_dz = damping * (alpha / beta) * special.hyp1f1(beta - alpha, beta + 1, -z)
            power = r**l
            dpower = l * r ** (l - 1) if l > 0 else np.zeros_like(r)
            values[:, n, l] = constant * power * hyp
            derivatives[:, n, l] = constant * (
                dpower * hyp + power * (dhyp_dz * dz - 2 * a * r * hyp)
            )
    # Löwdin orthonormalisation acts on n
    values = np.einsum("kn,rnl->rkl", inverse_sqrt, values)
    derivatives = np.einsum("kn,rnl->rkl", inverse_sqrt, derivatives)
    return values, derivatives


@lru_cache(maxsize=64)
def spherical_bessel_zeros(n_radial: int, max_angular: int) -> np.ndarray:
    """First ``n_radial`` positive zeros of ``j_l`` for ``l = 0..max_angular``: ``(n, l)`` array.

    Found by bracketing sign changes on a fine grid and refining with Brent's method.
    """
    zeros = np.zeros((n_radial, max_angular + 1))
    for l in range(max_angular + 1):
        # zeros of j_l lie beyond l and are spaced by about pi
        upper = (n_radial + l + 2) * np.pi
        x = np.linspace(1e-3, upper, int(upper * 64))
        y = special.spherical_jn(l, x)
        change = np.flatnonzero(np.sign(y[:-1]) * np.sign(y[1:]) < 0)[:n_radial]
        for n, k in enumerate(change):
            zeros[n, l] = brentq(
                lambda t, l=l: special.spherical_jn(l, t),
                x[k],
                x[k + 1],
                xtol=1e-15,
                rtol=4 * np.finfo(float).eps,
            )
    return zeros


def spherical_bessel_radial_integral(distances, n_radial: int, max_angular: int, cutoff: float):
    """Laplacian-eigenstate basis ``N_nl j_l(z_nl r / r_c)`` and its ``r`` derivative.

    Returns two arrays of shape ``(len(distances), n_radial, max_angular + 1)``.
    """
    r = np.asarray(distances, dtype=np.float64).reshape(-1)
    zeros = spherical_bessel_zeros(n_radial, max_angular)
    values = np.zeros((len(r), n_radial, max_angular + 1))
    derivatives = np.zeros_like(values)
    for l in range(max_angular + 1):
        k = zeros[:, l] / cutoff
        norm = np.sqrt(2.0 / cutoff**3) / np.abs(special.spherical_jn(l + 1, zeros[:, l]))
        x = r[:, None] * k[None, :]
        values[:, :, l] = norm * special.spherical_jn(l, x)
        derivatives[:, :, l] = norm * k * special.spherical_jn(l, x, derivative=True)
    return values, derivatives


# --------------------------------------------------------------------------------------------
# splines
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RadialSpline:
    """Cubic Hermite spline of ``I_nl(r)`` on a uniform grid ``[0, cutoff]``.

    ``coefficients[k]`` holds the cubic polynomial of interval ``k`` in the local variable
    ``t = (r - r_k) / spacing``: ``I = c0 + t (c1 + t (c2 + t c3))`` (shape ``(n_intervals, 4,
    n_radial * (max_angular + 1))``). ``max_error`` is the measured midpoint error relative to
    the largest value.
    """

    spacing: float
    n_intervals: int
    n_radial: int
    max_angular: int
    coefficients: np.ndarray
    max_error: float

    def __call__(self, distances, derivatives: bool = True):
        """``(I, dI/dr)``, each ``(len(distances), n_radial, max_angular + 1)``.

        ``dI/dr`` is None when ``derivatives`` is False.
        """
        r = np.asarray(distances, dtype=np.float64).reshape(-1)
        # beyond the grid (r > cutoff, where the cutoff function is zero anyway) stay finite
        position = np.minimum(r / self.spacing, self.n_intervals)
        index = np.minimum(position.astype(np.int64), self.n_intervals - 1)
        t = position - index
        c = self.coefficients[index]  # (P, 4, F)
        c0, c1, c2, c3 = c[:, 0], c[:, 1], c[:, 2], c[:, 3]
        shape = (len(r), self.n_radial, self.max_angular + 1)
        t = t[:, None]
        values = c3 * t  # Horner: c0 + t (c1 + t (c2 + t c3))
        values += c2
        values *= t
        values += c1
        values *= t
        values += c0
        if not derivatives:
            return values.reshape(shape), None
        slopes = c3 * (3.0 * t)  # (c1 + t (2 c2 + 3 t c3)) / spacing
        slopes += 2.0 * c2
        slopes *= t
        slopes += c1
        slopes *= 1.0 / self.spacing
        return values.reshape(shape), slopes.reshape(shape)


def _hermite_coefficients(values, derivatives, spacing):
    y0, y1 = values[:-1], values[1:]
    m0, m1 = derivatives[:-1] * spacing, derivatives[1:] * spacing
    c2 = 3 * (y1 - y0) - 2 * m0 - m1
    c3 = 2 * (y0 - y1) + m0 + m1
    return np.stack([y0, m0, c2, c3], axis=1)


def _build_spline(function, cutoff, n_radial, max_angular, accuracy=SPLINE_ACCURACY):
    n_intervals = 128
    while True:
        grid = np.linspace(0.0, cutoff, n_intervals + 1)
        spacing = cutoff / n_intervals
        values, derivatives = function(grid)
        flat_values = values.reshape(len(grid), -1)
        flat_derivatives = derivatives.reshape(len(grid), -1)
        spline = RadialSpline(
            spacing=spacing,
            n_intervals=n_intervals,
            n_radial=n_radial,
            max_angular=max_angular,
            coefficients=_hermite_coefficients(flat_values, flat_derivatives, spacing),
            max_error=np.inf,
        )
        midpoints = grid[:-1] + 0.5 * spacing
        exact, _ = function(midpoints)
        approximate, _ = spline(midpoints)
        scale = np.abs(flat_values).max()
        error = float(np.abs(exact - approximate).max() / scale) if scale > 0 else 0.0
        if error < accuracy or n_intervals >= 2**16:
            return RadialSpline(
                spacing=spacing,
                n_intervals=n_intervals,
                n_radial=n_radial,
                max_angular=max_angular,
                coefficients=spline.coefficients,
                max_error=error,
            )
        # Hermite error ~ h^4: jump straight to the predicted size, with a margin
        factor = (error / accuracy) ** 0.25 * 1.2
        n_intervals = int(min(2**16, max(2 * n_intervals, math.ceil(n_intervals * factor))))


@lru_cache(maxsize=32)
def radial_spline(
    radial_basis: str, cutoff: float, n_radial: int, max_angular: int, density_width: float
) -> RadialSpline:
    """The (cached) spline of the radial integral for validated hyperparameters."""
    if radial_basis == "gto":

        def function(r):
            return gto_radial_integral(r, n_radial, max_angular, cutoff, density_width)

    elif radial_basis == "spherical_bessel":

        def function(r):
            return spherical_bessel_radial_integral(r, n_radial, max_angular, cutoff)

    else:
        raise InputError(f"unknown radial_basis {radial_basis!r}; use one of {RADIAL_BASES}")
    return _build_spline(function, cutoff, n_radial, max_angular)

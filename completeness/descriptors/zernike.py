r"""AMP's Zernike descriptor: rotation invariants of the 3D Zernike moments of the neighbours.

Khorshidi & Peterson (AMP, Comput. Phys. Commun. 207, 310 (2016),
doi:10.1016/j.cpc.2016.05.010) expand the neighbour density of a centre ``i`` in the 3D Zernike
functions of Novotni & Klein ("3D Zernike descriptors for content based shape retrieval",
Computer-Aided Design 36, 1047-1062 (2004), the reference AMP's code cites), inside the ball of
radius ``cutoff``:

.. math::

    c^a_{nlm}(i) = \sum_{j \ne i,\ a_j = a,\ r_{ij} < r_c} f_c(r_{ij})\,
        R_{nl}(r_{ij} / r_c)\, Y_{lm}(\hat r_{ij}),
    \qquad n = 0..\mathtt{max\_order},\ l = n, n-2, \dots \ge 0,

with AMP's cosine cutoff :math:`f_c(r) = \frac12 [1 + \cos(\pi r / r_c)]`, sphericart's real
spherical harmonics and the Zernike radial polynomials

.. math::

    R_{nl}(x) = N_{nl}\, x^l\, P^{(0,\, l + 1/2)}_{k}(2x^2 - 1), \qquad k = (n - l)/2,

a polynomial of degree ``n`` in ``x`` with only the powers ``x^l, x^{l+2}, ..., x^n``,
with :math:`N_{nl}` such that they are orthonormal on the unit ball,
:math:`\int_0^1 R_{nl} R_{n'l} x^2 dx = \delta_{nn'}` (Jacobi polynomials
:math:`P^{(\alpha,\beta)}_k`; e.g. :math:`R_{20} \propto 5x^2 - 3`). The invariants are the
norms over ``m`` (AMP sums :math:`|c_{nlm}|^2` over ``m``; with species channels, the products
of two channels):

.. math::

    p^{ab}_{nl}(i) = \sum_{m=-l}^{l} c^a_{nlm}(i)\, c^b_{nlm}(i), \qquad a \le b .

Each :math:`p_{nl}` is a sum over neighbour pairs of a function of two distances and the angle
between them (:math:`\sum_m Y_{lm} Y_{lm}` is a Legendre polynomial of the angle): a 3-body,
power-spectrum-like invariant, mirror-invariant (O(3)). With one species this is AMP's
fingerprint with unit neighbour weights (AMP's ``calculate_R``, ``sqrt(2n+3)`` times the radial
polynomial with value 1 at x = 1, is the same orthonormal polynomial, tested; AMP sums complex
``|c_nlm|^2`` over m, which equals the real sum). AMP weights the neighbours of one density by
per-element numbers; here species are separate channels. Gradients are analytic.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from scipy import sparse, special

from ..environments import InputError, Neighbourhoods
from .base import Descriptor
from .harmonics import spherical_harmonics
from .hypers import Integer, declare

__all__ = ["ZernikeDescriptor", "zernike_radial"]


def _check_order(n: int, l: int) -> None:
    if n < 0 or l < 0 or l > n or (n - l) % 2:
        raise InputError(f"Zernike (n, l) = ({n}, {l}) needs 0 <= l <= n and n - l even")


@cache
def _radial_polynomial(n: int, l: int) -> np.poly1d:
    """``R_nl`` as a ``numpy.poly1d`` in ``x``, normalised on the unit ball (weight ``x^2``)."""
    _check_order(n, l)
    k = (n - l) // 2
    jacobi = special.jacobi(k, 0.0, l + 0.5)  # poly1d in t
    in_x = jacobi(np.poly1d([2.0, 0.0, -1.0]))  # composition: t = 2 x^2 - 1
    poly = in_x * np.poly1d([1.0] + [0.0] * l)  # times x^l
    # exact norm from the coefficients: int_0^1 p(x)^2 x^2 dx
    square = (poly * poly * np.poly1d([1.0, 0.0, 0.0])).integ()
    return poly / np.sqrt(square(1.0) - square(0.0))


def zernike_radial(n: int, l: int, x, derivative: bool = False):
    """The Zernike radial polynomial ``R_nl(x)`` (orthonormal on [0, 1] with weight ``x^2``).

    Returns ``R_nl(x)``, or ``(R_nl(x), R_nl'(x))`` when ``derivative`` is True.
    """
    poly = _radial_polynomial(int(n), int(l))
    x = np.asarray(x, dtype=np.float64)
    if derivative:
        return poly(x), poly.deriv()(x)
    return poly(x)


class ZernikeDescriptor(Descriptor):
    """AMP's Zernike descriptor (body order 3, O(3)); see the module docstring.

    Parameters
    ----------
    cutoff : float
        Radius (Å) of the ball; distances are divided by it.
    max_order : int
        Largest Zernike order ``n`` (AMP's ``nmax``); ``l`` runs over ``n, n-2, ..., 0``.
    species : None or list of int
        Species channels; None uses the species present in each ``compute`` call.
    """

    body_order = 3
    parity = "O(3)"

    hyper_constraints = declare(max_order=Integer(0))

    def __init__(self, *, cutoff=5.0, max_order=6, species=None):
        self.cutoff = cutoff
        self.max_order = max_order
        self.species = species

    def _orders(self) -> list[tuple[int, int]]:
        n_max = int(self.max_order)
        return [(n, l) for n in range(n_max + 1) for l in range(n % 2, n + 1, 2)]

    def _feature_names(self, species):
        names = []
        for a_index, a in enumerate(species):
            for b in species[a_index:]:
                names.extend(f"a{a}_b{b}_n{n}_l{l}" for n, l in self._orders())
        return tuple(names)

    def _compute(self, neighbourhoods: Neighbourhoods, species, gradients: bool):
        cutoff = float(self.cutoff)
        orders = self._orders()
        max_angular = int(self.max_order)
        n_samples, n_pairs = neighbourhoods.n_samples, neighbourhoods.n_pairs
        n_species = len(species)
        species_index = np.searchsorted(species, neighbourhoods.pair_species)
        distances = neighbourhoods.pair_distances
        x = distances / cutoff
        fc = 0.5 * (1.0 + np.cos(np.pi * x))
        dfc = -0.5 * np.pi / cutoff * np.sin(np.pi * x)
        vectors = np.ascontiguousarray(neighbourhoods.pair_vectors)
        if gradients:
            y_all, dy_all = spherical_harmonics(vectors, max_angular, gradients=True)
        else:
            y_all, dy_all = spherical_harmonics(vectors, max_angular), None
        directions = vectors / np.maximum(distances, 1e-300)[:, None]
        # (sample, species) channel of every pair, as a sparse summation matrix
        channel = neighbourhoods.pair_sample * n_species + species_index
        summation = sparse.csr_matrix(
            (np.ones(n_pairs), (channel, np.arange(n_pairs))),
            shape=(n_samples * n_species, n_pairs),
        )
        first, second = np.triu_indices(n_species)
        n_channel_pairs = len(first)
        values = np.zeros((n_samples, n_channel_pairs, len(orders)))
        pair_gradients = np.zeros((n_pairs, 3, n_channel_pairs, len(orders))) if gradients else None
        for index, (n, l) in enumerate(orders):
            block = slice(l * l, (l + 1) * (l + 1))
            radial, dradial = zernike_radial(n, l, x, derivative=True)
            g = fc * radial  # (P,)
            terms = g[:, None] * y_all[:, block]  # (P, 2l+1)
            c = np.asarray(summation @ terms).reshape(n_samples, n_species, 2 * l + 1)
            values[:, :, index] = np.einsum("sam,sam->sa", c[:, first], c[:, second])
            if not gradients:
                continue
            dg = dfc * radial + fc * dradial / cutoff
            # d terms / d r_p: (P, 3, 2l+1)
            dterms = (
                dg[:, None, None] * directions[:, :, None] * y_all[:, None, block]
                + g[:, None, None] * dy_all[:, :, block]
            )
            c_pair = c[neighbourhoods.pair_sample]  # (P, n_species, 2l+1)
            own = species_index
            for k, (a, b) in enumerate(zip(first, second, strict=True)):
                # d p^{ab} / d r_p = dterms . (delta_{a a_p} c^b + delta_{b a_p} c^a)
                partner = np.zeros((n_pairs, 2 * l + 1))
                mask_a = own == a
                mask_b = own == b
                partner[mask_a] += c_pair[mask_a, b]
                partner[mask_b] += c_pair[mask_b, a]
                pair_gradients[:, :, k, index] = np.einsum("pxm,pm->px", dterms, partner)
        values = values.reshape(n_samples, -1)
        if gradients:
            pair_gradients = pair_gradients.reshape(n_pairs, 3, -1)
        return values, pair_gradients

"""The Artrith-Urban-Ceder Chebyshev descriptor (aenet's ``Chebyshev`` structural fingerprint).

N. Artrith, A. Urban, G. Ceder, Phys. Rev. B 96, 014112 (2017), doi:10.1103/PhysRevB.96.014112.
The radial distribution function (RDF) and the angular distribution function (ADF, in
``cos theta``) of a centre's neighbours are expanded in Chebyshev polynomials ``T_n``, with the
cosine cutoff ``f_c(r; R) = 0.5 (cos(pi r / R) + 1)`` for ``r < R`` (zero beyond)::

    c_rad[n] = sum_j   T_n(2 r_ij / R_rad - 1) f_c(r_ij; R_rad),       n = 0..radial_order
    c_ang[n] = sum_j<k T_n(cos theta_jik) f_c(r_ij; R_ang) f_c(r_ik; R_ang),
                                                                   n = 0..angular_order

The angular sum runs over unordered pairs of neighbours within ``R_ang``. With more than one
species each set is computed twice, as in aenet (``sfbasis.f90``): once unweighted (the
structure) and once weighted by the species' "typespin" ``s_j`` (radial) and ``s_j s_k``
(angular). The typespins of the sorted species list are the integers ``-(n//2), ..., n//2``,
skipping 0 when the number of species ``n`` is even (aenet's default: -1, 1 for two species;
-1, 0, 1 for three, so the middle species carries no weight in the second set).

Feature layout (aenet's): ``[c_rad (radial_order + 1), c_ang (angular_order + 1)]`` and, with
several species, then ``[c_rad weighted, c_ang weighted]``.
"""

from __future__ import annotations

import numpy as np

from ..environments import InputError, Neighbourhoods
from .base import Descriptor
from .hypers import Integer, Real, declare
from .neighbour_sums import scatter_rows, triplet_chunks
from .symmetry_functions import cosine_cutoff

__all__ = ["ChebyshevDescriptor", "chebyshev_polynomials", "typespins"]


def chebyshev_polynomials(x: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """``T_n(x)`` and ``T_n'(x)`` for n = 0..order, as arrays of shape ``x.shape + (order+1,)``.

    Three-term recurrences: ``T_{n+1} = 2 x T_n - T_{n-1}``, ``T_n' = n U_{n-1}`` with
    ``U_{n+1} = 2 x U_n - U_{n-1}``, ``U_0 = 1``, ``U_1 = 2 x``.
    """
    x = np.asarray(x, dtype=np.float64)
    t = np.empty((*x.shape, order + 1))
    u = np.empty((*x.shape, order + 1))
    t[..., 0] = 1.0
    u[..., 0] = 1.0
    if order >= 1:
        t[..., 1] = x
        u[..., 1] = 2 * x
    for n in range(1, order):
        t[..., n + 1] = 2 * x * t[..., n] - t[..., n - 1]
        u[..., n + 1] = 2 * x * u[..., n] - u[..., n - 1]
    dt = np.zeros_like(t)
    dt[..., 1:] = np.arange(1, order + 1) * u[..., :order]
    return t, dt


def typespins(n_species: int) -> np.ndarray:
    """aenet's default species weights: ``-(n//2) .. n//2``, skipping 0 for even ``n``."""
    spins = []
    s = -(n_species // 2)
    for _ in range(n_species):
        if s == 0 and n_species % 2 == 0:
            s += 1
        spins.append(float(s))
        s += 1
    return np.asarray(spins)


class ChebyshevDescriptor(Descriptor):
    r"""Artrith-Urban-Ceder Chebyshev descriptor (radial and angular), as aenet computes it.

    See the module docstring for the formulas, the typespin weights and the feature layout.
    Reference: N. Artrith, A. Urban, G. Ceder, PRB 96, 014112 (2017),
    doi:10.1103/PhysRevB.96.014112.

    Parameters
    ----------
    radial_cutoff : float
        Cutoff (Å) of the radial distribution function.
    radial_order : int
        Highest Chebyshev order of the RDF expansion (``radial_order + 1`` functions).
    angular_cutoff : float
        Cutoff (Å) of the angular distribution function.
    angular_order : int or None
        Highest Chebyshev order of the ADF expansion; None: no angular terms (2-body only).
    species : list of int or None
        Atomic numbers whose typespins weight the second feature set; None uses the species
        present in the input (centres included, as aenet's type list). Fix it when comparing
        features across inputs: the typespins depend on the whole list.

    Notes
    -----
    ``cutoff`` (read-only) is ``max(radial_cutoff, angular_cutoff)``: the neighbourhood radius.
    ``body_order`` is 3 with angular terms and 2 without. Features are O(3) invariant.
    """

    parity = "O(3)"
    hyper_constraints = declare(
        radial_cutoff=Real(0, low_open=True, unit="Å"),
        radial_order=Integer(0),
        angular_cutoff=Real(0, low_open=True, unit="Å", optional=True),
        angular_order=Integer(0, optional=True),
    )

    def __init__(
        self,
        *,
        radial_cutoff,
        radial_order,
        angular_cutoff,
        angular_order,
        species=None,
    ):
        self.radial_cutoff = radial_cutoff
        self.radial_order = radial_order
        self.angular_cutoff = angular_cutoff
        self.angular_order = angular_order
        self.species = species

    @property
    def cutoff(self) -> float:
        """Neighbourhood radius: ``max(radial_cutoff, angular_cutoff)``."""
        if self.angular_order is None:
            return float(self.radial_cutoff)
        return max(float(self.radial_cutoff), float(self.angular_cutoff))

    @property
    def body_order(self) -> int:
        return 2 if self.angular_order is None else 3

    def _check_hyper_relations(self) -> None:
        if self.angular_order is not None and self.angular_cutoff is None:
            raise InputError(
                "ChebyshevDescriptor: angular_order needs angular_cutoff (a positive number of Å); "
                "pass angular_cutoff=... or angular_order=None"
            )

    def _sizes(self) -> tuple[int, int]:
        n_radial = int(self.radial_order) + 1
        n_angular = 0 if self.angular_order is None else int(self.angular_order) + 1
        return n_radial, n_angular

    def _feature_names(self, species: np.ndarray) -> tuple[str, ...]:
        n_radial, n_angular = self._sizes()
        names = [f"radial[n={n}]" for n in range(n_radial)]
        names += [f"angular[n={n}]" for n in range(n_angular)]
        if len(species) > 1:
            names += [f"radial_typespin[n={n}]" for n in range(n_radial)]
            names += [f"angular_typespin[n={n}]" for n in range(n_angular)]
        return tuple(names)

    def _compute(self, neighbourhoods: Neighbourhoods, species: np.ndarray, gradients: bool):
        n_radial, n_angular = self._sizes()
        weighted = len(species) > 1
        block = n_radial + n_angular
        n_features = 2 * block if weighted else block
        n_samples, n_pairs = neighbourhoods.n_samples, neighbourhoods.n_pairs
        spin = typespins(len(species))[np.searchsorted(species, neighbourhoods.pair_species)]

        values = np.zeros((n_samples, n_features))
        pair_gradients = np.zeros((n_pairs, 3, n_features)) if gradients else None

        # ---- radial distribution function --------------------------------------------------
        radial_cutoff = float(self.radial_cutoff)
        r = neighbourhoods.pair_distances
        fc, dfc = cosine_cutoff(r, radial_cutoff)
        t, dt = chebyshev_polynomials(2 * r / radial_cutoff - 1, n_radial - 1)
        radial = t * fc[:, None]
        values[:, :n_radial] = scatter_rows(neighbourhoods.pair_sample, n_samples, radial)
        if weighted:
            values[:, block : block + n_radial] = scatter_rows(
                neighbourhoods.pair_sample, n_samples, radial * spin[:, None]
            )
        if gradients:
            d_radial = dt * (2 / radial_cutoff) * fc[:, None] + t * dfc[:, None]
            d_radial = (neighbourhoods.pair_vectors / r[:, None])[:, :, None] * d_radial[:, None]
            pair_gradients[:, :, :n_radial] = d_radial
            if weighted:
                pair_gradients[:, :, block : block + n_radial] = d_radial * spin[:, None, None]

        if n_angular == 0 or n_pairs == 0:
            return values, pair_gradients

        # ---- angular distribution function (in cos theta) ----------------------------------
        angular_cutoff = float(self.angular_cutoff)
        columns = [slice(n_radial, block)]
        if weighted:
            columns.append(slice(block + n_radial, 2 * block))
        for chunk in triplet_chunks(neighbourhoods):
            a, b, ra, rb = chunk.a, chunk.b, chunk.ra, chunk.rb
            fa, dfa = cosine_cutoff(ra, angular_cutoff)
            fb, dfb = cosine_cutoff(rb, angular_cutoff)
            cos = np.einsum("tx,tx->t", a, b) / (ra * rb)
            t, dt = chebyshev_polynomials(cos, n_angular - 1)
            weight = fa * fb
            terms = t * weight[:, None]
            spins = [None]
            if weighted:
                spins.append(spin[chunk.first + chunk.p0] * spin[chunk.second + chunk.p0])
            if gradients:
                # d cos/da = -cos/ra^2 a + b/(ra rb), d cos/db = -cos/rb^2 b + a/(ra rb);
                # d weight/da = f'(ra) f(rb)/ra a, d weight/db = f(ra) f'(rb)/rb b
                along = dt * weight[:, None]
                cross = along / (ra * rb)[:, None]
                own_a = along * (-cos / ra**2)[:, None] + t * (dfa * fb / ra)[:, None]
                own_b = along * (-cos / rb**2)[:, None] + t * (fa * dfb / rb)[:, None]
            for cols, w in zip(columns, spins, strict=True):
                scale = 1.0 if w is None else w[:, None]
                values[chunk.s0 : chunk.s1, cols] = chunk.channel_values(
                    chunk.sample, 1, terms * scale
                )
                if gradients:
                    pair_gradients[chunk.p0 : chunk.p1, :, cols] = chunk.pair_gradients(
                        chunk.first,
                        chunk.second,
                        1,
                        (own_a * scale, cross * scale, own_b * scale, cross * scale),
                    )
        return values, pair_gradients

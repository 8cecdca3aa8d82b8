"""Behler-Parrinello atom-centred symmetry functions (G1, G2, G3, G4, G5), with exact gradients.

Definitions and normalisation follow dscribe 2.1.2's ``ACSF`` exactly (feature for feature), which
follows J. Behler, J. Chem. Phys. 134, 074106 (2011), doi:10.1063/1.3553717. With the cosine
cutoff ``f_c(r) = 0.5 (cos(pi r / r_c) + 1)`` for ``r < r_c`` (zero beyond), for a centre ``i``
and neighbours ``j, k`` of species ``a, b``::

    G1[a]                 = sum_{j in a} f_c(r_ij)
    G2[a](eta, R_s)       = sum_{j in a} exp(-eta (r_ij - R_s)^2) f_c(r_ij)
    G3[a](kappa)          = sum_{j in a} cos(kappa r_ij) f_c(r_ij)
    G4[a,b](eta,zeta,lam) = sum_{j<k} 2^(1-zeta) (1 + lam cos theta_jik)^zeta
                            exp(-eta (r_ij^2 + r_ik^2 + r_jk^2)) f_c(r_ij) f_c(r_ik) f_c(r_jk)
    G5[a,b](eta,zeta,lam) = the same without the r_jk^2 term and without f_c(r_jk)

The angular sums run over unordered pairs of neighbours {j, k} whose species are {a, b}. G1 is
always present (as in dscribe). Feature layout (dscribe's): for each neighbour species ``a`` in
sorted order, ``[G1, G2..., G3...]``; then for each unordered species pair, in the order
``(0,0), (1,0), (1,1), (2,0), (2,1), (2,2), ...`` of species indices, ``[G4..., G5...]``. The
centre's species is not encoded.

The cosine cutoff :func:`cosine_cutoff` is shared with the Chebyshev descriptor; the sums over
neighbour pairs and triplets are :mod:`completeness.descriptors.neighbour_sums`.
"""

from __future__ import annotations

import numpy as np

from ..environments import Neighbourhoods
from .base import Descriptor
from .hypers import Rule, declare
from .neighbour_sums import (
    channel_values,
    radial_pair_gradients,
    triplet_chunks,
    unordered_channel,
)

__all__ = ["SymmetryFunctions", "cosine_cutoff"]


def cosine_cutoff(distances: np.ndarray, cutoff: float) -> tuple[np.ndarray, np.ndarray]:
    """``f_c(r) = 0.5 (cos(pi r / r_c) + 1)`` for ``r < r_c`` (0 beyond) and its derivative."""
    inside = distances < cutoff
    angle = np.pi * distances / cutoff
    value = np.where(inside, 0.5 * (np.cos(angle) + 1.0), 0.0)
    derivative = np.where(inside, -0.5 * np.pi / cutoff * np.sin(angle), 0.0)
    return value, derivative


def _parameter_table(value, n_columns: int) -> np.ndarray:
    """``value`` (None or a list of rows, validated by the class's constraints) as a float array
    of shape (n, n_columns)."""
    if value is None or np.size(value) == 0:
        return np.zeros((0, n_columns))
    return np.asarray(value, dtype=np.float64).reshape(-1, n_columns)


def _finite_vector(value) -> bool:
    array = np.asarray(value, dtype=np.float64)
    return array.ndim == 1 and bool(np.isfinite(array).all())


# the valid range of each column of a parameter table: eta >= 0, zeta >= 1, |lambda| <= 1
_COLUMN_RULES = {
    "eta >= 0 (Å^-2)": lambda column: column >= 0,
    "R_s (Å)": lambda column: np.ones(column.shape, dtype=bool),
    "zeta >= 1": lambda column: column >= 1,
    "-1 <= lambda <= 1": lambda column: np.abs(column) <= 1,
}


def table_constraint(*columns: str) -> Rule:
    """None or a list of rows, one finite value per column, each in its column's range."""

    def valid(value) -> bool:
        if value is None:
            return True
        table = np.asarray(value, dtype=np.float64)
        if table.size == 0:
            return True
        if table.ndim != 2 or table.shape[1] != len(columns) or not np.isfinite(table).all():
            return False
        return all(bool(_COLUMN_RULES[c](table[:, k]).all()) for k, c in enumerate(columns))

    bad_row = [-1.0] + [1.0] * (len(columns) - 1)  # a negative eta
    return Rule(f"None or a list of [{', '.join(columns)}] rows", valid, ([bad_row], [[1.0]]))


class SymmetryFunctions(Descriptor):
    r"""Behler-Parrinello atom-centred symmetry functions, exactly as dscribe's ``ACSF``.

    See the module docstring for the formulas and the feature layout. Reference: J. Behler,
    J. Chem. Phys. 134, 074106 (2011), doi:10.1063/1.3553717.

    Parameters
    ----------
    cutoff : float
        Cutoff radius r_c in Å of the cosine cutoff (dscribe's ``r_cut``).
    g2_params : list of [eta, R_s] or None
        Radial Gaussians; eta >= 0 in Å^-2, R_s in Å.
    g3_params : list of kappa or None
        Radial cosines ``cos(kappa r)``; kappa in Å^-1.
    g4_params, g5_params : list of [eta, zeta, lambda] or None
        Angular functions; eta >= 0, zeta >= 1, -1 <= lambda <= 1 (Behler uses lambda = +-1).
    species : list of int or None
        Atomic numbers of the species channels; None uses the species present in the input.

    Notes
    -----
    ``body_order`` is 3 when G4 or G5 terms are present, 2 otherwise. All features are
    O(3) invariants. Angular sums run over unordered pairs of distinct neighbour entries (for a
    periodic system two images of one atom count as two neighbours).
    """

    parity = "O(3)"
    hyper_constraints = declare(
        g2_params=table_constraint("eta >= 0 (Å^-2)", "R_s (Å)"),
        g3_params=Rule(
            "None or a flat list of finite kappa values (Å^-1)",
            lambda value: value is None or _finite_vector(value),
            ([[1.0, 2.0]], ["x"], [float("inf")]),
        ),
        g4_params=table_constraint("eta >= 0 (Å^-2)", "zeta >= 1", "-1 <= lambda <= 1"),
        g5_params=table_constraint("eta >= 0 (Å^-2)", "zeta >= 1", "-1 <= lambda <= 1"),
    )

    def __init__(
        self,
        *,
        cutoff,
        g2_params=None,
        g3_params=None,
        g4_params=None,
        g5_params=None,
        species=None,
    ):
        self.cutoff = cutoff
        self.g2_params = g2_params
        self.g3_params = g3_params
        self.g4_params = g4_params
        self.g5_params = g5_params
        self.species = species

    @property
    def body_order(self) -> int:
        angular = len(_parameter_table(self.g4_params, 3)) + len(
            _parameter_table(self.g5_params, 3)
        )
        return 3 if angular else 2

    # ---- hypers ------------------------------------------------------------------------------

    def _tables(self):
        g2 = _parameter_table(self.g2_params, 2)
        g3 = np.zeros(0) if self.g3_params is None else np.asarray(self.g3_params, dtype=np.float64)
        return g2, g3, _parameter_table(self.g4_params, 3), _parameter_table(self.g5_params, 3)

    def _feature_names(self, species: np.ndarray) -> tuple[str, ...]:
        g2, g3, g4, g5 = self._tables()
        names = []
        for a in species:
            names.append(f"G1[{a}]")
            names += [f"G2[{a}](eta={e:g},R_s={r:g})" for e, r in g2]
            names += [f"G3[{a}](kappa={k:g})" for k in g3]
        for first in range(len(species)):
            for second in range(first + 1):
                pair = f"{species[first]},{species[second]}"
                for kind, table in (("G4", g4), ("G5", g5)):
                    names += [
                        f"{kind}[{pair}](eta={e:g},zeta={z:g},lambda={lam:g})"
                        for e, z, lam in table
                    ]
        return tuple(names)

    # ---- computation -------------------------------------------------------------------------

    def _compute(self, neighbourhoods: Neighbourhoods, species: np.ndarray, gradients: bool):
        cutoff = float(self.cutoff)
        g2, g3, g4, g5 = self._tables()
        n_species = len(species)
        n_radial = 1 + len(g2) + len(g3)
        n_angular = len(g4) + len(g5)
        n_species_pairs = n_species * (n_species + 1) // 2
        n_features = n_species * n_radial + n_species_pairs * n_angular
        species_index = np.searchsorted(species, neighbourhoods.pair_species)
        values = np.zeros((neighbourhoods.n_samples, n_features))
        pair_gradients = np.zeros((neighbourhoods.n_pairs, 3, n_features)) if gradients else None

        # ---- radial: G1, G2, G3 per neighbour species -------------------------------------
        offset = n_species * n_radial
        r = neighbourhoods.pair_distances
        fc, dfc = cosine_cutoff(r, cutoff)
        shifted = r[:, None] - g2[:, 1]
        gauss = np.exp(-g2[:, 0] * shifted**2)
        cosines = np.cos(r[:, None] * g3)
        radial = np.concatenate([fc[:, None], gauss * fc[:, None], cosines * fc[:, None]], axis=1)
        values[:, :offset] = channel_values(neighbourhoods, species_index, n_species, radial)
        if gradients:
            d_radial = np.concatenate(
                [
                    dfc[:, None],
                    gauss * (dfc[:, None] - 2 * g2[:, 0] * shifted * fc[:, None]),
                    cosines * dfc[:, None] - g3 * np.sin(r[:, None] * g3) * fc[:, None],
                ],
                axis=1,
            )
            pair_gradients[:, :, :offset] = radial_pair_gradients(
                neighbourhoods, species_index, n_species, d_radial
            )
        if n_angular == 0:
            return values, pair_gradients

        # ---- angular: G4, G5 per unordered species pair ----------------------------------
        for chunk in triplet_chunks(neighbourhoods):
            block_values, coefficients = self._angular(chunk.a, chunk.b, g4, g5, cutoff, gradients)
            channel = unordered_channel(
                species_index[chunk.first + chunk.p0], species_index[chunk.second + chunk.p0]
            )
            rows = chunk.sample * n_species_pairs + channel
            values[chunk.s0 : chunk.s1, offset:] = chunk.channel_values(
                rows, n_species_pairs, block_values
            )
            if gradients:
                pair_gradients[chunk.p0 : chunk.p1, :, offset:] = chunk.pair_gradients(
                    chunk.first * n_species_pairs + channel,
                    chunk.second * n_species_pairs + channel,
                    n_species_pairs,
                    coefficients,
                )
        return values, pair_gradients

    @staticmethod
    def _angular(a, b, g4, g5, cutoff, gradients):
        """G4 and G5 terms of triplets with pair vectors ``a = r_ij``, ``b = r_ik``.

        Returns ``(terms (T, n4 + n5), coefficients)`` with ``coefficients = (C_a, D_a, C_b,
        D_b)`` of :func:`~.neighbour_sums.triplet_pair_gradients` (None without gradients).
        """
        c = b - a  # r_jk
        ra = np.sqrt(np.einsum("tx,tx->t", a, a))
        rb = np.sqrt(np.einsum("tx,tx->t", b, b))
        rc = np.sqrt(np.einsum("tx,tx->t", c, c))
        cos = np.einsum("tx,tx->t", a, b) / (ra * rb)
        fa, dfa = cosine_cutoff(ra, cutoff)
        fb, dfb = cosine_cutoff(rb, cutoff)
        fcc, dfcc = cosine_cutoff(rc, cutoff)

        terms, coefficients = [], []
        for table, with_jk in ((g4, True), (g5, False)):
            if len(table) == 0:
                continue
            eta, zeta, lam = table[:, 0], table[:, 1], table[:, 2]
            base = 0.5 * (1.0 + lam * cos[:, None])  # (T, n), >= 0 since |lambda| <= 1
            power = base ** (zeta - 1.0)  # finite for zeta >= 1
            angular = 2.0 * power * base
            squares = ra**2 + rb**2 + (rc**2 if with_jk else 0.0)
            gauss = np.exp(-eta * squares[:, None])
            cut = fa * fb * (fcc if with_jk else 1.0)
            term = angular * gauss * cut[:, None]
            terms.append(term)
            if not gradients:
                continue
            p_cos = zeta * lam * power * gauss * cut[:, None]  # d term / d cos
            p_squares = -eta * term  # d term / d squares
            p_cut = angular * gauss  # d term / d cut
            # d cos/da = -cos/ra^2 a + b/(ra rb);  d cos/db = -cos/rb^2 b + a/(ra rb)
            # d squares/da = 4a - 2b (2a for G5);  d squares/db = 4b - 2a (2b for G5)
            # d cut/da = (f'a fb fc/ra + fa fb f'c/rc) a - fa fb f'c/rc b   (r_jk = |b - a|)
            inverse = (1.0 / (ra * rb))[:, None]
            own_squares, cross_squares = (4.0, -2.0) if with_jk else (2.0, 0.0)
            if with_jk:
                shared = fa * fb * dfcc / rc
                cut_a, cut_b = dfa * fb * fcc / ra + shared, fa * dfb * fcc / rb + shared
                cross_cut = (-shared)[:, None] * p_cut
            else:
                cut_a, cut_b = dfa * fb / ra, fa * dfb / rb
                cross_cut = 0.0
            cross = p_cos * inverse + cross_squares * p_squares + cross_cut
            coefficients.append(
                (
                    p_cos * (-cos / ra**2)[:, None]
                    + own_squares * p_squares
                    + cut_a[:, None] * p_cut,
                    cross,
                    p_cos * (-cos / rb**2)[:, None]
                    + own_squares * p_squares
                    + cut_b[:, None] * p_cut,
                    cross,
                )
            )
        values = np.concatenate(terms, axis=1)
        if not gradients:
            return values, None
        return values, tuple(
            np.concatenate(parts, axis=1) for parts in zip(*coefficients, strict=True)
        )

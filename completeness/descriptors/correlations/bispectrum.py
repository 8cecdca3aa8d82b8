"""The bispectrum (nu = 3, body order 4): selection of the l-triples and the values.

See :mod:`completeness.descriptors.correlations` for the definition and the selection rule;
the gradients are in :mod:`~completeness.descriptors.correlations.bispectrum_gradients`.
"""

from __future__ import annotations

import numpy as np

from ...environments import Neighbourhoods
from ..base import Descriptor
from ..clebsch_gordan import real_clebsch_gordan
from ..features import centre_gradients_from_pairs
from .bispectrum_gradients import bispectrum_with_gradients, gradient_plan
from .blocks import bispectrum_blocks
from .common import CorrelationHypers, partial


class Bispectrum(CorrelationHypers, Descriptor):
    """Bispectrum ``B_{t1 t2 t3}`` (nu = 3, body order 4); see the package docstring.

    Parameters
    ----------
    cutoff : float
        Cutoff radius in Å.
    n_radial : int
        Number of radial functions.
    max_angular : int
        Largest angular channel ``l`` of the expansion (and of every ``l1 <= l2 <= l3``).
    density_width : float
        Width (Å) of the Gaussian atomic density (``radial_basis="gto"``).
    radial_basis : {"gto", "spherical_bessel"}
    cutoff_width : float
        Width (Å) of the shifted-cosine switching region ending at ``cutoff``.
    species : None or list of int
        Species channels; None uses the species present in each ``compute`` call.
    include_pseudoscalar : bool
        Also return the odd ``l1 + l2 + l3`` terms (mirror-odd); ``parity`` becomes "SO(3)".
    """

    body_order = 4

    def __init__(
        self,
        *,
        cutoff=5.0,
        n_radial=4,
        max_angular=4,
        density_width=0.3,
        radial_basis="gto",
        cutoff_width=0.5,
        species=None,
        include_pseudoscalar=False,
    ):
        self.cutoff = cutoff
        self.n_radial = n_radial
        self.max_angular = max_angular
        self.density_width = density_width
        self.radial_basis = radial_basis
        self.cutoff_width = cutoff_width
        self.species = species
        self.include_pseudoscalar = include_pseudoscalar

    def _blocks(self, n_species: int) -> tuple:
        return bispectrum_blocks(
            int(self.max_angular), n_species * int(self.n_radial), bool(self.include_pseudoscalar)
        )

    def _feature_names(self, species):
        n_radial = int(self.n_radial)
        names = []
        for block in self._blocks(len(species)):
            for ks in zip(*block.channels, strict=True):
                names.append(
                    "".join(
                        f"(a{species[k // n_radial]},n{k % n_radial},l{l})"
                        for k, l in zip(ks, block.ls, strict=True)
                    )
                )
        return tuple(names)

    def _parities(self, species) -> np.ndarray:
        blocks = self._blocks(len(species))
        return np.concatenate([np.full(b.size, -1 if b.odd else 1, dtype=np.int64) for b in blocks])

    def _compute(self, neighbourhoods: Neighbourhoods, species, gradients: bool):
        return self._compute_with_centres(neighbourhoods, species, gradients)[:2]

    def _compute_with_centres(self, neighbourhoods: Neighbourhoods, species, gradients: bool):
        n_samples = neighbourhoods.n_samples
        n_channels = len(species) * int(self.n_radial)
        expansion = self._expansion()
        if gradients:
            plan = gradient_plan(
                int(self.max_angular),
                int(self.n_radial),
                n_channels,
                bool(self.include_pseudoscalar),
            )
            dense, species_index, terms, _ = expansion.dense(neighbourhoods, species, True)
            values, pair_gradients, centre_gradients = bispectrum_with_gradients(
                plan,
                dense.reshape(n_samples, n_channels, -1),
                terms,
                species_index,
                neighbourhoods,
                int(self.n_radial),
            )
            if centre_gradients is None:
                centre_gradients = centre_gradients_from_pairs(neighbourhoods, pair_gradients)
            return values, pair_gradients, centre_gradients
        coefficients = expansion.compute(neighbourhoods, species, gradients=False).coefficients
        per_l = [c.reshape(n_samples, n_channels, -1) for c in coefficients]
        values = np.empty((n_samples, sum(b.size for b in self._blocks(len(species)))))
        for block in self._blocks(len(species)):
            l1, l2, l3 = block.ls
            k1, k2, k3 = block.channels
            p12 = partial(per_l[l1], per_l[l2], real_clebsch_gordan(l1, l2, l3))
            values[:, block.start : block.start + block.size] = np.einsum(
                "sfq,sfq->sf", p12[:, k1 * n_channels + k2], per_l[l3][:, k3]
            )
        return values, None, None

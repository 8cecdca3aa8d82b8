"""Pointwise Distance Distribution and Average Minimum Distance (the ``average-minimum-distance``
package, ``import amd``; extra ``amd``).

Widdowson, Mosca, Pulido, Kurlin, Cooper, "Average minimum distances of periodic point sets -
foundational invariants for mapping periodic crystals", MATCH Commun. Math. Comput. Chem. 87,
529 (2022), doi:10.46793/match.87-3.529W; Widdowson, Kurlin, "Resolving the data ambiguity for
periodic crystals", NeurIPS 2022, doi:10.48550/arXiv.2108.04798.

The PDD of a point set has one row per atom: its distances to its ``n_neighbours`` nearest
neighbours in increasing order (periodic images included); the AMD is the average of those rows.
The PDD (rows as a weighted multiset) is complete for periodic sets in general position; it
ignores species, and a finite cloud seen atom by atom gives it exactly the information of the
first round of distance-only message passing, so the catalog's 1-WL pairs are degenerate for it
by construction.

As descriptors:

* :class:`AmdPDD` (``amd:PDD``): the row of each requested centre, i.e. a 2-body, species-blind
  atom-centred descriptor without cutoff. Compared as multisets over all atoms (the audit's global
  pairs) this is the PDD itself.
* :class:`AmdAMD` (``amd:AMD``): a *global* descriptor: every row is the AMD of the whole system
  (the centre argument only selects how many rows).

A finite system with fewer than ``n_neighbours + 1`` atoms has its rows padded with zeros. The
package provides no gradients; asking for them raises.
"""

from __future__ import annotations

import numpy as np

from ...environments import InputError
from ..hypers import Integer, declare
from ._base import PeerDescriptor

__all__ = ["AmdAMD", "AmdPDD"]


class _AmdInvariant(PeerDescriptor):
    library = "amd"
    body_order = 2
    parity = "O(3)"
    provides_gradients = False
    hyper_constraints = declare(n_neighbours=Integer(1))

    def __init__(self, *, n_neighbours: int = 12, species=None):
        self.n_neighbours = n_neighbours
        self.species = species

    def _feature_names(self, species) -> tuple[str, ...]:
        return tuple(f"{self.peer_name}_{i}" for i in range(1, self.n_neighbours + 1))

    def _rows(self, atoms) -> np.ndarray:
        """The PDD rows of ``atoms`` in atom order, ``(n_atoms, n_neighbours)``."""
        import amd

        k = int(self.n_neighbours)
        if np.any(atoms.pbc):
            if not np.all(atoms.pbc):
                raise InputError(
                    "amd needs a finite system or one periodic in all three directions; got pbc "
                    f"{atoms.pbc.tolist()}"
                )
            periodic = amd.PeriodicSet(atoms.positions, np.asarray(atoms.cell))
            return amd.PDD(periodic, k, lexsort=False, collapse=False)[:, 1:]
        rows = np.zeros((len(atoms), k))
        if len(atoms) > 1:
            distances = amd.PDD_finite(atoms.positions, lexsort=False, collapse=False)[:, 1:]
            kept = min(k, distances.shape[1])
            rows[:, :kept] = distances[:, :kept]
        return rows

    def _peer_compute(self, systems, centres, species, gradients):
        if gradients:
            raise InputError(
                f"{self.name} has no gradients (the amd package provides none); call compute "
                "with gradients=False"
            )
        values = []
        for atoms, chosen in zip(systems, centres, strict=True):
            rows = self._system_rows(self._rows(atoms))
            values.append(rows[np.asarray(chosen, dtype=np.int64)])
        values = np.vstack(values) if values else np.zeros((0, self.n_neighbours))
        return values, None, self._feature_names(species)

    def _system_rows(self, rows: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class AmdPDD(_AmdInvariant):
    """Each centre's row of the Pointwise Distance Distribution (module doc)."""

    peer_name = "PDD"

    def _system_rows(self, rows):
        return rows


class AmdAMD(_AmdInvariant):
    """The Average Minimum Distance of the whole system, repeated for every centre (module doc)."""

    peer_name = "AMD"
    #: a function of every interatomic distance of the system, not of a centred environment
    body_order = None

    def _system_rows(self, rows):
        return np.broadcast_to(rows.mean(axis=0), rows.shape)

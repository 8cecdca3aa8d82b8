"""Enantiomers: a chiral environment and its mirror image (§2.6).

A mirror image has exactly the same multiset of distance matrices at every body order, so every
O(3)-invariant feature (power spectrum, even bispectrum, ...) is identical; only pseudoscalar
(odd-parity) features, i.e. the oriented volumes ``r_j . (r_k x r_l)`` of the SO(3) signatures,
change sign. The SO(3) signatures agree up to 3-body (no volume exists there) and differ from
4-body on, for any chiral environment.
"""

from __future__ import annotations

import functools

import numpy as np

from ..environments import InputError
from .pair import Claim, DegeneratePair, make_atoms, random_shell

CHIRALITY_REFERENCE = (
    "IUPAC Gold Book, 'chirality', doi:10.1351/goldbook.C01058; parity of density "
    "correlations: M. J. Willatt, F. Musil, M. Ceriotti, J. Chem. Phys. 150, 154110 (2019), "
    "doi:10.1063/1.5090481"
)

#: Bromochlorofluoromethane (CHBrClF): tetrahedral directions with bond lengths close to the
#: experimental ones (C-H 1.09, C-F 1.35, C-Cl 1.76, C-Br 1.93 Å).
_CHBRCLF_SYMBOLS = "CHFClBr"
_CHBRCLF_BONDS = np.array([1.09, 1.35, 1.76, 1.93])
_TETRAHEDRON = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]) / np.sqrt(3.0)


def mirrored(atoms):
    """The mirror image z -> -z about the centre (atom 0)."""
    copy = atoms.copy()
    centre = atoms.positions[0]
    copy.positions = centre + (atoms.positions - centre) * np.array([1.0, 1.0, -1.0])
    return copy


def _claim(statement: str, max_checked: int = 5) -> Claim:
    return Claim.environment(max_checked, statement, so3=3, max_checked=max_checked)


def chbrclf() -> DegeneratePair:
    """(R)/(S)-bromochlorofluoromethane: chiral through four different neighbour species."""
    positions = np.vstack([np.zeros(3), _TETRAHEDRON * _CHBRCLF_BONDS[:, None]])
    plus = make_atoms(_CHBRCLF_SYMBOLS, positions)
    return DegeneratePair(
        name="enantiomers-chbrclf",
        plus=plus,
        minus=mirrored(plus),
        claim=_claim(
            "CHBrClF and its mirror image: equal O(3) signatures at every order checked, "
            "different SO(3) (oriented) 4-body"
        ),
        params={"bonds": _CHBRCLF_BONDS.tolist()},
        reference=CHIRALITY_REFERENCE,
        family="enantiomers",
    )


def random_chiral(
    seed: int = 0,
    n_neighbours: int = 5,
    min_distance: float = 1.0,
    max_distance: float = 2.0,
    min_separation: float = 0.8,
) -> DegeneratePair:
    """A seeded random single-species environment (centre C, neighbours H) and its mirror image.

    Neighbours are drawn uniformly in the shell ``min_distance..max_distance`` until all atoms
    are ``min_separation`` Å apart. A generic draw is chiral (checked by
    :func:`completeness.structures.verify`: an achiral draw would be congruent to its image).
    """
    if n_neighbours < 3:
        raise InputError(f"a chiral environment needs >= 3 neighbours, got {n_neighbours}")
    rng = np.random.default_rng(seed)
    radii = functools.partial(rng.uniform, min_distance, max_distance, size=n_neighbours)
    positions = random_shell(rng, n_neighbours, radii, min_separation)
    if positions is None:
        raise InputError("could not place the neighbours apart; lower min_separation")
    plus = make_atoms("C" + "H" * n_neighbours, positions)
    return DegeneratePair(
        name="enantiomers-random",
        plus=plus,
        minus=mirrored(plus),
        claim=_claim(
            "random chiral CH_n environment and its mirror image: equal O(3) signatures at "
            "every order checked, different SO(3) 4-body"
        ),
        params={
            "seed": seed,
            "n_neighbours": n_neighbours,
            "min_distance": min_distance,
            "max_distance": max_distance,
            "min_separation": min_separation,
        },
        reference=CHIRALITY_REFERENCE,
        family="enantiomers",
    )

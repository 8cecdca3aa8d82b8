"""Global 2-body homometric sets: equal distance multisets, not congruent (docs/science.md §2.8).

* Bloom's pair of 6-point sets on a line, {0,1,4,10,12,17} and {0,1,8,11,13,17} (the smallest
  homometric pair of integer sets that are not of the U+V / U-V form).
* The U+V versus U-V construction (Patterson 1944; Rosenblatt & Seymour 1982): for finite sets
  U, V of integer vectors such that all sums u + v (and all u - v) are distinct, the
  difference multisets of U+V and U-V agree, because
  (u + v) - (u' + v') = (u - u') + (v - v') and (u - v) - (u' - v') = (u - u') - (v' - v)
  while the multiset {v - v'} is symmetric under negation. Both U and V must lack a centre of
  symmetry (at least three points each), otherwise U-V is a translate of a mirror image of
  U+V.

Atoms are placed at ``spacing`` times the integer coordinates (1D along x, 2D in the xy plane),
centred at the origin.
"""

from __future__ import annotations

from itertools import product

import numpy as np

from ..environments import InputError
from .pair import Claim, DegeneratePair, make_atoms

BLOOM_REFERENCE = (
    "G. S. Bloom, 'A counterexample to a theorem of S. Piccard', J. Combin. Theory Ser. A 22, "
    "378 (1977), doi:10.1016/0097-3165(77)90013-9"
)
UV_REFERENCE = (
    "A. L. Patterson, Phys. Rev. 65, 195 (1944), doi:10.1103/PhysRev.65.195; J. Rosenblatt, "
    "P. D. Seymour, SIAM J. Algebraic Discrete Methods 3, 343 (1982), doi:10.1137/0603035"
)

BLOOM_PLUS = (0, 1, 4, 10, 12, 17)
BLOOM_MINUS = (0, 1, 8, 11, 13, 17)


def _claim(statement: str, wl_iteration) -> Claim:
    return Claim(
        scope="global",
        equal_up_to_o3=2,
        equal_up_to_so3=2,
        statement=statement,
        wl_iteration=wl_iteration,
        wl_cutoff=None,
    )


def _embed(points, spacing: float) -> np.ndarray:
    points = np.asarray(points, dtype=np.float64)
    if points.ndim == 1:
        points = points[:, None]
    positions = np.zeros((len(points), 3))
    positions[:, : points.shape[1]] = points * spacing
    return positions - positions.mean(axis=0)


def bloom_1d(spacing: float = 1.5, symbol: str = "C") -> DegeneratePair:
    """Bloom's homometric pair on a line, ``spacing`` Å per integer step."""
    return DegeneratePair(
        name="bloom-1d",
        plus=make_atoms(symbol * 6, _embed(BLOOM_PLUS, spacing)),
        minus=make_atoms(symbol * 6, _embed(BLOOM_MINUS, spacing)),
        claim=_claim(
            "Bloom's 1D sets {0,1,4,10,12,17} and {0,1,8,11,13,17}: equal distance multisets, "
            "not congruent; 1-WL on the complete distance graph separates them at iteration 1",
            wl_iteration=1,
        ),
        params={"plus": list(BLOOM_PLUS), "minus": list(BLOOM_MINUS), "spacing": spacing},
        reference=BLOOM_REFERENCE,
        family="global-homometric",
    )


def uv_sets(u, v):
    """(U+V, U-V) as arrays of integer points, checking that all sums/differences are distinct."""
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    if u.ndim == 1:
        u, v = u[:, None], v[:, None]
    sums = np.array([a + b for a, b in product(u, v)])
    differences = np.array([a - b for a, b in product(u, v)])
    for label, points in (("sums u + v", sums), ("differences u - v", differences)):
        if len({tuple(p) for p in points}) != len(points):
            raise InputError(
                f"the {label} are not all distinct (atoms would coincide); choose U and V "
                "with distinct pairwise sums and differences"
            )
    return sums, differences


def homometric_uv(
    u=(0, 1, 3), v=(0, 4, 9), spacing: float = 1.5, symbol: str = "C", name: str | None = None
) -> DegeneratePair:
    """U+V versus U-V homometric pair (1D for scalar entries, 2D for pairs)."""
    sums, differences = uv_sets(u, v)
    dimension = sums.shape[1]
    if dimension not in (1, 2, 3):
        raise InputError(f"U and V must be sets of 1D, 2D or 3D integer points, got {dimension}D")
    n = len(sums)
    return DegeneratePair(
        name=name or f"homometric-uv-{dimension}d",
        plus=make_atoms(symbol * n, _embed(sums, spacing)),
        minus=make_atoms(symbol * n, _embed(differences, spacing)),
        claim=_claim(
            f"U+V vs U-V in {dimension}D with U={np.asarray(u).tolist()}, "
            f"V={np.asarray(v).tolist()}: equal distance multisets, not congruent; 1-WL on the "
            "complete distance graph separates them at iteration 1",
            wl_iteration=1,
        ),
        params={"u": np.asarray(u).tolist(), "v": np.asarray(v).tolist(), "spacing": spacing},
        reference=UV_REFERENCE,
        family="global-homometric",
    )


def homometric_uv_2d(spacing: float = 1.2) -> DegeneratePair:
    """A 2D U+V / U-V pair with U and V scalene triangles (9 atoms each)."""
    return homometric_uv(
        u=((0, 0), (1, 0), (0, 2)),
        v=((0, 0), (3, 1), (1, 4)),
        spacing=spacing,
        name="homometric-uv-2d",
    )

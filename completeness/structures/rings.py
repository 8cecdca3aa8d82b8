"""Ring homometric sets: neighbours on a regular n-gon chosen by homometric index sets (§2.4).

Two k-subsets S, T of the cyclic group Z_n are *homometric* when their multisets of cyclic
differences ``{(b - a) mod n : a != b in S}`` agree (Patterson 1944). Put the centre on the
axis of a regular n-gon of radius ``radius`` (in the ring plane, ``height = 0``, or at the apex
of a cone, ``height != 0``) and neighbours on the vertices of S (X+) or T (X-). Every neighbour
is at the same distance from the centre and the distance between vertices i and j depends
only on ``(j - i) mod n``, so the 3-body multisets of (|r_j|, |r_k|, |r_j - r_k|) agree: the
pair is 3-body degenerate. The 4-body signatures see triangles of vertices, i.e. triples of
differences, which homometric sets generally do not share: 4-body resolves them. Pairs related
by a rotation or reflection of the ring are congruent, so the enumerator removes them.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from ..environments import InputError
from .pair import Claim, DegeneratePair, make_atoms

PATTERSON_REFERENCE = (
    "A. L. Patterson, 'Ambiguities in the X-ray analysis of crystal structures', Phys. Rev. 65, "
    "195 (1944), doi:10.1103/PhysRev.65.195; J. Rosenblatt, P. D. Seymour, 'The structure of "
    "homometric sets', SIAM J. Algebraic Discrete Methods 3, 343 (1982), doi:10.1137/0603035"
)


def cyclic_differences(indices, n: int) -> tuple[int, ...]:
    """Sorted multiset of ``(b - a) mod n`` over ordered pairs of distinct elements."""
    indices = list(indices)
    return tuple(sorted((b - a) % n for a in indices for b in indices if a != b))


def dihedral_canonical(indices, n: int) -> tuple[int, ...]:
    """Smallest sorted representative of ``indices`` under the 2n rotations/reflections of Z_n."""
    indices = list(indices)
    images = []
    for sign in (1, -1):
        for shift in range(n):
            images.append(tuple(sorted((sign * i + shift) % n for i in indices)))
    return min(images)


def homometric_ring_sets(n: int, k: int) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """All pairs of k-subsets of Z_n with equal cyclic difference multisets, up to symmetry.

    Each subset is given by its dihedral canonical form (:func:`dihedral_canonical`); pairs
    related by a rotation or reflection of the ring (congruent rings) are never listed. The
    result is sorted, each pair ``(S, T)`` with ``S < T``.
    """
    if not (isinstance(n, (int, np.integer)) and n >= 3):
        raise InputError(f"ring size n must be an integer >= 3, got {n!r}")
    if not (isinstance(k, (int, np.integer)) and 1 <= k <= n):
        raise InputError(f"number of atoms k must be an integer in 1..{n}, got {k!r}")
    classes = {dihedral_canonical(subset, n) for subset in combinations(range(n), k)}
    by_differences: dict[tuple[int, ...], list[tuple[int, ...]]] = {}
    for subset in sorted(classes):
        by_differences.setdefault(cyclic_differences(subset, n), []).append(subset)
    pairs = []
    for group in by_differences.values():
        pairs.extend(combinations(sorted(group), 2))
    return sorted(pairs)


def ring_members(n, plus_indices, minus_indices, radius=2.0, height=0.0):
    """Centre at the origin, neighbours on a regular n-gon of ``radius`` Å at z = ``height``."""
    members = []
    for indices in (plus_indices, minus_indices):
        angles = 2 * np.pi * np.asarray(sorted(indices), dtype=np.float64) / n
        ring = np.stack(
            [radius * np.cos(angles), radius * np.sin(angles), np.full(len(angles), height)],
            axis=1,
        )
        members.append(make_atoms("C" + "H" * len(angles), np.vstack([np.zeros(3), ring])))
    return members


def ring_homometric(
    n: int = 8,
    plus_indices=(0, 1, 2, 5),
    minus_indices=(0, 1, 3, 4),
    radius: float = 2.0,
    height: float = 0.0,
) -> DegeneratePair:
    """A homometric ring pair; default {0,1,2,5} vs {0,1,3,4} on an octagon, centre in the plane.

    ``height = 0`` puts the centre in the ring plane (at the ring's centre); ``height != 0`` puts
    the ring on a cone above the centre. Raises InputError unless the index sets are homometric
    and not related by a symmetry of the ring.
    """
    plus_indices = tuple(int(i) % n for i in plus_indices)
    minus_indices = tuple(int(i) % n for i in minus_indices)
    if len(set(plus_indices)) != len(plus_indices) or len(set(minus_indices)) != len(minus_indices):
        raise InputError("ring index sets must not repeat a vertex (atoms would coincide)")
    if cyclic_differences(plus_indices, n) != cyclic_differences(minus_indices, n):
        raise InputError(
            f"{plus_indices} and {minus_indices} are not homometric on Z_{n}; pick a pair from "
            f"homometric_ring_sets({n}, {len(plus_indices)})"
        )
    if dihedral_canonical(plus_indices, n) == dihedral_canonical(minus_indices, n):
        raise InputError(
            f"{plus_indices} and {minus_indices} are related by a rotation or reflection of the "
            "ring: the environments are congruent"
        )
    plus, minus = ring_members(n, plus_indices, minus_indices, radius, height)
    where = "centre in the ring plane" if height == 0 else "ring on a cone above the centre"
    label = "planar" if height == 0 else "cone"
    tag = "".join(str(i) for i in plus_indices) + "-" + "".join(str(i) for i in minus_indices)
    return DegeneratePair(
        name=f"ring-{n}-{tag}-{label}",
        plus=plus,
        minus=minus,
        claim=Claim.environment(
            3,
            f"homometric vertex sets {set(plus_indices)} vs {set(minus_indices)} of a "
            f"regular {n}-gon, {where}: equal 3-body, different 4-body",
        ),
        params={
            "n": n,
            "plus_indices": list(plus_indices),
            "minus_indices": list(minus_indices),
            "radius": radius,
            "height": height,
        },
        reference=PATTERSON_REFERENCE,
        family="ring-homometric",
    )

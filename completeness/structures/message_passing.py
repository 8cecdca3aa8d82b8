"""Global / message-passing degeneracies of whole point clouds (docs/science.md §2.7).

* Centrosymmetric Gram sign-flip clouds (Pozdnyakov & Ceriotti, MLST 2022; Li et al. 2023):
  take p1, p2, p3 and the cloud {+-p1, +-p2, +-p3}. Its interatomic distances are
  |2 p_i| and |p_i -+ p_j|, i.e. sqrt(G_ii + G_jj -+ 2 G_ij) with G the Gram matrix, so the
  distance multiset only sees |G_ij|. Flip the sign of G_12: when G_12 G_23 G_31 < 0,
  det G' = det G - 4 G_12 G_23 G_31 > 0 and G' is again a Gram matrix; realise it as
  q1, q2, q3 (Cholesky). The clouds {+-p} and {+-q} have the same distance multiset and every
  atom sees the same distances, so distance-only message passing (geometric 1-WL) never
  separates them; they are not congruent because the sign of the invariant G_12 G_23 G_31
  differs.
* k-chains of the geometric-gnn-dojo (Joshi et al. ICML 2023): k atoms on a line, 5 Å apart
  along y, and two end atoms, (-4, -3, 0) or (4, -3, 0) at one end and (4, 5(k-1) + 3, 0) at
  the other; the graph is the chain (every bond 5 Å, so a cutoff of 5.5 Å reproduces it).
  The dojo states that the pair is (floor(k/2) + 1)-hop distinguishable for equivariant
  networks and that invariant (distance-only) networks cannot distinguish it at all.
"""

from __future__ import annotations

import numpy as np

from ..environments import InputError
from .pair import Claim, DegeneratePair, make_atoms

GRAM_REFERENCE = (
    "S. N. Pozdnyakov, M. Ceriotti, 'Incompleteness of graph neural networks for points "
    "clouds in three dimensions', Mach. Learn.: Sci. Technol. 3, 045020 (2022), "
    "doi:10.1088/2632-2153/aca1f8; Z. Li, X. Wang, Y. Huang, M. Zhang, 'Is distance matrix "
    "enough for geometric deep learning?', NeurIPS 2023, doi:10.48550/arXiv.2302.05743"
)
DOJO_REFERENCE = (
    "C. K. Joshi, C. Bodnar, S. V. Mathis, T. Cohen, P. Lio, 'On the Expressive Power of "
    "Geometric Graph Neural Networks', ICML 2023, doi:10.48550/arXiv.2301.09308 "
    "(github.com/chaitjo/geometric-gnn-dojo, experiments/kchains.ipynb)"
)

#: Default generators of the sign-flip cloud (Å): G_12 G_23 G_31 = 1.2 * 0.66 * (-0.72) < 0.
DEFAULT_P = ((1.6, 0.0, 0.0), (0.75, 1.5, 0.0), (-0.45, 0.67, 1.5))
KCHAIN_SPACING = 5.0
KCHAIN_CUTOFF = 5.5


def gram_sign_flip_clouds(p=DEFAULT_P, flip=(0, 1)):
    """The clouds {+-p_i} and {+-q_i} with q the Cholesky realisation of G with G[flip] negated.

    Returns two (6, 3) position arrays (order +p1, +p2, +p3, -p1, -p2, -p3).
    """
    p = np.asarray(p, dtype=np.float64)
    if p.shape != (3, 3):
        raise InputError(f"p must be three 3D vectors, shape (3, 3); got {p.shape}")
    i, j = flip
    if i == j or not (0 <= i < 3 and 0 <= j < 3):
        raise InputError(f"flip must name an off-diagonal entry of the 3x3 Gram matrix, got {flip}")
    gram = p @ p.T
    if not gram[0, 1] * gram[1, 2] * gram[2, 0] < 0:
        raise InputError(
            "need G12 G23 G31 < 0 so that the sign-flipped Gram matrix stays positive "
            f"definite; got {gram[0, 1] * gram[1, 2] * gram[2, 0]:.3g}: change p"
        )
    flipped = gram.copy()
    flipped[i, j] = flipped[j, i] = -gram[i, j]
    q = np.linalg.cholesky(flipped)  # rows q_i with q_i . q_j = flipped[i, j]
    return np.vstack([p, -p]), np.vstack([q, -q])


def gram_sign_flip(p=DEFAULT_P, flip=(0, 1), symbol: str = "C") -> DegeneratePair:
    """The centrosymmetric Gram sign-flip pair (6 atoms each, centred at the origin)."""
    plus_positions, minus_positions = gram_sign_flip_clouds(p, flip)
    return DegeneratePair(
        name="gram-sign-flip",
        plus=make_atoms(symbol * 6, plus_positions),
        minus=make_atoms(symbol * 6, minus_positions),
        claim=Claim(
            scope="global",
            equal_up_to_o3=2,
            equal_up_to_so3=2,
            statement=(
                "clouds {+-p_i} and {+-q_i} whose Gram matrices differ by the sign of G12: "
                "equal distance multisets, geometric 1-WL (complete graph) never separates "
                "them, not congruent"
            ),
            wl_iteration=None,
            wl_cutoff=None,
        ),
        params={"p": np.asarray(p).tolist(), "flip": list(flip)},
        reference=GRAM_REFERENCE,
        family="global-message-passing",
    )


def kchain_positions(k: int, left_x: float) -> np.ndarray:
    """Dojo k-chain: (left_x, -3, 0), (0, 5 i, 0) for i < k, (4, 5 (k - 1) + 3, 0); centred."""
    positions = np.array(
        [[left_x, -3.0, 0.0]]
        + [[0.0, KCHAIN_SPACING * i, 0.0] for i in range(k)]
        + [[4.0, KCHAIN_SPACING * (k - 1) + 3.0, 0.0]]
    )
    return positions - positions.mean(axis=0)


def kchain(k: int = 4, symbol: str = "C") -> DegeneratePair:
    """The dojo's k-chain pair (k + 2 atoms each), for k >= 2."""
    if not (isinstance(k, (int, np.integer)) and k >= 2):
        raise InputError(f"k must be an integer >= 2, got {k!r}")
    k = int(k)
    hops = k // 2 + 1
    return DegeneratePair(
        name=f"dojo-kchain-{k}",
        plus=make_atoms(symbol * (k + 2), kchain_positions(k, -4.0)),
        minus=make_atoms(symbol * (k + 2), kchain_positions(k, 4.0)),
        claim=Claim(
            scope="global",
            equal_up_to_o3=1,
            equal_up_to_so3=1,
            statement=(
                f"{k}-chain with the end atom flipped: on the chain graph (cutoff "
                f"{KCHAIN_CUTOFF} Å, every bond 5 Å) distance-only message passing never "
                f"separates the members; equivariant networks need floor(k/2) + 1 = {hops} "
                "hops (dojo); the full distance multisets differ"
            ),
            wl_iteration=None,
            wl_cutoff=KCHAIN_CUTOFF,
            equivariant_hops=hops,
        ),
        params={"k": k},
        reference=DOJO_REFERENCE,
        family="global-message-passing",
    )

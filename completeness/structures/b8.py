"""B8-style two-ring pairs: equal signed 4-body (bispectrum), different 5-body (§2.5).

Construction (Pozdnyakov et al. PRL 2020; the "B8" data set of Nigam, Pozdnyakov,
Huguenin-Dumittan, Ceriotti, APL Mach. Learn. 2, 016110 (2024)). Centre at the origin;
ring 1: n atoms at height +z1, radius r, azimuths phi_k; ring 2: ring 1 rotated by psi about z,
at height -z1; one apex atom on the axis at +z2 (X+) or -z2 (X-). For n >= 3 and an azimuth
pattern without in-plane mirror symmetry the 3-body, the O(3) 4-body and the *signed* (SO(3))
4-body multisets all agree and the 5-body multisets differ; n = 2 gives congruent partners.
With n = 3 each member has 8 atoms (hence "B8").

Sampling of the data set (as described in docs/science.md §2.5 from the paper): n = 3;
r, z1 ~ U(0.5, 2) Å; z2 ~ U(1.5, 1.8) Å; psi ~ U(0, pi); phi = [0, p1, p1 + p2] with
p1, p2 ~ U(pi/6, pi); a draw is kept only if every centre-neighbour distance is in (1.5, 1.8) Å
and every interatomic distance exceeds 1.2 Å; ``np.random.default_rng(12345)``; 4000 pairs.
The authors' generating script was not found in the searchable code index, so the order of
the random draws is ours: per attempt, six consecutive uniforms in the order
(r, z1, z2, psi, p1, p2), drawn in blocks of 4096 attempts (which consumes the random stream
exactly like one call per attempt). The distributions and rejection rules are the published
ones; individual structures need not coincide with the published files.
"""

from __future__ import annotations

import numpy as np

from ..environments import InputError
from .pair import Claim, DegeneratePair, make_atoms

NIGAM_REFERENCE = (
    "J. Nigam, S. N. Pozdnyakov, K. K. Huguenin-Dumittan, M. Ceriotti, 'Completeness of "
    "atomic structure representations', APL Mach. Learn. 2, 016110 (2024), "
    "doi:10.1063/5.0177302"
)
PRL_REFERENCE = (
    "S. N. Pozdnyakov et al., Phys. Rev. Lett. 125, 166001 (2020), "
    "doi:10.1103/PhysRevLett.125.166001"
)

B8_SEED = 12345
B8_SIZE = 4000
_LOW = np.array([0.5, 0.5, 1.5, 0.0, np.pi / 6, np.pi / 6])
_HIGH = np.array([2.0, 2.0, 1.8, np.pi, np.pi, np.pi])
_BOND_RANGE = (1.5, 1.8)
_MIN_GAP = 1.2
_BLOCK = 4096


def two_ring_members(r, z1, z2, psi, phi, centre="C", neighbour="H"):
    """The two members (centre first, then ring 1, ring 2, apex) for explicit parameters."""
    phi = np.asarray(phi, dtype=np.float64)
    ring1 = np.stack([r * np.cos(phi), r * np.sin(phi), np.full(len(phi), z1)], axis=1)
    ring2 = np.stack([r * np.cos(phi + psi), r * np.sin(phi + psi), np.full(len(phi), -z1)], axis=1)
    symbols = centre + neighbour * (2 * len(phi) + 1)
    members = []
    for sign in (1.0, -1.0):
        positions = np.vstack([np.zeros(3), ring1, ring2, [0.0, 0.0, sign * z2]])
        members.append(make_atoms(symbols, positions))
    return members


def _accepted(draws: np.ndarray) -> np.ndarray:
    """Which rows (r, z1, z2, psi, p1, p2) pass the rejection rules (vectorised)."""
    r, z1, z2, psi, p1, p2 = draws.T
    phi = np.stack([np.zeros_like(p1), p1, p1 + p2], axis=1)
    m = len(draws)
    ring1 = np.stack(
        [r[:, None] * np.cos(phi), r[:, None] * np.sin(phi), np.repeat(z1[:, None], 3, 1)], -1
    )
    angle2 = phi + psi[:, None]
    ring2 = np.stack(
        [r[:, None] * np.cos(angle2), r[:, None] * np.sin(angle2), np.repeat(-z1[:, None], 3, 1)],
        -1,
    )
    apex = np.stack([np.zeros(m), np.zeros(m), z2], axis=1)[:, None]
    positions = np.concatenate([np.zeros((m, 1, 3)), ring1, ring2, apex], axis=1)
    bonds = np.linalg.norm(positions[:, 1:], axis=-1)
    ok = np.all((bonds > _BOND_RANGE[0]) & (bonds < _BOND_RANGE[1]), axis=1)
    gaps = np.linalg.norm(positions[:, :, None] - positions[:, None], axis=-1)
    i, j = np.triu_indices(positions.shape[1], 1)
    # the minus member is the apex mirrored through the ring midplane: same distances
    return ok & (gaps[:, i, j].min(axis=1) > _MIN_GAP)


def _claim() -> Claim:
    return Claim.environment(
        4,
        "two 3-rings at +-z1 (ring 2 = ring 1 rotated by psi) and an apex at +z2 or -z2: "
        "equal 3-body and signed 4-body (bispectrum), different 5-body",
    )


def b8_parameters(n_pairs: int = B8_SIZE, seed: int = B8_SEED) -> list[dict]:
    """Parameters of the first ``n_pairs`` accepted draws of the B8 sampling (see module doc)."""
    if n_pairs < 0:
        raise InputError(f"n_pairs must be >= 0, got {n_pairs}")
    rng = np.random.default_rng(seed)
    accepted = []
    drawn = 0
    while len(accepted) < n_pairs:
        if drawn > 1000 * (n_pairs + 1):
            raise InputError("B8 rejection sampling accepts nothing; check the ranges")
        # a block of draws consumes the random stream exactly like one draw per attempt
        block = rng.uniform(_LOW, _HIGH, size=(_BLOCK, 6))
        for offset in np.flatnonzero(_accepted(block)):
            if len(accepted) == n_pairs:
                break
            r, z1, z2, psi, p1, p2 = (float(v) for v in block[offset])
            accepted.append(
                {
                    "r": r,
                    "z1": z1,
                    "z2": z2,
                    "psi": psi,
                    "phi": [0.0, p1, p1 + p2],
                    "draw": drawn + int(offset),
                }
            )
        drawn += _BLOCK
    return accepted


def b8_pair(index: int = 0, seed: int = B8_SEED) -> DegeneratePair:
    """Pair number ``index`` (0-based) of the B8-style sampling."""
    if index < 0:
        raise InputError(f"index must be >= 0, got {index}")
    params = b8_parameters(index + 1, seed)[index]
    return _pair_from(params, index, seed)


def b8_pairs(n_pairs: int = B8_SIZE, seed: int = B8_SEED) -> list[DegeneratePair]:
    """The first ``n_pairs`` B8-style pairs (4000 for the data set)."""
    return [_pair_from(p, i, seed) for i, p in enumerate(b8_parameters(n_pairs, seed))]


def _pair_from(params: dict, index: int, seed: int) -> DegeneratePair:
    plus, minus = two_ring_members(
        params["r"], params["z1"], params["z2"], params["psi"], params["phi"]
    )
    return DegeneratePair(
        name=f"nigam2024-b8-{index:04d}",
        plus=plus,
        minus=minus,
        claim=_claim(),
        params={**params, "index": index, "seed": seed},
        reference=NIGAM_REFERENCE + " (B8 data set); construction: " + PRL_REFERENCE,
        family="b8-two-ring",
    )


def two_ring_pair(r=1.0, z1=1.2, z2=1.6, psi=1.0, phi=(0.0, 1.2, 3.0)) -> DegeneratePair:
    """A two-ring pair with explicit parameters (any n = len(phi) >= 3)."""
    if len(phi) < 3:
        raise InputError(
            f"need at least 3 atoms per ring, got {len(phi)}: with 2 the partners are congruent"
        )
    plus, minus = two_ring_members(r, z1, z2, psi, phi)
    return DegeneratePair(
        name="two-ring",
        plus=plus,
        minus=minus,
        claim=_claim(),
        params={"r": r, "z1": z1, "z2": z2, "psi": psi, "phi": list(phi)},
        reference=PRL_REFERENCE + "; " + NIGAM_REFERENCE,
        family="b8-two-ring",
    )

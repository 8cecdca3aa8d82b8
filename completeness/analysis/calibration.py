"""Calibration of the verdict rule (:mod:`completeness.analysis.distance`): round-off pairs and
near misses, generic and at the fold point of the Pozdnyakov family, at a stated resolution.

The numbers this measures for the built-in descriptors are listed in the docstring of
:mod:`completeness.analysis.distance`.
"""

from __future__ import annotations

from dataclasses import dataclass

import ase
import numpy as np

from ..descriptors.user import as_descriptor
from ..environments import InputError
from ..structures import NEIGHBOUR_FRACTION
from .distance import random_copy, unclaimed_pair, verdicts

__all__ = ["NEAR_MISS_DISPLACEMENTS", "Calibration", "calibrate", "fold_structure"]


@dataclass(frozen=True)
class Calibration:
    """Margins (decades above the noise floor) of the verdict rule's calibration pairs.

    Attributes
    ----------
    round_off : (n,) float array
        Margins of round-off pairs: a random environment against an independently rotated,
        permuted and translated copy of itself (must never be "resolved").
    displacements : (m,) float array
        Displacements in Å of the near-miss pairs.
    generic : (m,) float array
        Margins of a random environment against itself with one neighbour moved by each
        displacement in a random direction (linear response).
    fold : (m,) float array
        Margins at the fold point of the PRL family: C on the axis against C moved off the axis
        by each displacement (quadratic response, the hardest near-miss).
    verdicts : dict
        The verdict strings of every calibration pair, by kind.
    """

    descriptor: str
    round_off: np.ndarray
    displacements: np.ndarray
    generic: np.ndarray
    fold: np.ndarray
    verdicts: dict


def _random_environment(rng, n_neighbours=8, inner=1.2, outer=3.6, species=(1,)):
    while True:
        directions = rng.normal(size=(n_neighbours, 3))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        radii = rng.uniform(inner, outer, size=n_neighbours)
        vectors = directions * radii[:, None]
        gaps = np.linalg.norm(vectors[:, None] - vectors[None], axis=-1)
        if gaps[np.triu_indices(n_neighbours, 1)].min() > 0.8:
            break
    numbers = [6, *rng.choice(species, size=n_neighbours).tolist()]
    return ase.Atoms(numbers=numbers, positions=np.vstack([np.zeros(3), vectors]))


def fold_structure(y_c: float, cutoff: float | None) -> ase.Atoms:
    """PRL Fig. 1(b) with C at (0, y_c, 5) after scaling the published 5 Å lattice to fit the
    cutoff (farthest neighbour, B at 5 sqrt(3) Å, at 0.8 cutoff); ``y_c`` is in scaled Å."""
    from ..structures.prl import prl_members

    factor = 1.0 if cutoff is None else NEIGHBOUR_FRACTION * cutoff / (5.0 * np.sqrt(3.0))
    plus, _ = prl_members(
        5.0 * factor, 5.0 * factor, np.array([5.0, 5.0, 5.0]) * factor, y_c, 5.0 * factor
    )
    return plus


#: Near-miss displacements of :func:`calibrate`: 1e-10 to 1e-2 Å in half decades.
NEAR_MISS_DISPLACEMENTS = tuple(10.0 ** (k / 2) for k in range(-20, -3))


def calibrate(
    descriptor,
    *,
    displacements=NEAR_MISS_DISPLACEMENTS,
    n_round_off: int = 16,
    resolution: float | None = None,
    seed: int = 0,
) -> Calibration:
    """Run the verdict rule on round-off pairs and near-miss pairs (see the module docstring).

    Every pair is judged by :func:`verdicts` exactly as a user's pair is (no rescaling, the
    same noise floor) at ``resolution`` (default: float64 round-off), in one batch.
    """
    user = as_descriptor(descriptor)
    rng = np.random.default_rng(seed)
    displacements = np.asarray(displacements, dtype=np.float64)
    pairs = []
    for k in range(n_round_off):
        atoms = _random_environment(rng, species=(1, 8))
        copy = random_copy(atoms, rng, "environment")
        pairs.append(unclaimed_pair(f"round-off {k}", atoms, copy, resolution=resolution))
    base = _random_environment(rng)
    direction = rng.normal(size=3)
    direction /= np.linalg.norm(direction)
    on_axis = fold_structure(0.0, user.cutoff)
    for t in displacements:
        moved = base.copy()
        moved.positions[1] += t * direction
        pairs.append(unclaimed_pair(f"generic {t:g}", base.copy(), moved, resolution=resolution))
        folded = fold_structure(t, user.cutoff)
        pairs.append(unclaimed_pair(f"fold {t:g}", on_axis.copy(), folded, resolution=resolution))
    results = verdicts(user, pairs, seed=seed)
    by_kind: dict[str, list] = {"round-off": [], "generic": [], "fold": []}
    for result in results:
        if result.error is not None:
            raise InputError(f"calibration pair {result.pair} failed: {result.error}")
        by_kind[result.pair.split(" ")[0]].append(result)
    return Calibration(
        descriptor=user.name,
        round_off=np.array([r.margin for r in by_kind["round-off"]]),
        displacements=displacements,
        generic=np.array([r.margin for r in by_kind["generic"]]),
        fold=np.array([r.margin for r in by_kind["fold"]]),
        verdicts={kind: [r.verdict for r in rows] for kind, rows in by_kind.items()},
    )

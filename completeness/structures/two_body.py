"""2-body degenerate environments: equal neighbour distances, different angles.

Background: docs/science.md §2.1.

The radial spectrum (nu = 1) of a centred environment is a function of the multiset of
centre-neighbour distances ``{|r_j|}`` and the neighbour species only, so any two environments
with the same distances (per species) but non-congruent arrangements are 2-body degenerate.
"""

from __future__ import annotations

import numpy as np

from ..environments import InputError
from .pair import Claim, DegeneratePair, make_atoms, random_shell

JOSHI_REFERENCE = (
    "C. K. Joshi, C. Bodnar, S. V. Mathis, T. Cohen, P. Lio, 'On the Expressive Power of "
    "Geometric Graph Neural Networks', ICML 2023, doi:10.48550/arXiv.2301.09308 "
    "(code: github.com/chaitjo/geometric-gnn-dojo, experiments/incompleteness.ipynb)"
)


def joshi2023_two_body() -> DegeneratePair:
    """The 2-body counterexample of the geometric-gnn-dojo.

    Centre at the origin; neighbours (5,0,0), (3,0,4) versus (5,0,0), (-5,0,0) Å: both
    neighbours at 5 Å in both members, bond angle 53.13 degrees versus 180 degrees.
    """
    plus = make_atoms("CHH", [[0, 0, 0], [5, 0, 0], [3, 0, 4]])
    minus = make_atoms("CHH", [[0, 0, 0], [5, 0, 0], [-5, 0, 0]])
    return DegeneratePair(
        name="joshi2023-two-body",
        plus=plus,
        minus=minus,
        claim=Claim.environment(
            2,
            "same centre-neighbour distances (5, 5 Å), different bond angle: equal 2-body, "
            "different 3-body",
        ),
        params={},
        reference=JOSHI_REFERENCE,
        family="two-body",
    )


def random_two_body(
    seed: int = 0,
    n_neighbours: int = 4,
    min_distance: float = 1.0,
    max_distance: float = 2.0,
    min_separation: float = 0.8,
) -> DegeneratePair:
    """A seeded generic 2-body pair: the same neighbour distances along two random direction sets.

    Distances are drawn from U(min_distance, max_distance); each member places neighbour ``j`` at
    that distance along an independent uniformly random direction. Direction sets are redrawn
    until every pair of atoms is at least ``min_separation`` Å apart, so no atoms coincide.
    Generic draws are non-congruent (verified by :func:`completeness.structures.verify`).
    """
    if n_neighbours < 2:
        raise InputError(f"n_neighbours must be >= 2 for a 2-body pair, got {n_neighbours}")
    rng = np.random.default_rng(seed)
    distances = rng.uniform(min_distance, max_distance, size=n_neighbours)
    members = []
    for _ in range(2):
        positions = random_shell(rng, n_neighbours, distances, min_separation)
        if positions is None:
            raise InputError(
                f"could not place {n_neighbours} neighbours {min_separation} Å apart; lower "
                "min_separation or n_neighbours"
            )
        members.append(make_atoms("C" + "H" * n_neighbours, positions))
    return DegeneratePair(
        name="two-body-random",
        plus=members[0],
        minus=members[1],
        claim=Claim.environment(
            2,
            "same centre-neighbour distances along random directions: equal 2-body, "
            "different 3-body",
        ),
        params={
            "seed": seed,
            "n_neighbours": n_neighbours,
            "min_distance": min_distance,
            "max_distance": max_distance,
            "min_separation": min_separation,
        },
        reference="generic construction (docs/science.md §2.1); " + JOSHI_REFERENCE,
        family="two-body",
    )

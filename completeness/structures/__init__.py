"""Degenerate pairs: generators, a registry and their verification by the oracle.

Every class of docs/science.md §2 has a generator module:

=============================  =============================================================
module                         pairs
=============================  =============================================================
:mod:`.two_body`               Joshi et al. 2023 2-body pair; seeded equal-distance pairs
:mod:`.prl`                    PRL 2020 Fig. 1(b); the 7-parameter family; the CH4-like
                               equal-bond family; fold points (``delta``)
:mod:`.rings`                  homometric index sets on a regular n-gon, and their enumerator
:mod:`.b8`                     B8-style two-ring pairs (Nigam et al. 2024 sampling)
:mod:`.enantiomers`            chiral environments and their mirror images
:mod:`.message_passing`        Gram sign-flip clouds; the dojo's k-chains (global)
:mod:`.polyhedra`              vertex subsets of symmetric solids that 1-WL cannot separate,
                               and their exhaustive enumerator (global)
:mod:`.homometric`             Bloom's 1D pair; U+V vs U-V sets in 1D and 2D (global)
:mod:`.dojo`                   the dojo's congruent "4-body" pairs (refused, not registered)
=============================  =============================================================

Usage::

    from completeness import structures
    structures.names()                              # registered pair names
    pair = structures.load("pozdnyakov2020-fig1b")  # a DegeneratePair
    structures.verify(pair)                         # the oracle confirms the claim

:func:`load` accepts the generator's keyword arguments (``structures.load("prl-family",
seed=3)``). The catalog on disk (``structures/`` at the top of the repository) is written by
:func:`completeness.structures.catalog.write_catalog` (``completeness catalog``).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import partial

import numpy as np

from ..environments import COINCIDENT_TOLERANCE, Environment, InputError
from . import b8, dojo, enantiomers, homometric, message_passing, polyhedra, prl, rings, two_body
from .pair import NEIGHBOUR_FRACTION, Claim, ClaimError, DegeneratePair, make_atoms
from .user import file_resolution, read_pair, user_pair

__all__ = [
    "NEIGHBOUR_FRACTION",
    "Claim",
    "ClaimError",
    "DegeneratePair",
    "b8",
    "cloud_environment",
    "dojo",
    "enantiomers",
    "entry",
    "file_resolution",
    "homometric",
    "load",
    "make_atoms",
    "message_passing",
    "names",
    "polyhedra",
    "prl",
    "read_pair",
    "register",
    "rings",
    "two_body",
    "user_pair",
    "verify",
]


@dataclass(frozen=True)
class RegistryEntry:
    """A registered pair: its name, the class it belongs to, and how to build it."""

    name: str
    family: str
    factory: object
    description: str


_REGISTRY: dict[str, RegistryEntry] = {}


def register(name: str, factory, family: str, description: str = "") -> None:
    """Register ``factory(**params) -> DegeneratePair`` under ``name`` (catalog order = order of
    registration)."""
    if name in _REGISTRY:
        raise InputError(f"a pair named {name!r} is already registered")
    _REGISTRY[name] = RegistryEntry(name, family, factory, description)


def names() -> list[str]:
    """Names of all registered pairs, in catalog order."""
    return list(_REGISTRY)


def entry(name: str) -> RegistryEntry:
    try:
        return _REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(str(name), list(_REGISTRY), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise InputError(
            f"no degenerate pair named {name!r}{hint} (see completeness.structures.names())"
        ) from None


def load(name: str, **params) -> DegeneratePair:
    """Build the registered pair ``name``; ``params`` override the generator's defaults."""
    return entry(name).factory(**params)


# --------------------------------------------------------------------------------------------
# verification
# --------------------------------------------------------------------------------------------


def cloud_environment(atoms) -> Environment:
    """A whole finite cloud seen from its centroid, for the exact congruence test.

    Any isometry between two clouds maps centroid to centroid, so two clouds are congruent iff
    these environments are. An atom sitting at the centroid becomes the centre (its species is
    the centre species); otherwise the centre is a dummy of atomic number 0.
    """
    centred = atoms.positions - atoms.positions.mean(axis=0)
    at_centre = np.linalg.norm(centred, axis=1) < COINCIDENT_TOLERANCE
    centre_species = int(atoms.numbers[at_centre][0]) if at_centre.any() else 0
    return Environment.from_vectors(
        centred[~at_centre], atoms.numbers[~at_centre], centre_species=centre_species
    )


def _refuse_congruent(pair: DegeneratePair, congruence, parity_allowed: bool) -> None:
    if congruence.congruent and (congruence.proper or not parity_allowed):
        how = "a rotation" if congruence.proper else "a reflection"
        raise ClaimError(
            f"{pair.name}: members are congruent (rmsd {congruence.rmsd:.2g} Å after {how} and "
            "a permutation): not a degenerate pair"
        )


def verify(pair: DegeneratePair):
    """Check ``pair.claim`` with the oracle; return the oracle's DegeneracyOrder.

    Environment scope: :func:`completeness.oracle.degeneracy_order` up to
    ``claim.max_checked`` must give exactly ``claim.equal_up_to_o3`` and
    ``claim.equal_up_to_so3``; members congruent by a rotation are refused, and so are members
    congruent by a reflection unless the claim is a parity-only (mirror-image) claim.

    Global scope: the full distance multisets must agree exactly when ``equal_up_to_o3 >= 2``
    (:func:`completeness.oracle.global_distances_equal`), geometric 1-WL must first separate the
    clouds at ``claim.wl_iteration`` (:func:`completeness.oracle.wl_distinguishing_iteration`),
    and the clouds must not be congruent (exact test on the clouds seen from their centroids,
    :func:`cloud_environment`); the returned DegeneracyOrder is that of those centroid
    environments.

    Raises
    ------
    ClaimError
        (an InputError) with a one-line message when the members are congruent, when
        congruence cannot be decided, or when the oracle contradicts the claim.
    """
    from .. import oracle

    claim = pair.claim
    if claim.scope == "environment":
        order = oracle.degeneracy_order(pair.plus, pair.minus, max_body_order=claim.max_checked)
        _refuse_congruent(pair, order.congruence, parity_allowed=claim.parity_only)
        if order.congruence.congruent is None and order.so3 >= claim.max_checked:
            raise ClaimError(
                f"{pair.name}: every signature up to {claim.max_checked}-body agrees and "
                "congruence is undecided (too many neighbours): cannot confirm a degenerate pair"
            )
        found = (order.o3, order.so3)
        claimed = (claim.equal_up_to_o3, claim.equal_up_to_so3)
        if found != claimed:
            raise ClaimError(
                f"{pair.name}: claim says equal up to O(3) {claimed[0]}-body / SO(3) "
                f"{claimed[1]}-body, the oracle finds {found[0]} / {found[1]}"
            )
        return order

    plus_env, minus_env = cloud_environment(pair.plus), cloud_environment(pair.minus)
    order = oracle.degeneracy_order(plus_env, minus_env, max_body_order=3)
    _refuse_congruent(pair, order.congruence, parity_allowed=False)
    distances_equal = oracle.global_distances_equal(pair.plus, pair.minus)
    if order.congruence.congruent is None and distances_equal and order.o3 >= 3:
        raise ClaimError(
            f"{pair.name}: congruence of the clouds is undecided (too many atoms) and their "
            "invariants agree: cannot confirm a degenerate pair"
        )
    if distances_equal != (claim.equal_up_to_o3 >= 2):
        raise ClaimError(
            f"{pair.name}: claim says the distance multisets are "
            f"{'equal' if claim.equal_up_to_o3 >= 2 else 'different'}, the oracle finds them "
            f"{'equal' if distances_equal else 'different'}"
        )
    iteration = oracle.wl_distinguishing_iteration(
        pair.plus, pair.minus, cutoff=claim.wl_cutoff, max_iterations=claim.wl_max_iterations
    )
    if iteration != claim.wl_iteration:
        raise ClaimError(
            f"{pair.name}: claim says geometric 1-WL (cutoff {claim.wl_cutoff}) first separates "
            f"the clouds at iteration {claim.wl_iteration}, the oracle finds {iteration}"
        )
    return order


# --------------------------------------------------------------------------------------------
# the registry (catalog order)
# --------------------------------------------------------------------------------------------

register("joshi2023-two-body", two_body.joshi2023_two_body, "two-body", "dojo 2-body pair")
register("two-body-random", two_body.random_two_body, "two-body", "seeded equal-distance pair")
register("pozdnyakov2020-fig1b", prl.pozdnyakov2020_fig1b, "prl-3-body", "PRL Fig. 1(b)")
register("prl-family", prl.prl_family, "prl-3-body", "PRL family, 7 parameters, seeded")
register("prl-equal-bond", prl.prl_equal_bond, "prl-3-body", "CH4-like PRL family, seeded")
register("prl-fold", prl.prl_fold, "prl-fold", "fold point moved by +-delta")
register(
    "ring-8-0125-0134-planar",
    partial(rings.ring_homometric, n=8, plus_indices=(0, 1, 2, 5), minus_indices=(0, 1, 3, 4)),
    "ring-homometric",
    "octagon, centre in the ring plane",
)
register(
    "ring-8-0125-0134-cone",
    partial(
        rings.ring_homometric,
        n=8,
        plus_indices=(0, 1, 2, 5),
        minus_indices=(0, 1, 3, 4),
        height=1.0,
    ),
    "ring-homometric",
    "octagon on a cone above the centre",
)
for _index in range(3):
    register(
        f"nigam2024-b8-{_index:04d}",
        partial(b8.b8_pair, index=_index),
        "b8-two-ring",
        f"B8 sampling, pair {_index}",
    )
register("enantiomers-chbrclf", enantiomers.chbrclf, "enantiomers", "CHBrClF")
register("enantiomers-random", enantiomers.random_chiral, "enantiomers", "random chiral CH5")
register(
    "gram-sign-flip", message_passing.gram_sign_flip, "global-message-passing", "Gram sign flip"
)
for _k in range(2, 7):
    register(
        f"dojo-kchain-{_k}",
        partial(message_passing.kchain, k=_k),
        "global-message-passing",
        f"dojo {_k}-chain",
    )
#: Representative polyhedral pairs (the enumerator finds them all; see polyhedra.enumerate_pairs):
#: the smallest pair of the icosahedron, of the dodecahedron, and of the two unions; subsets of
#: at most 8 vertices so the oracle's exact congruence test decides them.
_POLYHEDRAL = (
    ("icosahedron", (3, 4, 5, 6, 7, 8), (0, 3, 5, 6, 8, 9)),
    ("dodecahedron", (1, 2, 3, 4, 5, 6), (0, 3, 4, 7, 11, 14)),
    ("dodecahedron", (2, 3, 4, 5, 11, 12, 14, 15), (1, 2, 5, 6, 11, 12, 14, 15)),
    ("cube-octahedron", (2, 3, 4, 5, 8, 9), (1, 2, 5, 6, 8, 9)),
    ("cube-rotated-cube", (2, 3, 4, 5, 11, 12), (1, 2, 5, 6, 11, 12)),
)
for _solid, _plus, _minus in _POLYHEDRAL:
    register(
        f"li2023-{_solid}-{len(_plus)}",
        partial(polyhedra.polyhedral_pair, _solid, _plus, _minus),
        "global-message-passing",
        f"{len(_plus)} vertices of the {_solid}",
    )
register("bloom-1d", homometric.bloom_1d, "global-homometric", "Bloom's 1D pair")
register("homometric-uv-1d", homometric.homometric_uv, "global-homometric", "U+V vs U-V, 1D")
register("homometric-uv-2d", homometric.homometric_uv_2d, "global-homometric", "U+V vs U-V, 2D")
del _index, _k, _solid, _plus, _minus

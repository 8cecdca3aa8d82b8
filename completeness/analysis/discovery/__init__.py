"""Discover degenerate pairs of a descriptor automatically: its blind spots, found by search.

Given a descriptor and a number of neighbours ``n``, :func:`discover` looks for two
environments ``a`` and ``b`` (a centre at the origin and ``n`` neighbours each, same species)
that the descriptor maps to the same features although they are structurally apart.

The search problem
------------------
Coordinates ``x = (a_1..a_n, b_1..b_n)`` (``6n`` numbers, Å; the centre is fixed at the origin).
With ``f`` the descriptor's features of the centre::

    D(x) = |f(a) - f(b)|^2 / q,     q = (|f(a)|^2 + |f(b)|^2) / 2

(a smooth version of the relative distance of :func:`completeness.analysis.distance.
feature_distance`: ``D = 2 d^2`` when the norms agree) is minimised subject to

* **separation** ``s(a, b) >= min_separation``: the root-mean-square deviation of the
  neighbours after the optimal alignment over rotations (also reflections when the descriptor's
  parity is ``"O(3)"``: mirror images are then trivially degenerate) and every species-preserving
  permutation. For each permutation ``P`` the optimum over orthogonal ``R`` is closed-form
  (Kabsch, Acta Cryst. A 32, 922 (1976), doi:10.1107/S0567739476001873):
  ``n s^2 = |A|^2 + |B|^2 - 2 max_P sum_i sigma_i(A^T B_P)`` (the smallest singular value takes
  the sign of ``det(A^T B_P)`` when only rotations are allowed). All permutations are enumerated
  (batched SVDs), so at most 40,320 (8 neighbours of one species). Its gradient is
  ``2 (A - B_P R) / n`` (envelope theorem at the optimal ``R``, ``P``).
* **shell** ``inner_radius <= |r_j| <= outer_radius`` (default ``0.25 cutoff`` and
  ``NEIGHBOUR_FRACTION * cutoff = 0.8 cutoff``: every neighbour well inside the cutoff, where a
  smooth cutoff function does not fade it away);
* **no collapse** ``|r_j - r_k| >= min_neighbour_distance`` (default ``0.2 cutoff``);
* optionally **no single shell** ``max_j |r_j| - min_j |r_j| >= min_radial_spread`` in each
  member (default 0: off). With every neighbour on one sphere a finite basis sees only the
  angular pattern up to ``max_angular`` (:class:`FoundPair`), and small bases are degenerate
  there; this constraint sends the search elsewhere.

Method (documented choice): the constraints become quadratic hinge penalties
``weight * (violation / cutoff)^2`` with thresholds 2 % stricter than the accepted ones, and
each random start is minimised with L-BFGS-B (``scipy.optimize.minimize``) using the
descriptor's analytic gradients (central finite differences when it has none, through
:class:`completeness.analysis.sensitivity.Evaluator`). A penalty keeps every iterate
evaluable and costs one function per iteration; the separation is non-smooth where the best
permutation changes, which a constrained SQP (SLSQP / trust-constr) handles no better. The
exploratory stage then hands over to a **polish**: Gauss-Newton on the residual vector
``(f(a) - f(b)) / sqrt(q)`` plus the penalty residuals (``scipy.optimize.least_squares``,
trust-region reflective), which converges quadratically onto a zero-residual (degenerate) set
where L-BFGS stalls at ``D ~ 1e-12``. A candidate is kept only if, after polishing, the audit's
verdict (:func:`completeness.analysis.distance.verdict`: relative feature distance within one
decade of the measured noise floor) is ``"degenerate"`` and every constraint holds at its
accepted threshold; otherwise it is rejected with the reason.

Survivors are classified by the basis-free oracle (:func:`completeness.oracle.degeneracy_order`):
``kind="body-order"`` when the O(3) signatures agree at least up to the descriptor's body order
(a blind spot of the descriptor's whole class, e.g. a 3-body pair for the power spectrum), or
``kind="basis"`` when they differ already there (a blind spot of this finite basis only).
Duplicates are merged up to congruence: ``(a, b) ~ (c, d)`` if ``a ~ c`` and ``b ~ d``, or
``a ~ d`` and ``b ~ c`` (:func:`completeness.oracle.congruent`, reflections allowed for O(3)
descriptors). Each survivor becomes a :class:`completeness.structures.DegeneratePair` with a
:class:`~completeness.structures.Claim` read off the oracle and checked by
:func:`completeness.structures.verify`; :meth:`DiscoveryResult.write` writes them in the
catalog's format (extxyz pair files, ``index.json``, ``README.md``).

Local dimension of the degenerate set
-------------------------------------
At a found pair, the constraint Jacobian ``J = d(f(a) - f(b)) / d(a, b)`` (``F x 6n``) is
restricted to the complement of the rigid rotations of *each member independently* (the span of
``e x a_j`` and of ``e x b_j``: 6 directions, fewer for a linear member; they are exact null
directions of every invariant). Its numerical nullity there (singular values below
``rtol * s_max``) is :attr:`FamilyDimension.dimension`: the dimension of the set of degenerate
*pairs* around the found one, modulo independent rotations of the two members: 0 for an isolated
pair, ``k`` for a ``k``-parameter family. This is the quantity that Pozdnyakov et al.'s family
has 7 of (PRL 125, 166001 (2020), doi:10.1103/PhysRevLett.125.166001; docs/science.md §2.2: the
parameters fix both members in one common frame, i.e. modulo rotations), 4 with equal bonds.
The pair manifold is not the same as the set of *environments* that have a degenerate partner:
:attr:`FamilyDimension.member_dimension` is the rank of the tangent space projected onto the
first member (modulo its rotations). The set of congruent pairs ``b = R a`` (dimension
``3n - 3`` modulo rotations) is also a zero set of ``f(a) - f(b)``, but the separation keeps the
found pairs away from it, so it does not contribute to the local count. A nullity is the
dimension of the linearised set: at a singular point (e.g. a fold point of a family, docs/science.md
2.3) it over-counts, which is why the gap between the last non-zero and the first zero singular
value is reported with it, and it must be read with the descriptor's basis (a small basis can
add null directions that a complete basis of the same body order does not have).
"""

from __future__ import annotations

import time
from dataclasses import replace

from ...environments import InputError
from ...io import json_safe
from .family import FamilyDimension, family_dimension
from .result import DISCOVERY_REFERENCE, DiscoveryResult, FoundPair, same_pair
from .search import Candidate, SearchSettings, member_atoms, restart, search_settings
from .separation import separation, species_permutations

__all__ = [
    "Candidate",
    "DiscoveryResult",
    "FamilyDimension",
    "FoundPair",
    "SearchSettings",
    "discover",
    "family_dimension",
    "separation",
    "species_permutations",
]


def discover(
    descriptor,
    n_neighbours: int,
    *,
    species=None,
    centre_species=6,
    restarts: int = 16,
    seed: int = 0,
    backend: str = "serial",
    n_workers: int | None = None,
    scheduler=None,
    checkpoint=None,
    progress: bool | None = None,
    inner_radius: float | None = None,
    outer_radius: float | None = None,
    min_neighbour_distance: float | None = None,
    min_separation: float | None = None,
    min_radial_spread: float = 0.0,
    max_iterations: int = 400,
    max_body_order: int = 5,
    rtol: float = 1e-6,
    name_prefix: str | None = None,
) -> DiscoveryResult:
    """Search for degenerate pairs of ``descriptor`` with ``n_neighbours`` neighbours.

    Size: nineteen keyword arguments and their documentation; the body only checks them, maps
    the restarts and merges the survivors (:func:`_distinct_pairs`).

    Parameters
    ----------
    descriptor
        A package descriptor, or any object accepted by
        :func:`completeness.descriptors.user.as_descriptor` (finite differences when it has no
        gradients). Its ``parity`` (default ``"O(3)"``) decides whether mirror images count as
        trivial (module docstring).
    n_neighbours : int
        Neighbours of each member (at most 8 of one species: the separation enumerates
        permutations).
    species : None, one species, or one per neighbour
        Atomic numbers or symbols of the neighbours (default H); ``centre_species`` the centre's
        (default C).
    restarts : int
        Random starts (seeded by ``seed`` through :func:`completeness.parallel.parallel_map`).
    backend, n_workers, scheduler, checkpoint, progress
        Passed to :func:`completeness.parallel.parallel_map` (``"serial"``, ``"processes"`` or
        ``"dask"``; a checkpoint directory makes an interrupted search resume). Task ``k`` gets
        its own generator, so the result does not depend on the backend.
    inner_radius, outer_radius, min_neighbour_distance, min_separation : float, optional
        Constraints in Å (defaults: 0.25, 0.8, 0.2 and 0.05 times the cutoff).
    min_radial_spread : float
        Each member's neighbour distances must span at least this (Å; 0 = no constraint):
        excludes single-shell environments, where small bases are degenerate.
    max_iterations : int
        L-BFGS-B iterations of the exploratory stage.
    max_body_order : int
        Highest body order the oracle checks.
    rtol : float
        Relative threshold of :func:`family_dimension`.

    Returns
    -------
    DiscoveryResult
        Every candidate (kept or rejected with the reason) and the distinct pairs found, each
        with its oracle classification, claim and family dimension.
    """
    from ...descriptors.user import as_descriptor
    from ...parallel import parallel_map

    start = time.perf_counter()
    settings = search_settings(
        descriptor,
        n_neighbours,
        species=species,
        centre_species=centre_species,
        inner_radius=inner_radius,
        outer_radius=outer_radius,
        min_neighbour_distance=min_neighbour_distance,
        min_separation=min_separation,
        max_iterations=max_iterations,
        min_radial_spread=min_radial_spread,
    )
    if isinstance(restarts, bool) or int(restarts) < 1:
        raise InputError(f"restarts must be a positive integer, got {restarts!r}")
    user_name = as_descriptor(descriptor).name
    tasks = [
        {"descriptor": descriptor, "settings": settings, "index": k} for k in range(int(restarts))
    ]
    candidates = parallel_map(
        restart,
        tasks,
        seed=seed,
        backend=backend,
        n_workers=n_workers,
        scheduler=scheduler,
        checkpoint=checkpoint,
        progress=progress,
    )
    body_order = getattr(descriptor, "body_order", None)
    body_order = int(body_order) if body_order else None
    prefix = name_prefix or f"discovered-{user_name.lower()}-n{settings.n_neighbours}"
    context = (descriptor, user_name, body_order, settings, seed, max_body_order, rtol)
    found = _distinct_pairs(candidates, settings, prefix, context)
    return DiscoveryResult(
        descriptor=user_name,
        hypers=json_safe(getattr(descriptor, "get_params", dict)()),
        body_order=body_order,
        parity=getattr(descriptor, "parity", None),
        settings=settings,
        seed=int(seed),
        candidates=list(candidates),
        pairs=found,
        seconds=time.perf_counter() - start,
    )


def _distinct_pairs(candidates, settings, prefix: str, context) -> list[FoundPair]:
    """The kept candidates as pairs, duplicates up to congruence merged into the first."""
    found: list[FoundPair] = []
    members: list = []  # (plus, minus) of each found pair, for the duplicate test
    for candidate in candidates:
        if not candidate.kept:
            continue
        plus = member_atoms(candidate.plus, settings)
        minus = member_atoms(candidate.minus, settings)
        duplicate = next(
            (
                k
                for k, other in enumerate(members)
                if same_pair((plus, minus), other, settings.reflections)
            ),
            None,
        )
        if duplicate is not None:
            previous = found[duplicate]
            found[duplicate] = replace(previous, restarts=(*previous.restarts, candidate.restart))
            continue
        pair = _classify(candidate, plus, minus, f"{prefix}-{len(found):03d}", context)
        if pair is not None:
            found.append(pair)
            members.append((plus, minus))
    return found


def _classify(candidate, plus, minus, name: str, context) -> FoundPair | None:
    """A kept candidate as a verified catalog pair with the oracle's claim and its family
    dimension; None for a congruent (trivial) pair."""
    from ...oracle import degeneracy_order
    from ...structures import Claim, DegeneratePair, verify

    descriptor, user_name, body_order, settings, seed, max_body_order, rtol = context
    order = degeneracy_order(plus, minus, max_body_order=max_body_order)
    congruence = order.congruence
    if congruence.congruent and (congruence.proper or settings.reflections):
        return None  # cannot happen with a positive separation; never report a trivial pair
    kind = "body-order" if body_order is not None and order.o3 >= body_order else "basis"
    claim = Claim(
        scope="environment",
        equal_up_to_o3=int(order.o3),
        equal_up_to_so3=int(order.so3),
        max_checked=int(order.max_checked),
        statement=(
            f"found by search for {user_name} with {settings.n_neighbours} neighbours "
            f"(restart {candidate.restart}, seed {seed}): O(3) signatures equal up to "
            f"{order.o3}-body, SO(3) up to {order.so3}-body; feature distance "
            f"{candidate.distance:.1e} at noise floor {candidate.floor:.1e}"
        ),
    )
    pair = DegeneratePair(
        kind="discovered",
        name=name,
        plus=plus,
        minus=minus,
        claim=claim,
        params={
            "descriptor": user_name,
            "hypers": json_safe(getattr(descriptor, "get_params", dict)()),
            "seed": seed,
            "restart": candidate.restart,
            "kind": kind,
        },
        reference=DISCOVERY_REFERENCE,
        family="discovered",
    )
    verify(pair)
    family = family_dimension(descriptor, plus, minus, rtol=rtol)
    return FoundPair(pair, order, kind, candidate, family, (candidate.restart,))

"""A verdict per pair: the feature distance of its members against the descriptor's noise floor
(both defined in :mod:`completeness.analysis.feature_distance`), by one rule.

Resolution
----------
Every pair is judged at one length, its *resolution* ``rho`` (Å): how well its coordinates are
known. Pairs built in memory carry float64 round-off, ``rho = 8 eps max(1 Å, max |x|)``
(:func:`completeness.oracle.float64_resolution`, ~4e-15 Å for coordinates of a few Å); pairs read
from files carry the precision written (:func:`completeness.structures.file_resolution`: 1e-8 Å for
``ase.io.write``'s 8 decimals); ``DegeneratePair.resolution`` (``--resolution``) states it
explicitly. The same ``rho`` sets

* the oracle's claim (user pairs, :func:`completeness.structures.user_pair`): k-body signatures
  are "equal" when they agree within ``8 rho`` (:func:`completeness.oracle.tolerance_at`), and
  "comparable to the resolution" (expected ``marginal``) when they agree only within 100 times
  that;
* the noise floor: the descriptor's measured response to perturbations of size ``rho``.

Pairs as the descriptor sees them. A catalog pair is judged at the similarity scale
:meth:`~completeness.structures.DegeneratePair.fitted` chooses once per pair (extent at 0.8
cutoff) and records (``Verdict.scale``). A user's pair is never rescaled: its members are the
neighbourhoods inside the descriptor's cutoff (periodic images included), the same atoms the
oracle judged, so a spectator beyond the cutoff changes nothing.

Verdict rule
------------
With ``margin = log10(d / floor)`` (decades above the noise floor):

* ``degenerate``   if ``margin <= DEGENERATE_DECADES`` (1): the members are as close as a
  structure is to a copy of itself known to ``rho``, within a factor of 10;
* ``resolved``     if ``margin >= RESOLVED_DECADES`` (2): the distance is at least 100 times
  the largest response to the resolution;
* ``inconclusive`` in between.

Why one length for both. A difference between the members smaller than ``rho`` moves the
features no more than the floor's perturbations do: margin <= ~0, "degenerate"; nothing below
the resolution is a finding. A signature difference of ``s`` Å moves the features of a descriptor
that sees it by about ``s / rho`` floors: the oracle's "equal" (``s <= 8 rho``) goes with margins
below ~1, its "differs by more than 800 rho" with margins above ~2, and the band between is
"marginal" on the oracle's side and "inconclusive" on the verdict's. No number depends on the
catalog.

Calibration (:func:`completeness.analysis.calibration.calibrate`; the 13 built-in descriptors of
:func:`completeness.descriptors.defaults.builtin_descriptors`, seed 0, 16 round-off pairs and
17 near misses of each kind, displacements 1e-10..1e-2 Å in half decades):

* round-off pairs (a random environment against a rotated, permuted, translated copy): largest
  margin -0.43 at float64 resolution;
* near misses at float64 resolution: generic (one neighbour moved in a random direction) linear,
  +0.5 decade per half decade, resolved from 1e-10 Å on for every descriptor; at the fold point
  of the Pozdnyakov family (C moved off the axis) descriptors of body order <= 3 respond
  quadratically (+1 decade per half decade) and are resolved from 3e-6 Å on (lmbtr-k3 1e-6 Å),
  4- and 5-body descriptors linearly (resolved from 1e-10 Å). Above the floor (margin > -1) the
  margin rises monotonically, by at most 1.32 decades between neighbouring displacements;
* near misses at ``rho`` = 1e-8 Å (a file's precision): nothing below 1e-8 Å is resolved
  (generic: resolved from 1e-5 to 3e-5 Å on; fold: from 3e-5 Å for 4-body descriptors, 3e-3 Å
  for 2/3-body ones); steps of at most 1.15 decades;
* 6,000 verdicts on random near misses (one neighbour moved tangentially or randomly by
  10**U(-10, -2) Å; radial spectrum, power spectrum, bispectrum; float64 and 1e-8 Å resolution;
  claims by the oracle at the same resolution): no contradiction;
* the catalog written with ``ase.io.write`` (8 decimals) and read back gives every in-memory
  verdict (27 pairs x 13 descriptors, two files and one two-frame file: 702 of 702).

Expected verdict (the O(3)/SO(3) reading): a descriptor of body order ``nu + 1`` and parity
``O(3)`` cannot separate a pair whose O(3) signatures coincide at that order
(``claim.equal_up_to_o3 >= body_order``); an ``SO(3)`` descriptor (pseudoscalar terms present)
cannot separate one whose oriented signatures coincide (``claim.equal_up_to_so3 >=
body_order``). Otherwise the pair is resolvable in principle; a finite basis may still miss it,
which the audit reports as a finding (status ``basis-limited``), not an error. A ``resolved``
verdict on a pair expected degenerate is a contradiction (status ``contradiction``): either the
descriptor's declared body order or parity is wrong, or it is not invariant.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import asdict, dataclass

import numpy as np

from ..descriptors.user import UserDescriptor, as_descriptor
from ..environments import InputError
from ..errors import one_line
from ..oracle import float64_resolution
from ..structures import NEIGHBOUR_FRACTION, Claim, DegeneratePair
from .feature_distance import (
    N_TRANSFORMS,
    feature_distance,
    feature_rows,
    noise_floor,
    noisy_copy,
    random_copy,
    scoped_distance,
)

__all__ = [
    "DEGENERATE_DECADES",
    "NEIGHBOUR_FRACTION",
    "N_TRANSFORMS",
    "RESOLVED_DECADES",
    "ROUND_OFF_FLOOR",
    "FamilyVerdict",
    "Verdict",
    "classify",
    "expected_verdict",
    "family_verdict",
    "family_verdicts",
    "feature_distance",
    "layers_needed",
    "noise_floor",
    "random_copy",
    "unclaimed_pair",
    "verdict",
    "verdicts",
]

#: The smallest noise floor: 16 float64 machine epsilons.
ROUND_OFF_FLOOR = 16 * float(np.finfo(np.float64).eps)
#: At most this many decades above the floor: degenerate.
DEGENERATE_DECADES = 1.0
#: At least this many decades above the floor: resolved.
RESOLVED_DECADES = 2.0

VERDICTS = ("degenerate", "inconclusive", "resolved")


# --------------------------------------------------------------------------------------------
# pairs
# --------------------------------------------------------------------------------------------


def _pair_scope(pair) -> str:
    scope = getattr(pair.claim, "scope", "environment")
    if scope not in ("environment", "global"):
        raise InputError(f"pair {pair.name!r} has scope {scope!r}; use 'environment' or 'global'")
    return scope


def _rng_for(name: str, seed: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), zlib.crc32(name.encode())])


# --------------------------------------------------------------------------------------------
# verdicts
# --------------------------------------------------------------------------------------------


def classify(distance: float, floor: float) -> tuple[str, float]:
    """``(verdict, margin in decades)`` for a distance against a noise floor (module rule)."""
    floor = max(float(floor), ROUND_OFF_FLOOR)
    margin = math.log10(distance / floor) if distance > 0 else -math.inf
    if margin <= DEGENERATE_DECADES:
        return "degenerate", margin
    if margin >= RESOLVED_DECADES:
        return "resolved", margin
    return "inconclusive", margin


def expected_verdict(body_order, parity, claim) -> str:
    """``"degenerate"``, ``"resolvable"`` or ``"unknown"`` from the claim (module doc).

    Environment scope: with ``equal`` the claim's ``equal_up_to_o3`` (O(3) descriptor) or
    ``equal_up_to_so3`` (SO(3) descriptor), degenerate if ``equal >= body_order``. A value equal
    to the claim's ``max_checked`` means "at least": orders above it are unknown, except for
    mirror images (``claim.parity_only``) whose O(3) signatures agree at every order.

    Global scope (whole clouds, atom-centred features compared as multisets): the claim speaks of
    distance-only message passing (geometric 1-WL). Its first iteration is exactly the multiset of
    atom-centred 2-body environments, so a 2-body descriptor that sees the whole cloud is
    degenerate when 1-WL never separates the clouds on the complete graph
    (``wl_iteration`` None or > 1, ``wl_cutoff`` None) and resolvable when it separates them at
    iteration 1; every other case is unknown.

    ``"marginal"``: a claim measured at a finite resolution (a user's pair) whose signatures at
    the descriptor's body order differ by less than ``MARGINAL_FACTOR`` oracle tolerances
    (``claim.marginal_o3`` / ``marginal_so3``): a difference comparable to the resolution, which
    no verdict can contradict (status ``inconclusive``).
    """
    if body_order is None or parity is None:
        return "unknown"
    marginal = claim.marginal_o3 if parity == "O(3)" else claim.marginal_so3
    if claim.scope == "global":
        if body_order != 2 or claim.wl_cutoff is not None:
            return "unknown"
        if claim.equal_up_to_o3 < 2 and marginal is not None and marginal >= 2:
            return "marginal"
        return "resolvable" if claim.wl_iteration == 1 else "degenerate"
    equal = claim.equal_up_to_o3 if parity == "O(3)" else claim.equal_up_to_so3
    max_checked = claim.max_checked
    if equal >= body_order:
        return "degenerate"
    if equal >= max_checked:
        if parity == "O(3)" and claim.parity_only:
            return "degenerate"
        return "unknown"
    if marginal is not None and marginal >= min(body_order, max_checked):
        return "marginal"  # within the band up to this order, or at every order checked
    return "resolvable"


def _status(measured: str, expected: str) -> str:
    if measured == "error":
        return "error"
    if expected == "unknown":
        return "unknown"
    if measured == "inconclusive" or expected == "marginal":
        return "inconclusive"
    if expected == "degenerate":
        return "as expected" if measured == "degenerate" else "contradiction"
    return "as expected" if measured == "resolved" else "basis-limited"


@dataclass(frozen=True)
class Verdict:
    """The audit's verdict on one pair for one descriptor.

    ``margin`` is ``log10(distance / noise_floor)`` (-inf when the distance is exactly 0).
    ``expected`` comes from the claim and the descriptor's body order and parity; ``status``
    compares it with the measured ``verdict`` (see the module docstring).
    """

    descriptor: str
    body_order: int | None
    parity: str | None
    pair: str
    scope: str
    distance: float
    noise_floor: float
    margin: float
    verdict: str
    expected: str
    status: str
    equal_up_to_o3: int
    equal_up_to_so3: int
    scale: float
    resolution: float = math.nan
    error: str | None = None

    @property
    def reading(self) -> str:
        """One sentence: what the claim predicts for this descriptor and what was measured."""
        if self.error is not None:
            return f"{self.descriptor} failed on {self.pair}: {self.error}"
        who = (
            f"{self.parity} {self.body_order}-body descriptor"
            if self.body_order is not None and self.parity is not None
            else "descriptor of undeclared body order/parity"
        )
        return (
            f"{who}; the pair coincides up to body order {self.equal_up_to_o3} (O(3)) and "
            f"{self.equal_up_to_so3} (SO(3)): expected {self.expected}; measured {self.verdict} "
            f"(distance {self.distance:.2e}, floor {self.noise_floor:.2e} at resolution "
            f"{self.resolution:.1e} Å, margin {self.margin:+.1f} decades) -> {self.status}"
        )

    def to_dict(self) -> dict:
        """JSON-ready record (non-finite numbers, e.g. the margin of a zero distance, are None)."""
        record = asdict(self)
        for key, value in record.items():
            if isinstance(value, float) and not math.isfinite(value):
                record[key] = None
        record["reading"] = self.reading
        return record


def verdict(descriptor, pair, *, n_transforms: int = N_TRANSFORMS, seed: int = 0) -> Verdict:
    """The verdict of ``descriptor`` on one ``pair`` (any DegeneratePair)."""
    return verdicts(descriptor, [pair], n_transforms=n_transforms, seed=seed)[0]


def verdicts(
    descriptor,
    pairs,
    *,
    n_transforms: int = N_TRANSFORMS,
    seed: int = 0,
    name=None,
    rescale: bool = True,
) -> list[Verdict]:
    """Verdicts of ``descriptor`` on every pair, in one ``compute`` call per scope and
    composition (set of species).

    ``descriptor``: a Descriptor, an object with ``compute`` or a callable (see
    :mod:`completeness.descriptors.user`). A pair whose computation raises gets the verdict
    ``"error"`` with the exception's message (the other pairs are still judged).
    ``rescale=False`` keeps every pair's own coordinates; by default catalog pairs are judged
    at the scale :meth:`~completeness.structures.DegeneratePair.fitted` records (user pairs are
    never rescaled).
    """
    user = as_descriptor(descriptor, name=name)
    if n_transforms < 1:
        raise InputError(f"n_transforms must be at least 1, got {n_transforms}")
    jobs = [_PairJob(user, pair, n_transforms, seed, rescale) for pair in pairs]
    # one batch per scope and composition: a descriptor whose species channels follow the input
    # would otherwise compute every environment with the channels of the richest pair
    groups: dict = {}
    for job in jobs:
        composition = tuple(np.unique(job.systems[0].numbers).tolist())
        groups.setdefault((job.scope, composition), []).append(job)
    for (scope, _), batch in groups.items():
        try:
            _compute_batch(user, batch, scope)
        except Exception:  # isolate the failing pair(s): each keeps its own message
            for job in batch:
                try:
                    _compute_batch(user, [job], scope)
                except Exception as error:  # a failure is a finding, not a crash
                    job.error = one_line(error)
    return [job.result() for job in jobs]


class _PairJob:
    def __init__(
        self, user: UserDescriptor, pair, n_transforms: int, seed: int, rescale: bool = True
    ):
        self.user = user
        self.pair = pair
        self.scope = _pair_scope(pair)
        self.error = None
        self.distance = math.nan
        self.floor = math.nan
        fitted = pair.fitted(user.cutoff) if rescale else pair
        self.scale = fitted.scale_factor / pair.scale_factor
        plus, minus = fitted.plus, fitted.minus
        self.resolution = (
            float64_resolution(plus, minus) if fitted.resolution is None else fitted.resolution
        )
        rng = _rng_for(pair.name, seed)
        self.systems = [plus, minus]
        self.copies_of = []
        # the floor: each member against copies perturbed within the resolution, then rotated,
        # permuted and translated
        for member_index, member in enumerate((plus, minus)):
            for _ in range(n_transforms):
                copy = noisy_copy(member, rng, self.resolution, self.scope)
                self.systems.append(copy)
                self.copies_of.append(member_index)

    def take(self, rows):
        s = self.systems
        self.distance = scoped_distance(rows[0], rows[1], s[0], s[1], self.scope)
        floor = 0.0
        for k, member in enumerate(self.copies_of):
            copy = 2 + k
            floor = max(
                floor, scoped_distance(rows[member], rows[copy], s[member], s[copy], self.scope)
            )
        self.floor = floor

    def result(self) -> Verdict:
        claim = self.pair.claim
        expected = expected_verdict(self.user.body_order, self.user.parity, claim)
        if self.error is not None:
            measured, margin, floor = "error", math.nan, math.nan
        else:
            floor = max(self.floor, ROUND_OFF_FLOOR)
            measured, margin = classify(self.distance, floor)
        return Verdict(
            descriptor=self.user.name,
            body_order=self.user.body_order,
            parity=self.user.parity,
            pair=self.pair.name,
            scope=self.scope,
            distance=float(self.distance),
            noise_floor=float(floor),
            margin=float(margin),
            verdict=measured,
            expected=expected,
            status=_status(measured, expected),
            equal_up_to_o3=int(claim.equal_up_to_o3),
            equal_up_to_so3=int(claim.equal_up_to_so3),
            scale=float(self.scale),
            resolution=float(self.resolution),
            error=self.error,
        )


def _compute_batch(user: UserDescriptor, jobs: list[_PairJob], scope: str) -> None:
    systems = [atoms for job in jobs for atoms in job.systems]
    rows = feature_rows(user, systems, scope)
    start = 0
    for job in jobs:
        job.take(rows[start : start + len(job.systems)])
        start += len(job.systems)


# --------------------------------------------------------------------------------------------
# families of descriptors (random-weight networks)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FamilyVerdict:
    """The verdict of a family of descriptors (e.g. one network architecture, several weight
    seeds) on one pair: ``resolved`` when some member resolves it, ``degenerate`` when every
    member is degenerate (the architecture is blind to the pair), else ``inconclusive`` (or
    ``error`` when every member failed). ``members`` holds each member's :class:`Verdict`.
    """

    pair: str
    verdict: str
    members: tuple

    @property
    def margin(self) -> float:
        """The largest member margin (decades above the noise floor)."""
        margins = [m.margin for m in self.members if m.error is None]
        return max(margins) if margins else math.nan


def family_verdicts(
    descriptor,
    pairs,
    *,
    parameter: str = "seeds",
    n_transforms: int = N_TRANSFORMS,
    seed: int = 0,
    rescale: bool = True,
) -> list[FamilyVerdict]:
    """Verdicts of every member of a family on every pair, and the family's verdict.

    The members are clones of ``descriptor`` (a :class:`~completeness.descriptors.Descriptor`)
    with ``parameter`` set to each single value of its list: for the random-weight networks of
    :mod:`completeness.descriptors.networks`, one network per weight seed. An architecture is
    blind to a pair when no member separates it (see :class:`FamilyVerdict`).
    """
    from sklearn.base import clone

    values = list(np.atleast_1d(descriptor.get_params()[parameter]))
    if not values:
        raise InputError(f"{parameter} of {type(descriptor).__name__} is empty; give members")
    pairs = list(pairs)
    per_member = [
        verdicts(
            clone(descriptor).set_params(**{parameter: [value]}),
            pairs,
            n_transforms=n_transforms,
            seed=seed,
            name=f"{type(descriptor).__name__}[{parameter}={value}]",
            rescale=rescale,
        )
        for value in values
    ]
    out = []
    for index, pair in enumerate(pairs):
        members = tuple(results[index] for results in per_member)
        family = family_verdict([m.verdict for m in members])
        out.append(FamilyVerdict(pair=pair.name, verdict=family, members=members))
    return out


def family_verdict(member_verdicts) -> str:
    """The family's verdict from its members' verdicts (the rule of :class:`FamilyVerdict`)."""
    member_verdicts = list(member_verdicts)
    if "resolved" in member_verdicts:
        return "resolved"
    if all(v == "error" for v in member_verdicts):
        return "error"
    if all(v in ("degenerate", "error") for v in member_verdicts):
        return "degenerate"
    return "inconclusive"


def layers_needed(rows, pair: str, max_layers: int) -> int | None:
    """Smallest number of layers T from which a family resolves ``pair`` at every T up to
    ``max_layers`` (None: not even at ``max_layers``); ``rows`` are dicts with ``pair``,
    ``n_layers`` and ``verdict`` (the layer-by-layer tables of the network studies)."""
    verdict = {row["n_layers"]: row["verdict"] for row in rows if row["pair"] == pair}
    for start in range(1, max_layers + 1):
        if all(verdict[t] == "resolved" for t in range(start, max_layers + 1)):
            return start
    return None


def unclaimed_pair(
    name: str, plus, minus, *, claim=None, resolution=None, reference="calibration"
) -> DegeneratePair:
    """A pair judged at its own coordinates (``kind="user"``) with a given claim, by default
    none (orders 0: the verdict's expectation is then "unknown")."""
    if claim is None:
        claim = Claim(scope="environment", equal_up_to_o3=0, equal_up_to_so3=0, statement="")
    return DegeneratePair(
        name=name,
        plus=plus,
        minus=minus,
        claim=claim,
        params={},
        reference=reference,
        kind="user",
        resolution=resolution,
    )

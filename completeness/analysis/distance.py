"""Feature distance of a pair, the descriptor's noise floor, and a verdict per pair.

Definitions
-----------
Relative feature distance (``scope="environment"``: the centre, atom 0, of each member)::

    d(+, -) = ||f+ - f-|| / max(||f+||, ||f-||)            (0 when both are zero)

the same relative difference as :func:`completeness.testing.relative_difference`.

For ``scope="global"`` (whole clouds) each member gives the multiset of its per-atom feature
vectors ``F+`` and ``F-`` (one row per atom). The distance is the relative Frobenius distance
after the optimal species-preserving assignment of rows (Hungarian algorithm,
:func:`scipy.optimize.linear_sum_assignment`, on squared Euclidean costs)::

    d(+, -) = min_pi sqrt(sum_i ||F+_i - F-_pi(i)||^2) / max(||F+||_F, ||F-||_F)

so two clouds are at distance 0 exactly when their multisets of atom-centred features agree.

Rescaling. Catalog pairs come in published coordinates (often 5-7 Å from the centre); a
descriptor with a cutoff only sees atoms inside it. The audit rescales both members by the same
factor about the centre (environment scope) or the centroid (global scope) so that the farthest
atom seen sits at ``NEIGHBOUR_FRACTION * cutoff`` = 0.8 cutoff: the farthest neighbour of the
centre (environment), or the largest interatomic distance (global: every atom then sees every
other one). Pairs already inside are not touched (factor ``min(1, 0.8 cutoff / farthest)``).
A similarity maps k-body signatures to k-body signatures, so it keeps every claim.

Noise floor. Each member is copied ``n_transforms`` times with a random rotation about its
centre (or centroid), a random permutation of its atoms (the centre stays atom 0 in environment
scope) and a random translation (seeded by the pair's name). The measured floor is the largest
distance between a member and one of its transformed copies: the size of round-off in this
descriptor for these structures. It is never taken below ``ROUND_OFF_FLOOR`` = 16 float64 machine
epsilons (3.6e-15): a relative difference of a few eps is what summing a few hundred terms of
equal size leaves behind in any implementation, so a smaller distance cannot be told from
round-off even when the transformed copies happened to agree bit for bit.

Input precision. When the oracle finds the members of a user's pair congruent up to an alignment
residual ``rmsd`` (typically coordinates rounded to 8 decimals in an extxyz file: rmsd ~5e-9 Å),
the members differ by that residual only. The floor then also includes copies of each member
with random displacements of root-mean-square length ``rmsd`` per atom (same number of copies):
the descriptor's response to the input's own precision. Such pairs come out degenerate (margins
-1.1 to -0.2 on rounded rotated copies of random CH4 clusters) instead of "resolved at 1e-9".
Non-congruent pairs and catalog pairs (generated in float64) get no such term.

Verdict rule
------------
With ``margin = log10(d / floor)`` (decades above the noise floor):

* ``degenerate``   if ``margin <= DEGENERATE_DECADES`` (1): the members are as close as a
  structure is to a rotated copy of itself, within a factor of 10;
* ``resolved``     if ``margin >= RESOLVED_DECADES`` (2): the distance is at least 100 times
  the largest round-off seen;
* ``inconclusive`` in between.

Calibration (:func:`calibrate`; measured with the ten built-in descriptors of
:func:`completeness.descriptors.defaults.builtin_descriptors`, seed 0):

* round-off pairs (a random environment against an independently rotated, permuted and
  translated copy of itself, 16 per descriptor: pairs the rule must never call resolved): the
  largest margin is +0.12 decade (median about -0.3); the factor of 10 to "degenerate" leaves
  0.9 decade of safety and "resolved" is 1.9 decades further;
* near-miss pairs, one neighbour moved by 1e-6, 1e-5, 1e-4, 1e-3, 1e-2 Å: at a generic point the
  response is linear (margins 7.6-8.6 decades at 1e-6 Å, +1 per decade of displacement); at the
  fold point of the Pozdnyakov family (C moved off the axis, scaled structure) the response of
  every descriptor of body order <= 3 is quadratic, +2 decades per decade: margins 1.6-3.1 at
  1e-6 Å (relative distances ~1e-13, i.e. "inconclusive" for five descriptors, "resolved" for
  two), >= 3.6 from 1e-5 Å on. Never degenerate. For 4- and 5-body descriptors the point is not a
  fold (linear, margins >= 7.4);
* the catalog: the 44 degenerate verdicts with a non-zero distance have margins <= -0.54
  (the others have a distance of exactly 0), the 124 resolved ones >= 10.9 decades.

A displacement of 1e-8 Å at a fold point (d ~ 1e-17) is below float64 round-off and no rule
can see it: the calibration range is stated, not extrapolated.

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
from dataclasses import asdict, dataclass, field

import ase
import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.transform import Rotation

from ..descriptors.user import UserDescriptor, as_descriptor
from ..environments import InputError
from ..errors import one_line

__all__ = [
    "DEGENERATE_DECADES",
    "NEIGHBOUR_FRACTION",
    "N_TRANSFORMS",
    "RESOLVED_DECADES",
    "ROUND_OFF_FLOOR",
    "Calibration",
    "FamilyVerdict",
    "PairClaim",
    "UserPair",
    "Verdict",
    "calibrate",
    "classify",
    "expected_verdict",
    "family_verdicts",
    "feature_distance",
    "noise_floor",
    "rescale_pair",
    "user_pair",
    "verdict",
    "verdicts",
]

#: The smallest noise floor: 16 float64 machine epsilons.
ROUND_OFF_FLOOR = 16 * float(np.finfo(np.float64).eps)
#: At most this many decades above the floor: degenerate.
DEGENERATE_DECADES = 1.0
#: At least this many decades above the floor: resolved.
RESOLVED_DECADES = 2.0
#: The farthest atom a descriptor with a cutoff sees is put at this fraction of the cutoff.
NEIGHBOUR_FRACTION = 0.8
#: Random rotation+permutation+translation copies of each member for the noise floor.
N_TRANSFORMS = 4

VERDICTS = ("degenerate", "inconclusive", "resolved")


# --------------------------------------------------------------------------------------------
# pairs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PairClaim:
    """The part of a catalog claim the verdict reads (``structures.Claim`` has these fields).

    ``equal_up_to_o3`` / ``equal_up_to_so3``: highest body order at which the O(3) / oriented
    (SO(3)) signatures of the two members coincide.
    """

    scope: str
    equal_up_to_o3: int
    equal_up_to_so3: int
    statement: str = ""
    max_checked: int = 5

    @property
    def parity_only(self) -> bool:
        """Mirror images: O(3) equal at every checked order, SO(3) not."""
        return self.equal_up_to_o3 >= self.max_checked > self.equal_up_to_so3


@dataclass(frozen=True)
class UserPair:
    """A pair given by the user (two ``ase.Atoms``), with the claim measured by the oracle."""

    name: str
    plus: ase.Atoms
    minus: ase.Atoms
    claim: PairClaim
    congruent: bool | None = None
    proper: bool | None = None
    rmsd: float = float("nan")
    max_checked: int = 0
    reference: str = "user input"
    params: dict = field(default_factory=dict)


def user_pair(plus: ase.Atoms, minus: ase.Atoms, name: str = "user-pair", max_body_order=5):
    """Run the oracle on a user's pair (centre = atom 0, every other atom a neighbour).

    Raises :class:`InputError` for empty members, different numbers of atoms or periodic cells.
    """
    from .. import oracle

    for label, atoms in (("first", plus), ("second", minus)):
        if len(atoms) == 0:
            raise InputError(
                f"the {label} structure of the pair has no atoms; give the centre "
                "(atom 0) and its neighbours"
            )
        if np.any(atoms.pbc):
            raise InputError(
                f"the {label} structure of the pair is periodic; a pair is two finite "
                "environments (centre = atom 0, every other atom a neighbour): set pbc=False"
            )
    if len(plus) != len(minus):
        raise InputError(
            f"the two structures have different numbers of atoms ({len(plus)} and {len(minus)}); "
            "a degenerate pair needs the same atoms in both members"
        )
    order = oracle.degeneracy_order(plus, minus, max_body_order=max_body_order)
    claim = PairClaim(
        scope="environment",
        equal_up_to_o3=int(order.o3),
        equal_up_to_so3=int(order.so3),
        statement=_oracle_statement(order),
        max_checked=int(order.max_checked),
    )
    return UserPair(
        name=name,
        plus=plus,
        minus=minus,
        claim=claim,
        congruent=order.congruence.congruent,
        proper=order.congruence.proper,
        rmsd=float(order.congruence.rmsd),
        max_checked=int(order.max_checked),
    )


def _oracle_statement(order) -> str:
    congruence = order.congruence
    if congruence.congruent is None:
        head = "congruence undecided (too many neighbours for the exact test)"
    elif congruence.congruent:
        how = "a rotation" if congruence.proper else "a reflection"
        head = f"congruent (by {how}, rmsd {congruence.rmsd:.2g} Å): not a degeneracy"
    else:
        head = "not congruent"

    def at_least(k):
        return f">= {k}" if k >= order.max_checked else f"{k}"

    return (
        f"{head}; k-body signatures coincide up to body order {at_least(order.o3)} (O(3)) and "
        f"{at_least(order.so3)} (SO(3), oriented), checked up to {order.max_checked}"
    )


def _pair_scope(pair) -> str:
    scope = getattr(pair.claim, "scope", "environment")
    if scope not in ("environment", "global"):
        raise InputError(f"pair {pair.name!r} has scope {scope!r}; use 'environment' or 'global'")
    return scope


def _farthest(atoms: ase.Atoms, scope: str) -> float:
    positions = np.asarray(atoms.positions, dtype=np.float64)
    if len(positions) < 2:
        return 0.0
    if scope == "environment":
        return float(np.linalg.norm(positions[1:] - positions[0], axis=1).max())
    diff = positions[:, None, :] - positions[None, :, :]
    return float(np.sqrt(np.einsum("ija,ija->ij", diff, diff)).max())


def _scaled(atoms: ase.Atoms, factor: float, scope: str) -> ase.Atoms:
    out = atoms.copy()
    origin = atoms.positions[0] if scope == "environment" else atoms.positions.mean(axis=0)
    out.positions = origin + (atoms.positions - origin) * factor
    return out


def rescale_pair(pair, cutoff: float | None) -> tuple[ase.Atoms, ase.Atoms, float]:
    """Both members scaled by one factor ``min(1, 0.8 cutoff / farthest)`` (see module doc).

    Returns ``(plus, minus, factor)``; ``factor == 1`` when ``cutoff`` is None.
    """
    scope = _pair_scope(pair)
    if cutoff is None:
        return pair.plus, pair.minus, 1.0
    farthest = max(_farthest(pair.plus, scope), _farthest(pair.minus, scope))
    if farthest <= NEIGHBOUR_FRACTION * cutoff:
        return pair.plus, pair.minus, 1.0
    factor = NEIGHBOUR_FRACTION * cutoff / farthest
    return _scaled(pair.plus, factor, scope), _scaled(pair.minus, factor, scope), factor


# --------------------------------------------------------------------------------------------
# distances
# --------------------------------------------------------------------------------------------


def feature_distance(a, b, *, numbers_a=None, numbers_b=None) -> float:
    """Relative distance between two feature vectors, or two multisets of feature rows.

    1-D inputs: ``||a - b|| / max(||a||, ||b||)``. 2-D inputs ``(n_atoms, n_features)``: the
    relative Frobenius distance after the optimal assignment of rows (within each species when
    ``numbers_a``/``numbers_b`` are given). Returns 0 when both are zero.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise InputError(f"feature arrays have different shapes {a.shape} and {b.shape}")
    scale = max(np.linalg.norm(a), np.linalg.norm(b))
    if scale == 0:
        return 0.0
    if a.ndim == 1:
        return float(np.linalg.norm(a - b) / scale)
    if a.ndim != 2:
        raise InputError(f"features must be 1-D or 2-D, got shape {a.shape}")
    if numbers_a is None:
        numbers_a = np.zeros(len(a), dtype=np.int64)
        numbers_b = np.zeros(len(b), dtype=np.int64)
    numbers_a, numbers_b = np.asarray(numbers_a), np.asarray(numbers_b)
    if not np.array_equal(np.sort(numbers_a), np.sort(numbers_b)):
        raise InputError("the two clouds have different compositions; compare equal atoms")
    total = 0.0
    for species in np.unique(numbers_a):
        rows_a = a[numbers_a == species]
        rows_b = b[numbers_b == species]
        cost = (
            np.einsum("if,if->i", rows_a, rows_a)[:, None]
            + np.einsum("jf,jf->j", rows_b, rows_b)[None, :]
            - 2.0 * rows_a @ rows_b.T
        )
        cost = np.maximum(cost, 0.0)
        rows, cols = linear_sum_assignment(cost)
        # recompute the matched differences exactly (the expanded cost loses digits)
        total += float(np.sum((rows_a[rows] - rows_b[cols]) ** 2))
    return float(np.sqrt(total) / scale)


def _random_copy(atoms: ase.Atoms, rng: np.random.Generator, scope: str) -> ase.Atoms:
    rotation = Rotation.random(random_state=rng).as_matrix()
    n = len(atoms)
    if scope == "environment":
        order = np.concatenate([[0], 1 + rng.permutation(n - 1)]) if n > 1 else np.arange(n)
        origin = atoms.positions[0]
    else:
        order = rng.permutation(n)
        origin = atoms.positions.mean(axis=0)
    out = atoms[order]
    shift = rng.normal(scale=2.0, size=3)
    out.positions = (atoms.positions[order] - origin) @ rotation.T + origin + shift
    return out


def _jittered(atoms: ase.Atoms, rng: np.random.Generator, rms: float) -> ase.Atoms:
    """A copy with random displacements of root-mean-square length ``rms`` per atom."""
    displacement = rng.normal(size=(len(atoms), 3))
    norm = np.sqrt(np.mean(np.einsum("ia,ia->i", displacement, displacement)))
    out = atoms.copy()
    out.positions = atoms.positions + displacement * (rms / norm)
    return out


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
    """
    if body_order is None or parity is None:
        return "unknown"
    if getattr(claim, "scope", "environment") == "global":
        if body_order != 2 or getattr(claim, "wl_cutoff", None) is not None:
            return "unknown"
        iteration = getattr(claim, "wl_iteration", None)
        if iteration == 1:
            return "resolvable"
        if iteration is None and not hasattr(claim, "wl_iteration"):
            return "unknown"
        return "degenerate"
    equal = claim.equal_up_to_o3 if parity == "O(3)" else claim.equal_up_to_so3
    max_checked = getattr(claim, "max_checked", None)
    if equal >= body_order:
        return "degenerate"
    if max_checked is not None and equal >= max_checked:
        if parity == "O(3)" and getattr(claim, "parity_only", False):
            return "degenerate"
        return "unknown"
    return "resolvable"


def _status(measured: str, expected: str) -> str:
    if measured == "error":
        return "error"
    if expected == "unknown":
        return "unknown"
    if measured == "inconclusive":
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
            f"(distance {self.distance:.2e}, floor {self.noise_floor:.2e}, "
            f"margin {self.margin:+.1f} decades) -> {self.status}"
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
    """The verdict of ``descriptor`` on one ``pair`` (a catalog DegeneratePair or a UserPair)."""
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
    ``rescale=False`` keeps the pairs' own coordinates (no fit to the cutoff): for graph pairs
    whose claim fixes the graph by a cutoff (``claim.wl_cutoff``, the dojo's k-chains).
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


def noise_floor(
    descriptor, structures, *, scope: str = "environment", n_transforms=N_TRANSFORMS, seed=0
):
    """Measured noise floor of ``descriptor`` on ``structures`` (before ``ROUND_OFF_FLOOR``).

    The largest distance between a structure and a random rotated, permuted, translated copy.
    """
    user = as_descriptor(descriptor)
    structures = list(structures)
    rng = np.random.default_rng(seed)
    systems, reference = [], []
    for atoms in structures:
        original = len(systems)
        systems.append(atoms)
        reference.append(None)
        for _ in range(n_transforms):
            systems.append(_random_copy(atoms, rng, scope))
            reference.append(original)
    rows = _features(user, systems, scope)
    worst = 0.0
    for k, original in enumerate(reference):
        if original is not None:
            distance = _distance(rows[original], rows[k], systems[original], systems[k], scope)
            worst = max(worst, distance)
    return worst


def _features(user: UserDescriptor, systems, scope) -> list[np.ndarray]:
    """Per-system features: the centre row (environment) or all atom rows (global)."""
    if scope == "environment":
        values = user.compute(systems, centers=[0]).values
        return [values[k] for k in range(len(systems))]
    values = user.compute(systems).values
    offsets = np.concatenate([[0], np.cumsum([len(s) for s in systems])])
    return [values[offsets[k] : offsets[k + 1]] for k in range(len(systems))]


def _distance(a, b, atoms_a, atoms_b, scope) -> float:
    if scope == "environment":
        return feature_distance(a, b)
    return feature_distance(a, b, numbers_a=atoms_a.numbers, numbers_b=atoms_b.numbers)


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
        plus, minus, self.scale = rescale_pair(pair, user.cutoff if rescale else None)
        rng = _rng_for(pair.name, seed)
        self.systems = [plus, minus]
        self.copies_of = []
        for member_index, member in enumerate((plus, minus)):
            for _ in range(n_transforms):
                self.systems.append(_random_copy(member, rng, self.scope))
                self.copies_of.append(member_index)
        # members the oracle found congruent up to a residual (e.g. coordinates rounded in a
        # file) differ by that residual only: measure the response to displacements of its size
        residual = float(getattr(pair, "rmsd", 0.0) or 0.0) * self.scale
        if getattr(pair, "congruent", None) and residual > 0:
            for member_index, member in enumerate((plus, minus)):
                for _ in range(n_transforms):
                    self.systems.append(_jittered(member, rng, residual))
                    self.copies_of.append(member_index)

    def take(self, rows):
        s = self.systems
        self.distance = _distance(rows[0], rows[1], s[0], s[1], self.scope)
        floor = 0.0
        for k, member in enumerate(self.copies_of):
            copy = 2 + k
            floor = max(floor, _distance(rows[member], rows[copy], s[member], s[copy], self.scope))
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
            error=self.error,
        )


def _compute_batch(user: UserDescriptor, jobs: list[_PairJob], scope: str) -> None:
    systems = [atoms for job in jobs for atoms in job.systems]
    rows = _features(user, systems, scope)
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
        measured = [m.verdict for m in members]
        if "resolved" in measured:
            family = "resolved"
        elif all(v == "error" for v in measured):
            family = "error"
        elif all(v in ("degenerate", "error") for v in measured):
            family = "degenerate"
        else:
            family = "inconclusive"
        out.append(FamilyVerdict(pair=pair.name, verdict=family, members=members))
    return out


# --------------------------------------------------------------------------------------------
# calibration of the rule
# --------------------------------------------------------------------------------------------


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


def calibrate(
    descriptor,
    *,
    displacements=(1e-6, 1e-5, 1e-4, 1e-3, 1e-2),
    n_round_off: int = 16,
    seed: int = 0,
) -> Calibration:
    """Run the verdict rule on round-off pairs and near-miss pairs (see the module docstring).

    Every pair is judged by :func:`verdicts` exactly as a catalog pair is (same rescaling, same
    noise floor), in one batch.
    """
    user = as_descriptor(descriptor)
    rng = np.random.default_rng(seed)
    displacements = np.asarray(displacements, dtype=np.float64)
    unknown = PairClaim(scope="environment", equal_up_to_o3=0, equal_up_to_so3=0)
    pairs = []
    for k in range(n_round_off):
        atoms = _random_environment(rng, species=(1, 8))
        copy = _random_copy(atoms, rng, "environment")
        pairs.append(UserPair(f"round-off {k}", atoms, copy, unknown))
    base = _random_environment(rng)
    direction = rng.normal(size=3)
    direction /= np.linalg.norm(direction)
    on_axis = fold_structure(0.0, user.cutoff)
    for t in displacements:
        moved = base.copy()
        moved.positions[1] += t * direction
        pairs.append(UserPair(f"generic {t:g}", base, moved, unknown))
        pairs.append(UserPair(f"fold {t:g}", on_axis, fold_structure(t, user.cutoff), unknown))
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

"""A descriptor's report card against the six criteria of a good descriptor.

:func:`report_card` measures, for any descriptor (a :class:`~completeness.descriptors.Descriptor`,
an object with ``compute`` or a callable ``(positions, numbers) -> vector``, see
:mod:`completeness.descriptors.user`):

1. **invariance** -- the largest relative change under random rotations, permutations (centre
   kept) and translations of a few random two-species environments (one with neighbours 1e-4,
   1e-3 and 1e-2 Å inside the cutoff), and under a mirror of a chiral environment; compared
   with the declared parity (``O(3)``: mirror invariant). Threshold: a change above
   ``INVARIANCE_TOLERANCE`` = 1e-8 (half the digits of float64) is a broken invariance, far
   above any round-off.
2. **uniqueness** -- the verdict (:mod:`completeness.analysis.distance`) on every catalog pair,
   and the highest body order resolved: ``1 + max(claim.equal_up_to_o3)`` over the resolved
   environment pairs that differ at some O(3) order (mirror images excluded), and ``1 +
   max(claim.equal_up_to_so3)`` over all resolved environment pairs (SO(3)); likewise the
   lowest body order at which a difference is missed (``1 + min`` over degenerate pairs). A
   pair the claim says the descriptor cannot resolve, and that it resolves, is a contradiction;
   a pair it could resolve but does not is a basis-limited finding.
3. **continuity** -- the jump when an atom crosses the cutoff: the relative distance between the
   environment with a neighbour at ``cutoff - eps`` and at ``cutoff + eps``, for eps = 1e-4 and
   1e-6 Å. Continuous when the jump shrinks by at least 10x between the two (it scales with eps
   or faster); discontinuous when it does not. Gradients against central finite differences
   (on an environment with neighbours 1e-4, 1e-3 and 1e-2 Å inside the cutoff; step 1e-5 Å or
   a quarter of the smallest gap to the cutoff, :func:`completeness.testing.finite_difference_step`,
   all displaced structures in one ``compute`` call, the same formula as
   :func:`completeness.testing.finite_difference_gradients`); above ``GRADIENT_TOLERANCE`` =
   1e-5 relative is a finding. Two neighbours meeting: one neighbour placed at distance eps from
   another, from six random directions, for eps = 1e-3 and 1e-5 Å; a continuous descriptor's
   features then differ by O(eps) across the directions, so the spread shrinks with eps. When
   it does not shrink at least 10x, the features depend on the direction from which the two
   approach each other (a discontinuity where neighbours coincide, with gradients growing as
   1/distance): a finding. Also the sensitivity at the fold point of the PRL family
   (:func:`completeness.analysis.scan.fold_scan`, delta = 1e-4..1e-1 Å): the exponent ``k`` of
   ``d(X(0), X(delta)) ~ delta**k`` (2 = quadratic, insensitive; 1 = linear).
4. **efficiency** -- environments per second for values and for values + gradients on a seeded
   benchmark set (centre + 12 neighbours uniform in a 4 Å ball; 64 environments for values, 8
   with gradients), and the exponent ``p`` of ``time ~ n_neighbours**p`` over 4..32 neighbours
   (16 environments each; best of two runs, one when a run takes over 0.25 s). Timings are
   machine dependent: they are kept apart (``ReportCard.timings``) so everything else is
   reproducible bit for bit.
5. **structure** -- fixed length (the same ``n_features`` for 2, 6 and 20 neighbours), and
   ``n_features`` for 1..4 species with the exponent ``q`` of ``n_features ~ n_species**q``.
6. **generality** -- several species (4 in one environment), a periodic cell (diamond Si, every
   atom equivalent: their features must agree), and empty environments (a lone atom; an atom
   whose only neighbour is beyond the cutoff).

Every measurement that raises becomes a *finding* carrying the exception's message; the card is
always produced.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import ase
import numpy as np
from scipy.spatial.transform import Rotation

from ..descriptors.user import UserDescriptor, as_descriptor
from ..testing import finite_difference_step
from .distance import Verdict, _one_line, feature_distance, verdicts

__all__ = [
    "GLYPHS",
    "GRADIENT_TOLERANCE",
    "INVARIANCE_TOLERANCE",
    "Audit",
    "ReportCard",
    "catalog_pairs",
    "report_card",
    "run_audit",
]

INVARIANCE_TOLERANCE = 1e-8
GRADIENT_TOLERANCE = 1e-5
_CRITERIA = ("invariance", "uniqueness", "continuity", "efficiency", "structure", "generality")


def catalog_pairs() -> list:
    """Every registered pair of :mod:`completeness.structures`, in catalog order."""
    from .. import structures

    return [structures.load(name) for name in structures.names()]


@dataclass
class ReportCard:
    """The six criteria for one descriptor.

    ``sections[criterion]`` holds the deterministic measurements (JSON-ready), ``findings`` a
    list of ``(criterion, message)``, ``verdicts`` the catalog verdicts, and ``timings`` the
    machine-dependent efficiency numbers.
    """

    descriptor: str
    kind: str
    body_order: int | None
    parity: str | None
    sections: dict = field(default_factory=dict)
    findings: list = field(default_factory=list)
    verdicts: list = field(default_factory=list)
    timings: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict, *, timings: dict | None = None) -> ReportCard:
        """A card read back from :meth:`to_dict` (verdicts are kept apart in an audit's JSON)."""
        return cls(
            descriptor=data["descriptor"],
            kind=data["kind"],
            body_order=data["body_order"],
            parity=data["parity"],
            sections=data.get("sections", {}),
            findings=[(f["criterion"], f["message"]) for f in data.get("findings", [])],
            timings=timings if timings is not None else data.get("timings", {}),
        )

    def finding(self, criterion: str, message: str) -> None:
        self.findings.append((criterion, message))

    def to_dict(self, *, timings: bool = True) -> dict:
        out = {
            "descriptor": self.descriptor,
            "kind": self.kind,
            "body_order": self.body_order,
            "parity": self.parity,
            "sections": _clean(self.sections),
            "findings": [{"criterion": c, "message": m} for c, m in self.findings],
            "verdicts": [v.to_dict() for v in self.verdicts],
        }
        if timings:
            out["timings"] = _clean(self.timings)
        return out

    # ---- text ----------------------------------------------------------------------------------

    def summary_lines(self, *, timings: bool = True) -> list[str]:
        """A few lines per criterion (the CLI's card summary)."""
        s = self.sections
        body = "body order not declared" if self.body_order is None else f"{self.body_order}-body"
        flavour = f"{self.parity or 'parity not declared'} {body}"
        inferred = s.get("uniqueness", {}).get("inferred")
        if inferred:
            flavour += (
                f"; inferred from the verdicts: {inferred['parity']} "
                f"{inferred['body_order']}-body ({inferred['contradictions']} contradicting, "
                f"{inferred['basis_limited']} basis-limited of {inferred['n_verdicts']})"
            )
        lines = [f"{self.descriptor} ({flavour})"]
        inv = s.get("invariance", {})
        if "rotation" in inv:
            lines.append(
                "  invariance: rotation {:.1e}, permutation {:.1e}, translation {:.1e}; "
                "mirror {:.1e} ({})".format(
                    inv["rotation"],
                    inv["permutation"],
                    inv["translation"],
                    inv["mirror"],
                    inv["mirror_reading"],
                )
            )
        uni = s.get("uniqueness", {})
        if uni:
            counts = ", ".join(f"{k} {v}" for k, v in uni["counts"].items())
            lines.append(f"  uniqueness: {counts}; " + _orders_text(uni))
        con = s.get("continuity", {})
        if con:
            jump = con.get("cutoff_jump")
            grad = con.get("gradient_error")
            jump_text = (
                "no cutoff"
                if jump is None
                else f"cutoff jump {jump:.1e} at 1e-6 Å ({con['cutoff_reading']})"
            )
            grad_text = "gradients not provided" if grad is None else f"gradient error {grad:.1e}"
            fold = con.get("fold_exponent")
            fold_text = (
                "" if fold is None else f"; at the PRL fold point features move as delta^{fold:.2f}"
            )
            meeting = con.get("coincidence_jump")
            meeting_text = (
                ""
                if meeting is None
                else f"; two neighbours meeting: spread {meeting:.1e} at 1e-5 Å "
                f"({con['coincidence_reading']})"
            )
            lines.append(f"  continuity: {jump_text}; {grad_text}{fold_text}{meeting_text}")
        if timings and self.timings:
            t = self.timings
            lines.append(
                "  efficiency: {} env/s values, {} env/s with gradients; "
                "cost ~ n_neighbours^{}".format(
                    _rate(t.get("values_per_second")),
                    _rate(t.get("gradients_per_second")),
                    _text(t.get("neighbour_exponent"), "{:.2f}"),
                )
            )
        st = s.get("structure", {})
        if st:
            lines.append(
                f"  structure: fixed length {_text(st.get('fixed_length'))}; n_features for "
                f"1-4 species {st.get('n_features_by_species')} "
                f"(~ n_species^{_text(st.get('species_exponent'), '{:.2f}')})"
            )
        gen = s.get("generality", {})
        if gen:
            lines.append(
                "  generality: "
                + ", ".join(f"{k} {'ok' if v else 'FAILS'}" for k, v in gen.items())
            )
        for criterion, message in self.findings:
            lines.append(f"  finding ({criterion}): {message}")
        return lines

    def markdown(self, *, timings: bool = True) -> str:
        lines = [f"### {self.descriptor}", ""]
        lines += [f"- {line.strip()}" for line in self.summary_lines(timings=timings)[1:]]
        return "\n".join(lines) + "\n"


def _orders_text(uni: dict) -> str:
    def dash(value):
        return "-" if value is None else str(value)

    def pair_text(o3, so3):
        return f"{dash(o3)} (O(3)) / {dash(so3)} (SO(3))"

    if uni["highest_resolved_o3"] is None and uni["highest_resolved_so3"] is None:
        resolved = "resolves no environment pair"
    else:
        resolved = "resolves pairs first differing at body order " + pair_text(
            uni["highest_resolved_o3"], uni["highest_resolved_so3"]
        )
    if uni["first_missed_o3"] is None and uni["first_missed_so3"] is None:
        missed = "misses no environment pair"
    else:
        missed = "misses pairs first differing at body order " + pair_text(
            uni["first_missed_o3"], uni["first_missed_so3"]
        )
    return f"{resolved}; {missed}"


def _text(value, fmt="{}"):
    if value is None:
        return "n/a"
    return fmt.format(value)


def _rate(value):
    return "n/a" if value is None else f"{value:,.0f}"


def _clean(value):
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


# --------------------------------------------------------------------------------------------
# test structures (seeded)
# --------------------------------------------------------------------------------------------


def _ball_environment(rng, n_neighbours, radius=4.0, species=(1,), centre=6, min_gap=0.0):
    for _ in range(1000):
        vectors = rng.normal(size=(n_neighbours, 3))
        vectors *= (
            radius
            * rng.uniform(0.25, 1.0, size=n_neighbours) ** (1 / 3)
            / np.linalg.norm(vectors, axis=1)
        )[:, None]
        if n_neighbours < 2 or min_gap <= 0:
            break
        gaps = np.linalg.norm(vectors[:, None] - vectors[None], axis=-1)
        if gaps[np.triu_indices(n_neighbours, 1)].min() > min_gap:
            break
    numbers = [centre] + [species[k % len(species)] for k in range(n_neighbours)]
    return ase.Atoms(numbers=numbers, positions=np.vstack([np.zeros(3), vectors]))


# --------------------------------------------------------------------------------------------
# the six criteria
# --------------------------------------------------------------------------------------------


#: Neighbours this far inside the cutoff (Å) join the invariance and gradient checks.
NEAR_CUTOFF_GAPS = (1e-4, 1e-3, 1e-2)


def _with_near_cutoff_neighbours(atoms: ase.Atoms, cutoff, rng) -> ase.Atoms:
    """``atoms`` plus one hydrogen at ``cutoff - gap`` from atom 0 for each NEAR_CUTOFF_GAPS,
    in random directions at least 0.8 Å from every other atom (unchanged without a cutoff)."""
    if cutoff is None:
        return atoms
    out = atoms.copy()
    for gap in NEAR_CUTOFF_GAPS:
        for _ in range(1000):
            direction = rng.normal(size=3)
            position = atoms.positions[0] + (cutoff - gap) * direction / np.linalg.norm(direction)
            if np.linalg.norm(out.positions - position, axis=1).min() > 0.8:
                break
        out += ase.Atom(1, position)
    return out


def _invariance(user: UserDescriptor, card: ReportCard, rng) -> None:
    environments = [
        _ball_environment(rng, 8, radius=3.5, species=(1, 8), min_gap=0.8) for _ in range(3)
    ]
    # neighbours 1e-4..1e-2 Å inside the cutoff, where cutoff functions are steepest
    environments.append(_with_near_cutoff_neighbours(environments[0], user.cutoff, rng))
    systems, kinds = [], []
    for atoms in environments:
        systems.append(atoms)
        kinds.append(None)
        n = len(atoms)
        rotation = Rotation.random(random_state=rng).as_matrix()
        rotated = atoms.copy()
        rotated.positions = atoms.positions @ rotation.T
        order = np.concatenate([[0], 1 + rng.permutation(n - 1)])
        shifted = atoms.copy()
        shifted.positions = atoms.positions + rng.normal(scale=3.0, size=3)
        mirrored = atoms.copy()
        mirrored.positions = atoms.positions * np.array([1.0, 1.0, -1.0])
        for kind, copy in (
            ("rotation", rotated),
            ("permutation", atoms[order]),
            ("translation", shifted),
            ("mirror", mirrored),
        ):
            systems.append(copy)
            kinds.append(kind)
    values = user.compute(systems, centers=[0]).values
    worst = {"rotation": 0.0, "permutation": 0.0, "translation": 0.0, "mirror": 0.0}
    reference = None
    for row, kind in zip(values, kinds, strict=True):
        if kind is None:
            reference = row
        else:
            worst[kind] = max(worst[kind], feature_distance(reference, row))
    mirror_changes = worst["mirror"] > INVARIANCE_TOLERANCE
    reading = "changes: separates mirror images" if mirror_changes else "invariant"
    section = dict(worst, mirror_reading=reading)
    card.sections["invariance"] = section
    for kind in ("rotation", "permutation", "translation"):
        if worst[kind] > INVARIANCE_TOLERANCE:
            card.finding(
                "invariance",
                f"not {kind} invariant: relative change {worst[kind]:.1e} > "
                f"{INVARIANCE_TOLERANCE:g}",
            )
    if user.parity == "O(3)" and mirror_changes:
        card.finding(
            "invariance",
            f"declared O(3) but a mirror changes the features by {worst['mirror']:.1e}",
        )
    if user.parity == "SO(3)" and not mirror_changes:
        card.finding(
            "invariance",
            "declared SO(3) but mirror-invariant on chiral environments (no pseudoscalar signal)",
        )


def _uniqueness(user, card: ReportCard, pairs, seed, results=None) -> None:
    if results is None:
        results = verdicts(user, pairs, seed=seed)
    card.verdicts = results
    counts = {name: 0 for name in ("degenerate", "inconclusive", "resolved", "error")}
    for result in results:
        counts[result.verdict] += 1
    local = [r for r in results if r.scope == "environment"]
    resolved = [r for r in local if r.verdict == "resolved"]
    missed = [r for r in local if r.verdict == "degenerate"]
    o3 = [r.equal_up_to_o3 + 1 for r in resolved if r.equal_up_to_o3 < _max_checked(r, pairs)]
    so3 = [r.equal_up_to_so3 + 1 for r in resolved]
    missed_o3 = [r.equal_up_to_o3 + 1 for r in missed if r.equal_up_to_o3 < _max_checked(r, pairs)]
    missed_so3 = [r.equal_up_to_so3 + 1 for r in missed]
    card.sections["uniqueness"] = {
        "counts": counts,
        "highest_resolved_o3": max(o3) if o3 else None,
        "highest_resolved_so3": max(so3) if so3 else None,
        "first_missed_o3": min(missed_o3) if missed_o3 else None,
        "first_missed_so3": min(missed_so3) if missed_so3 else None,
        "statuses": {r.pair: r.status for r in results},
    }
    if user.body_order is None or user.parity is None:
        from .inference import infer_body_order_and_parity

        card.sections["uniqueness"]["inferred"] = infer_body_order_and_parity(results, pairs)
    for result in results:
        if result.status == "contradiction":
            card.finding(
                "uniqueness",
                f"{result.pair}: resolved (margin {result.margin:+.1f}) although the claim says "
                f"the members coincide at body order {user.body_order} ({user.parity})",
            )
        elif result.status == "basis-limited":
            card.finding(
                "uniqueness",
                f"{result.pair}: degenerate although resolvable at body order "
                f"{user.body_order} ({user.parity}): the finite basis misses it",
            )
        elif result.status == "error":
            card.finding("uniqueness", f"{result.pair}: {result.error}")


def _max_checked(result: Verdict, pairs) -> int:
    for pair in pairs:
        if pair.name == result.pair:
            return int(getattr(pair.claim, "max_checked", 10**6))
    return 10**6


def _continuity(user: UserDescriptor, card: ReportCard, rng) -> None:
    section = {"cutoff_jump": None, "cutoff_reading": "no cutoff", "gradient_error": None}
    card.sections["continuity"] = section
    if user.cutoff is not None:
        try:
            base = _ball_environment(rng, 5, radius=0.6 * user.cutoff, min_gap=0.8)
            direction = rng.normal(size=3)
            direction /= np.linalg.norm(direction)
            systems = []
            for eps in (1e-4, 1e-6):
                for sign in (-1.0, 1.0):
                    atoms = base + ase.Atom(1, (user.cutoff + sign * eps) * direction)
                    systems.append(atoms)
            values = user.compute(systems, centers=[0]).values
            coarse = feature_distance(values[0], values[1])
            fine = feature_distance(values[2], values[3])
            continuous = fine == 0.0 or coarse >= 10.0 * fine
            section["cutoff_jump"] = fine
            section["cutoff_jump_1e-4"] = coarse
            section["cutoff_reading"] = "continuous" if continuous else "DISCONTINUOUS"
            if not continuous:
                card.finding(
                    "continuity",
                    f"features jump by {fine:.1e} (relative) when an atom crosses the cutoff, "
                    "and the jump does not shrink with the step",
                )
        except Exception as error:  # a failure is a finding, not a crash
            card.finding("continuity", f"cutoff crossing: {_one_line(error)}")
    try:
        from .scan import fold_scan

        fold = fold_scan(user, np.logspace(-4, -1, 4), n_transforms=2)
        section["fold_exponent"] = None if fold.exponent is None else round(fold.exponent, 3)
    except Exception as error:  # a failure is a finding, not a crash
        card.finding("continuity", f"fold scan: {_one_line(error)}")
    if not user.has_gradients:
        card.finding("continuity", "no analytic gradients (the descriptor returns values only)")
        _coincidence(user, card, rng)
        return
    try:
        atoms = _ball_environment(rng, 4, radius=3.0, species=(1, 8), min_gap=1.0)
        atoms = _with_near_cutoff_neighbours(atoms, user.cutoff, rng)
        analytic = user.compute(atoms, centers=[0], gradients=True).gradients[:, : len(atoms)]
        numeric = _finite_differences(user, atoms, step=finite_difference_step(user, atoms))
        scale = max(np.linalg.norm(numeric), np.linalg.norm(analytic))
        error = 0.0 if scale == 0 else float(np.linalg.norm(analytic - numeric) / scale)
        section["gradient_error"] = error
        if not np.any(analytic) and np.any(np.abs(numeric) > 1e-8):
            card.finding("continuity", "analytic gradients are all zero; finite differences not")
        elif error > GRADIENT_TOLERANCE:
            card.finding(
                "continuity",
                f"analytic gradients differ from finite differences by {error:.1e} (relative)",
            )
    except Exception as error:  # a failure is a finding, not a crash
        card.finding("continuity", f"gradients: {_one_line(error)}")
    _coincidence(user, card, rng)


def _coincidence(user: UserDescriptor, card: ReportCard, rng) -> None:
    """Two neighbours meeting from six directions: does the spread vanish with the distance?"""
    section = card.sections["continuity"]
    try:
        radius = 3.0 if user.cutoff is None else min(3.0, 0.6 * user.cutoff)
        base = _ball_environment(rng, 5, radius=radius, species=(1,), min_gap=0.3 * radius)
        directions = rng.normal(size=(6, 3))
        directions /= np.linalg.norm(directions, axis=1)[:, None]
        meeting = base.positions[1]
        systems = [
            base + ase.Atom(1, meeting + eps * direction)
            for eps in (1e-3, 1e-5)
            for direction in directions
        ]
        values = user.compute(systems, centers=[0]).values
        coarse, fine = (
            max(feature_distance(rows[0], row) for row in rows[1:])
            for rows in (values[:6], values[6:])
        )
        continuous = fine == 0.0 or coarse >= 10.0 * fine
        section["coincidence_jump"] = fine
        section["coincidence_jump_1e-3"] = coarse
        section["coincidence_reading"] = "continuous" if continuous else "DISCONTINUOUS"
        if not continuous:
            card.finding(
                "continuity",
                f"features depend on the direction from which two neighbours meet: they differ "
                f"by {fine:.1e} (relative) across directions at 1e-5 Å apart, {coarse:.1e} at "
                "1e-3 Å (a discontinuity where neighbours coincide)",
            )
    except Exception as error:  # a failure is a finding, not a crash
        card.finding("continuity", f"neighbours meeting: {_one_line(error)}")


def _finite_differences(user: UserDescriptor, atoms: ase.Atoms, step: float) -> np.ndarray:
    """Central differences of the centre's features, every displaced copy in one batch."""
    systems = []
    for atom in range(len(atoms)):
        for axis in range(3):
            for sign in (1.0, -1.0):
                copy = atoms.copy()
                copy.positions[atom, axis] += sign * step
                systems.append(copy)
    values = user.compute(systems, centers=[0]).values
    diff = (values[0::2] - values[1::2]) / (2 * step)
    return diff.reshape(1, len(atoms), 3, -1)


def _efficiency(user: UserDescriptor, card: ReportCard, rng) -> None:
    """Throughput on a fixed benchmark, and how the cost per environment grows with neighbours.

    Every timed call is preceded by an untimed one (basis tables and caches are built on first
    use). The growth exponent is the log-log slope of the time per environment over batches of
    ``_SCALING_BATCH`` environments with 8..64 neighbours: large enough batches that the fixed
    cost of a call does not dominate.
    """
    timings = {
        "values_per_second": None,
        "gradients_per_second": None,
        "neighbour_counts": list(_SCALING_NEIGHBOURS),
        "seconds_per_environment": [],
        "neighbour_exponent": None,
    }
    card.timings = timings
    benchmark = [_ball_environment(rng, 12, radius=4.0, species=(1, 8)) for _ in range(128)]
    try:
        timings["values_per_second"] = len(benchmark) / _best_time(
            lambda: user.compute(benchmark, centers=[0])
        )
    except Exception as error:  # a failure is a finding, not a crash
        card.finding("efficiency", f"values: {_one_line(error)}")
        return
    if user.has_gradients:
        small = benchmark[:32]
        try:
            timings["gradients_per_second"] = len(small) / _best_time(
                lambda: user.compute(small, centers=[0], gradients=True)
            )
        except Exception as error:  # a failure is a finding, not a crash
            card.finding("efficiency", f"gradients: {_one_line(error)}")
    per_env = []
    for n in timings["neighbour_counts"]:
        batch = [
            _ball_environment(rng, n, radius=4.5, species=(1, 8)) for _ in range(_SCALING_BATCH)
        ]
        per_env.append(_best_time(lambda b=batch: user.compute(b, centers=[0])) / len(batch))
    timings["seconds_per_environment"] = per_env
    slope, _ = np.polyfit(np.log(timings["neighbour_counts"]), np.log(per_env), 1)
    timings["neighbour_exponent"] = float(slope)


_SCALING_NEIGHBOURS = (8, 16, 32, 64)
_SCALING_BATCH = 64


def _best_time(function, repeats: int = 2, budget: float = 0.25) -> float:
    """Best of ``repeats`` timed runs after one untimed warm-up run.

    A timed run longer than ``budget`` seconds is not repeated.
    """
    function()
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
        if best > budget:
            break
    return max(best, 1e-9)


def _with_species(user: UserDescriptor, species):
    """The descriptor with a fixed species list when it has one (else as given)."""
    wrapped = user.wrapped
    if user.kind == "descriptor" and "species" in wrapped.get_params():
        from sklearn.base import clone

        return as_descriptor(clone(wrapped).set_params(species=list(species)), name=user.name)
    return user


def _structure(user: UserDescriptor, card: ReportCard, rng) -> None:
    section = {"fixed_length": None, "n_features_by_neighbours": None}
    card.sections["structure"] = section
    try:
        fixed = _with_species(user, [1, 6])
        lengths = []
        for n in (2, 6, 20):
            atoms = _ball_environment(rng, n, radius=4.0, species=(1, 6), min_gap=0.0)
            lengths.append(fixed.compute(atoms, centers=[0]).values.shape[1])
        section["n_features_by_neighbours"] = dict(zip(("2", "6", "20"), lengths, strict=True))
        section["fixed_length"] = len(set(lengths)) == 1
        if not section["fixed_length"]:
            card.finding("structure", f"n_features changes with the neighbours: {lengths}")
    except Exception as error:  # a failure is a finding, not a crash
        card.finding("structure", f"fixed length: {_one_line(error)}")
    try:
        species_sets = [(6,), (1, 6), (1, 6, 8), (1, 6, 7, 8)]
        counts = []
        for species in species_sets:
            adapted = _with_species(user, species)
            neighbours = [s for s in species if s != 6] or [6]
            atoms = _ball_environment(rng, 8, radius=4.0, species=tuple(neighbours))
            counts.append(adapted.compute(atoms, centers=[0]).values.shape[1])
        section["n_features_by_species"] = counts
        slope, _ = np.polyfit(np.log([2, 3, 4]), np.log(counts[1:]), 1)
        section["species_exponent"] = round(float(slope), 3)
    except Exception as error:  # a failure is a finding, not a crash
        card.finding("structure", f"species scaling: {_one_line(error)}")


def _generality(user: UserDescriptor, card: ReportCard, rng) -> None:
    from ase.build import bulk

    section = {}
    card.sections["generality"] = section

    def attempt(label, function):
        try:
            message = function()
        except Exception as error:  # a failure is a finding, not a crash
            section[label] = False
            card.finding("generality", f"{label}: {_one_line(error)}")
            return
        section[label] = message is None
        if message is not None:
            card.finding("generality", f"{label}: {message}")

    def several_species():
        atoms = _ball_environment(rng, 8, radius=4.0, species=(1, 7, 8, 16), min_gap=0.8)
        user.compute(atoms, centers=[0])

    def periodic():
        silicon = bulk("Si", "diamond", a=5.43, cubic=True)
        values = user.compute(silicon, centers=[0, 3, 5]).values
        spread = max(feature_distance(values[0], row) for row in values[1:])
        if spread > INVARIANCE_TOLERANCE:
            return f"equivalent atoms of diamond Si differ by {spread:.1e}"
        return None

    def empty():
        lone = ase.Atoms("C", positions=[[0.0, 0.0, 0.0]])
        systems = [lone]
        if user.cutoff is not None:
            systems.append(
                ase.Atoms("CH", positions=[[0.0, 0.0, 0.0], [0.0, 0.0, 2.0 * user.cutoff]])
            )
        user.compute(systems, centers=[0])

    attempt("several species", several_species)
    attempt("periodic cell", periodic)
    attempt("empty environment", empty)


# --------------------------------------------------------------------------------------------
# the card
# --------------------------------------------------------------------------------------------


def report_card(
    descriptor,
    *,
    pairs=None,
    seed: int = 0,
    timings: bool = True,
    name: str | None = None,
    verdict_results: list | None = None,
) -> ReportCard:
    """Measure ``descriptor`` against the six criteria (see the module docstring).

    Parameters
    ----------
    descriptor : Descriptor, object with ``compute``, or callable ``(positions, numbers)``
    pairs : list of pairs, optional
        Defaults to the whole catalog (:func:`catalog_pairs`).
    seed : int
        Seeds every random structure of the card.
    timings : bool
        Measure efficiency (machine-dependent numbers, stored apart in ``card.timings``).
    name : str, optional
        Display name (defaults to the descriptor's ``name`` or class name).
    verdict_results : list of Verdict, optional
        Verdicts already computed on ``pairs`` (the CLI computes them once for the table).
    """
    user = as_descriptor(descriptor, name=name)
    if pairs is None:
        pairs = catalog_pairs()
    card = ReportCard(
        descriptor=user.name, kind=user.kind, body_order=user.body_order, parity=user.parity
    )
    steps = {
        "invariance": lambda rng: _invariance(user, card, rng),
        "uniqueness": lambda rng: _uniqueness(user, card, pairs, seed, verdict_results),
        "continuity": lambda rng: _continuity(user, card, rng),
        "efficiency": lambda rng: _efficiency(user, card, rng) if timings else None,
        "structure": lambda rng: _structure(user, card, rng),
        "generality": lambda rng: _generality(user, card, rng),
    }
    for index, criterion in enumerate(_CRITERIA):
        # one independent stream per criterion: skipping timings changes nothing else
        rng = np.random.default_rng([seed, index])
        try:
            steps[criterion](rng)
        except Exception as error:  # a failure is a finding, not a crash
            card.finding(criterion, _one_line(error))
    return card


# --------------------------------------------------------------------------------------------
# the audit: several descriptors on several pairs (what `completeness audit` runs)
# --------------------------------------------------------------------------------------------

GLYPHS = {"degenerate": "x", "inconclusive": "?", "resolved": "o", "error": "!"}
_LEGEND = (
    "x degenerate (no more than 10x the noise floor)   o resolved (>= 100x the floor)   "
    "? inconclusive   ! error;  * the verdict differs from what the claim predicts "
    "(a finding: basis-limited or contradiction)"
)


@dataclass
class Audit:
    """Verdicts of several descriptors on several pairs, with a report card per descriptor.

    ``verdicts[name]`` is the list of :class:`Verdict` in pair order; ``cards[name]`` the
    :class:`ReportCard` (None when cards were not requested).
    """

    descriptors: dict
    pairs: list
    verdicts: dict
    cards: dict
    seed: int
    timings: bool
    pair_statement: str | None = None

    # ---- machine-readable ------------------------------------------------------------------

    def to_dict(self, *, timings: bool | None = None) -> dict:
        """Everything as JSON-ready data; ``timings=False`` drops the efficiency timings (the
        only machine-dependent numbers), so two runs compare equal."""
        from .. import __version__
        from . import distance

        timings = self.timings if timings is None else timings
        out = {
            "completeness": __version__,
            "seed": self.seed,
            "rule": {
                "distance": "||f+ - f-|| / max(||f+||, ||f-||) (global: after optimal assignment)",
                "round_off_floor": distance.ROUND_OFF_FLOOR,
                "degenerate_decades": distance.DEGENERATE_DECADES,
                "resolved_decades": distance.RESOLVED_DECADES,
                "neighbour_fraction": distance.NEIGHBOUR_FRACTION,
                "n_transforms": distance.N_TRANSFORMS,
            },
            "pairs": [_pair_record(pair) for pair in self.pairs],
            "descriptors": [
                _descriptor_record(name, user) for name, user in self.descriptors.items()
            ],
            "verdicts": [v.to_dict() for name in self.descriptors for v in self.verdicts[name]],
            "cards": {
                name: card.to_dict(timings=False)
                for name, card in self.cards.items()
                if card is not None
            },
        }
        if self.pair_statement is not None:
            out["oracle"] = self.pair_statement
        if timings:
            out["timings"] = {
                name: _clean(card.timings) for name, card in self.cards.items() if card is not None
            }
        return out

    # ---- text ------------------------------------------------------------------------------

    def table_lines(self) -> list[str]:
        """Pairs x descriptors, one glyph per verdict, then the legend."""
        names = list(self.descriptors)
        width = max([len("pair")] + [len(pair.name) for pair in self.pairs])
        header = f"{'pair':<{width}}  O3/SO3  " + " ".join(f"{k + 1:>3}" for k in range(len(names)))
        lines = [header, "-" * len(header)]
        for index, pair in enumerate(self.pairs):
            claim = pair.claim
            reading = f"{claim.equal_up_to_o3}/{claim.equal_up_to_so3}"
            if getattr(claim, "scope", "environment") == "global":
                reading += "g"
            cells = []
            for name in names:
                result = self.verdicts[name][index]
                mark = "*" if result.status in ("basis-limited", "contradiction") else " "
                cells.append(f"{GLYPHS[result.verdict]:>2}{mark}")
            lines.append((f"{pair.name:<{width}}  {reading:<6}  " + " ".join(cells)).rstrip())
        lines.append("")
        for k, name in enumerate(names):
            user = self.descriptors[name]
            flavour = (
                f"{user.parity} {user.body_order}-body"
                if user.body_order is not None and user.parity is not None
                else "undeclared body order/parity"
            )
            lines.append(f"{k + 1:>3}  {name} ({flavour})")
        lines.append("")
        lines.append(_LEGEND)
        lines.append(
            "O3/SO3: highest body order at which the pair's O(3) / oriented signatures coincide "
            "(g: whole-cloud pair, features of every atom compared as a multiset)"
        )
        return lines

    def text(self, *, timings: bool | None = None) -> str:
        from .distance import DEGENERATE_DECADES, RESOLVED_DECADES

        timings = self.timings if timings is None else timings
        lines = [
            f"completeness audit: {len(self.descriptors)} descriptor(s) x {len(self.pairs)} "
            f"pair(s). Verdict: relative feature distance against the noise floor (copies of "
            f"each member perturbed within the coordinates' resolution, rotated, permuted and "
            f"translated): degenerate <= "
            f"{10**DEGENERATE_DECADES:g}x the floor, resolved >= {10**RESOLVED_DECADES:g}x.",
            "",
        ]
        if self.pair_statement is not None:
            lines += [f"oracle: {self.pair_statement}", ""]
        lines += self.table_lines()
        if len(self.pairs) == 1:
            lines.append("")
            for name in self.descriptors:
                lines.append(f"{name}: {self.verdicts[name][0].reading}")
        cards = [card for card in self.cards.values() if card is not None]
        if cards:
            lines += ["", "Report cards", ""]
            for card in cards:
                lines += card.summary_lines(timings=timings)
                lines.append("")
        return "\n".join(lines).rstrip() + "\n"

    def markdown(self, *, timings: bool | None = None) -> str:
        timings = self.timings if timings is None else timings
        names = list(self.descriptors)
        lines = ["# completeness audit", ""]
        if self.pair_statement is not None:
            lines += [f"Oracle: {self.pair_statement}", ""]
        lines.append("| pair | O3/SO3 | " + " | ".join(names) + " |")
        lines.append("|---|---|" + "---|" * len(names))
        for index, pair in enumerate(self.pairs):
            claim = pair.claim
            cells = []
            for name in names:
                result = self.verdicts[name][index]
                mark = "*" if result.status in ("basis-limited", "contradiction") else ""
                cells.append(f"{GLYPHS[result.verdict]}{mark}")
            lines.append(
                f"| {pair.name} | {claim.equal_up_to_o3}/{claim.equal_up_to_so3} | "
                + " | ".join(cells)
                + " |"
            )
        lines += ["", _LEGEND, ""]
        cards = [card for card in self.cards.values() if card is not None]
        if cards:
            lines += ["## Report cards", ""]
            for card in cards:
                lines.append(card.markdown(timings=timings))
        return "\n".join(lines).rstrip() + "\n"

    def html(self, *, title: str = "completeness audit") -> str:
        """One self-contained HTML page (see :mod:`completeness.report_html`)."""
        from ..report_html import audit_html

        return audit_html(self.to_dict(), self.pairs, title=title)

    def figure(self):
        """A verdict heat map (pairs x descriptors; margin bars for a single pair), as a
        matplotlib Figure (see :mod:`completeness.analysis.audit_figure`)."""
        from .audit_figure import audit_figure

        return audit_figure(self)


def _pair_record(pair) -> dict:
    claim = pair.claim
    record = {
        "name": pair.name,
        "scope": claim.scope,
        "equal_up_to_o3": int(claim.equal_up_to_o3),
        "equal_up_to_so3": int(claim.equal_up_to_so3),
        "statement": claim.statement,
        "reference": pair.reference,
    }
    if pair.kind == "user":  # what the user chose and what the report must say about it
        record.update(kind=pair.kind, resolution=pair.resolution, notes=list(pair.notes))
        record.update(pair.params)
    return record


def _descriptor_record(name: str, user: UserDescriptor) -> dict:
    record = {
        "name": name,
        "kind": user.kind,
        "body_order": user.body_order,
        "parity": user.parity,
        "cutoff": user.cutoff,
    }
    if user.kind == "descriptor":
        record["class"] = type(user.wrapped).__name__
        record["hypers"] = _clean(
            {key: _plain(value) for key, value in user.wrapped.get_params().items()}
        )
    return record


def _plain(value):
    """``value`` when JSON can hold it, else the name of its type (an adapted peer object)."""
    if value is None or isinstance(value, (str, int, float, bool, list, tuple, dict, np.ndarray)):
        return value
    if isinstance(value, np.generic):
        return value
    return f"{type(value).__module__}.{type(value).__name__} object"


def run_audit(
    descriptors: dict,
    pairs=None,
    *,
    cards: bool = True,
    timings: bool = True,
    seed: int = 0,
    progress: bool = True,
    pair_statement: str | None = None,
    timeout: float | None = None,
) -> Audit:
    """Verdicts of every descriptor on every pair (one batch per descriptor) and their cards.

    ``descriptors``: ``{name: descriptor}`` (any shape :func:`as_descriptor` accepts).
    ``progress``: a progress bar per descriptor (:func:`completeness.progress.progress_bar`).
    ``timeout``: seconds one call of a user's descriptor may take
    (:class:`~completeness.descriptors.user.UserDescriptor`).
    """
    from ..progress import progress_bar

    if pairs is None:
        pairs = catalog_pairs()
    users = {name: as_descriptor(d, name=name, timeout=timeout) for name, d in descriptors.items()}
    results, report = {}, {}
    for name in progress_bar(users, enabled=progress, desc="audit", unit="descriptor"):
        user = users[name]
        results[name] = verdicts(user, pairs, seed=seed)
        report[name] = (
            report_card(
                user, pairs=pairs, seed=seed, timings=timings, verdict_results=results[name]
            )
            if cards
            else None
        )
    return Audit(
        descriptors=users,
        pairs=list(pairs),
        verdicts=results,
        cards=report,
        seed=seed,
        timings=timings and cards,
        pair_statement=pair_statement,
    )

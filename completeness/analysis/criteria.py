"""The six measurements of a report card (:func:`completeness.analysis.report.report_card`):
each ``measure_<criterion>(user, card, rng)`` fills one section of the card and records its
findings; the module docstring of :mod:`completeness.analysis.report` states the protocols and
thresholds."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

import ase
import numpy as np
from scipy.spatial.transform import Rotation

from ..descriptors.user import UserDescriptor, as_descriptor
from ..errors import one_line
from ..testing import finite_difference_gradients, finite_difference_step, random_environment
from .distance import Verdict, feature_distance, verdicts

if TYPE_CHECKING:
    from .report import ReportCard

#: A relative change above this under rotations, permutations or translations is a broken
#: invariance (half the digits of float64, far above any round-off).
INVARIANCE_TOLERANCE = 1e-8
#: Analytic gradients further than this (relative) from central differences are a finding.
GRADIENT_TOLERANCE = 1e-5
#: A relative difference this small at the fine step of a two-step continuity check (an atom
#: crossing the cutoff, two neighbours meeting) is round-off, not a discontinuity.
ROUNDOFF_JUMP = 1e-12


# --------------------------------------------------------------------------------------------
# test structures (seeded)
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# the six criteria
# --------------------------------------------------------------------------------------------


#: A median noise floor above this is the round-off of single precision, not of float64: two
#: decades below float32's machine epsilon (1.2e-7), five above float64's floors (~1e-15).
SINGLE_PRECISION_FLOOR = float(np.finfo(np.float32).eps) / 100
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


def measure_invariance(user: UserDescriptor, card: ReportCard, rng) -> None:
    environments = [
        random_environment(rng, 8, radius=3.5, species=(1, 8), min_gap=0.8) for _ in range(3)
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


def measure_uniqueness(user, card: ReportCard, pairs, seed, results=None) -> None:
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
    floors = [r.noise_floor for r in results if r.verdict != "error" and r.noise_floor > 0]
    floor = float(np.median(floors)) if floors else 0.0
    if floor > SINGLE_PRECISION_FLOOR:
        card.finding(
            "uniqueness",
            f"noise floor {floor:.1e} (median over the pairs): single-precision round-off "
            "(float64 gives ~1e-15), so pairs whose features differ by less than "
            f"~{100 * floor:.0e} relative cannot read as resolved, and invariance is checked "
            "against that round-off; compute in float64 (--model-dtype float64 for a model)",
        )


def _max_checked(result: Verdict, pairs) -> int:
    for pair in pairs:
        if pair.name == result.pair:
            return int(getattr(pair.claim, "max_checked", 10**6))
    return 10**6


def measure_continuity(user: UserDescriptor, card: ReportCard, rng) -> None:
    section = {"cutoff_jump": None, "cutoff_reading": "no cutoff", "gradient_error": None}
    card.sections["continuity"] = section
    if user.cutoff is not None:
        try:
            base = random_environment(rng, 5, radius=0.6 * user.cutoff, min_gap=0.8)
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
            if not _two_step_reading(section, "cutoff", coarse, fine, "1e-4"):
                card.finding(
                    "continuity",
                    f"features jump by {fine:.1e} (relative) when an atom crosses the cutoff, "
                    "and the jump does not shrink with the step",
                )
        except Exception as error:  # a failure is a finding, not a crash
            card.finding("continuity", f"cutoff crossing: {one_line(error)}")
    try:
        from .scan import fold_scan

        fold = fold_scan(user, np.logspace(-4, -1, 4), n_transforms=2)
        section["fold_exponent"] = None if fold.exponent is None else round(fold.exponent, 3)
    except Exception as error:  # a failure is a finding, not a crash
        card.finding("continuity", f"fold scan: {one_line(error)}")
    if not user.has_gradients:
        card.finding("continuity", "no analytic gradients (the descriptor returns values only)")
        _coincidence(user, card, rng)
        return
    try:
        atoms = random_environment(rng, 4, radius=3.0, species=(1, 8), min_gap=1.0)
        atoms = _with_near_cutoff_neighbours(atoms, user.cutoff, rng)
        analytic = user.compute(atoms, centers=[0], gradients=True).gradients[:, : len(atoms)]
        step = finite_difference_step(user, atoms)
        numeric = finite_difference_gradients(user, atoms, [0], step=step)
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
        card.finding("continuity", f"gradients: {one_line(error)}")
    _coincidence(user, card, rng)


def _two_step_reading(section: dict, name: str, coarse: float, fine: float, coarse_step: str):
    """Record a two-step continuity check in ``section`` and return whether it is continuous:
    the difference at the fine step is round-off (``<= ROUNDOFF_JUMP``) or at least 10 times
    smaller than at the coarse step."""
    continuous = fine <= ROUNDOFF_JUMP or coarse >= 10.0 * fine
    section[f"{name}_jump"] = fine
    section[f"{name}_jump_{coarse_step}"] = coarse
    section[f"{name}_reading"] = "continuous" if continuous else "DISCONTINUOUS"
    return continuous


def _coincidence(user: UserDescriptor, card: ReportCard, rng) -> None:
    """Two neighbours meeting from six directions: does the spread vanish with the distance?"""
    section = card.sections["continuity"]
    try:
        radius = 3.0 if user.cutoff is None else min(3.0, 0.6 * user.cutoff)
        base = random_environment(rng, 5, radius=radius, species=(1,), min_gap=0.3 * radius)
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
        if not _two_step_reading(section, "coincidence", coarse, fine, "1e-3"):
            card.finding(
                "continuity",
                f"features depend on the direction from which two neighbours meet: they differ "
                f"by {fine:.1e} (relative) across directions at 1e-5 Å apart, {coarse:.1e} at "
                "1e-3 Å (a discontinuity where neighbours coincide)",
            )
    except Exception as error:  # a failure is a finding, not a crash
        card.finding("continuity", f"neighbours meeting: {one_line(error)}")


def measure_efficiency(user: UserDescriptor, card: ReportCard, rng) -> None:
    """Throughput on a fixed benchmark, and how the cost per environment grows with neighbours.

    Every measurement is the best time per environment of a batch sized by
    :func:`_time_per_environment` (about :data:`_CALL_SECONDS` per call, between
    :data:`_MIN_BATCH` environments and the whole set), after an untimed call (basis tables and
    caches are built on first use). The growth exponent is the log-log slope of the time per
    environment over environments with 8..64 neighbours: a fast descriptor gets batches of up to
    ``_SCALING_BATCH`` environments, so that the fixed cost of a call does not dominate; a slow
    one gets smaller batches, whose fixed cost is negligible next to its work anyway.
    """
    timings = {
        "values_per_second": None,
        "gradients_per_second": None,
        "neighbour_counts": list(_SCALING_NEIGHBOURS),
        "seconds_per_environment": [],
        "neighbour_exponent": None,
    }
    card.timings = timings
    benchmark = [random_environment(rng, 12, radius=4.0, species=(1, 8)) for _ in range(128)]
    try:
        timings["values_per_second"] = 1 / _time_per_environment(
            lambda batch: user.compute(batch, centers=[0]), benchmark
        )
    except Exception as error:  # a failure is a finding, not a crash
        card.finding("efficiency", f"values: {one_line(error)}")
        return
    if user.has_gradients:
        try:
            timings["gradients_per_second"] = 1 / _time_per_environment(
                lambda batch: user.compute(batch, centers=[0], gradients=True), benchmark[:32]
            )
        except Exception as error:  # a failure is a finding, not a crash
            card.finding("efficiency", f"gradients: {one_line(error)}")
    per_env = []
    for n in timings["neighbour_counts"]:
        batch = [
            random_environment(rng, n, radius=4.5, species=(1, 8)) for _ in range(_SCALING_BATCH)
        ]
        per_env.append(_time_per_environment(lambda b: user.compute(b, centers=[0]), batch))
    timings["seconds_per_environment"] = per_env
    slope, _ = np.polyfit(np.log(timings["neighbour_counts"]), np.log(per_env), 1)
    timings["neighbour_exponent"] = float(slope)


_SCALING_NEIGHBOURS = (8, 16, 32, 64)
_SCALING_BATCH = 64
#: The smallest batch timed, and the time one timed call aims at (seconds).
_MIN_BATCH = 4
_CALL_SECONDS = 0.05


def _time_per_environment(compute, environments) -> float:
    """Best seconds per environment of ``compute(batch)``, ``batch`` the first ``n`` of
    ``environments``: an untimed call on the first :data:`_MIN_BATCH` estimates the cost of one,
    and ``n`` is what takes about :data:`_CALL_SECONDS` (at least :data:`_MIN_BATCH`, at most
    all of them)."""
    first = environments[:_MIN_BATCH]
    start = time.perf_counter()
    compute(first)
    estimate = max(time.perf_counter() - start, 1e-9) / len(first)
    n = int(min(len(environments), max(len(first), _CALL_SECONDS // estimate)))
    batch = environments[:n]
    return _best_time(lambda: compute(batch)) / n


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


def measure_structure(user: UserDescriptor, card: ReportCard, rng) -> None:
    section = {"fixed_length": None, "n_features_by_neighbours": None}
    card.sections["structure"] = section
    try:
        fixed = _with_species(user, [1, 6])
        lengths = []
        for n in (2, 6, 20):
            atoms = random_environment(rng, n, radius=4.0, species=(1, 6), min_gap=0.0)
            lengths.append(fixed.compute(atoms, centers=[0]).values.shape[1])
        section["n_features_by_neighbours"] = dict(zip(("2", "6", "20"), lengths, strict=True))
        section["fixed_length"] = len(set(lengths)) == 1
        if not section["fixed_length"]:
            card.finding("structure", f"n_features changes with the neighbours: {lengths}")
    except Exception as error:  # a failure is a finding, not a crash
        card.finding("structure", f"fixed length: {one_line(error)}")
    try:
        species_sets = [(6,), (1, 6), (1, 6, 8), (1, 6, 7, 8)]
        counts = []
        for species in species_sets:
            adapted = _with_species(user, species)
            neighbours = [s for s in species if s != 6] or [6]
            atoms = random_environment(rng, 8, radius=4.0, species=tuple(neighbours))
            counts.append(adapted.compute(atoms, centers=[0]).values.shape[1])
        section["n_features_by_species"] = counts
        slope, _ = np.polyfit(np.log([2, 3, 4]), np.log(counts[1:]), 1)
        section["species_exponent"] = round(float(slope), 3)
    except Exception as error:  # a failure is a finding, not a crash
        card.finding("structure", f"species scaling: {one_line(error)}")


def measure_generality(user: UserDescriptor, card: ReportCard, rng) -> None:
    from ase.build import bulk

    section = {}
    card.sections["generality"] = section

    def attempt(label, function):
        try:
            message = function()
        except Exception as error:  # a failure is a finding, not a crash
            section[label] = False
            card.finding("generality", f"{label}: {one_line(error)}")
            return
        section[label] = message is None
        if message is not None:
            card.finding("generality", f"{label}: {message}")

    def several_species():
        atoms = random_environment(rng, 8, radius=4.0, species=(1, 7, 8, 16), min_gap=0.8)
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

"""One random restart of the search: settings, the penalised objective, the polish and the
verdict on the candidate."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

import ase
import numpy as np
from scipy.optimize import least_squares, minimize

from ...environments import Environment, InputError, atomic_number
from .separation import (
    MAX_PERMUTATIONS,
    permutation_count,
    separation_and_gradient,
    species_list,
    species_permutations,
)

#: Penalty thresholds are this much stricter than the accepted ones (relative).
PENALTY_MARGIN = 0.02
#: Weight of the penalties (lengths measured in units of the cutoff).
PENALTY_WEIGHT = 100.0


# --------------------------------------------------------------------------------------------
# settings
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchSettings:
    """Everything that defines one search besides the descriptor (all lengths in Å).

    ``None`` lengths default to fractions of the descriptor's cutoff (module docstring).
    """

    n_neighbours: int
    species: tuple[int, ...]
    centre_species: int
    inner_radius: float
    outer_radius: float
    min_neighbour_distance: float
    min_separation: float
    reflections: bool
    min_radial_spread: float = 0.0
    max_iterations: int = 400
    polish_rounds: int = 3
    polish_evaluations: int = 60
    n_transforms: int = 4


def search_settings(
    descriptor,
    n_neighbours,
    *,
    species=None,
    centre_species=6,
    inner_radius=None,
    outer_radius=None,
    min_neighbour_distance=None,
    min_separation=None,
    max_iterations=400,
    min_radial_spread=0.0,
) -> SearchSettings:
    """The checked :class:`SearchSettings` of a search (the arguments of
    :func:`~completeness.analysis.discovery.discover` that shape it)."""
    from ..distance import NEIGHBOUR_FRACTION

    if isinstance(n_neighbours, bool) or not isinstance(n_neighbours, (int, np.integer)):
        raise InputError(f"n_neighbours must be an integer, got {n_neighbours!r}")
    n = int(n_neighbours)
    if n < 2:
        raise InputError(
            f"n_neighbours must be at least 2 (one neighbour has no angle to differ by), got {n}"
        )
    species = species_list(species, n)
    centre_species = atomic_number(centre_species)
    cutoff = getattr(descriptor, "cutoff", None)
    if cutoff is None and None in (inner_radius, outer_radius):
        raise InputError(
            "this descriptor has no `cutoff` attribute; pass inner_radius= and outer_radius="
        )
    cutoff = None if cutoff is None else float(cutoff)
    inner = 0.25 * cutoff if inner_radius is None else float(inner_radius)
    outer = NEIGHBOUR_FRACTION * cutoff if outer_radius is None else float(outer_radius)
    if not 0 < inner < outer:
        raise InputError(f"need 0 < inner_radius < outer_radius, got {inner} and {outer}")
    scale = outer if cutoff is None else cutoff
    gap = 0.2 * scale if min_neighbour_distance is None else float(min_neighbour_distance)
    apart = 0.05 * scale if min_separation is None else float(min_separation)
    if gap <= 0 or apart <= 0:
        raise InputError("min_neighbour_distance and min_separation must be positive")
    spread = float(min_radial_spread)
    if not 0 <= spread < outer - inner:
        raise InputError(
            f"min_radial_spread must be in [0, outer_radius - inner_radius = {outer - inner:.3g}), "
            f"got {spread}"
        )
    count = permutation_count(species)
    if count > MAX_PERMUTATIONS:
        raise InputError(
            f"{count} species-preserving permutations of {n} neighbours to enumerate for the "
            f"separation (at most {MAX_PERMUTATIONS}); use fewer neighbours or more species"
        )
    parity = getattr(descriptor, "parity", "O(3)")
    if parity not in ("O(3)", "SO(3)"):
        raise InputError(f"descriptor parity must be 'O(3)' or 'SO(3)', got {parity!r}")
    if isinstance(max_iterations, bool) or int(max_iterations) < 1:
        raise InputError(f"max_iterations must be a positive integer, got {max_iterations!r}")
    return SearchSettings(
        n_neighbours=n,
        species=species,
        centre_species=centre_species,
        inner_radius=inner,
        outer_radius=outer,
        min_neighbour_distance=gap,
        min_separation=apart,
        reflections=parity == "O(3)",
        max_iterations=int(max_iterations),
        min_radial_spread=spread,
    )


# --------------------------------------------------------------------------------------------
# the objective
# --------------------------------------------------------------------------------------------


class Problem:
    """Features, objective and residuals of one search (built inside each worker)."""

    def __init__(self, descriptor, settings: SearchSettings):
        from ..sensitivity import Evaluator

        self.settings = settings
        self.n = settings.n_neighbours
        self.species = np.asarray(settings.species, dtype=np.int64)
        self.permutations = species_permutations(self.species)
        template = _random_member(np.random.default_rng(0), settings)
        env = Environment.from_vectors(template, self.species, settings.centre_species)
        self.evaluator = Evaluator(descriptor, env)
        self.analytic = self.evaluator.analytic(template) is not None
        cutoff = getattr(descriptor, "cutoff", None)
        self.length = float(cutoff) if cutoff is not None else settings.outer_radius
        m = PENALTY_MARGIN
        self.inner = settings.inner_radius * (1 + m)
        self.outer = settings.outer_radius * (1 - m)
        self.gap = settings.min_neighbour_distance * (1 + m)
        self.apart = settings.min_separation * (1 + m)
        self.spread = settings.min_radial_spread * (1 + m)
        self.n_evaluations = 0
        pairs = np.triu_indices(self.n, 1)
        self.pair_j, self.pair_k = pairs

    def features(self, vectors):
        """``(values (F,), jacobian (F, n, 3))`` of one member."""
        self.n_evaluations += 1
        result = self.evaluator.analytic(vectors) if self.analytic else None
        if result is None:
            result = self.evaluator.finite_difference(vectors)
        return result

    def split(self, x):
        x = np.asarray(x, dtype=np.float64).reshape(2, self.n, 3)
        return x[0], x[1]

    # ---- penalties: residuals (violation / length) and their Jacobians -----------------------

    def penalty_residuals(self, x):
        """``(residuals (m,), jacobian (m, 6n))``; zero residual = every strict constraint met."""
        a, b = self.split(x)
        rows, jac_rows = [], []
        size = 6 * self.n
        weight = math.sqrt(PENALTY_WEIGHT) / self.length
        for member, offset in ((a, 0), (b, 3 * self.n)):
            radius = np.linalg.norm(member, axis=1)
            unit = member / radius[:, None]
            low = np.maximum(self.inner - radius, 0.0)
            high = np.maximum(radius - self.outer, 0.0)
            jac_low = np.zeros((self.n, size))
            jac_high = np.zeros((self.n, size))
            for j in range(self.n):
                cols = slice(offset + 3 * j, offset + 3 * j + 3)
                if low[j] > 0:
                    jac_low[j, cols] = -unit[j]
                if high[j] > 0:
                    jac_high[j, cols] = unit[j]
            diff = member[self.pair_j] - member[self.pair_k]
            dist = np.linalg.norm(diff, axis=1)
            close = np.maximum(self.gap - dist, 0.0)
            jac_close = np.zeros((len(dist), size))
            for p, (j, k) in enumerate(zip(self.pair_j, self.pair_k, strict=True)):
                if close[p] > 0:
                    direction = diff[p] / dist[p]
                    jac_close[p, offset + 3 * j : offset + 3 * j + 3] = -direction
                    jac_close[p, offset + 3 * k : offset + 3 * k + 3] = direction
            rows += [low, high, close]
            jac_rows += [jac_low, jac_high, jac_close]
            # single shell: hinge on max |r| - min |r| (a subgradient where the extremes tie)
            flat = np.array([max(self.spread - (radius.max() - radius.min()), 0.0)])
            jac_flat = np.zeros((1, size))
            if flat[0] > 0:
                top, bottom = int(np.argmax(radius)), int(np.argmin(radius))
                jac_flat[0, offset + 3 * top : offset + 3 * top + 3] -= unit[top]
                jac_flat[0, offset + 3 * bottom : offset + 3 * bottom + 3] += unit[bottom]
            rows.append(flat)
            jac_rows.append(jac_flat)
        s, grad_a, grad_b = separation_and_gradient(
            a, b, self.permutations, self.settings.reflections
        )
        apart = max(self.apart - s, 0.0)
        jac_apart = np.zeros((1, size))
        if apart > 0:
            jac_apart[0] = -np.concatenate([grad_a.ravel(), grad_b.ravel()])
        rows.append(np.array([apart]))
        jac_rows.append(jac_apart)
        return weight * np.concatenate(rows), weight * np.vstack(jac_rows)

    # ---- feature residuals -------------------------------------------------------------------

    def feature_residuals(self, x):
        """``(r = (f(a) - f(b)) / sqrt(q), dr/dx (F, 6n))``."""
        a, b = self.split(x)
        fa, ja = self.features(a)
        fb, jb = self.features(b)
        ja = ja.reshape(len(fa), -1)
        jb = jb.reshape(len(fb), -1)
        q = 0.5 * (fa @ fa + fb @ fb)
        if q == 0:
            raise InputError(
                "the descriptor returns all-zero features for these environments; check its "
                "cutoff against the neighbour shell"
            )
        root = math.sqrt(q)
        diff = fa - fb
        residual = diff / root
        dq = np.concatenate([fa @ ja, fb @ jb])  # dq/dx
        jac = np.hstack([ja, -jb]) / root - np.outer(diff, dq) / (2 * q * root)
        return residual, jac

    def objective(self, x):
        """``D + |penalties|^2`` and its gradient (for L-BFGS-B)."""
        r, jr = self.feature_residuals(x)
        p, jp = self.penalty_residuals(x)
        value = r @ r + p @ p
        gradient = 2 * (r @ jr) + 2 * (p @ jp)
        return value, gradient

    def residuals(self, x):
        r, _ = self.feature_residuals(x)
        p, _ = self.penalty_residuals(x)
        return np.concatenate([r, p])

    def residual_jacobian(self, x):
        _, jr = self.feature_residuals(x)
        _, jp = self.penalty_residuals(x)
        return np.vstack([jr, jp])

    def violations(self, x) -> list[str]:
        """The accepted (not the stricter penalty) constraints that ``x`` violates."""
        a, b = self.split(x)
        s = self.settings
        problems = []
        for label, member in (("first", a), ("second", b)):
            radius = np.linalg.norm(member, axis=1)
            if radius.min() < s.inner_radius or radius.max() > s.outer_radius:
                problems.append(f"a neighbour of the {label} member left the shell")
            dist = np.linalg.norm(member[self.pair_j] - member[self.pair_k], axis=1)
            if dist.min() < s.min_neighbour_distance:
                problems.append(f"two neighbours of the {label} member collapsed")
            if np.ptp(radius) < s.min_radial_spread:
                problems.append(f"the {label} member is a single shell")
        apart = separation_and_gradient(a, b, self.permutations, s.reflections)[0]
        if apart < s.min_separation:
            problems.append(f"members not apart (separation {apart:.3g} Å)")
        return problems


def _random_member(rng: np.random.Generator, settings: SearchSettings, attempts: int = 1000):
    """``n`` neighbours uniform in the shell (radius uniform), none closer than the gap."""
    n = settings.n_neighbours
    for _ in range(attempts):
        direction = rng.normal(size=(n, 3))
        direction /= np.linalg.norm(direction, axis=1)[:, None]
        radius = rng.uniform(settings.inner_radius, settings.outer_radius, size=n)
        vectors = direction * radius[:, None]
        diff = vectors[:, None] - vectors[None]
        dist = np.linalg.norm(diff, axis=-1) + np.eye(n) * 1e9
        spread_ok = np.ptp(radius) >= settings.min_radial_spread * (1 + 2 * PENALTY_MARGIN)
        if dist.min() >= settings.min_neighbour_distance * (1 + 2 * PENALTY_MARGIN) and spread_ok:
            return vectors
    raise InputError(
        f"could not place {n} neighbours in the shell {settings.inner_radius:.3g}-"
        f"{settings.outer_radius:.3g} Å at least {settings.min_neighbour_distance:.3g} Å apart; "
        "use fewer neighbours or a smaller min_neighbour_distance"
    )


# --------------------------------------------------------------------------------------------
# one restart
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Candidate:
    """The outcome of one random restart.

    ``status`` is ``"degenerate"`` (kept: verdict degenerate, constraints met) or a one-line
    reason for rejecting it. ``distance`` is the relative feature distance of the audit
    (:func:`completeness.analysis.distance.feature_distance`), ``floor`` the measured noise floor
    and ``margin = log10(distance / floor)`` in decades.
    """

    restart: int
    status: str
    plus: np.ndarray = field(repr=False)
    minus: np.ndarray = field(repr=False)
    distance: float
    floor: float
    margin: float
    explore_distance: float
    separation: float
    n_evaluations: int
    seconds: float

    @property
    def kept(self) -> bool:
        return self.status == "degenerate"

    def to_dict(self) -> dict:
        out = {k: v for k, v in asdict(self).items() if k not in ("plus", "minus")}
        out["plus"] = np.asarray(self.plus).tolist()
        out["minus"] = np.asarray(self.minus).tolist()
        return out


def member_atoms(vectors, settings: SearchSettings) -> ase.Atoms:
    return ase.Atoms(
        numbers=[settings.centre_species, *settings.species],
        positions=np.vstack([np.zeros((1, 3)), np.asarray(vectors).reshape(-1, 3)]),
    )


def _judge(descriptor, x, problem: Problem, seed: int):
    """``(distance, floor, margin, verdict)`` of the audit on the pair ``x``."""
    from ...structures import Claim, DegeneratePair
    from ..distance import verdict

    a, b = problem.split(x)
    # a provisional claim: the verdict reads only the scope (the expected verdict is not used)
    claim = Claim(scope="environment", equal_up_to_o3=0, equal_up_to_so3=0, statement="")
    pair = DegeneratePair(
        kind="discovered",
        name="candidate",
        plus=member_atoms(a, problem.settings),
        minus=member_atoms(b, problem.settings),
        claim=claim,
        params={},
        reference="",
    )
    result = verdict(descriptor, pair, n_transforms=problem.settings.n_transforms, seed=seed)
    if result.verdict == "error":
        raise InputError(f"the descriptor failed on a candidate: {result.error}")
    return float(result.distance), float(result.noise_floor), float(result.margin), result.verdict


def restart(task: dict, rng: np.random.Generator) -> Candidate:
    """One seeded restart: random start, L-BFGS-B, polish, verdict (``parallel_map`` task).

    The problems are tiny (a few neighbours) and restarts are the unit of parallelism: the
    process's thread policy (:mod:`completeness.threads`, one thread unless asked otherwise)
    keeps BLAS and OpenMP from spinning idle threads.
    """
    start_time = time.perf_counter()
    descriptor, settings = task["descriptor"], task["settings"]
    problem = Problem(descriptor, settings)
    x0 = np.concatenate(
        [_random_member(rng, settings).ravel(), _random_member(rng, settings).ravel()]
    )
    explored = minimize(
        problem.objective,
        x0,
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": settings.max_iterations, "ftol": 1e-15, "gtol": 1e-12},
    )
    x = explored.x
    explore_distance = math.sqrt(max(problem.objective(x)[0], 0.0) / 2)
    distance = floor = margin = math.nan
    status = "not polished"
    for _ in range(settings.polish_rounds):
        polished = least_squares(
            problem.residuals,
            x,
            jac=problem.residual_jacobian,
            method="trf",
            xtol=1e-15,
            ftol=1e-15,
            gtol=1e-15,
            max_nfev=settings.polish_evaluations,
        )
        x = polished.x
        distance, floor, margin, measured = _judge(descriptor, x, problem, task["index"])
        if measured == "degenerate":
            break
    problems = problem.violations(x)
    if measured != "degenerate":
        status = f"rejected: {measured} after polishing ({margin:.1f} decades above the floor)"
    elif problems:
        status = "rejected: " + "; ".join(problems)
    else:
        status = "degenerate"
    a, b = problem.split(x)
    return Candidate(
        restart=int(task["index"]),
        status=status,
        plus=a.copy(),
        minus=b.copy(),
        distance=distance,
        floor=floor,
        margin=margin,
        explore_distance=explore_distance,
        separation=separation_and_gradient(a, b, problem.permutations, settings.reflections)[0],
        n_evaluations=problem.n_evaluations,
        seconds=time.perf_counter() - start_time,
    )

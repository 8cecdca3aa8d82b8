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
:class:`completeness.analysis.sensitivity._Evaluator`). A penalty keeps every iterate
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
has 7 of (PRL 125, 166001 (2020), doi:10.1103/PhysRevLett.125.166001; SCIENCE.md 2.2: the
parameters fix both members in one common frame, i.e. modulo rotations), 4 with equal bonds.
The pair manifold is not the same as the set of *environments* that have a degenerate partner:
:attr:`FamilyDimension.member_dimension` is the rank of the tangent space projected onto the
first member (modulo its rotations). The set of congruent pairs ``b = R a`` (dimension
``3n - 3`` modulo rotations) is also a zero set of ``f(a) - f(b)``, but the separation keeps the
found pairs away from it, so it does not contribute to the local count. A nullity is the
dimension of the linearised set: at a singular point (e.g. a fold point of a family, SCIENCE.md
2.3) it over-counts, which is why the gap between the last non-zero and the first zero singular
value is reported with it, and it must be read with the descriptor's basis (a small basis can
add null directions that a complete basis of the same body order does not have).
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import ase
import numpy as np
from scipy.optimize import least_squares, minimize

from .environments import Environment, InputError, atomic_number

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

#: Enumerating more species-preserving permutations than this is refused (8! for one species).
MAX_PERMUTATIONS = 40_320
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


def _settings(
    descriptor,
    n_neighbours,
    species,
    centre_species,
    inner_radius,
    outer_radius,
    min_neighbour_distance,
    min_separation,
    max_iterations,
    min_radial_spread=0.0,
) -> SearchSettings:
    from .analysis.distance import NEIGHBOUR_FRACTION

    if isinstance(n_neighbours, bool) or not isinstance(n_neighbours, (int, np.integer)):
        raise InputError(f"n_neighbours must be an integer, got {n_neighbours!r}")
    n = int(n_neighbours)
    if n < 2:
        raise InputError(
            f"n_neighbours must be at least 2 (one neighbour has no angle to differ by), got {n}"
        )
    species = _species_list(species, n)
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
    count = _permutation_count(species)
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


def _species_list(species, n: int) -> tuple[int, ...]:
    """``None`` -> n H atoms; one species -> n of them; else exactly n species."""
    if species is None:
        return (1,) * n
    if isinstance(species, (str, int, np.integer)):
        return (atomic_number(species),) * n
    values = [atomic_number(s) for s in species]
    if len(values) == 1:
        return (values[0],) * n
    if len(values) != n:
        raise InputError(
            f"got {len(values)} neighbour species for {n} neighbours; give one species (used for "
            "every neighbour) or one per neighbour"
        )
    return tuple(values)


# --------------------------------------------------------------------------------------------
# separation
# --------------------------------------------------------------------------------------------


def species_permutations(species) -> np.ndarray:
    """Every permutation ``P`` (``(count, n)`` int array) with ``species[P] == species``."""
    species = np.asarray(species)
    n = len(species)
    groups = [np.flatnonzero(species == s) for s in np.unique(species)]
    if _permutation_count(species) > MAX_PERMUTATIONS:
        raise InputError(
            f"{_permutation_count(species)} species-preserving permutations of {n} neighbours "
            f"to enumerate (at most {MAX_PERMUTATIONS}); use fewer neighbours or more species"
        )
    out = []
    for choice in itertools.product(*(itertools.permutations(g) for g in groups)):
        perm = np.empty(n, dtype=np.int64)
        for group, image in zip(groups, choice, strict=True):
            perm[group] = image
        out.append(perm)
    return np.asarray(out, dtype=np.int64).reshape(-1, n)


def _permutation_count(species) -> int:
    _, counts = np.unique(np.asarray(species), return_counts=True)
    return math.prod(math.factorial(int(c)) for c in counts)


def _separation_and_gradient(a, b, permutations, reflections: bool):
    """``(s, ds/da, ds/db)`` for the separation of the module docstring."""
    n = len(a)
    bp = b[permutations]  # (P, n, 3)
    h = np.einsum("ji,pjk->pik", a, bp)  # A^T B_P
    sigma = np.linalg.svd(h, compute_uv=False)
    if reflections:
        trace = sigma.sum(axis=1)
    else:
        sign = np.sign(np.linalg.det(h))
        trace = sigma[:, 0] + sigma[:, 1] + np.where(sign < 0, -1.0, 1.0) * sigma[:, 2]
    best = int(np.argmax(trace))
    msd = max((np.sum(a * a) + np.sum(b * b) - 2.0 * trace[best]) / n, 0.0)
    u, _, vt = np.linalg.svd(h[best])
    d = 1.0
    if not reflections and np.linalg.det(vt.T @ u.T) < 0:
        d = -1.0
    rotation = vt.T @ np.diag([1.0, 1.0, d]) @ u.T  # R a_j ~ b_P(j), i.e. A R^T ~ B_P
    s = math.sqrt(msd)
    if s == 0:
        return 0.0, np.zeros_like(a), np.zeros_like(b)
    grad_a = 2.0 * (a - bp[best] @ rotation) / n
    grad_bp = 2.0 * (bp[best] - a @ rotation.T) / n
    grad_b = np.zeros_like(b)
    grad_b[permutations[best]] = grad_bp
    return s, grad_a / (2 * s), grad_b / (2 * s)


def separation(a, b, species=None, *, reflections: bool = True) -> float:
    """Root-mean-square deviation (Å) of two neighbour sets after the optimal alignment.

    Minimum over orthogonal maps (only rotations when ``reflections`` is False) and every
    species-preserving permutation; ``a`` and ``b`` are ``(n, 3)`` neighbour vectors from the
    centre, ``species`` their (common) atomic numbers (default: all equal).
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2 or a.shape[1] != 3:
        raise InputError(f"need two (n, 3) neighbour arrays of one shape, got {a.shape}, {b.shape}")
    species = np.ones(len(a), dtype=np.int64) if species is None else np.asarray(species)
    permutations = species_permutations(species)
    return _separation_and_gradient(a, b, permutations, reflections)[0]


# --------------------------------------------------------------------------------------------
# the objective
# --------------------------------------------------------------------------------------------


class _Problem:
    """Features, objective and residuals of one search (built inside each worker)."""

    def __init__(self, descriptor, settings: SearchSettings):
        from .analysis.sensitivity import _Evaluator

        self.settings = settings
        self.n = settings.n_neighbours
        self.species = np.asarray(settings.species, dtype=np.int64)
        self.permutations = species_permutations(self.species)
        template = _random_member(np.random.default_rng(0), settings)
        env = Environment.from_vectors(template, self.species, settings.centre_species)
        self.evaluator = _Evaluator(descriptor, env)
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
        s, grad_a, grad_b = _separation_and_gradient(
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
        apart = _separation_and_gradient(a, b, self.permutations, s.reflections)[0]
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


def _atoms(vectors, settings: SearchSettings) -> ase.Atoms:
    return ase.Atoms(
        numbers=[settings.centre_species, *settings.species],
        positions=np.vstack([np.zeros((1, 3)), np.asarray(vectors).reshape(-1, 3)]),
    )


def _judge(descriptor, x, problem: _Problem, seed: int):
    """``(distance, floor, margin, verdict)`` of the audit on the pair ``x``."""
    from .analysis.distance import verdict
    from .structures import Claim, DegeneratePair

    a, b = problem.split(x)
    # a provisional claim: the verdict reads only the scope (the expected verdict is not used)
    claim = Claim(scope="environment", equal_up_to_o3=0, equal_up_to_so3=0, statement="")
    pair = DegeneratePair(
        kind="discovered",
        name="candidate",
        plus=_atoms(a, problem.settings),
        minus=_atoms(b, problem.settings),
        claim=claim,
        params={},
        reference="",
    )
    result = verdict(descriptor, pair, n_transforms=problem.settings.n_transforms, seed=seed)
    if result.verdict == "error":
        raise InputError(f"the descriptor failed on a candidate: {result.error}")
    return float(result.distance), float(result.noise_floor), float(result.margin), result.verdict


def _restart(task: dict, rng: np.random.Generator) -> Candidate:
    """One seeded restart: random start, L-BFGS-B, polish, verdict (``parallel_map`` task).

    Runs with one BLAS/OpenMP thread: the problems are tiny (a few neighbours), restarts are the
    unit of parallelism, and idle threads spinning on a shared machine cost several times more
    than they save (measured: 47 s instead of 9 s for one power-spectrum restart under load).
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return _restart_single_threaded(task, rng)


def _restart_single_threaded(task: dict, rng: np.random.Generator) -> Candidate:
    start_time = time.perf_counter()
    descriptor, settings = task["descriptor"], task["settings"]
    problem = _Problem(descriptor, settings)
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
        separation=_separation_and_gradient(a, b, problem.permutations, settings.reflections)[0],
        n_evaluations=problem.n_evaluations,
        seconds=time.perf_counter() - start_time,
    )


# --------------------------------------------------------------------------------------------
# local dimension of the degenerate set
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class FamilyDimension:
    """Local dimension of the degenerate set around a pair (module docstring).

    Attributes
    ----------
    dimension : int
        Nullity of ``J = d(f(a) - f(b))/d(a, b)`` restricted to the complement of the rotations of
        each member: the number of independent deformations of the pair that keep it degenerate
        to first order, modulo rotating either member (0 = isolated).
    member_dimension : int
        Rank of those deformations projected onto the first member, modulo its rotations.
    n_coordinates : int
        ``6n``.
    n_rotations : int
        Rotation directions projected out (6, fewer for linear members).
    singular_values : (6n - n_rotations,) float array
        Of ``J / sqrt(q)`` on that complement, descending (zeros padded).
    rtol : float
        Singular values below ``rtol * singular_values[0]`` count as zero.
    gap : float
        ``log10`` of the ratio between the smallest non-zero and the largest zero singular value
        (decades; ``inf`` when there is no zero one): a clean split has a gap of several decades.
    method : str
        ``"analytic"`` or ``"finite-difference"``.
    """

    dimension: int
    member_dimension: int
    n_coordinates: int
    n_rotations: int
    singular_values: np.ndarray = field(repr=False)
    rtol: float
    gap: float
    method: str

    def to_dict(self) -> dict:
        out = asdict(self)
        out["singular_values"] = np.asarray(self.singular_values).tolist()
        out["gap"] = None if not math.isfinite(self.gap) else self.gap
        return out


def _rotation_block(a, b) -> np.ndarray:
    from .analysis.sensitivity import rotation_basis

    ra, rb = rotation_basis(a), rotation_basis(b)
    size = 3 * len(a)
    block = np.zeros((2 * size, ra.shape[1] + rb.shape[1]))
    block[:size, : ra.shape[1]] = ra
    block[size:, ra.shape[1] :] = rb
    return block


def family_dimension(
    descriptor, plus, minus, *, rtol: float = 1e-6, equal_radii: bool = False
) -> FamilyDimension:
    """Local dimension of the degenerate set of ``descriptor`` around the pair (plus, minus).

    ``plus``/``minus``: ``ase.Atoms`` (centre = atom 0, every other atom a neighbour, same
    species in the same order) or ``(n, 3)`` neighbour vectors (species H, centre C). See the
    module docstring for what is counted and how to read it.

    ``equal_radii=True`` counts only deformations that keep every neighbour of both members at
    the pair's common, fixed distance ``r`` from the centre, the CH4-like setting in which the
    PRL family keeps 4 of its 7 parameters (4 angles at a given bond length): the Jacobian is
    restricted to the tangent space of ``|a_j| = |b_j| = r`` (``2n`` constraints; the pair must
    satisfy them). Letting ``r`` vary adds one (the overall scale).
    """
    from .analysis.sensitivity import _complement, _Evaluator

    a_vectors, species, centre = _member_vectors(plus)
    b_vectors, species_b, centre_b = _member_vectors(minus)
    if a_vectors.shape != b_vectors.shape or species.tolist() != species_b.tolist():
        raise InputError(
            "the two members must have the same neighbours in the same order of species; "
            "reorder the atoms of one member"
        )
    if centre != centre_b:
        raise InputError("the two members have different centre species")
    if not 0 < rtol < 1:
        raise InputError(f"rtol must be in (0, 1), got {rtol}")
    evaluator = _Evaluator(descriptor, Environment.from_vectors(a_vectors, species, centre))
    method = "analytic"
    results = []
    for vectors in (a_vectors, b_vectors):
        result = evaluator.analytic(vectors)
        if result is None:
            method = "finite-difference"
            result = evaluator.finite_difference(vectors)
        results.append(result)
    (fa, ja), (fb, jb) = results
    q = 0.5 * (fa @ fa + fb @ fb)
    matrix = np.hstack([ja.reshape(len(fa), -1), -jb.reshape(len(fb), -1)]) / math.sqrt(q)
    rotations = _rotation_block(a_vectors, b_vectors)
    size = matrix.shape[1]
    complement = _complement(rotations, size)
    if equal_radii:
        complement = _equal_radii_subspace(a_vectors, b_vectors, complement)
    reduced = matrix @ complement
    _, s, vt = np.linalg.svd(reduced, full_matrices=True)
    dof = complement.shape[1]
    singular = np.zeros(dof)
    singular[: s.size] = s
    if singular[0] == 0:
        raise InputError("the constraint Jacobian is zero: the descriptor does not see the pair")
    zero = singular < rtol * singular[0]
    dimension = int(zero.sum())
    nonzero = singular[~zero]
    largest_zero = singular[zero].max() if dimension else 0.0
    gap = math.inf if largest_zero == 0 else math.log10(nonzero.min() / largest_zero)
    # tangent directions in full coordinates, projected on the first member minus its rotations
    tangent = complement @ vt[dof - dimension :].T if dimension else np.zeros((size, 0))
    first = tangent[: size // 2]
    ra = rotations[: size // 2, : np.count_nonzero(np.abs(rotations[: size // 2]).sum(axis=0))]
    if ra.shape[1]:
        first = first - ra @ (ra.T @ first)
    member = 0
    if dimension:
        sv = np.linalg.svd(first, compute_uv=False)
        member = int(np.sum(sv > 1e-8 * max(sv.max(), 1.0)))
    return FamilyDimension(
        dimension=dimension,
        member_dimension=member,
        n_coordinates=size,
        n_rotations=rotations.shape[1],
        singular_values=singular,
        rtol=float(rtol),
        gap=float(gap),
        method=method,
    )


def _equal_radii_subspace(a, b, complement) -> np.ndarray:
    """Orthonormal basis of the directions in ``complement`` keeping every radius fixed."""
    points = np.vstack([a, b])
    radii = np.linalg.norm(points, axis=1)
    if np.ptp(radii) > 1e-6 * radii.max():
        raise InputError(
            "equal_radii=True needs every neighbour of both members at one distance from the "
            f"centre; the radii span {radii.min():.6g}-{radii.max():.6g} Å"
        )
    # d|x_j|^2 = 2 x_j . dx_j, one row per point
    m = len(points)
    constraint = np.zeros((m, 3 * m))
    for j in range(m):
        constraint[j, 3 * j : 3 * j + 3] = points[j]
    restricted = constraint @ complement
    _, s, vt = np.linalg.svd(restricted, full_matrices=True)
    rank = int(np.sum(s > 1e-10 * s.max()))
    return complement @ vt[rank:].T


def _member_vectors(member):
    if isinstance(member, ase.Atoms):
        if np.any(member.pbc) or len(member) < 2:
            raise InputError(
                "a pair member must be a finite cluster: the centre (atom 0) and its neighbours"
            )
        vectors = member.positions[1:] - member.positions[0]
        return vectors, member.numbers[1:].astype(np.int64), int(member.numbers[0])
    vectors = np.asarray(member, dtype=np.float64)
    if vectors.ndim != 2 or vectors.shape[1] != 3:
        raise InputError(f"neighbour vectors must have shape (n, 3), got {vectors.shape}")
    return vectors, np.ones(len(vectors), dtype=np.int64), 6


# --------------------------------------------------------------------------------------------
# the search
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class FoundPair:
    """A degenerate pair found by :func:`discover`, polished, classified and merged.

    ``kind``: ``"body-order"`` when the oracle's O(3) signatures agree at least up to the
    descriptor's body order (a blind spot of every descriptor of that body order), ``"basis"``
    when they differ at or below it (a blind spot of this finite basis only). ``restarts`` lists
    every restart that found this pair (up to congruence).

    The search finds the second kind readily when the basis is small: with every neighbour on
    one sphere of radius ``r`` the power spectrum reduces to
    ``p_{nn'l} = R_{nl}(r) R_{n'l}(r) sum_m |sum_j Y_lm(r_j)|^2``: the ``max_angular + 1`` angular
    powers of the pattern, too few numbers to fix ``2n - 3`` angles (measured: with
    ``max_angular = 4`` and 4 neighbours these pairs have a 9-dimensional family; a basis with
    ``max_angular = 8`` resolves them by 10+ decades).
    """

    pair: object  # completeness.structures.DegeneratePair
    order: object  # completeness.oracle.DegeneracyOrder
    kind: str
    candidate: Candidate
    family: FamilyDimension
    restarts: tuple[int, ...]

    def to_dict(self) -> dict:
        return {
            "name": self.pair.name,
            "kind": self.kind,
            "equal_up_to_o3": int(self.order.o3),
            "equal_up_to_so3": int(self.order.so3),
            "max_checked": int(self.order.max_checked),
            "claim": self.pair.claim.statement,
            "distance": self.candidate.distance,
            "noise_floor": self.candidate.floor,
            "margin": self.candidate.margin,
            "separation": self.candidate.separation,
            "oracle_rmsd": float(self.order.congruence.rmsd),
            "family": self.family.to_dict(),
            "restarts": list(self.restarts),
        }


@dataclass(frozen=True, eq=False)
class DiscoveryResult:
    """Everything :func:`discover` measured; :meth:`write` saves it as a catalog directory."""

    descriptor: str
    hypers: dict
    body_order: int | None
    parity: str | None
    settings: SearchSettings
    seed: int
    candidates: list
    pairs: list
    seconds: float

    @property
    def best(self) -> Candidate | None:
        """The candidate that came closest (smallest margin over its floor)."""
        finite = [c for c in self.candidates if math.isfinite(c.margin)]
        return min(finite, key=lambda c: c.margin) if finite else None

    def summary(self) -> dict:
        kinds: dict[str, int] = {}
        for found in self.pairs:
            kinds[found.kind] = kinds.get(found.kind, 0) + 1
        best = self.best
        return {
            "descriptor": self.descriptor,
            "hypers": _jsonable(self.hypers),
            "body_order": self.body_order,
            "parity": self.parity,
            "settings": _jsonable(asdict(self.settings)),
            "seed": self.seed,
            "restarts": len(self.candidates),
            "degenerate_candidates": sum(c.kept for c in self.candidates),
            "distinct_pairs": len(self.pairs),
            "pairs_by_kind": kinds,
            "family_dimensions": sorted(
                {int(p.family.dimension) for p in self.pairs if p.kind == "body-order"}
            ),
            "best_distance": None if best is None else best.distance,
            "best_margin": None if best is None else best.margin,
            "seconds": self.seconds,
        }

    def to_dict(self) -> dict:
        out = self.summary()
        out["pairs"] = [found.to_dict() for found in self.pairs]
        out["candidates"] = [
            {
                k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in c.to_dict().items()
            }
            for c in self.candidates
        ]
        return out

    def write(self, out) -> list[Path]:
        """Write the pairs in the catalog's format into directory ``out`` (created).

        ``<name>.extxyz`` (frame 0 ``+``, frame 1 ``-``, with the claim in ``info``),
        ``index.json`` (the catalog's format), ``README.md`` (the catalog's table) and
        ``discovery.json`` (this search: settings, every candidate, family dimensions).
        """
        import json

        import ase.io

        from .structures.catalog import CATALOG_FORMAT, _claim_text, _clean, _dois, _readme

        out = Path(out)
        if out.exists() and not out.is_dir():
            raise InputError(f"{out} exists and is not a directory; choose another --out")
        out.mkdir(parents=True, exist_ok=True)
        entries, paths = [], []
        for found in self.pairs:
            pair = found.pair
            entry = {
                "name": pair.name,
                "class": pair.family,
                "file": f"{pair.name}.extxyz",
                "n_atoms": len(pair.plus),
                "claim": pair.claim.as_dict(),
                "claim_text": _claim_text(pair.claim),
                "params": pair.params,
                "reference": pair.reference,
                "dois": _dois(pair.reference),
            }
            entries.append((entry, pair))
            path = out / entry["file"]
            ase.io.write(path, [_clean(pair.plus), _clean(pair.minus)], format="extxyz")
            paths.append(path)
        index = {"format": CATALOG_FORMAT, "pairs": [entry for entry, _ in entries]}
        (out / "index.json").write_text(
            json.dumps(index, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
            encoding="utf-8",
        )
        (out / "README.md").write_text(_readme(entries), encoding="utf-8")
        (out / "discovery.json").write_text(
            json.dumps(_jsonable(self.to_dict()), indent=2, sort_keys=True) + "\n",
            encoding="utf-8",
        )
        return [*paths, out / "index.json", out / "README.md", out / "discovery.json"]


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    return value


DISCOVERY_REFERENCE = (
    "found by completeness.discovery (random-restart search, polished to the noise floor, "
    "classified by the basis-free oracle); the 3-body family it rediscovers: Pozdnyakov et al., "
    "Phys. Rev. Lett. 125, 166001 (2020), doi:10.1103/PhysRevLett.125.166001"
)


def _same_pair(first, second, reflections: bool) -> bool:
    from .oracle import congruent

    def same(x, y):
        return bool(congruent(x, y, allow_reflection=reflections).congruent)

    a, b = first
    c, d = second
    return (same(a, c) and same(b, d)) or (same(a, d) and same(b, c))


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
    from .descriptors.user import as_descriptor
    from .oracle import degeneracy_order
    from .parallel import parallel_map
    from .structures import Claim, DegeneratePair, verify

    start = time.perf_counter()
    settings = _settings(
        descriptor,
        n_neighbours,
        species,
        centre_species,
        inner_radius,
        outer_radius,
        min_neighbour_distance,
        min_separation,
        max_iterations,
        min_radial_spread,
    )
    if isinstance(restarts, bool) or int(restarts) < 1:
        raise InputError(f"restarts must be a positive integer, got {restarts!r}")
    user_name = as_descriptor(descriptor).name
    tasks = [
        {"descriptor": descriptor, "settings": settings, "index": k} for k in range(int(restarts))
    ]
    candidates = parallel_map(
        _restart,
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
    found: list[FoundPair] = []
    members: list[tuple[ase.Atoms, ase.Atoms]] = []
    for candidate in candidates:
        if not candidate.kept:
            continue
        plus, minus = _atoms(candidate.plus, settings), _atoms(candidate.minus, settings)
        duplicate = next(
            (
                k
                for k, other in enumerate(members)
                if _same_pair((plus, minus), other, settings.reflections)
            ),
            None,
        )
        if duplicate is not None:
            previous = found[duplicate]
            found[duplicate] = FoundPair(
                pair=previous.pair,
                order=previous.order,
                kind=previous.kind,
                candidate=previous.candidate,
                family=previous.family,
                restarts=(*previous.restarts, candidate.restart),
            )
            continue
        order = degeneracy_order(plus, minus, max_body_order=max_body_order)
        congruence = order.congruence
        if congruence.congruent and (congruence.proper or settings.reflections):
            continue  # cannot happen with a positive separation; never report a trivial pair
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
            name=f"{prefix}-{len(found):03d}",
            plus=plus,
            minus=minus,
            claim=claim,
            params={
                "descriptor": user_name,
                "hypers": _jsonable(getattr(descriptor, "get_params", dict)()),
                "seed": seed,
                "restart": candidate.restart,
                "kind": kind,
            },
            reference=DISCOVERY_REFERENCE,
            family="discovered",
        )
        verify(pair)
        family = family_dimension(descriptor, plus, minus, rtol=rtol)
        found.append(FoundPair(pair, order, kind, candidate, family, (candidate.restart,)))
        members.append((plus, minus))
    return DiscoveryResult(
        descriptor=user_name,
        hypers=_jsonable(getattr(descriptor, "get_params", dict)()),
        body_order=body_order,
        parity=getattr(descriptor, "parity", None),
        settings=settings,
        seed=int(seed),
        candidates=list(candidates),
        pairs=found,
        seconds=time.perf_counter() - start,
    )

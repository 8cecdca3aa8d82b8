"""Following the least sensitive mode: paths along which the features barely change."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ...descriptors import repeated_calls
from ...environments import (
    Environment,
    InputError,
)
from ...progress import progress_bar
from ...threads import thread_policy_for_run
from .evaluator import Evaluator, as_environment, orthogonal_complement, rotation_basis
from .scaling import response_distance

# --------------------------------------------------------------------------------------------
# manifold following
# --------------------------------------------------------------------------------------------


def ch4_four_body_target(vectors) -> np.ndarray:
    """Parsaeifard & Goedecker's four-body target for a CH4-like environment of 4 neighbours.

    For each of the four triangles of hydrogens take its unit normal ``n_a``; the target is
    ``sum_{a<b} (n_a . n_b)^2`` over the 6 pairs of triangles (J. Chem. Phys. 156, 034302 (2022),
    doi:10.1063/5.0070488). It depends on all four hydrogens at once (a 4-body quantity) and is
    invariant to rotations, reflections and permutations. A regular tetrahedron gives
    ``6 / 9 = 2/3``. Accepts ``(4, 3)`` or a batch ``(m, 4, 3)``.
    """
    r = np.asarray(vectors, dtype=np.float64)
    single = r.ndim == 2
    if single:
        r = r[None]
    if r.shape[1:] != (4, 3):
        raise InputError(f"the CH4 target needs 4 neighbours (shape (4, 3)), got {r.shape[1:]}")
    triangles = ((1, 2, 3), (0, 2, 3), (0, 1, 3), (0, 1, 2))
    normals = []
    for a, b, c in triangles:
        cross = np.cross(r[:, b] - r[:, a], r[:, c] - r[:, a])
        normals.append(cross / np.linalg.norm(cross, axis=1, keepdims=True))
    normals = np.stack(normals, axis=1)  # (m, 4, 3)
    dots = np.einsum("max,mbx->mab", normals, normals)
    upper = np.triu_indices(4, k=1)
    out = (dots[:, upper[0], upper[1]] ** 2).sum(axis=1)
    return out[0] if single else out


@dataclass(frozen=True, eq=False)
class PathChange:
    """How much a descriptor changes along a path versus along straight random lines.

    Attributes
    ----------
    along : float
        Distance between the features at the end and at the start of the path.
    maximum_along : float
        Largest distance from the start over the evaluated points of the path.
    random : (n_random,) float array
        Distance for straight displacements of the same end-to-end length in seeded random
        directions (rotation-projected, unit-norm displacement fields of all neighbours).
    ratio : float
        ``along / median(random)``: well below 1 on a quasi-constant manifold.
    end_to_end : float
        ``||x_end - x_start||`` in Å (all neighbour coordinates).
    descriptor : str
    """

    along: float
    maximum_along: float
    random: np.ndarray
    ratio: float
    end_to_end: float
    descriptor: str = ""


@dataclass(frozen=True, eq=False)
class ManifoldPath:
    """A path that follows the least sensitive mode of a descriptor.

    Attributes
    ----------
    vectors : (n_steps + 1, n, 3) float array
        Neighbour vectors at every step (centre at the origin).
    feature_change : (n_steps + 1,) float array
        Distance of the features at each step from the start (``metric``).
    smallest_singular_value : (n_steps,) float array
        The singular value of the mode followed, at each step.
    target : (n_steps + 1,) float array or None
        The target property at each step.
    step : float
    change : PathChange
        End-to-end change of the followed descriptor versus random straight lines.
    environment : Environment
        The starting environment.
    method : str
        How the Jacobians were computed.
    metric : str
    """

    vectors: np.ndarray
    feature_change: np.ndarray
    smallest_singular_value: np.ndarray
    target: np.ndarray | None
    step: float
    change: PathChange
    environment: Environment
    method: str
    metric: str = "relative"

    @property
    def end_to_end(self) -> float:
        return float(np.linalg.norm(self.vectors[-1] - self.vectors[0]))

    @property
    def distance_range(self) -> tuple[float, float]:
        """Smallest and largest centre-neighbour distance along the path (Å)."""
        d = np.linalg.norm(self.vectors, axis=2)
        return float(d.min()), float(d.max())

    @property
    def target_range(self) -> tuple[float, float] | None:
        if self.target is None:
            return None
        return float(self.target.min()), float(self.target.max())

    def summary(self) -> dict:
        """The numbers worth quoting, as a JSON-ready dict."""
        out = {
            "n_steps": len(self.vectors) - 1,
            "step": self.step,
            "method": self.method,
            "end_to_end": self.end_to_end,
            "distance_range": list(self.distance_range),
            "feature_change_end": float(self.feature_change[-1]),
            "feature_change_max": float(self.feature_change.max()),
            "random_change_median": float(np.median(self.change.random)),
            "ratio": self.change.ratio,
        }
        if self.target is not None:
            out["target_start"] = float(self.target[0])
            out["target_end"] = float(self.target[-1])
            out["target_range"] = list(self.target_range)
        return out


def _random_directions(vectors, count: int, seed: int) -> np.ndarray:
    """``count`` seeded random unit displacement fields orthogonal to the rigid rotations."""
    rng = np.random.default_rng(seed)
    rotations = rotation_basis(vectors)
    fields = rng.normal(size=(count, vectors.size))
    fields -= (fields @ rotations) @ rotations.T
    fields /= np.linalg.norm(fields, axis=1, keepdims=True)
    return fields.reshape(count, *vectors.shape)


def _path_change(evaluator, vectors, every, n_random, seed, metric) -> PathChange:
    start, end = vectors[0], vectors[-1]
    length = float(np.linalg.norm(end - start))
    indices = np.unique(np.concatenate([np.arange(0, len(vectors), every), [len(vectors) - 1]]))
    directions = _random_directions(start, n_random, seed)
    batch = np.concatenate([vectors[indices], start[None] + length * directions])
    values = evaluator.values(batch)
    along_all = response_distance(values[: len(indices)], values[0], metric)
    random = response_distance(values[len(indices) :], values[0], metric)
    median = float(np.median(random))
    return PathChange(
        along=float(along_all[-1]),
        maximum_along=float(along_all.max()),
        random=random,
        ratio=float(along_all[-1] / median) if median > 0 else math.inf,
        end_to_end=length,
        descriptor=evaluator.name,
    )


def path_feature_change(
    descriptor,
    vectors,
    *,
    centre_species: int | None = None,
    species=None,
    every: int = 100,
    n_random: int = 10,
    seed: int = 0,
    metric: str = "relative",
) -> PathChange:
    """Change of ``descriptor`` along a path of neighbour vectors, versus random straight lines.

    ``vectors`` is ``(n_points, n, 3)`` (e.g. :attr:`ManifoldPath.vectors`) or a
    :class:`ManifoldPath`, whose species are then used. Features are evaluated every ``every``
    points (and at the end); the change along the path is compared with the change for
    straight displacements of the same end-to-end length in ``n_random`` seeded random
    rotation-free directions (:class:`PathChange`).
    """
    if isinstance(vectors, ManifoldPath):
        env = vectors.environment
        vectors = vectors.vectors
    else:
        vectors = np.asarray(vectors, dtype=np.float64)
        if vectors.ndim != 3 or vectors.shape[2] != 3:
            raise InputError(f"vectors must have shape (n_points, n, 3), got {vectors.shape}")
        n = vectors.shape[1]
        species = np.ones(n, dtype=np.int64) if species is None else np.asarray(species)
        env = Environment(
            vectors=vectors[0],
            species=species.astype(np.int64),
            centre_species=1 if centre_species is None else int(centre_species),
            neighbour_index=np.arange(1, n + 1),
        )
    evaluator = Evaluator(descriptor, env)
    return _path_change(evaluator, vectors, max(int(every), 1), n_random, seed, metric)


def follow_insensitive_mode(
    descriptor,
    atoms,
    centre: int = 0,
    *,
    n_steps: int = 20_000,
    step: float = 1e-4,
    target: Callable | None = None,
    method: str = "auto",
    metric: str = "relative",
    n_random: int = 10,
    seed: int = 0,
    sign: int = 1,
    degeneracy: float = 1e-8,
    cutoff: float | None = None,
    progress: bool = False,
) -> ManifoldPath:
    """Follow the least sensitive mode of ``descriptor`` (Parsaeifard & Goedecker 2022).

    At every step the Jacobian is computed (analytic gradients when available), rigid rotations
    are projected out, and the neighbours move by ``step`` (Å, Euclidean norm over all
    neighbour coordinates) along the right singular vector of the smallest singular value, its
    sign chosen so that it makes an acute angle with the previous step (``sign`` orients the
    first step: +1 makes its largest-magnitude component positive): the protocol of
    J. Chem. Phys. 156, 034302 (2022), doi:10.1063/5.0070488 (20,000 steps of 1e-4 Å on CH4).

    Parameters
    ----------
    target : callable, optional
        ``target(vectors (n, 3)) -> float`` recorded at every step (:func:`ch4_four_body_target`).
    degeneracy : float
        Singular values within ``degeneracy * s_max`` of the smallest one count as degenerate
        with it (e.g. the many exact null modes of a 2-body descriptor); the step then continues
        along the previous direction projected onto their subspace (when that projection keeps
        more than 10 % of it), instead of an arbitrary vector of the subspace.
    n_random, seed
        For the comparison with straight random displacements (:class:`PathChange`).
    progress : bool
        Show a tqdm progress bar.
    """
    if sign not in (1, -1) or n_steps < 1 or not step > 0:
        raise InputError(
            f"need sign +1 or -1, n_steps >= 1, step > 0 (got {sign}, {n_steps}, {step})"
        )
    env = as_environment(descriptor, atoms, centre, cutoff)
    evaluator = Evaluator(descriptor, env)
    values_and_jacobian, use_analytic = _jacobian_function(evaluator, env, method)

    n = env.n_neighbours
    vectors = np.empty((n_steps + 1, n, 3))
    vectors[0] = env.vectors
    change, smallest = np.empty(n_steps + 1), np.empty(n_steps)
    reference = previous = None

    with repeated_calls(n_steps), thread_policy_for_run():
        for k in progress_bar(range(n_steps), enabled=progress, desc="following", unit="step"):
            x = vectors[k]
            values, jac = values_and_jacobian(x)
            if reference is None:
                reference = values
            change[k] = response_distance(values, reference, metric)[0]
            direction, smallest[k] = _least_sensitive_direction(
                jac.reshape(len(values), -1), x, previous, sign, degeneracy
            )
            previous = direction
            vectors[k + 1] = x + step * direction.reshape(n, 3)
    change[n_steps] = response_distance(evaluator.values(vectors[-1:]), reference, metric)[0]
    targets = None if target is None else np.array([float(target(v)) for v in vectors])
    summary = _path_change(evaluator, vectors, max(n_steps // 200, 1), n_random, seed, metric)
    return ManifoldPath(
        vectors=vectors,
        feature_change=change,
        smallest_singular_value=smallest,
        target=targets,
        step=float(step),
        change=summary,
        environment=env,
        method="analytic" if use_analytic else "finite-difference",
        metric=metric,
    )


def _jacobian_function(evaluator, env, method: str):
    """``(x -> (values, jacobian), analytic?)`` for ``method`` (auto: analytic when the
    descriptor has gradients)."""
    if method not in ("auto", "analytic", "finite-difference"):
        raise InputError(
            f"method must be 'auto', 'analytic' or 'finite-difference', got {method!r}"
        )
    use_analytic = method != "finite-difference"
    if use_analytic and evaluator.analytic(env.vectors) is None:
        if method == "analytic":
            raise InputError(
                f"{evaluator.name} provides no analytic gradients; use method='finite-difference'"
            )
        use_analytic = False

    def values_and_jacobian(x):
        result = evaluator.analytic(x) if use_analytic else None
        return result if result is not None else evaluator.finite_difference(x)

    return values_and_jacobian, use_analytic


def _least_sensitive_direction(matrix, x, previous, sign: int, degeneracy: float):
    """The unit step (flattened ``(3n,)``) along the least sensitive mode of the Jacobian
    ``matrix`` ``(F, 3n)`` at ``x``, rotations projected out, oriented against ``previous``
    (or by ``sign`` for the first step); and the smallest singular value."""
    rotations = rotation_basis(x)
    complement = orthogonal_complement(rotations, matrix.shape[1])
    reduced = matrix @ complement
    _, s, vt = np.linalg.svd(reduced, full_matrices=reduced.shape[0] < reduced.shape[1])
    singular = np.zeros(complement.shape[1])
    singular[: s.size] = s
    direction = complement @ vt[-1]
    # a (near-)degenerate smallest singular value leaves the direction arbitrary within its
    # subspace: continue along the previous direction projected onto that subspace
    near = singular <= singular[-1] + degeneracy * singular[0]
    if previous is not None and near.sum() > 1:
        subspace = complement @ vt[near].T
        projected = subspace @ (subspace.T @ previous)
        norm = np.linalg.norm(projected)
        if norm > 0.1:
            direction = projected / norm
    if previous is None:
        largest = np.argmax(np.abs(direction))
        if np.sign(direction[largest]) != sign:
            direction = -direction
    elif direction @ previous < 0:
        direction = -direction
    return direction, singular[-1]

"""Sensitivity of a descriptor to displacements: Jacobians, insensitive modes, scaling exponents.

A descriptor can be injective and still nearly blind: if some displacement of the neighbours
changes the features only to second order, or very little, a model built on them needs huge
weights to resolve it. This module measures that, for any descriptor:

* :func:`jacobian`: ``J = d f / d r`` with respect to the neighbour positions of one centre
  (the centre is kept fixed: 3n columns for n neighbours), with the three rigid rotations about the
  centre projected out; its singular values, condition number and the right singular vectors as
  displacement fields (the *insensitive modes*), which :meth:`Jacobian.write_modes` writes to an
  extxyz file for viewing.
* :func:`scaling_exponent`: the exponent k of ``||f(x + t u) - f(x)|| ~ t^k`` fitted on log-log
  axes, along a straight direction or along the radial and tangential paths of Onat, Ortner and
  Kermode, J. Chem. Phys. 153, 144106 (2020), doi:10.1063/5.0016005. ``k = 1`` is linear
  sensitivity; ``k = 2`` appears at high-symmetry references and at the fold points of
  degenerate manifolds (Pozdnyakov et al., Phys. Rev. Lett. 125, 166001 (2020),
  doi:10.1103/PhysRevLett.125.166001).
* :func:`follow_insensitive_mode`: the manifold-following protocol of Parsaeifard and Goedecker,
  J. Chem. Phys. 156, 034302 (2022), doi:10.1063/5.0070488: walk along the smallest
  (rotation-projected) right singular vector with a fixed step, keeping the sign continuous, and
  record how much the descriptor and a target property (e.g. :func:`ch4_four_body_target`)
  change along the way; :func:`path_feature_change` measures another descriptor on the same path.

Conventions
-----------
The environment of ``centre`` is extracted once (:func:`completeness.environments.environment`)
and treated as a finite cluster: the centre at the origin, then every neighbour inside the cutoff,
periodic images included, each image being its own 3 columns. For cells wider than twice the
cutoff (e.g. the 512-atom silicon cell with a 6.5 Å cutoff) every neighbour is a distinct atom and
the Jacobian is exactly the derivative with respect to atom positions. Only the neighbours move;
translating all of them is a genuine change of the environment, so only rotations are projected
out. Distances in feature space are relative, ``||f(x') - f(x)|| / ||f(x)||`` (Onat et al.'s
metric), unless ``metric="absolute"``.

A *descriptor* is a :class:`completeness.descriptors.Descriptor`, any object with
``compute(systems, centers=..., gradients=...)`` returning ``values`` (and ``gradients`` in the
:class:`~completeness.descriptors.Features` layout), or a plain callable
``(positions, numbers) -> vector`` receiving the cluster with the centre first, at the origin
(the conventions of :func:`completeness.descriptors.user.as_descriptor`). Callables have no
analytic gradients: their Jacobians come from central differences.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import ase
import numpy as np
from scipy.spatial.transform import Rotation

from ..environments import (
    COINCIDENT_TOLERANCE,
    Environment,
    InputError,
    Neighbourhoods,
    environment,
)

__all__ = [
    "Jacobian",
    "ManifoldPath",
    "PathChange",
    "ScalingFit",
    "ch4_four_body_target",
    "fit_exponent",
    "follow_insensitive_mode",
    "jacobian",
    "path_feature_change",
    "path_vectors",
    "radial_jitter",
    "response",
    "rotation_basis",
    "roundoff_level",
    "scaling_exponent",
]

#: Central-difference step (Å) for descriptors without analytic gradients: the truncation error
#: ``h^2 f'''/6 ~ 1e-10`` and the round-off ``eps/h ~ 1e-11`` are then both far below any
#: singular value this module is asked to resolve.
FINITE_DIFFERENCE_STEP = 1e-5

#: Points of a response curve are used in a fit only if the response exceeds this multiple of the
#: measured round-off level (see :func:`roundoff_level`): there the relative error of the response,
#: hence of its logarithm, is below 1e-3.
ROUNDOFF_FACTOR = 1e3

# finite-difference and path evaluations are batched; this caps one batch's size
_BATCH = 512


# --------------------------------------------------------------------------------------------
# evaluating a descriptor on displaced copies of one environment
# --------------------------------------------------------------------------------------------


def _is_fast_descriptor(descriptor) -> bool:
    """True for package descriptors whose ``compute`` is the base-class one (pair-based)."""
    from ..descriptors.base import Descriptor

    return isinstance(descriptor, Descriptor) and type(descriptor).compute is Descriptor.compute


def _with_fixed_species(descriptor, species: np.ndarray):
    """A clone whose ``species`` is fixed to the environment's, so batches keep one layout.

    A displaced neighbour may leave the cutoff; without fixed species channels the feature
    vector could then change length. Descriptors that already fix ``species`` are kept as they
    are (after checking that the environment's species are among them, in ``compute``).
    """
    try:
        params = descriptor.get_params(deep=False)
    except AttributeError:
        return descriptor
    if "species" not in params or params["species"] is not None:
        return descriptor
    from sklearn.base import clone

    fitted = getattr(descriptor, "species_", None)  # learned by fit: never re-inferred
    if fitted is not None:
        species = fitted
    fixed = clone(descriptor)
    fixed.set_params(species=[int(s) for s in species])
    return fixed


class _Evaluator:
    """Feature values (and Jacobians) of displaced copies of one environment.

    Two backends, chosen once: ``"neighbourhoods"`` builds a package descriptor's pair batch
    directly (no neighbour search: fast enough to call 20,000 times); ``"adapter"`` builds finite
    ase clusters (centre first) and goes through
    :func:`completeness.descriptors.user.as_descriptor`, which validates what any object with
    ``compute`` or any callable ``(positions, numbers) -> vector`` returns.
    """

    def __init__(self, descriptor, env: Environment):
        if env.n_neighbours == 0:
            raise InputError(
                f"centre {env.centre_index} has no neighbour inside the cutoff; choose another "
                "centre or a larger cutoff"
            )
        self.env = env
        self.n = env.n_neighbours
        self.name = getattr(descriptor, "name", None) or getattr(
            descriptor, "__name__", type(descriptor).__name__
        )
        all_species = np.unique(np.concatenate([[env.centre_species], env.species]))
        if _is_fast_descriptor(descriptor):
            self.backend = "neighbourhoods"
            self.descriptor = _with_fixed_species(descriptor, all_species)
            self.descriptor._check_hypers()
            self.cutoff = float(self.descriptor.cutoff)
            # the species channels, fixed for every batch (checked once against the input)
            self.species = self.descriptor.species_for(self._neighbourhoods(env.vectors[None]))
        else:
            from ..descriptors.user import as_descriptor

            self.backend = "adapter"
            self.descriptor = as_descriptor(_with_fixed_species(descriptor, all_species))
            self.name = self.descriptor.name

    # ---- batches ------------------------------------------------------------------------------

    def _neighbourhoods(self, batch: np.ndarray) -> Neighbourhoods:
        m, n = batch.shape[:2]
        distances = np.sqrt(np.einsum("snx,snx->sn", batch, batch))
        if np.any(distances < COINCIDENT_TOLERANCE):
            raise InputError(
                "a displaced neighbour reached the centre (distance < "
                f"{COINCIDENT_TOLERANCE:g} Å); use smaller displacements"
            )
        inside = distances < self.cutoff
        sample, neighbour = np.nonzero(inside)
        counts = inside.sum(axis=1)
        return Neighbourhoods(
            samples=np.stack([np.arange(m), np.zeros(m, dtype=np.int64)], axis=1),
            centre_species=np.full(m, self.env.centre_species, dtype=np.int64),
            n_atoms=np.full(m, n + 1, dtype=np.int64),
            pair_sample=sample.astype(np.int64),
            pair_offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
            pair_neighbour=(neighbour + 1).astype(np.int64),
            pair_species=self.env.species[neighbour],
            pair_vectors=batch[sample, neighbour],
            pair_distances=distances[sample, neighbour],
            cutoff=self.cutoff,
        )

    def _clusters(self, batch: np.ndarray) -> list[ase.Atoms]:
        numbers = np.concatenate([[self.env.centre_species], self.env.species])
        return [
            ase.Atoms(numbers=numbers, positions=np.vstack([np.zeros((1, 3)), vectors]))
            for vectors in batch
        ]

    def _check_values(self, values, m: int) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        if values.ndim == 1 and m == 1:
            values = values[None]
        if values.ndim != 2 or values.shape[0] != m:
            raise InputError(
                f"{self.name} returned features of shape {values.shape} for {m} environments; "
                "it must return one 1-D feature vector per environment"
            )
        if not np.isfinite(values).all():
            raise InputError(f"{self.name} returned non-finite features; check its inputs")
        return values

    def values(self, batch) -> np.ndarray:
        """Features ``(m, n_features)`` of a batch of neighbour vectors ``(m, n, 3)``."""
        batch = np.asarray(batch, dtype=np.float64)
        out = []
        for start in range(0, len(batch), _BATCH):
            chunk = batch[start : start + _BATCH]
            if self.backend == "neighbourhoods":
                # the subclass contract of Descriptor (_compute), without the feature names and
                # Features wrapping that compute_neighbourhoods adds per call
                values, _ = self.descriptor._compute(
                    self._neighbourhoods(chunk), self.species, False
                )
            else:
                values = self.descriptor.compute(self._clusters(chunk), centers=[0]).values
            out.append(self._check_values(values, len(chunk)))
        return np.concatenate(out)

    def analytic(self, vectors: np.ndarray):
        """``(values (F,), jacobian (F, n, 3))`` from the descriptor's own gradients, or None.

        None means the descriptor has no analytic gradients (it raised NotImplementedError or
        returned ``gradients=None``); any other error propagates.
        """
        if self.backend == "adapter" and not self.descriptor.has_gradients:
            return None
        batch = np.asarray(vectors, dtype=np.float64)[None]
        if self.backend == "neighbourhoods":
            neighbourhoods = self._neighbourhoods(batch)
            try:
                values, pair_gradients = self.descriptor._compute(
                    neighbourhoods, self.species, True
                )
            except NotImplementedError:
                return None
            if pair_gradients is None:
                return None
            values = self._check_values(values, 1)[0]
            pair_gradients = np.asarray(pair_gradients, dtype=np.float64)
            if pair_gradients.shape != (neighbourhoods.n_pairs, 3, values.size):
                raise InputError(
                    f"{self.name} returned pair gradients of shape {pair_gradients.shape}, "
                    f"expected ({neighbourhoods.n_pairs}, 3, {values.size})"
                )
            jac = np.zeros((values.size, self.n, 3))
            jac[:, neighbourhoods.pair_neighbour - 1, :] = pair_gradients.transpose(2, 0, 1)
            return values, jac
        try:
            features = self.descriptor.compute(self._clusters(batch), centers=[0], gradients=True)
        except NotImplementedError:
            return None
        if getattr(features, "gradients", None) is None:
            return None
        values = self._check_values(features.values, 1)[0]
        gradients = np.asarray(features.gradients, dtype=np.float64)
        expected = (1, self.n + 1, 3, values.size)
        if gradients.shape[:2] != (1, self.n + 1) or gradients.shape[2:] != expected[2:]:
            raise InputError(
                f"{self.name} returned gradients of shape {gradients.shape}, expected {expected} "
                "(n_samples, n_atoms, 3, n_features)"
            )
        # (n, 3, F) -> (F, n, 3): neighbours only, the centre's row is the negative sum
        return values, np.moveaxis(gradients[0, 1:], 2, 0)

    def finite_difference(self, vectors: np.ndarray, step: float = FINITE_DIFFERENCE_STEP):
        """``(values (F,), jacobian (F, n, 3))`` by central differences (2 * 3n evaluations)."""
        vectors = np.asarray(vectors, dtype=np.float64)
        n = len(vectors)
        displacements = np.zeros((3 * n, n, 3))
        displacements.reshape(3 * n, 3 * n)[:] = np.eye(3 * n) * step
        batch = np.concatenate([vectors[None], vectors + displacements, vectors - displacements])
        values = self.values(batch)
        plus, minus = values[1 : 1 + 3 * n], values[1 + 3 * n :]
        jac = ((plus - minus) / (2 * step)).T.reshape(-1, n, 3)
        return values[0], jac


def _environment_for(descriptor, atoms: ase.Atoms, centre: int, cutoff) -> Environment:
    own = getattr(descriptor, "cutoff", None)
    if own is not None:
        if cutoff is not None and not math.isclose(float(cutoff), float(own)):
            raise InputError(
                f"cutoff={cutoff} differs from the descriptor's cutoff={own}: neighbours between "
                "the two would get spurious zero columns; omit cutoff="
            )
        cutoff = own
    if cutoff is None and np.any(atoms.pbc):
        raise InputError(
            "this descriptor has no cutoff attribute and the system is periodic; pass cutoff=..."
        )
    return environment(atoms, centre=centre, cutoff=cutoff)


def _as_environment(descriptor, atoms, centre, cutoff) -> Environment:
    if isinstance(atoms, Environment):
        return atoms
    return _environment_for(descriptor, atoms, centre, cutoff)


# --------------------------------------------------------------------------------------------
# rotations
# --------------------------------------------------------------------------------------------


def rotation_basis(vectors, tolerance: float = 1e-10) -> np.ndarray:
    """Orthonormal basis ``(3n, r)`` of the infinitesimal rigid rotations of ``vectors``.

    The rotation about axis ``e`` moves neighbour ``j`` by ``e x r_j``. ``r`` is 3, or less
    for linear environments (rank decided with ``tolerance`` relative to the largest singular
    value of the three generators).
    """
    vectors = np.asarray(vectors, dtype=np.float64).reshape(-1, 3)
    x, y, z = vectors.T
    zero = np.zeros_like(x)
    # column k: e_k x r_j for every neighbour j, flattened (j, component)
    generators = np.stack(
        [
            np.stack(columns, axis=1).reshape(-1)
            for columns in ((zero, -z, y), (z, zero, -x), (-y, x, zero))
        ],
        axis=1,
    )
    u, s, _ = np.linalg.svd(generators, full_matrices=False)
    if s.size == 0 or s[0] == 0:
        return np.zeros((generators.shape[0], 0))
    return u[:, s > tolerance * s[0]]


def _complement(basis: np.ndarray, dimension: int) -> np.ndarray:
    """Orthonormal basis ``(dimension, dimension - r)`` of the complement of ``basis``."""
    if basis.shape[1] == 0:
        return np.eye(dimension)
    # the projector onto the complement has eigenvalue 1 there and 0 on `basis`
    u, _, _ = np.linalg.svd(np.eye(dimension) - basis @ basis.T)
    return u[:, : dimension - basis.shape[1]]


# --------------------------------------------------------------------------------------------
# the Jacobian
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Jacobian:
    """Jacobian of a descriptor at one environment, with rigid rotations projected out.

    Attributes
    ----------
    matrix : (n_features, 3n) float array
        ``d f / d r`` for the neighbours (columns ``3 j + x``); the centre is fixed.
    values : (n_features,) float array
        The features at the environment.
    method : str
        ``"analytic"`` (the descriptor's own gradients) or ``"finite-difference"`` (central
        differences with step :data:`FINITE_DIFFERENCE_STEP`).
    environment : Environment
        The environment (neighbour vectors from the centre at the origin).
    singular_values : (3n - r,) float array
        Singular values of ``J`` restricted to the complement of the r rigid rotations
        (r = 3, or 2 for linear environments), in decreasing order; zeros are appended when
        there are fewer features than internal degrees of freedom.
    modes : (3n - r, n, 3) float array
        Right singular vectors as unit-norm displacement fields of the neighbours, orthogonal to
        every rigid rotation; ``modes[k]`` goes with ``singular_values[k]`` (the last ones are
        the insensitive modes).
    rotation_leak : float
        ``||J R||_F / ||J||_F`` for the orthonormal rotation basis R: zero for an exactly
        rotation-invariant descriptor (round-off aside), a check of the descriptor.
    descriptor : str
    """

    matrix: np.ndarray
    values: np.ndarray
    method: str
    environment: Environment
    singular_values: np.ndarray
    modes: np.ndarray
    rotation_leak: float
    descriptor: str = ""

    @property
    def condition_number(self) -> float:
        """``s_max / s_min`` over the rotation-projected singular values (inf if s_min is 0)."""
        s = self.singular_values
        if s.size == 0 or s[-1] == 0:
            return math.inf
        return float(s[0] / s[-1])

    def n_insensitive(self, rtol: float = 1e-6) -> int:
        """Number of singular values below ``rtol * s_max`` (near-null internal modes)."""
        s = self.singular_values
        if s.size == 0:
            return 0
        return int(np.count_nonzero(s < rtol * s[0]))

    def insensitive_modes(self, count: int = 1) -> np.ndarray:
        """The ``count`` least sensitive modes ``(count, n, 3)``, least sensitive first."""
        return self.modes[::-1][:count]

    def write_modes(self, path, count: int = 3, amplitude: float = 1.0) -> list[int]:
        """Write the ``count`` least sensitive modes to an extxyz file, one frame per mode.

        Each frame is the environment as a cluster (centre first, at the origin) with the mode as
        the per-atom array ``mode`` (zero on the centre) scaled by ``amplitude``, and info fields
        ``mode_index``, ``singular_value``, ``relative_singular_value``, ``condition_number``,
        ``descriptor`` and ``method``. Viewers such as ase's GUI or OVITO can draw ``mode`` as
        arrows. Returns the mode indices written.
        """
        from ase.io import write

        if count < 1:
            raise InputError(f"count must be at least 1, got {count}")
        indices = list(range(len(self.singular_values) - 1, -1, -1))[:count]
        frames = []
        scale = self.singular_values[0] if self.singular_values.size else 1.0
        for index in indices:
            atoms = self.environment.to_atoms()
            arrows = np.vstack([np.zeros((1, 3)), amplitude * self.modes[index]])
            atoms.arrays["mode"] = arrows
            atoms.info.update(
                mode_index=index,
                singular_value=float(self.singular_values[index]),
                relative_singular_value=float(self.singular_values[index] / scale)
                if scale
                else 0.0,
                condition_number=self.condition_number,
                descriptor=self.descriptor,
                method=self.method,
            )
            frames.append(atoms)
        write(str(path), frames, format="extxyz")
        return indices


def _decompose(matrix: np.ndarray, vectors: np.ndarray):
    n = len(vectors)
    rotations = rotation_basis(vectors)
    complement = _complement(rotations, 3 * n)
    norm = np.linalg.norm(matrix)
    leak = float(np.linalg.norm(matrix @ rotations) / norm) if norm > 0 else 0.0
    reduced = matrix @ complement
    dof = complement.shape[1]
    # the full V is needed only when there are fewer features than internal degrees of freedom;
    # never ask for the full U (n_features x n_features)
    _, s, vt = np.linalg.svd(reduced, full_matrices=reduced.shape[0] < dof)
    singular = np.zeros(dof)
    singular[: s.size] = s
    modes = (complement @ vt.T).T.reshape(dof, n, 3)
    return singular, modes, leak


def jacobian(
    descriptor,
    atoms,
    centre: int = 0,
    *,
    method: str = "auto",
    cutoff: float | None = None,
) -> Jacobian:
    """Jacobian of ``descriptor`` at the environment of ``centre``, rotations projected out.

    ``J[f, 3j + x] = d f / d r_j,x`` for the n neighbours j of the centre (3n columns; the centre
    is held fixed, so a uniform translation of the neighbours is a genuine deformation and only
    the rigid rotations ``delta r_j = e x r_j`` are projected out). The singular value
    decomposition of ``J`` restricted to the complement of the rotations gives the sensitivity of
    each internal displacement mode; a near-zero singular value is a direction along which the
    features change only at second order (Parsaeifard & Goedecker, J. Chem. Phys. 156, 034302
    (2022), doi:10.1063/5.0070488).

    At a symmetric reference the gradient of every invariant feature is itself invariant under
    the site group, so the rank of ``J`` is at most the number of totally symmetric displacement
    modes: 8 of the 135 internal coordinates for the 46 neighbours of diamond Si within 6.5 Å,
    whatever the descriptor. Every other mode responds quadratically (Onat et al. 2020).

    Parameters
    ----------
    descriptor
        A descriptor (``compute``) or a callable positions -> features (see the module doc).
    atoms : ase.Atoms or Environment
        The system (periodic or not), or an already extracted environment.
    centre : int
        Index of the centre atom in ``atoms``.
    method : {"auto", "analytic", "finite-difference"}
        ``"auto"`` uses the descriptor's analytic gradients when it provides them (its
        ``compute(..., gradients=True)`` returns gradients) and central differences otherwise;
        the result's ``method`` says which was used. ``"analytic"`` fails if there are none.
    cutoff : float, optional
        Only for descriptors without a ``cutoff`` attribute: the environment's cutoff (default:
        every other atom of a finite cluster).
    """
    if method not in ("auto", "analytic", "finite-difference"):
        raise InputError(
            f"method must be 'auto', 'analytic' or 'finite-difference', got {method!r}"
        )
    env = _as_environment(descriptor, atoms, centre, cutoff)
    evaluator = _Evaluator(descriptor, env)
    result = None
    used = "finite-difference"
    if method in ("auto", "analytic"):
        result = evaluator.analytic(env.vectors)
        if result is None and method == "analytic":
            raise InputError(
                f"{evaluator.name} provides no analytic gradients; use method='finite-difference'"
            )
        if result is not None:
            used = "analytic"
    if result is None:
        result = evaluator.finite_difference(env.vectors)
    values, jac = result
    matrix = jac.reshape(len(values), -1)
    singular, modes, leak = _decompose(matrix, env.vectors)
    return Jacobian(
        matrix=matrix,
        values=values,
        method=used,
        environment=env,
        singular_values=singular,
        modes=modes,
        rotation_leak=leak,
        descriptor=evaluator.name,
    )


# --------------------------------------------------------------------------------------------
# scaling exponents
# --------------------------------------------------------------------------------------------


def _distance(a: np.ndarray, b: np.ndarray, metric: str) -> np.ndarray:
    """Row-wise ``||a - b||`` (relative to ``||b||`` for ``metric='relative'``)."""
    difference = np.linalg.norm(np.atleast_2d(a) - b, axis=-1)
    if metric == "absolute":
        return difference
    if metric != "relative":
        raise InputError(f"metric must be 'relative' or 'absolute', got {metric!r}")
    scale = np.linalg.norm(b)
    if scale == 0:
        raise InputError("the reference features are all zero; use metric='absolute'")
    return difference / scale


def path_vectors(
    vectors,
    t_values,
    *,
    path: str = "linear",
    direction=None,
    neighbour: int = 0,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Neighbour vectors along a displacement path: ``(batch (len(t), n, 3), direction (n, 3))``.

    Paths
    -----
    ``"linear"``: ``r(t) = r + t u`` with ``u = direction / ||direction||`` (an ``(n, 3)`` field;
    default a seeded random unit field).
    ``"radial"`` (Onat et al. 2020): neighbour ``neighbour`` moves along its bond,
    ``r_j(t) = r_j + t r_j / |r_j|``.
    ``"tangential"`` (Onat et al. 2020): neighbour ``neighbour`` moves by ``t u`` with u a unit
    vector perpendicular to its bond (``direction``: a 3-vector, projected perpendicular; default
    seeded random) and is rescaled back onto its sphere, ``r_j(t) = |r_j| (r_j + t u) /
    |r_j + t u|``, so every distance to the centre is unchanged.
    """
    vectors = np.asarray(vectors, dtype=np.float64)
    t = np.asarray(t_values, dtype=np.float64).reshape(-1)
    n = len(vectors)
    rng = np.random.default_rng(seed)
    if path == "linear":
        u = rng.normal(size=(n, 3)) if direction is None else np.asarray(direction, dtype=float)
        if u.shape != (n, 3):
            u = u.reshape(-1)
            if u.size != 3 * n:
                raise InputError(
                    f"direction has {u.size} components; give an (n_neighbours, 3) = ({n}, 3) "
                    "displacement field"
                )
            u = u.reshape(n, 3)
        norm = np.linalg.norm(u)
        if norm == 0:
            raise InputError("direction is zero; give a non-zero displacement field")
        u = u / norm
        return vectors[None] + t[:, None, None] * u[None], u
    if path not in ("radial", "tangential"):
        raise InputError(f"path must be 'linear', 'radial' or 'tangential', got {path!r}")
    if not 0 <= neighbour < n:
        raise InputError(f"neighbour {neighbour} is out of range; use 0..{n - 1}")
    r = vectors[neighbour]
    radius = np.linalg.norm(r)
    bond = r / radius
    unit_field = np.zeros((n, 3))
    batch = np.repeat(vectors[None], len(t), axis=0)
    if path == "radial":
        unit_field[neighbour] = bond
        batch[:, neighbour] = r + t[:, None] * bond
        return batch, unit_field
    u = rng.normal(size=3) if direction is None else np.asarray(direction, dtype=float)
    if u.shape != (3,):
        raise InputError(f"a tangential direction is one 3-vector, got shape {u.shape}")
    u = u - np.dot(u, bond) * bond
    if np.linalg.norm(u) < 1e-12:
        raise InputError("the tangential direction is parallel to the bond; choose another")
    u = u / np.linalg.norm(u)
    moved = r + t[:, None] * u
    batch[:, neighbour] = radius * moved / np.linalg.norm(moved, axis=1, keepdims=True)
    unit_field[neighbour] = u
    return batch, unit_field


def roundoff_level(
    descriptor, atoms, centre: int = 0, *, metric="relative", n_rotations=4, seed=0, cutoff=None
) -> float:
    """Round-off level of the feature distance at an environment, measured.

    The largest distance between the features of the environment and of ``n_rotations`` seeded
    random rigid rotations of it: for an invariant descriptor that difference is pure round-off.
    Floored at the machine epsilon (an exactly reproducible descriptor still has round-off in
    any displaced evaluation).
    """
    env = _as_environment(descriptor, atoms, centre, cutoff)
    evaluator = _Evaluator(descriptor, env)
    return _roundoff(evaluator, env.vectors, metric, n_rotations, seed)


def _roundoff(evaluator, vectors, metric, n_rotations, seed):
    rng = np.random.default_rng(seed)
    rotations = Rotation.random(n_rotations, random_state=rng).as_matrix()
    batch = np.concatenate([vectors[None], np.einsum("rab,nb->rna", rotations, vectors)])
    values = evaluator.values(batch)
    level = float(np.max(_distance(values[1:], values[0], metric)))
    return max(level, float(np.finfo(np.float64).eps))


@dataclass(frozen=True, eq=False)
class ScalingFit:
    """A fitted scaling exponent ``||f(x(t)) - f(x)|| ~ A t^k``.

    Attributes
    ----------
    exponent, standard_error : float
        ``k`` and its standard error from the least-squares fit of ``log d`` on ``log t``.
    prefactor : float
        ``A``.
    t, distance : (m,) float arrays
        Every displacement and the feature distance it produced.
    used : (m,) bool array
        Points used in the fit (above ``ROUNDOFF_FACTOR * roundoff``).
    roundoff : float
        Measured round-off level of the distance (see :func:`roundoff_level`).
    local_slopes : (m - 1,) float array
        ``d log d / d log t`` between successive points: flat where the power law holds.
    path : str
    direction : (n, 3) float array
        The unit displacement field at ``t = 0``.
    """

    exponent: float
    standard_error: float
    prefactor: float
    t: np.ndarray
    distance: np.ndarray
    used: np.ndarray
    roundoff: float
    local_slopes: np.ndarray
    path: str = "linear"
    direction: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))


def fit_exponent(t, distance, roundoff: float = 0.0, *, factor: float = ROUNDOFF_FACTOR):
    """Least-squares power law through the points with ``distance > factor * roundoff``.

    Returns ``(k, standard_error, prefactor, used)``. The rule excludes the round-off region:
    a point is kept only where the response is at least ``factor`` times the measured
    round-off, so its logarithm carries a relative error below ``1 / factor``. The standard
    error is the usual OLS one, ``sqrt(SSR / (m - 2) / sum (x - mean x)^2)`` on ``x = log t``.
    At least three points must remain.
    """
    t = np.asarray(t, dtype=np.float64)
    distance = np.asarray(distance, dtype=np.float64)
    used = (t > 0) & (distance > factor * roundoff) & (distance > 0)
    m = int(used.sum())
    if m < 3:
        raise InputError(
            f"only {m} points lie above the round-off region ({factor:g} x {roundoff:.2e}); "
            "use larger displacements t"
        )
    x, y = np.log(t[used]), np.log(distance[used])
    xm = x - x.mean()
    sxx = float(xm @ xm)
    if sxx == 0:
        raise InputError("all fitted t are equal; give a range of displacements")
    slope = float(xm @ (y - y.mean()) / sxx)
    intercept = float(y.mean() - slope * x.mean())
    residuals = y - (intercept + slope * x)
    error = math.sqrt(float(residuals @ residuals) / (m - 2) / sxx) if m > 2 else math.inf
    return slope, error, math.exp(intercept), used


def response(
    descriptor,
    atoms,
    centre: int = 0,
    t_values=None,
    *,
    path: str = "linear",
    direction=None,
    neighbour: int = 0,
    metric: str = "relative",
    seed: int = 0,
    cutoff: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Feature distance along a path: ``(t, distance, direction)`` (see :func:`path_vectors`)."""
    env = _as_environment(descriptor, atoms, centre, cutoff)
    evaluator = _Evaluator(descriptor, env)
    t = _t_values(t_values)
    batch, unit_field = path_vectors(
        env.vectors, t, path=path, direction=direction, neighbour=neighbour, seed=seed
    )
    values = evaluator.values(np.concatenate([env.vectors[None], batch]))
    return t, _distance(values[1:], values[0], metric), unit_field


def _t_values(t_values):
    t = np.logspace(-6, -3, 13) if t_values is None else np.asarray(t_values, dtype=float)
    t = t.reshape(-1)
    if t.size < 3 or np.any(~np.isfinite(t)) or np.any(t <= 0):
        raise InputError("t_values must be at least 3 positive finite displacements (Å)")
    return t


def scaling_exponent(
    descriptor,
    atoms,
    centre: int = 0,
    direction=None,
    t_values=None,
    *,
    path: str = "linear",
    neighbour: int = 0,
    metric: str = "relative",
    seed: int = 0,
    cutoff: float | None = None,
) -> ScalingFit:
    """Scaling exponent k of ``||f(x(t)) - f(x)|| ~ t^k`` at the environment of ``centre``.

    ``x(t)`` is the path of :func:`path_vectors` (``"linear"`` along ``direction``, or Onat et
    al.'s ``"radial"`` / ``"tangential"`` paths of neighbour ``neighbour``, J. Chem. Phys. 153,
    144106 (2020), doi:10.1063/5.0016005). The distance is ``||f(t) - f(0)|| / ||f(0)||`` by
    default. ``t_values`` (Å, default ``logspace(-6, -3, 13)``) set the fit window: keep them in
    the asymptotic (small-t) regime; points in the round-off region are excluded by the rule of
    :func:`fit_exponent`, with the round-off level measured by :func:`roundoff_level`.
    ``k = 1``: linear response; ``k = 2``: the first-order change vanishes along this path
    (symmetric reference, fold point).
    """
    env = _as_environment(descriptor, atoms, centre, cutoff)
    evaluator = _Evaluator(descriptor, env)
    t = _t_values(t_values)
    batch, unit = path_vectors(
        env.vectors, t, path=path, direction=direction, neighbour=neighbour, seed=seed
    )
    values = evaluator.values(np.concatenate([env.vectors[None], batch]))
    distance = _distance(values[1:], values[0], metric)
    roundoff = _roundoff(evaluator, env.vectors, metric, 4, seed)
    k, error, prefactor, used = fit_exponent(t, distance, roundoff)
    order = np.argsort(t)
    with np.errstate(divide="ignore", invalid="ignore"):
        slopes = np.diff(np.log(distance[order])) / np.diff(np.log(t[order]))
    return ScalingFit(
        exponent=k,
        standard_error=error,
        prefactor=prefactor,
        t=t,
        distance=distance,
        used=used,
        roundoff=roundoff,
        local_slopes=slopes,
        path=path,
        direction=unit,
    )


def radial_jitter(
    atoms: ase.Atoms, centre: int, cutoff: float, amplitude: float = 0.02, seed: int = 0
) -> ase.Atoms:
    """A copy of ``atoms`` whose neighbours of ``centre`` are moved radially by up to ``amplitude``.

    Every atom within ``cutoff`` of the centre is moved along its bond so that its distance is
    multiplied by ``1 + U(-amplitude, amplitude)`` (seeded), the symmetry-breaking used by Onat
    et al. (2020) (+-2 %) to turn the quadratic tangential response of a perfect crystal into a
    linear one. The cell must be wider than twice the cutoff (each neighbour a distinct atom).
    """
    env = environment(atoms, centre=centre, cutoff=cutoff)
    if len(np.unique(env.neighbour_index)) != env.n_neighbours:
        raise InputError(
            "an atom appears several times (periodic images) in the environment; use a "
            "supercell wider than twice the cutoff"
        )
    rng = np.random.default_rng(seed)
    factors = 1.0 + rng.uniform(-amplitude, amplitude, size=env.n_neighbours)
    out = atoms.copy()
    # move each neighbour atom (not its image) by the change of its bond vector
    out.positions[env.neighbour_index] += env.vectors * (factors - 1.0)[:, None]
    return out


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
    along_all = _distance(values[: len(indices)], values[0], metric)
    random = _distance(values[len(indices) :], values[0], metric)
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
    evaluator = _Evaluator(descriptor, env)
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
    first step: +1 makes its largest-magnitude component positive). This is the protocol of
    J. Chem. Phys. 156, 034302 (2022), doi:10.1063/5.0070488 (published reproduction:
    20,000 steps of 1e-4 Å on CH4).

    Parameters
    ----------
    target : callable, optional
        ``target(vectors (n, 3)) -> float`` recorded at every step, e.g.
        :func:`ch4_four_body_target`.
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
    if sign not in (1, -1):
        raise InputError(f"sign must be +1 or -1, got {sign}")
    if n_steps < 1 or not step > 0:
        raise InputError("n_steps must be >= 1 and step > 0")
    env = _as_environment(descriptor, atoms, centre, cutoff)
    evaluator = _Evaluator(descriptor, env)
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

    n = env.n_neighbours
    vectors = np.empty((n_steps + 1, n, 3))
    vectors[0] = env.vectors
    change = np.empty(n_steps + 1)
    smallest = np.empty(n_steps)
    reference = None
    previous = None
    from ..progress import progress_bar

    for k in progress_bar(range(n_steps), enabled=progress, desc="following", unit="step"):
        x = vectors[k]
        values, jac = values_and_jacobian(x)
        if reference is None:
            reference = values
        change[k] = _distance(values, reference, metric)[0]
        matrix = jac.reshape(len(values), -1)
        rotations = rotation_basis(x)
        complement = _complement(rotations, 3 * n)
        reduced = matrix @ complement
        _, s, vt = np.linalg.svd(reduced, full_matrices=reduced.shape[0] < reduced.shape[1])
        singular = np.zeros(complement.shape[1])
        singular[: s.size] = s
        smallest[k] = singular[-1]
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
        previous = direction
        vectors[k + 1] = x + step * direction.reshape(n, 3)
    change[n_steps] = _distance(evaluator.values(vectors[-1:]), reference, metric)[0]
    targets = None
    if target is not None:
        targets = np.array([float(target(v)) for v in vectors])
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

"""The Jacobian of a descriptor at one centre: singular values and insensitive modes."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...environments import (
    Environment,
    InputError,
)
from .evaluator import Evaluator, as_environment, orthogonal_complement, rotation_basis

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
    complement = orthogonal_complement(rotations, 3 * n)
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
    env = as_environment(descriptor, atoms, centre, cutoff)
    evaluator = Evaluator(descriptor, env)
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

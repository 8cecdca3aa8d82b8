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

from .evaluator import (
    FINITE_DIFFERENCE_STEP,
    ROUNDOFF_FACTOR,
    Evaluator,
    as_environment,
    orthogonal_complement,
    rotation_basis,
)
from .follow import (
    ManifoldPath,
    PathChange,
    ch4_four_body_target,
    follow_insensitive_mode,
    path_feature_change,
)
from .jacobian import Jacobian, jacobian
from .scaling import (
    ScalingFit,
    fit_exponent,
    path_vectors,
    radial_jitter,
    response,
    roundoff_level,
    scaling_exponent,
)

__all__ = [
    "FINITE_DIFFERENCE_STEP",
    "ROUNDOFF_FACTOR",
    "Evaluator",
    "Jacobian",
    "ManifoldPath",
    "PathChange",
    "ScalingFit",
    "as_environment",
    "ch4_four_body_target",
    "fit_exponent",
    "follow_insensitive_mode",
    "jacobian",
    "orthogonal_complement",
    "path_feature_change",
    "path_vectors",
    "radial_jitter",
    "response",
    "rotation_basis",
    "roundoff_level",
    "scaling_exponent",
]

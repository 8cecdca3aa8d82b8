"""Synthetic regression targets that depend on what low body orders miss.

Every target is a deterministic, rotation-, reflection- and permutation-invariant function of one
centred environment (centre = atom 0 of an ``ase.Atoms``, every other atom a neighbour, or a
:class:`completeness.environments.Environment`). They are cheap, classical and exact: **no
quantum-chemistry data is used anywhere in this package**; the learning experiments only need
targets whose within-pair differences are known to be non-zero for the degenerate pairs studied.

Body order is counted as in docs/science.md §1: a function of the centre and ``k - 1`` neighbours is
``k``-body.

* :func:`triangle_normal_target`: the "four-body" CH4 target of Parsaeifard & Goedecker (J. Chem.
  Phys. 156, 034302 (2022), doi:10.1063/5.0070488) generalised to any environment with at least
  four neighbours: for every set of four neighbours take the unit normals of its four triangles
  and sum ``(n_a . n_b)^2`` over the six pairs of triangles; sum over all 4-subsets of neighbours.
  For CH4 (four H) it is the published target. It depends on four neighbours at once.
* :func:`squared_volume_sum`: sum over unordered neighbour triples of the squared volume of the
  tetrahedron (centre, j, k, l), ``V = |r_j . (r_k x r_l)| / 6`` (4-body); with
  ``include_centre=False`` the tetrahedra are formed by four neighbours (j, k, l, m) instead
  (5-body), which separates pairs that agree at every 4-body term.
* :func:`torsion_energy`: a classical OPLS-style 4-body torsion term. For ordered triples of
  distinct neighbours (j, k, l) the dihedral angle ``phi`` of the chain j - centre - k - l (the
  angle between the components of ``r_j`` and ``r_l`` perpendicular to ``r_k``) enters
  ``E = sum (V1/2 (1 + cos phi) + V2/2 (1 - cos 2 phi) + V3/2 (1 + cos 3 phi))``; units are those
  of the barriers (arbitrary energy units here).
"""

from __future__ import annotations

from itertools import combinations

import ase
import numpy as np

from ..environments import Environment, InputError, environment

__all__ = [
    "TARGETS",
    "TARGET_UNITS",
    "evaluate_target",
    "neighbour_vectors",
    "squared_volume_sum",
    "torsion_energy",
    "triangle_normal_target",
]


def neighbour_vectors(system) -> np.ndarray:
    """The ``(n_neighbours, 3)`` vectors from the centre to its neighbours, in Å.

    ``system`` is an ``ase.Atoms`` (centre = atom 0, every other atom a neighbour) or an
    :class:`~completeness.environments.Environment`.
    """
    if isinstance(system, Environment):
        return np.asarray(system.vectors, dtype=np.float64)
    if isinstance(system, ase.Atoms):
        return environment(system, centre=0).vectors
    raise InputError(
        f"expected an ase.Atoms (centre = atom 0) or an Environment, got {type(system).__name__}"
    )


def _need(vectors: np.ndarray, count: int, name: str):
    if len(vectors) < count:
        raise InputError(
            f"{name} needs at least {count} neighbours, the environment has {len(vectors)}"
        )


def triangle_normal_target(system) -> float:
    """Parsaeifard-Goedecker four-body target, summed over every 4-subset of neighbours.

    For neighbours ``{a, b, c, d}`` the four triangles are the 3-subsets; ``n_t`` is the unit
    normal of triangle ``t``; the contribution is ``sum_{t < t'} (n_t . n_t')^2``.
    doi:10.1063/5.0070488
    """
    vectors = neighbour_vectors(system)
    _need(vectors, 4, "triangle_normal_target")
    quads = np.array(list(combinations(range(len(vectors)), 4)))  # (n_quads, 4)
    triangles = np.array(list(combinations(range(4), 3)))  # (4, 3)
    points = vectors[quads[:, triangles]]  # (n_quads, 4 triangles, 3 vertices, 3)
    normals = np.cross(points[:, :, 1] - points[:, :, 0], points[:, :, 2] - points[:, :, 0])
    lengths = np.linalg.norm(normals, axis=-1)
    if np.any(lengths < 1e-12):
        raise InputError(
            "three neighbours are collinear, so a triangle normal is undefined; "
            "triangle_normal_target needs non-degenerate triangles"
        )
    normals = normals / lengths[..., None]
    gram = np.einsum("qax,qbx->qab", normals, normals) ** 2
    upper = np.triu_indices(4, k=1)
    return float(gram[:, upper[0], upper[1]].sum())


def squared_volume_sum(system, include_centre: bool = True) -> float:
    """Sum of squared tetrahedron volumes (Å^6).

    ``include_centre=True``: tetrahedra (centre, j, k, l) over neighbour triples j < k < l,
    ``V = |det[r_j, r_k, r_l]| / 6`` (a 4-body target). ``include_centre=False``: tetrahedra of
    four neighbours, ``V = |det[r_k - r_j, r_l - r_j, r_m - r_j]| / 6`` (5-body).
    """
    vectors = neighbour_vectors(system)
    if include_centre:
        _need(vectors, 3, "squared_volume_sum")
        triples = np.array(list(combinations(range(len(vectors)), 3)))
        volumes = np.linalg.det(vectors[triples]) / 6.0
    else:
        _need(vectors, 4, "squared_volume_sum(include_centre=False)")
        quads = np.array(list(combinations(range(len(vectors)), 4)))
        points = vectors[quads]
        volumes = np.linalg.det(points[:, 1:] - points[:, :1]) / 6.0
    return float(np.sum(volumes**2))


def torsion_energy(system, barriers=(1.0, -0.5, 0.25)) -> float:
    """OPLS-style torsion energy over the chains j - centre - k - l (4-body).

    ``E = sum_{(j,k,l) distinct} sum_n V_n / 2 (1 + (-1)^(n+1) cos(n phi_jkl))`` with
    ``barriers = (V1, V2, V3, ...)`` and ``phi_jkl`` the dihedral angle about the centre-k bond
    between ``r_j`` and ``r_l`` (Jorgensen, Maxwell, Tirado-Rives, J. Am. Chem. Soc. 118, 11225
    (1996), doi:10.1021/ja9621760). Neighbours collinear with the axis contribute nothing.
    """
    vectors = neighbour_vectors(system)
    _need(vectors, 3, "torsion_energy")
    barriers = np.asarray(barriers, dtype=np.float64).reshape(-1)
    n = len(vectors)
    j, k, l = np.meshgrid(np.arange(n), np.arange(n), np.arange(n), indexing="ij")
    distinct = (j != k) & (k != l) & (j != l)
    j, k, l = j[distinct], k[distinct], l[distinct]
    axis = vectors[k] / np.linalg.norm(vectors[k], axis=1, keepdims=True)

    def perpendicular(v):
        return v - np.einsum("px,px->p", v, axis)[:, None] * axis

    a, b = perpendicular(vectors[j]), perpendicular(vectors[l])
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    valid = norms > 1e-12
    cos_phi = np.einsum("px,px->p", a[valid], b[valid]) / norms[valid]
    phi = np.arccos(np.clip(cos_phi, -1.0, 1.0))
    energy = 0.0
    for index, barrier in enumerate(barriers):
        multiplicity = index + 1
        sign = 1.0 if multiplicity % 2 else -1.0
        energy += barrier / 2 * np.sum(1.0 + sign * np.cos(multiplicity * phi))
    return float(energy)


#: Units of each target (for axis labels and tables).
TARGET_UNITS = {
    "triangle_normals": "dimensionless",
    "squared_volumes": "Å$^6$",
    "squared_volumes_neighbours": "Å$^6$",
    "torsion": "arb. energy units",
}

#: Name -> function of one environment.
TARGETS = {
    "triangle_normals": triangle_normal_target,
    "squared_volumes": squared_volume_sum,
    "squared_volumes_neighbours": lambda system: squared_volume_sum(system, include_centre=False),
    "torsion": torsion_energy,
}


def evaluate_target(name: str, systems) -> np.ndarray:
    """The target ``name`` (a key of :data:`TARGETS`) for each system, as a float array."""
    if name not in TARGETS:
        raise InputError(f"unknown target {name!r}; use one of {sorted(TARGETS)}")
    if isinstance(systems, (ase.Atoms, Environment)):
        systems = [systems]
    function = TARGETS[name]
    return np.array([function(system) for system in systems], dtype=np.float64)

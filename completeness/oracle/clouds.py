"""Whole point clouds: equal multisets of interatomic distances (:func:`global_distances_equal`)
and the iteration at which distance-only message passing separates two clouds
(:func:`wl_distinguishing_iteration`)."""

from __future__ import annotations

from collections import Counter

import ase
import numpy as np

from ..environments import InputError, check_cutoff, check_systems
from .tolerance import distance_tolerance, multisets_equal


def _finite_cloud(atoms, name: str) -> ase.Atoms:
    if not isinstance(atoms, ase.Atoms):
        raise InputError(
            f"{name} must be an ase.Atoms (a whole point cloud), got {type(atoms).__name__}"
        )
    (atoms,) = check_systems(atoms)
    if np.any(atoms.pbc):
        raise InputError(
            f"{name} is periodic; whole-cloud tests need a finite cluster: set atoms.pbc = False"
        )
    return atoms


def _pair_distances(positions: np.ndarray) -> np.ndarray:
    return np.linalg.norm(positions[:, None, :] - positions[None, :, :], axis=-1)


def global_distances_equal(a: ase.Atoms, b: ase.Atoms, tolerance: float | None = None) -> bool:
    """Whether two finite clouds have the same multiset of pairwise distances with species.

    The multiset is ``{(min(Z_i, Z_j), max(Z_i, Z_j), |r_i - r_j|) : i < j}``, compared with the
    distance tolerance of :func:`signatures_equal` (``L`` the largest pairwise distance). Equal
    multisets do not imply congruence (homometric sets; Pozdnyakov & Ceriotti, MLST 3, 045020
    (2022), doi:10.1088/2632-2153/aca1f8).
    """
    a = _finite_cloud(a, "a")
    b = _finite_cloud(b, "b")
    if len(a) != len(b) or not np.array_equal(np.sort(a.numbers), np.sort(b.numbers)):
        return False
    rows = []
    scale = 0.0
    for atoms in (a, b):
        i, j = np.triu_indices(len(atoms), k=1)
        distance = _pair_distances(atoms.positions)[i, j]
        z = atoms.numbers
        rows.append(np.stack([np.minimum(z[i], z[j]), np.maximum(z[i], z[j]), distance], axis=1))
        scale = max(scale, float(distance.max(initial=0.0)))
    tol = distance_tolerance(tolerance, scale)
    return multisets_equal(rows[0], rows[1], np.array([0.5, 0.5, tol]))


def _distance_labels(values: np.ndarray, tolerance: float) -> np.ndarray:
    """Integer labels of ``values``: equal labels for chains of values closer than ``tolerance``.

    Rounding to a fixed grid would split two copies of one distance that straddle a grid boundary;
    single-linkage clustering of the sorted values does not.
    """
    if values.size == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(values, kind="stable")
    gaps = np.diff(values[order]) > tolerance
    labels = np.empty(values.size, dtype=np.int64)
    labels[order] = np.concatenate([[0], np.cumsum(gaps)])
    return labels


def _refine(colour: np.ndarray, mask: np.ndarray, label: np.ndarray, palette: dict) -> np.ndarray:
    """One 1-WL step: colour_i <- palette[(colour_i, sorted multiset of (colour_j, d_ij label))]."""
    out = np.empty(len(colour), dtype=np.int64)
    for i in range(len(colour)):
        messages = sorted(zip(colour[mask[i]].tolist(), label[i, mask[i]].tolist(), strict=True))
        out[i] = palette.setdefault((int(colour[i]), tuple(messages)), len(palette))
    return out


def _labelled_graphs(a: ase.Atoms, b: ase.Atoms, cutoff, tolerance):
    """For each cloud: which pairs are neighbours (within ``cutoff``, or all), and one table of
    distance labels shared by both clouds (:func:`_distance_labels`, -1 for non-neighbours)."""
    n = len(a)
    matrices = [_pair_distances(atoms.positions) for atoms in (a, b)]
    adjacency = []
    for d in matrices:
        mask = ~np.eye(n, dtype=bool)
        if cutoff is not None:
            mask &= d < cutoff
        adjacency.append(mask)
    scale = max(float(d.max(initial=0.0)) for d in matrices)
    tol = distance_tolerance(tolerance, scale)
    both = np.concatenate([d[mask] for d, mask in zip(matrices, adjacency, strict=True)])
    labels_flat = _distance_labels(both, tol)
    labels = []
    offset = 0
    for d, mask in zip(matrices, adjacency, strict=True):
        table = np.full(d.shape, -1, dtype=np.int64)
        count = int(mask.sum())
        table[mask] = labels_flat[offset : offset + count]
        offset += count
        labels.append(table)
    return adjacency, labels


def wl_distinguishing_iteration(
    a: ase.Atoms,
    b: ase.Atoms,
    *,
    cutoff: float | None = None,
    max_iterations: int = 10,
    tolerance: float | None = None,
) -> int | None:
    """First iteration of geometric 1-WL (distance-only) colour refinement that separates a, b.

    The invariant geometric Weisfeiler-Leman test restricted to pairwise distances, i.e. the
    power of distance-only message passing such as SchNet (Joshi, Bodnar, Mathis, Cohen, Lio,
    "On the expressive power of geometric graph neural networks", ICML 2023, arXiv:2301.09308;
    Pozdnyakov & Ceriotti, MLST 3, 045020 (2022)):

    .. math::

        c_i^{(0)} = Z_i, \\qquad
        c_i^{(t+1)} = \\mathrm{HASH}\\big(c_i^{(t)}, \\{\\!\\{(c_j^{(t)}, d_{ij}) :
                      j \\ne i, d_{ij} < r_c\\}\\!\\}\\big)

    with one colour table shared by both clouds, so colours are comparable. Distances are
    labelled by single-linkage clustering of all distances of both clouds with the default
    distance tolerance (robust to round-off, unlike rounding to a grid).

    Parameters
    ----------
    a, b : ase.Atoms
        Finite clouds.
    cutoff : float, optional
        Neighbours are atoms closer than ``cutoff`` (Å); None: complete graph.
    max_iterations : int
    tolerance : float, optional
        Distance tolerance in Å (default: module docstring).

    Returns
    -------
    int or None
        0 if the species multisets (or sizes) differ, else the first iteration ``t`` whose colour
        multisets differ; None if they never do within ``max_iterations`` (the refinement also
        stops early once the joint colour partition is stable: it can never separate them then).
    """
    a = _finite_cloud(a, "a")
    b = _finite_cloud(b, "b")
    if isinstance(max_iterations, bool) or not isinstance(max_iterations, (int, np.integer)):
        raise InputError(f"max_iterations must be an integer, got {max_iterations!r}")
    if cutoff is not None:
        cutoff = check_cutoff(cutoff)
    if len(a) != len(b):
        return 0
    adjacency, labels = _labelled_graphs(a, b, cutoff, tolerance)

    palette: dict = {}
    colours = [
        np.array([palette.setdefault(("Z", int(z)), len(palette)) for z in atoms.numbers])
        for atoms in (a, b)
    ]
    if Counter(colours[0].tolist()) != Counter(colours[1].tolist()):
        return 0
    n_classes = len(set(colours[0].tolist()) | set(colours[1].tolist()))
    for iteration in range(1, max_iterations + 1):
        colours = [
            _refine(colour, mask, label, palette)
            for colour, mask, label in zip(colours, adjacency, labels, strict=True)
        ]
        if Counter(colours[0].tolist()) != Counter(colours[1].tolist()):
            return iteration
        classes = len(set(colours[0].tolist()) | set(colours[1].tolist()))
        if classes == n_classes:
            return None
        n_classes = classes
    return None

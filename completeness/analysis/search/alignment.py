"""The structural distance between two atomic environments: an RMSD after the best alignment.

For two environments with the same centre species, cutoff ``r_c``, neighbour vectors ``a_j`` and
``b_j`` (r < r_c), each species' list is padded with *ghosts* to the larger of the two counts::

    D(A, B)^2 = min_{R, pi} (1/n) sum_slots c(slot),   c = |R a - b|^2       (atom-atom)
                                                        = (r_c - |x|)^2       (atom x - ghost)
                                                        = 0                   (ghost-ghost)

over orthogonal ``R`` (rotations only when ``allow_reflection=False``, i.e. for SO(3)
descriptors) and species-preserving assignments ``pi``; ``n`` is the number of slots. An atom
matched to a ghost pays the distance it would have to move to leave through the cutoff sphere, so
``D`` is continuous when atoms cross the cutoff, is 0 exactly for congruent environments (same
species, same geometry up to ``R``), and is an RMSD in Å: the displacement per neighbour that
turns one environment into the other.

* Lower bound (every candidate, vectorised): rotations keep radii and ``|R a - b| >= ||a| - |b||``,
  so ``D >= L = sqrt((1/n) sum_s sum_k (r^A_(s,k) - r^B_(s,k))^2)`` with the radii of each species
  sorted and padded with ``r_c`` (sorting is the optimal 1-D matching).
* The alignment (upper bound, the reported ``D``): iterative closest point from several starts.
  Starts map a frame of two neighbours of A (the nearest and the one most orthogonal to it
  among the next nearest) onto frames of B built from neighbours of the same species with the
  closest radii and angle; the 60 rotations of the icosahedral group are added (for unrelated
  environments the best map need not send neighbours onto neighbours); each with its mirror
  image if reflections are allowed. Refinement alternates the optimal assignment for a fixed
  ``R`` (Hungarian algorithm per species, scipy ``linear_sum_assignment``) and the optimal ``R``
  for a fixed assignment (Kabsch, Acta Cryst. A 32, 922 (1976), doi:10.1107/S0567739476001873)
  until the assignment no longer changes; each step lowers the cost, so ``L <= D_true <= D``.
  Screening alignments refine the 8 starts with the best nearest-neighbour score; the
  ``n_thorough`` pairs that rank highest are re-aligned with every start refined (on 40 random
  6-neighbour pairs this matched the exact minimum over all 720 permutations every time, while
  8 starts missed it in 7 of 40, by at most 3 %). Tests check ``D`` against that exact minimum
  and against :func:`completeness.oracle.congruent` (exact, but it decides congruence only and
  stops at 9 neighbours: too slow and too narrow for many candidates with 10-50 neighbours).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import linear_sum_assignment

from ...environments import check_cutoff
from ...numerics import kabsch
from .environments import EnvironmentSet

__all__ = ["align_environments", "structural_distance"]


class _Slots:
    """Per-species slot layout of a pair of environments (real atoms then ghosts)."""

    def __init__(self, a_vec, a_spec, b_vec, b_spec, cutoff):
        self.blocks = []
        self.n = 0
        for kind in np.union1d(a_spec, b_spec):
            ia, ib = np.flatnonzero(a_spec == kind), np.flatnonzero(b_spec == kind)
            size = max(len(ia), len(ib))
            ghost_a = (cutoff - np.linalg.norm(a_vec[ia], axis=1)) ** 2
            ghost_b = (cutoff - np.linalg.norm(b_vec[ib], axis=1)) ** 2
            cost = np.zeros((size, size))
            cost[: len(ia), len(ib) :] = ghost_a[:, None]
            cost[len(ia) :, : len(ib)] = ghost_b[None, :]
            self.blocks.append((ia, ib, size, cost))
            self.n += size
        self.a_vec, self.b_vec = a_vec, b_vec

    def assign(self, rotation: np.ndarray):
        """Optimal assignment for ``rotation``: total cost and matched (a, b) index arrays."""
        rotated = self.a_vec @ rotation.T
        total = 0.0
        pa, pb = [], []
        for ia, ib, _, cost in self.blocks:
            if len(ia) and len(ib):
                diff = rotated[ia][:, None, :] - self.b_vec[ib][None, :, :]
                cost[: len(ia), : len(ib)] = np.einsum("ijk,ijk->ij", diff, diff)
            rows, cols = linear_sum_assignment(cost)
            total += float(cost[rows, cols].sum())
            real = (rows < len(ia)) & (cols < len(ib))
            pa.append(ia[rows[real]])
            pb.append(ib[cols[real]])
        return total, np.concatenate(pa), np.concatenate(pb)


def _frames(u1: np.ndarray, u2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Orthonormal frames (columns e1, e2, e3) from rows of two vector arrays, and a mask of the
    pairs that are not (nearly) collinear."""
    e1 = u1 / np.linalg.norm(u1, axis=-1, keepdims=True)
    w = u2 - np.sum(u2 * e1, axis=-1, keepdims=True) * e1
    norm = np.linalg.norm(w, axis=-1)
    valid = norm > 1e-6 * np.linalg.norm(u2, axis=-1)
    e2 = w / np.where(valid, norm, 1.0)[..., None]
    return np.stack([e1, e2, np.cross(e1, e2)], axis=-1), valid


def _starts(a_vec, a_spec, b_vec, b_spec, allow_reflection: bool, n_candidates: int = 4):
    """Initial orthogonal maps: frames of two neighbours of A onto compatible frames of B, and
    a quasi-uniform cover of O(3).

    Returns ``(rotations (S, 3, 3), determinants (S,))``.
    """
    determinants = (1, -1) if allow_reflection else (1,)
    ra, rb = np.linalg.norm(a_vec, axis=1), np.linalg.norm(b_vec, axis=1)
    rotations, signs = [], []
    if len(a_vec) >= 2 and len(b_vec) >= 2:
        order = np.argsort(ra, kind="stable")
        j1 = order[0]
        others = order[1:5]
        sines = np.linalg.norm(
            np.cross(a_vec[j1] / ra[j1], a_vec[others] / ra[others, None]), axis=1
        )
        j2 = others[int(np.argmax(sines))]
        frame_a, valid_a = _frames(a_vec[j1], a_vec[j2])
        k1s = np.flatnonzero(b_spec == a_spec[j1])
        k1s = k1s[np.argsort(np.abs(rb[k1s] - ra[j1]), kind="stable")[:n_candidates]]
        k2_all = np.flatnonzero(b_spec == a_spec[j2])
        if valid_a and len(k1s) and len(k2_all):
            cos_a = (a_vec[j1] @ a_vec[j2]) / (ra[j1] * ra[j2])
            cos_b = (b_vec[k1s] @ b_vec[k2_all].T) / np.outer(rb[k1s], rb[k2_all])
            mismatch = (rb[k2_all] - ra[j2])[None, :] ** 2 + (ra[j2] * (cos_b - cos_a)) ** 2
            mismatch[k1s[:, None] == k2_all[None, :]] = np.inf  # k2 must differ from k1
            best = np.argsort(mismatch, axis=1, kind="stable")[:, :n_candidates]
            first = np.repeat(k1s, best.shape[1])
            second = k2_all[best.reshape(-1)]
            finite = np.isfinite(np.take_along_axis(mismatch, best, axis=1).reshape(-1))
            frame_b, valid_b = _frames(b_vec[first], b_vec[second])
            frame_b = frame_b[valid_b & finite]
            for determinant in determinants:
                mirror = np.diag([1.0, 1.0, float(determinant)])
                rotations.extend(frame_b @ mirror @ frame_a.T)
                signs.extend([determinant] * len(frame_b))
    # a fixed, quasi-uniform cover of O(3) (the 60 rotations of the icosahedral group, and their
    # mirrors): for unrelated environments the best map need not send neighbours onto neighbours
    for determinant in determinants:
        mirror = np.diag([1.0, 1.0, float(determinant)])
        rotations.extend(_ICOSAHEDRAL @ mirror)
        signs.extend([determinant] * len(_ICOSAHEDRAL))
    return np.array(rotations), np.array(signs)


def _chamfer(a_vec, a_spec, b_vec, b_spec, rotations) -> np.ndarray:
    """Cheap score of each start: sum over A of the squared distance to the nearest B neighbour
    of the same species (vectorised over starts; only used to rank them)."""
    if not len(b_vec) or not len(a_vec):
        return np.zeros(len(rotations))
    rotated = np.einsum("sij,nj->sni", rotations, a_vec)
    squared = (
        np.sum(a_vec**2, axis=1)[None, :, None]
        + np.sum(b_vec**2, axis=1)[None, None, :]
        - 2 * np.einsum("sni,mi->snm", rotated, b_vec)
    )
    squared[:, a_spec[:, None] != b_spec[None, :]] = np.inf
    nearest = squared.min(axis=2)
    return np.where(np.isfinite(nearest), nearest, 0.0).sum(axis=1)


def _icosahedral_rotations() -> np.ndarray:
    from scipy.spatial.transform import Rotation

    return Rotation.create_group("I").as_matrix()


_ICOSAHEDRAL = _icosahedral_rotations()


def align_environments(
    a_vec,
    a_spec,
    b_vec,
    b_spec,
    cutoff: float,
    *,
    allow_reflection: bool = True,
    n_refine: int | None = 8,
    max_iterations: int = 30,
):
    """Best alignment found of environment A onto B (module docstring).

    Every start (:func:`_starts`) is ranked by a cheap nearest-neighbour score; the ``n_refine``
    best are refined by alternating optimal assignments and Kabsch rotations until the
    assignment no longer changes.

    Returns ``(distance, rotation, matched_a, matched_b)``: ``distance`` the RMSD over slots in
    Å (ghosts included), ``rotation`` the orthogonal map applied to A, and the matched real
    neighbours.
    """
    a_vec = np.asarray(a_vec, dtype=np.float64).reshape(-1, 3)
    b_vec = np.asarray(b_vec, dtype=np.float64).reshape(-1, 3)
    a_spec, b_spec = np.asarray(a_spec).reshape(-1), np.asarray(b_spec).reshape(-1)
    slots = _Slots(a_vec, a_spec, b_vec, b_spec, cutoff)
    if slots.n == 0:
        return 0.0, np.eye(3), np.zeros(0, int), np.zeros(0, int)
    rotations, signs = _starts(a_vec, a_spec, b_vec, b_spec, allow_reflection)
    if n_refine is not None and len(rotations) > n_refine:
        keep = np.argsort(_chamfer(a_vec, a_spec, b_vec, b_spec, rotations), kind="stable")
        rotations, signs = rotations[keep[:n_refine]], signs[keep[:n_refine]]
    best = (math.inf, None, None, None)
    for rotation, determinant in zip(rotations, signs, strict=True):
        previous = None
        for _ in range(max_iterations):
            cost, pa, pb = slots.assign(rotation)
            if cost < best[0]:
                best = (cost, rotation, pa, pb)
            key = (pa.tobytes(), pb.tobytes())
            if key == previous:
                break
            previous = key
            rotation = kabsch(a_vec[pa], b_vec[pb], int(determinant))
    cost, rotation, pa, pb = best
    return math.sqrt(max(cost, 0.0) / slots.n), rotation, pa, pb


def structural_distance(a, b, cutoff: float, *, allow_reflection: bool = True) -> float:
    """Structural distance ``D`` (Å) between two environments given as ``ase.Atoms`` (centre =
    atom 0, neighbours = the other atoms within ``cutoff``); ``inf`` for different centre species.
    """
    cutoff = check_cutoff(cutoff)
    environments = EnvironmentSet.from_systems([a, b], cutoff)
    first = np.flatnonzero(environments.samples[:, 1] == 0)
    if environments.centre_species[first[0]] != environments.centre_species[first[1]]:
        return math.inf
    a_env = environments.environment(first[0])
    b_env = environments.environment(first[1])
    return align_environments(*a_env, *b_env, cutoff, allow_reflection=allow_reflection)[0]

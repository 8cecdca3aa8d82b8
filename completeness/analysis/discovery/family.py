"""The local dimension of the degenerate set at a found pair."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import ase
import numpy as np

from ...environments import Environment, InputError

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
    from ..sensitivity import rotation_basis

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
    from ..sensitivity import Evaluator, orthogonal_complement

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
    evaluator = Evaluator(descriptor, Environment.from_vectors(a_vectors, species, centre))
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
    complement = orthogonal_complement(rotations, size)
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

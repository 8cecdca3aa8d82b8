"""Tests of the basis-free oracle (completeness.oracle).

Expected values come from hand derivations (stated next to each test), from the published claims
of the structures (docs/science.md §2), or from a different algorithm (exact sympy/fraction
arithmetic, brute-force loops), never from the function under test on the same data.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import ase
import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from completeness import oracle
from completeness.environments import Environment, InputError
from completeness.oracle.tolerance import multisets_equal

# --------------------------------------------------------------------------------------------
# builders
# --------------------------------------------------------------------------------------------


def env(vectors, species=None, centre_species=1):
    return Environment.from_vectors(np.asarray(vectors, dtype=float), species, centre_species)


def random_environment(rng, n, species=(1, 6, 8)):
    directions = rng.normal(size=(n, 3))
    directions /= np.linalg.norm(directions, axis=1)[:, None]
    vectors = directions * rng.uniform(1.0, 3.0, size=(n, 1))
    return env(vectors, rng.choice(species, size=n), centre_species=6)


def transformed(e, matrix, order):
    """Neighbours permuted by ``order`` and mapped by ``matrix``: ``new[i] = M @ old[order[i]]``."""
    return env(e.vectors[order] @ matrix.T, e.species[order], e.centre_species)


MIRROR_X = np.diag([-1.0, 1.0, 1.0])


def prl_fig1b():
    """Pozdnyakov et al., PRL 125, 166001 (2020), Fig. 1(b), in Å (docs/science.md §2.2)."""
    common = [[5, 0, 5], [5, 5, 5], [-5, -5, 5]]
    return env([*common, [0, 5, 5]]), env([*common, [0, -5, 5]])


def octagon(indices, radius=2.0, height=0.0):
    angles = 2 * np.pi * np.asarray(indices) / 8
    return env(
        np.stack(
            [radius * np.cos(angles), radius * np.sin(angles), np.full(len(angles), height)], 1
        )
    )


def b8(apex_sign, r=1.2, z1=1.0, z2=1.6, psi=0.7, p1=1.1, p2=1.9):
    """B8 pair (docs/science.md §2.5): ring of 3 at +z1 (azimuths 0, p1, p1+p2), the same ring
    rotated by psi at -z1, an apex on the axis at apex_sign * z2 (generic p1, p2: no in-plane
    mirror)."""
    phi = np.array([0.0, p1, p1 + p2])
    ring1 = np.stack([r * np.cos(phi), r * np.sin(phi), np.full(3, z1)], 1)
    ring2 = np.stack([r * np.cos(phi + psi), r * np.sin(phi + psi), np.full(3, -z1)], 1)
    return env(np.vstack([ring1, ring2, [[0.0, 0.0, apex_sign * z2]]]))


def chiral_environment():
    """Four distinct species on a non-planar arrangement: no mirror can map it onto itself
    (a mirror symmetry would have to fix every neighbour, hence all lie in one plane with the
    centre, and these four do not)."""
    return env(
        [[1.0, 0.1, 0.2], [0.2, 1.3, -0.1], [-0.3, 0.2, 1.6], [0.9, 1.1, 1.2]],
        species=[1, 6, 7, 8],
        centre_species=6,
    )


# --------------------------------------------------------------------------------------------
# signatures
# --------------------------------------------------------------------------------------------


def test_three_body_signature_rows_by_hand():
    # centre C, H at (1,0,0), O at (0,2,0): ordered pairs (j,k) give
    # (Z0, Zj, Zk, |rj|, |rk|, |rj-rk|) = (6,1,1,1,1,0), (6,1,8,1,2,sqrt5), (6,8,1,2,1,sqrt5),
    # (6,8,8,2,2,0)
    e = env([[1, 0, 0], [0, 2, 0]], species=[1, 8], centre_species=6)
    s5 = math.sqrt(5)
    expected = np.array(
        [
            [6, 1, 1, 1, 1, 0],
            [6, 1, 8, 1, 2, s5],
            [6, 8, 1, 2, 1, s5],
            [6, 8, 8, 2, 2, 0],
        ]
    )
    np.testing.assert_allclose(oracle.signature(e, 3), expected, atol=1e-14)
    assert oracle.signature_columns(3) == ["Z0", "Zj1", "Zj2", "d(0,j1)", "d(0,j2)", "d(j1,j2)"]


def test_oriented_volume_column_by_hand():
    # e1, e2, e3: tuple (e1, e2, e3) has r1 . (r2 x r3) = +1; the mirror image has -1
    e = env(np.eye(3))
    names = oracle.signature_columns(4, oriented=True)
    assert names[-1] == "V(j1,j2,j3)"
    sig = oracle.signature(e, 4, oriented=True)
    assert sig.shape == (27, len(names))
    volumes = sig[:, -1]
    # 6 permutations of three distinct neighbours: 3 even (+1), 3 odd (-1); 21 others 0
    assert np.sum(np.isclose(volumes, 1.0)) == 3
    assert np.sum(np.isclose(volumes, -1.0)) == 3
    assert np.sum(np.isclose(volumes, 0.0)) == 21


@pytest.mark.parametrize("body_order", [1, 2, 3, 4, 5])
def test_signature_shapes(body_order):
    e = random_environment(np.random.default_rng(3), 4)
    m = body_order - 1
    n_rows = 4 if body_order == 1 else 4**m
    n_columns = 2 if body_order == 1 else 1 + m + m * (m + 1) // 2
    assert oracle.signature(e, body_order).shape == (n_rows, n_columns)
    n_oriented = n_columns + (math.comb(m, 3) if body_order > 1 else 0)
    assert oracle.signature(e, body_order, oriented=True).shape == (n_rows, n_oriented)
    assert len(oracle.signature_columns(body_order, oriented=True)) == n_oriented


def test_atoms_and_environment_inputs_agree():
    e = random_environment(np.random.default_rng(4), 5)
    np.testing.assert_array_equal(oracle.signature(e, 3), oracle.signature(e.to_atoms(), 3))


def test_round_off_copies_equal_at_every_order_and_displacements_differ():
    rng = np.random.default_rng(11)
    a = random_environment(rng, 9)
    rotation = Rotation.random(random_state=5).as_matrix()
    b = transformed(a, rotation, rng.permutation(9))
    # the copy really carries round-off differences
    assert np.abs(np.sort(a.distances) - np.sort(b.distances)).max() > 0
    for k in range(1, 6):
        assert oracle.signatures_equal(a, b, k)
        assert oracle.signatures_equal(a, b, k, oriented=True)
    # 1e-4 Å along the bond changes a radial distance by 1e-4 Å: 2-body differs
    radial = a.vectors.copy()
    radial[0] += 1e-4 * radial[0] / np.linalg.norm(radial[0])
    c = env(radial, a.species, a.centre_species)
    assert oracle.signatures_equal(a, a, 2)
    assert not oracle.signatures_equal(a, c, 2)
    # 1e-4 Å perpendicular to the bond: |r| changes by ~(1e-4)^2 / 2|r| < tolerance, so the
    # 2-body signature agrees, but distances to other neighbours change by ~1e-4 Å: 3-body differs
    tangent = np.cross(radial[0], [0.3, -0.2, 1.0])
    moved = a.vectors.copy()
    moved[0] += 1e-4 * tangent / np.linalg.norm(tangent)
    d = env(moved, a.species, a.centre_species)
    assert oracle.signatures_equal(a, d, 2)
    assert not oracle.signatures_equal(a, d, 3)


def test_multiset_comparison_survives_rows_swapped_by_rounding():
    # with unit tolerances the sorting grid is 4 wide and 2.0 sits on a grid boundary:
    # the lexicographic order of a and b differs, the elementwise test fails, the matching decides
    tolerance = np.ones(2)
    a = np.array([[1.9, 5.0], [2.1, 3.0]])
    b = np.array([[2.1, 5.0], [1.9, 3.0]])
    assert multisets_equal(a, b, tolerance)
    assert not multisets_equal(a, np.array([[1.9, 5.0], [2.1, 7.0]]), tolerance)
    assert not multisets_equal(a, a[:1], tolerance)


def test_signatures_respect_species():
    # same geometry (a square around the centre), same species multiset, different arrangement:
    # adjacent H-H at distance sqrt(2) r versus opposite H-H at 2 r
    square = [[1, 0, 0], [0, 1, 0], [-1, 0, 0], [0, -1, 0]]
    adjacent = env(square, [1, 1, 8, 8])
    alternating = env(square, [1, 8, 1, 8])
    assert oracle.signatures_equal(adjacent, alternating, 2)
    assert not oracle.signatures_equal(adjacent, alternating, 3)
    assert not oracle.signatures_equal(env(square, [1, 1, 1, 1]), adjacent, 1)
    assert not oracle.signatures_equal(
        env(square, [1, 1, 8, 8], centre_species=6), adjacent, 2
    )  # centre species differ


# --------------------------------------------------------------------------------------------
# the catalog's pairs (claims from docs/science.md §2)
# --------------------------------------------------------------------------------------------


def test_two_body_pair():
    # |r| = 5, 5 in both; |r1 - r2| = sqrt(2^2 + 4^2) = sqrt(20) versus 10
    plus = env([[5, 0, 0], [3, 0, 4]])
    minus = env([[5, 0, 0], [-5, 0, 0]])
    result = oracle.degeneracy_order(plus, minus)
    assert (result.o3, result.so3, result.max_checked) == (2, 2, 5)
    assert result.congruence.congruent is False
    assert not result.parity_only


def test_prl_fig1b_pair():
    plus, minus = prl_fig1b()
    result = oracle.degeneracy_order(plus, minus)
    assert (result.o3, result.so3) == (3, 3)
    assert result.congruence.congruent is False


def test_enantiomers():
    a = chiral_environment()
    mirror = transformed(a, MIRROR_X, np.array([2, 0, 3, 1]))
    result = oracle.degeneracy_order(a, mirror)
    assert (result.o3, result.so3) == (5, 3)
    assert result.parity_only
    assert result.congruence.congruent is True
    assert result.congruence.proper is False
    assert np.linalg.det(result.congruence.rotation) == pytest.approx(-1.0)
    assert oracle.congruent(a, mirror, allow_reflection=False).congruent is False
    assert not oracle.signatures_equal(a, mirror, 4, oriented=True)


def test_octagon_homometric_rings():
    # cyclic differences (as min(d, 8 - d)) of {0,1,2,5}: 1,2,3,1,3,4; of {0,1,3,4}: 1,3,4,2,3,1
    for height in (0.0, 0.8):
        result = oracle.degeneracy_order(
            octagon([0, 1, 2, 5], height=height), octagon([0, 1, 3, 4], height=height)
        )
        assert (result.o3, result.so3) == (3, 3)
        assert result.congruence.congruent is False


def test_b8_two_ring_pair():
    plus, minus = b8(+1), b8(-1)
    assert oracle.signatures_equal(plus, minus, 4, oriented=True)
    assert not oracle.signatures_equal(plus, minus, 5)
    result = oracle.degeneracy_order(plus, minus)
    assert (result.o3, result.so3) == (4, 4)
    assert result.congruence.congruent is False


# --------------------------------------------------------------------------------------------
# congruence
# --------------------------------------------------------------------------------------------


def test_rotated_permuted_copy_is_properly_congruent_with_a_working_map():
    rng = np.random.default_rng(21)
    a = random_environment(rng, 8)
    order = rng.permutation(8)
    b = transformed(a, Rotation.random(random_state=2).as_matrix(), order)
    result = oracle.congruent(a, b)
    assert result.congruent is True
    assert result.proper is True
    assert result.rmsd < 1e-12
    assert np.linalg.det(result.rotation) == pytest.approx(1.0)
    np.testing.assert_allclose(
        a.vectors @ result.rotation.T, b.vectors[result.permutation], atol=1e-12
    )
    np.testing.assert_array_equal(a.species, b.species[result.permutation])
    # b[i] = M a[order[i]]: the permutation must invert `order`
    np.testing.assert_array_equal(result.permutation[order], np.arange(8))


def test_perturbation_is_not_congruent():
    rng = np.random.default_rng(22)
    a = random_environment(rng, 7)
    moved = a.vectors.copy()
    moved[3] += 1e-3 * np.array([0.6, 0.0, 0.8])
    b = env(moved, a.species, a.centre_species)
    assert oracle.congruent(a, b).congruent is False
    # with a tolerance above the displacement the same pair counts as congruent
    assert oracle.congruent(a, b, tolerance=1e-2).congruent is True


def test_species_are_never_matched_across():
    square = [[1, 0, 0], [0, 1, 0], [-1, 0, 0], [0, -1, 0]]
    assert oracle.congruent(env(square, [1, 1, 8, 8]), env(square, [1, 8, 1, 8])).congruent is False
    # swapping the species of two neighbours at different distances
    a = env([[1, 0, 0], [0, 2, 0]], [1, 8])
    b = env([[1, 0, 0], [0, 2, 0]], [8, 1])
    assert oracle.congruent(a, b).congruent is False
    assert (
        oracle.congruent(a, env([[1, 0, 0], [0, 2, 0]], [1, 8], centre_species=6)).congruent
        is False
    )


def test_high_symmetry_environment_and_planar_mirror():
    # cube corners (O_h): many distance-consistent assignments, still proper for any rotation
    cube = np.array(list(itertools.product([-1.0, 1.0], repeat=3)))
    a = env(cube)
    b = transformed(a, Rotation.random(random_state=7).as_matrix(), np.arange(8)[::-1])
    assert oracle.congruent(a, b).proper is True
    # a planar environment's mirror image is also a rotated copy: proper
    planar = env([[1, 0, 0], [0, 2, 0], [1.5, 1.5, 0]])
    assert oracle.congruent(planar, transformed(planar, MIRROR_X, np.arange(3))).proper is True


def test_beyond_max_neighbours_is_undecided_unless_signatures_differ():
    rng = np.random.default_rng(23)
    a = random_environment(rng, 6)
    b = transformed(a, Rotation.random(random_state=3).as_matrix(), rng.permutation(6))
    result = oracle.congruent(a, b, max_neighbours=4)
    assert result.congruent is None and result.proper is None and math.isnan(result.rmsd)
    plus, minus = env([[5, 0, 0], [3, 0, 4]]), env([[5, 0, 0], [-5, 0, 0]])
    assert oracle.congruent(plus, minus, max_neighbours=1).congruent is False


def test_empty_and_mismatched_environments():
    empty = env(np.zeros((0, 3)))
    assert oracle.congruent(empty, empty).congruent is True
    assert oracle.degeneracy_order(empty, empty).o3 == 5
    one = env([[1, 0, 0]])
    assert oracle.congruent(empty, one).congruent is False
    assert oracle.degeneracy_order(empty, one).o3 == 0
    assert oracle.degeneracy_order(one, env([[1, 0, 0]], [8])).o3 == 0


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 6),
    reflect=st.booleans(),
)
def test_random_transformed_copies_get_the_expected_flags(seed, n, reflect):
    rng = np.random.default_rng(seed)
    a = random_environment(rng, n)
    matrix = Rotation.random(random_state=rng.integers(2**31)).as_matrix()
    if reflect:
        matrix = matrix @ MIRROR_X
    b = transformed(a, matrix, rng.permutation(n))
    # with n <= 2 the neighbours and the centre are coplanar: a mirror is also a rotation;
    # n >= 3 random neighbours are (almost surely) chiral, so a mirror image needs a reflection
    chiral_flip = reflect and n >= 3
    result = oracle.degeneracy_order(a, b, max_body_order=4)
    assert result.o3 == 4
    assert result.so3 == (3 if chiral_flip else 4)
    assert result.parity_only is chiral_flip
    assert result.congruence.congruent is True
    assert result.congruence.proper is (not chiral_flip)
    np.testing.assert_allclose(
        a.vectors @ result.congruence.rotation.T,
        b.vectors[result.congruence.permutation],
        atol=1e-10,
    )


# --------------------------------------------------------------------------------------------
# whole clouds
# --------------------------------------------------------------------------------------------


def gram_flip_clouds():
    """docs/science.md §2.7: {+-p_i} against {+-q_i}, Gram matrix of q = p's with G12, G21 < 0."""
    rng = np.random.default_rng(31)
    p = np.eye(3) + 0.25 * rng.normal(size=(3, 3))  # nearly orthogonal: the flip stays PSD
    gram = p @ p.T
    flipped = gram.copy()
    flipped[0, 1] *= -1
    flipped[1, 0] *= -1
    values, vectors = np.linalg.eigh(flipped)
    assert values.min() > 0
    q = vectors * np.sqrt(values)  # rows q_i with q_i . q_j = flipped_ij
    np.testing.assert_allclose(q @ q.T, flipped, atol=1e-12)
    cloud = lambda v: ase.Atoms("H6", positions=np.vstack([v, -v]))  # noqa: E731
    return cloud(p), cloud(q), gram, flipped


def test_gram_flip_clouds():
    plus, minus, gram, flipped = gram_flip_clouds()
    # independent reason for non-congruence: G12 G23 G31 is invariant under sign changes and
    # permutations of the p_i, and orthogonal maps fix the centroid 0 and the Gram matrix
    assert np.sign(gram[0, 1] * gram[1, 2] * gram[2, 0]) != np.sign(
        flipped[0, 1] * flipped[1, 2] * flipped[2, 0]
    )
    assert oracle.global_distances_equal(plus, minus)
    as_environment = lambda atoms: env(atoms.positions)  # noqa: E731  (centre at the centroid)
    assert oracle.congruent(as_environment(plus), as_environment(minus)).congruent is False
    assert oracle.wl_distinguishing_iteration(plus, minus) is None
    assert oracle.wl_distinguishing_iteration(plus, minus, max_iterations=3) is None


def test_global_tests_on_simple_clouds():
    # {0, (5,0,0), (3,0,4)}: distances 5, 5, sqrt(20); {0, (5,0,0), (-5,0,0)}: 5, 5, 10
    a = ase.Atoms("H3", positions=[[0, 0, 0], [5, 0, 0], [3, 0, 4]])
    b = ase.Atoms("H3", positions=[[0, 0, 0], [5, 0, 0], [-5, 0, 0]])
    assert not oracle.global_distances_equal(a, b)
    # iteration 1 already sees the different distance multisets of the neighbours
    assert oracle.wl_distinguishing_iteration(a, b) == 1
    # species differ: iteration 0
    assert oracle.wl_distinguishing_iteration(a, ase.Atoms("H2O", positions=a.positions)) == 0
    assert not oracle.global_distances_equal(a, ase.Atoms("H2O", positions=a.positions))
    # a rotated, permuted copy is never distinguished
    rotation = Rotation.random(random_state=9).as_matrix()
    c = ase.Atoms("H3", positions=(a.positions @ rotation.T)[[2, 0, 1]] + 1.0)
    assert oracle.global_distances_equal(a, c)
    assert oracle.wl_distinguishing_iteration(a, c) is None
    # cutoff 5.5 Å: in a the end atoms (sqrt(20) = 4.47 Å apart) are bonded, a triangle; in b
    # they are 10 Å apart, a path: the end atoms' neighbour multisets differ at iteration 1
    assert oracle.wl_distinguishing_iteration(a, b, cutoff=5.5) == 1


def test_wl_needs_two_iterations_on_a_chain():
    # 7 atoms on a line, 1 Å apart, cutoff 1.5 Å: paths H-H-H-H-C-H-H versus H-H-H-C-H-H-H.
    # Iteration 1 (own species, neighbour species; every bond 1 Å), by hand, for both:
    # H{H} x2, H{H,H} x2, H{H,C} x2, C{H,H} x1: equal. Iteration 2: in the first path one
    # H{H,C} (atom 5) has an end atom H{H} as neighbour; in the second both H{H,C} (atoms 2, 4)
    # have an H{H,H} neighbour: different.
    line = [[float(i), 0.0, 0.0] for i in range(7)]
    first = ase.Atoms("HHHHCHH", positions=line)
    second = ase.Atoms("HHHCHHH", positions=line)
    assert oracle.wl_distinguishing_iteration(first, second, cutoff=1.5) == 2
    assert oracle.wl_distinguishing_iteration(first, second, cutoff=1.5, max_iterations=1) is None
    # the mirror image of the first path (reversed order) is never distinguished
    mirrored = ase.Atoms("HHCHHHH", positions=line)
    assert oracle.wl_distinguishing_iteration(first, mirrored, cutoff=1.5) is None


# --------------------------------------------------------------------------------------------
# sympy certificates
# --------------------------------------------------------------------------------------------

XA, ZA, XB, YB, ZB, YC, ZC = sympy.symbols("x_A z_A x_B y_B z_B y_C z_C", real=True)


def prl_family():
    a, b_plus, b_minus = [XA, 0, ZA], [XB, YB, ZB], [-XB, -YB, ZB]
    return (
        sympy.Matrix([a, b_plus, b_minus, [0, YC, ZC]]),
        sympy.Matrix([a, b_plus, b_minus, [0, -YC, ZC]]),
    )


def squared(u, v):
    return sum((x - y) ** 2 for x, y in zip(u, v, strict=True))


def test_symbolic_three_body_certificate_for_the_prl_family():
    plus, minus = prl_family()
    certificate = oracle.certify_equal_signatures(plus, minus, body_order=3)
    assert certificate.equal
    assert set(certificate.symbols) == {XA, ZA, XB, YB, ZB, YC, ZC}
    assert "for all values" in certificate.statement
    # check the matching independently: a bijection of the 16 ordered pairs whose triangles
    # (|rj|^2, |rk|^2, |rj - rk|^2) are identical polynomials
    matching = certificate.matching
    assert sorted(p for p, _ in matching) == sorted(itertools.product(range(4), repeat=2))
    assert sorted(m for _, m in matching) == sorted(itertools.product(range(4), repeat=2))
    zero = [0, 0, 0]
    for (j, k), (jm, km) in matching:
        pj, pk = list(plus.row(j)), list(plus.row(k))
        mj, mk = list(minus.row(jm)), list(minus.row(km))
        for left, right in [
            (squared(pj, zero), squared(mj, zero)),
            (squared(pk, zero), squared(mk, zero)),
            (squared(pj, pk), squared(mj, mk)),
        ]:
            assert sympy.expand(left - right) == 0
    # 4-body tuples are different polynomials (Fig. 1(b) below shows a real difference)
    four_body = oracle.certify_equal_signatures(plus, minus, body_order=4)
    assert not four_body.equal
    assert "not proven for every value" in four_body.statement


def test_rational_four_body_certificate_for_fig1b():
    plus = sympy.Matrix([[5, 0, 5], [5, 5, 5], [-5, -5, 5], [0, 5, 5]])
    minus = sympy.Matrix([[5, 0, 5], [5, 5, 5], [-5, -5, 5], [0, -5, 5]])
    assert oracle.certify_different_signatures(plus, minus, body_order=3).equal
    certificate = oracle.certify_different_signatures(plus, minus, body_order=4)
    assert not certificate.equal
    witness = certificate.witness
    assert witness["count_plus"] != witness["count_minus"]
    # recount the witness by brute force with Fractions (a different implementation)
    points = {
        "plus": [[Fraction(int(x)) for x in plus.row(j)] for j in range(4)],
        "minus": [[Fraction(int(x)) for x in minus.row(j)] for j in range(4)],
    }

    def tetrahedron(coordinates, triple):
        chosen = [[Fraction(0)] * 3] + [coordinates[j] for j in triple]
        return tuple(squared(chosen[x], chosen[y]) for x, y in itertools.combinations(range(4), 2))

    target = tetrahedron(points[witness["member"]], witness["tuple"])
    assert target == tuple(Fraction(int(v)) for v in witness["values"][3:])
    counts = {
        member: sum(
            tetrahedron(coordinates, t) == target for t in itertools.product(range(4), repeat=3)
        )
        for member, coordinates in points.items()
    }
    assert (counts["plus"], counts["minus"]) == (witness["count_plus"], witness["count_minus"])
    # the numeric oracle agrees with the exact one
    numeric_plus, numeric_minus = prl_fig1b()
    assert oracle.signatures_equal(numeric_plus, numeric_minus, 3)
    assert not oracle.signatures_equal(numeric_plus, numeric_minus, 4)


def test_oriented_certificate_separates_enantiomers():
    plus = sympy.Matrix([[1, 0, 0], [0, 2, 0], [0, 0, 3]])
    minus = sympy.Matrix([[-1, 0, 0], [0, 2, 0], [0, 0, 3]])
    assert oracle.certify_different_signatures(plus, minus, body_order=4).equal
    certificate = oracle.certify_different_signatures(plus, minus, body_order=4, oriented=True)
    assert not certificate.equal


# --------------------------------------------------------------------------------------------
# invalid input
# --------------------------------------------------------------------------------------------


def test_invalid_input():
    e = env([[1, 0, 0], [0, 1, 0]])
    with pytest.raises(InputError, match=r"Environment or an ase\.Atoms"):
        oracle.congruent("not an environment", e)
    with pytest.raises(InputError, match=r"Environment or an ase\.Atoms"):
        oracle.signature(np.eye(3), 2)
    with pytest.raises(InputError, match="body_order"):
        oracle.signature(e, 0)
    with pytest.raises(InputError, match="body_order"):
        oracle.signatures_equal(e, e, 2.5)
    with pytest.raises(InputError, match="tolerance"):
        oracle.signatures_equal(e, e, 2, tolerance=-1.0)
    with pytest.raises(InputError, match="shape"):
        Environment.from_vectors(np.zeros((3, 2)))
    with pytest.raises(InputError, match="tuples"):
        oracle.signature(env(np.random.default_rng(0).normal(size=(40, 3)) * 3), 6)
    with pytest.raises(InputError, match=r"ase\.Atoms"):
        oracle.global_distances_equal(e, e)
    periodic = ase.Atoms("H2", positions=[[0, 0, 0], [1, 0, 0]], cell=np.eye(3) * 5, pbc=True)
    with pytest.raises(InputError, match="periodic"):
        oracle.wl_distinguishing_iteration(periodic, periodic)
    with pytest.raises(InputError, match="shape"):
        oracle.certify_equal_signatures(sympy.zeros(4, 2), sympy.zeros(4, 2))
    with pytest.raises(InputError, match="same number"):
        oracle.certify_equal_signatures(sympy.ones(4, 3), sympy.ones(3, 3))
    with pytest.raises(InputError, match="exact"):
        oracle.certify_equal_signatures(sympy.Matrix([[0.5, 0, 1]]), sympy.Matrix([[1, 0, 1]]))
    with pytest.raises(InputError, match="rational"):
        oracle.certify_different_signatures(*prl_family())

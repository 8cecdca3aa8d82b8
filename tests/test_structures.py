"""Degenerate-pair generators, the registry and verify().

Expected values come from the papers (coordinates, claims) or are derived independently here
(sorted distance lists, triple products, explicit ring symmetries), never from the generators.
"""

from __future__ import annotations

from itertools import combinations, permutations

import ase
import numpy as np
import pytest
from scipy.spatial.distance import pdist
from scipy.spatial.transform import Rotation

from completeness import oracle, structures
from completeness.environments import InputError
from completeness.structures import (
    Claim,
    ClaimError,
    DegeneratePair,
    b8,
    dojo,
    enantiomers,
    homometric,
    message_passing,
    prl,
    rings,
)

NAMES = structures.names()


# ---- the whole registry ---------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_every_registered_claim_is_confirmed_and_members_are_not_congruent(name):
    pair = structures.load(name)
    assert pair.name == name
    order = structures.verify(pair)
    claim = pair.claim
    if claim.scope == "environment":
        assert (order.o3, order.so3) == (claim.equal_up_to_o3, claim.equal_up_to_so3)
        if claim.parity_only:  # mirror images: congruent only through a reflection
            assert order.congruence.congruent is True and order.congruence.proper is False
        else:
            assert order.congruence.congruent is False
    else:
        assert order.congruence.congruent is False
        # the global distance claim, from sorted pdist (independent of the oracle)
        same = np.allclose(
            np.sort(pdist(pair.plus.positions)), np.sort(pdist(pair.minus.positions))
        )
        assert same == (claim.equal_up_to_o3 >= 2)


def test_registry_has_every_class_of_science_section_2():
    families = {structures.entry(name).family for name in NAMES}
    assert families == {
        "two-body",
        "prl-3-body",
        "prl-fold",
        "ring-homometric",
        "b8-two-ring",
        "enantiomers",
        "global-message-passing",
        "global-homometric",
    }


def test_members_carry_provenance_in_info():
    pair = structures.load("pozdnyakov2020-fig1b")
    for member, atoms in zip("+-", pair.members, strict=True):
        assert atoms.info["member"] == member
        assert atoms.info["pair"] == "pozdnyakov2020-fig1b"
        assert atoms.info["claim_equal_up_to_o3"] == 3
        assert "10.1103/PhysRevLett.125.166001" in atoms.info["reference"]


def test_unknown_name_suggests_close_matches():
    with pytest.raises(InputError, match="pozdnyakov2020-fig1b"):
        structures.load("pozdnyakov2020-fig1")


# ---- congruent "pairs" are refused ----------------------------------------------------------


def _rotated_permuted(atoms: ase.Atoms, seed: int) -> ase.Atoms:
    rng = np.random.default_rng(seed)
    rotation = Rotation.random(random_state=rng).as_matrix()
    order = np.concatenate([[0], 1 + rng.permutation(len(atoms) - 1)])  # centre stays atom 0
    copy = atoms[order]
    copy.positions = copy.positions @ rotation.T + rng.normal(size=3)
    return copy


@pytest.mark.parametrize("name", ["pozdnyakov2020-fig1b", "nigam2024-b8-0000"])
def test_rotated_permuted_copy_is_rejected_as_congruent(name):
    pair = structures.load(name)
    fake = DegeneratePair(
        name="fake",
        plus=pair.plus.copy(),
        minus=_rotated_permuted(pair.plus, seed=3),
        claim=pair.claim,
        params={},
        reference="test",
    )
    with pytest.raises(ClaimError, match="congruent"):
        structures.verify(fake)


def test_mirror_image_is_rejected_unless_the_claim_is_parity_only():
    pair = structures.load("pozdnyakov2020-fig1b")
    mirror = enantiomers.mirrored(pair.plus)  # Fig. 1(b) X+ and its mirror image
    claim = Claim("environment", 3, 3, "wrong: these are mirror images")
    fake = DegeneratePair("fake", pair.plus.copy(), mirror, claim, {}, "test")
    with pytest.raises(ClaimError, match="congruent"):
        structures.verify(fake)


@pytest.mark.parametrize("builder", [dojo.dojo_four_body_chiral, dojo.dojo_four_body_nonchiral])
def test_the_dojo_four_body_pairs_are_congruent_and_refused(builder):
    pair = builder()
    with pytest.raises(ClaimError, match="members are congruent"):
        structures.verify(pair)
    assert not any(name.startswith("dojo-four-body") for name in NAMES)


def test_wrong_claim_is_reported():
    pair = structures.load("pozdnyakov2020-fig1b")
    wrong = DegeneratePair(
        "fig1b-wrong",
        pair.plus.copy(),
        pair.minus.copy(),
        Claim("environment", 4, 4, "wrong"),
        {},
        "test",
    )
    with pytest.raises(ClaimError, match="oracle finds 3 / 3"):
        structures.verify(wrong)


def test_members_with_different_species_are_refused():
    a = ase.Atoms("CH2", positions=[[0, 0, 0], [1, 0, 0], [0, 1, 0]])
    b = ase.Atoms("CHO", positions=[[0, 0, 0], [1, 0, 0], [0, 1, 0]])
    with pytest.raises(InputError, match="different species"):
        DegeneratePair("x", a, b, Claim("environment", 1, 1, "x"), {}, "test")


# ---- PRL Fig. 1(b) and the family --------------------------------------------------------------


def _three_body_rows(atoms):
    """Sorted rows (|r_j|, |r_k|, |r_j - r_k|) over ordered neighbour pairs, rounded to 1e-9."""
    r = atoms.positions[1:] - atoms.positions[0]
    rows = [(np.linalg.norm(a), np.linalg.norm(b), np.linalg.norm(a - b)) for a in r for b in r]
    return sorted(tuple(np.round(row, 9)) for row in rows)


def _tetrahedron_edge_sets(atoms):
    """Sorted list of the sorted 6 edge lengths of (centre, j, k, l) for distinct j < k < l."""
    r = atoms.positions[1:] - atoms.positions[0]
    out = []
    for j, k, l in combinations(range(len(r)), 3):
        points = [np.zeros(3), r[j], r[k], r[l]]
        out.append(tuple(np.round(sorted(pdist(np.array(points))), 9)))
    return sorted(out)


def test_fig1b_has_the_published_coordinates():
    pair = structures.load("pozdnyakov2020-fig1b")
    common = [[0, 0, 0], [5, 0, 5], [5, 5, 5], [-5, -5, 5]]
    np.testing.assert_array_equal(pair.plus.positions, [*common, [0, 5, 5]])
    np.testing.assert_array_equal(pair.minus.positions, [*common, [0, -5, 5]])
    assert set(pair.plus.get_chemical_symbols()[1:]) == {"H"}


def test_fig1b_equal_three_body_different_four_body():
    pair = structures.load("pozdnyakov2020-fig1b")
    assert _three_body_rows(pair.plus) == _three_body_rows(pair.minus)
    assert _tetrahedron_edge_sets(pair.plus) != _tetrahedron_edge_sets(pair.minus)
    assert oracle.signatures_equal(pair.plus, pair.minus, 3)
    assert not oracle.signatures_equal(pair.plus, pair.minus, 4)


@pytest.mark.parametrize("seed", range(4))
def test_prl_family_samples_are_three_body_degenerate(seed):
    for pair in (prl.prl_family(seed=seed), prl.prl_equal_bond(seed=seed)):
        assert _three_body_rows(pair.plus) == _three_body_rows(pair.minus)
        assert _tetrahedron_edge_sets(pair.plus) != _tetrahedron_edge_sets(pair.minus)
        structures.verify(pair)


def test_equal_bond_family_has_equal_bonds():
    pair = prl.prl_equal_bond(seed=1, bond=1.09)
    for atoms in pair.members:
        np.testing.assert_allclose(np.linalg.norm(atoms.positions[1:], axis=1), 1.09)


def test_fold_needs_positive_delta_and_members_merge_as_delta_vanishes():
    with pytest.raises(InputError, match="coincide"):
        prl.prl_fold(delta=0.0)
    for delta in (0.5, 0.05):
        pair = prl.prl_fold(delta=delta)
        assert np.abs(pair.plus.positions - pair.minus.positions).max() == pytest.approx(2 * delta)
        assert structures.verify(pair).o3 == 3


# ---- ring homometric sets -------------------------------------------------------------------


def _difference_counts(subset, n):
    indicator = np.zeros(n)
    indicator[list(subset)] = 1
    # circular autocorrelation by FFT: count of pairs at each cyclic difference
    return np.rint(np.fft.ifft(np.abs(np.fft.fft(indicator)) ** 2).real).astype(int)


def _dihedral_related(a, b, n):
    return any({(s * i + t) % n for i in a} == set(b) for s in (1, -1) for t in range(n))


@pytest.mark.parametrize(("n", "k"), [(8, 4), (9, 4), (10, 5)])
def test_homometric_ring_sets_match_brute_force(n, k):
    found = rings.homometric_ring_sets(n, k)
    for a, b in found:
        assert np.array_equal(_difference_counts(a, n), _difference_counts(b, n))
        assert not _dihedral_related(a, b, n)
    # brute force over all k-subsets: every homometric, non-equivalent pair is represented
    subsets = list(combinations(range(n), k))
    expected_classes = set()
    for a, b in combinations(subsets, 2):
        if np.array_equal(_difference_counts(a, n), _difference_counts(b, n)) and not (
            _dihedral_related(a, b, n)
        ):
            expected_classes.add(
                frozenset({rings.dihedral_canonical(a, n), rings.dihedral_canonical(b, n)})
            )
    assert {frozenset(pair) for pair in found} == expected_classes


def test_octagon_example_is_the_only_pair():
    assert rings.homometric_ring_sets(8, 4) == [((0, 1, 2, 5), (0, 1, 3, 4))]


@pytest.mark.parametrize("height", [0.0, 1.0, -0.7])
def test_ring_pairs_are_three_body_degenerate_planar_or_cone(height):
    pair = rings.ring_homometric(height=height)
    assert _three_body_rows(pair.plus) == _three_body_rows(pair.minus)
    assert _tetrahedron_edge_sets(pair.plus) != _tetrahedron_edge_sets(pair.minus)
    order = structures.verify(pair)
    assert (order.o3, order.so3) == (3, 3)


def test_ring_rejects_non_homometric_or_equivalent_sets():
    with pytest.raises(InputError, match="not homometric"):
        rings.ring_homometric(plus_indices=(0, 1, 2, 3), minus_indices=(0, 1, 3, 4))
    with pytest.raises(InputError, match="rotation or reflection"):
        rings.ring_homometric(plus_indices=(0, 1, 2, 5), minus_indices=(1, 2, 3, 6))


# ---- B8-style pairs -------------------------------------------------------------------------


def test_b8_pair_equal_signed_four_body_different_five_body():
    pair = structures.load("nigam2024-b8-0000")
    assert oracle.signatures_equal(pair.plus, pair.minus, 4)
    assert oracle.signatures_equal(pair.plus, pair.minus, 4, oriented=True)
    assert not oracle.signatures_equal(pair.plus, pair.minus, 5)


def test_b8_sampling_obeys_the_published_rules():
    params = b8.b8_parameters(200)
    assert len(params) == 200
    draws = [p["draw"] for p in params]
    assert draws == sorted(set(draws))
    for p in params:
        assert 0.5 <= p["r"] <= 2 and 0.5 <= p["z1"] <= 2 and 1.5 <= p["z2"] <= 1.8
        assert 0 <= p["psi"] <= np.pi
        p1, p2 = p["phi"][1], p["phi"][2] - p["phi"][1]
        assert np.pi / 6 <= p1 <= np.pi and np.pi / 6 <= p2 <= np.pi
    for pair in b8.b8_pairs(5):
        for atoms in pair.members:
            bonds = np.linalg.norm(atoms.positions[1:], axis=1)
            assert np.all((bonds > 1.5) & (bonds < 1.8))
            assert pdist(atoms.positions).min() > 1.2
        assert len(pair.plus) == 8


def test_b8_is_deterministic_and_index_consistent():
    pairs = b8.b8_pairs(3)
    for index, pair in enumerate(pairs):
        again = b8.b8_pair(index)
        np.testing.assert_array_equal(pair.plus.positions, again.plus.positions)
        assert pair.name == f"nigam2024-b8-{index:04d}"
    # a different seed gives different structures
    assert not np.allclose(b8.b8_pair(0, seed=1).plus.positions, pairs[0].plus.positions)


def test_two_rings_of_two_atoms_are_refused():
    with pytest.raises(InputError, match="congruent"):
        b8.two_ring_pair(phi=(0.0, 2.0))


# ---- enantiomers ----------------------------------------------------------------------------


def test_enantiomers_equal_o3_at_every_order_different_so3_four_body():
    pair = structures.load("enantiomers-chbrclf")
    for k in range(1, 6):
        assert oracle.signatures_equal(pair.plus, pair.minus, k)
    assert not oracle.signatures_equal(pair.plus, pair.minus, 4, oriented=True)
    # by hand: the triple product of the H, F, Cl bonds changes sign under the mirror
    volume = [np.linalg.det(atoms.positions[1:4]) for atoms in pair.members]
    assert volume[0] == pytest.approx(-volume[1]) and abs(volume[0]) > 0.1
    order = structures.verify(pair)
    assert order.parity_only


# ---- global clouds --------------------------------------------------------------------------


def test_gram_sign_flip_clouds_by_hand():
    plus, minus = message_passing.gram_sign_flip_clouds()
    np.testing.assert_allclose(np.sort(pdist(plus)), np.sort(pdist(minus)), atol=1e-12)
    # the invariant G12 G23 G31 of the three antipodal pairs has opposite signs
    products = []
    for cloud in (plus, minus):
        g = cloud[:3] @ cloud[:3].T
        products.append(g[0, 1] * g[1, 2] * g[2, 0])
    assert products[0] < 0 < products[1]
    pair = structures.load("gram-sign-flip")
    assert oracle.wl_distinguishing_iteration(pair.plus, pair.minus) is None


def test_gram_sign_flip_needs_negative_triple_product():
    with pytest.raises(InputError, match="G12 G23 G31 < 0"):
        message_passing.gram_sign_flip(p=np.eye(3) + 0.1)


@pytest.mark.parametrize("k", range(2, 7))
def test_kchain_matches_the_dojo_and_its_graph_is_the_chain(k):
    pair = structures.load(f"dojo-kchain-{k}")
    for atoms, left in zip(pair.members, (-4.0, 4.0), strict=True):
        raw = np.array(
            [[left, -3, 0]] + [[0, 5 * i, 0] for i in range(k)] + [[4, 5 * (k - 1) + 3, 0]]
        )
        np.testing.assert_allclose(atoms.positions, raw - raw.mean(axis=0), atol=1e-12)
        d = np.linalg.norm(atoms.positions[:, None] - atoms.positions[None], axis=-1)
        edges = np.argwhere(np.triu(d < pair.claim.wl_cutoff, 1))
        assert edges.tolist() == [[i, i + 1] for i in range(k + 1)]  # the path graph
        np.testing.assert_allclose(d[edges[:, 0], edges[:, 1]], 5.0)
    assert pair.claim.equivariant_hops == k // 2 + 1


def test_bloom_pair_by_hand():
    pair = structures.load("bloom-1d")
    a, b = (atoms.positions[:, 0] / 1.5 for atoms in pair.members)
    np.testing.assert_allclose(np.sort(pdist(a[:, None])), np.sort(pdist(b[:, None])))
    # not congruent: B is neither a translate of A nor of its mirror image
    sa = np.sort(a - a.min())
    for image in (b, -b):
        assert not np.allclose(sa, np.sort(image - image.min()))
    # iteration 1 of 1-WL colours each atom by its multiset of distances: they already differ
    rows = [
        sorted(tuple(np.round(np.sort(np.abs(x - x[:, None]), axis=1), 6).tolist())) for x in (a, b)
    ]
    assert rows[0] != rows[1]


def test_uv_generator_requires_distinct_sums():
    with pytest.raises(InputError, match="not all distinct"):
        homometric.homometric_uv(u=(0, 1, 2), v=(0, 1, 5))


# ---- scaling --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["pozdnyakov2020-fig1b", "dojo-kchain-4", "bloom-1d"])
def test_scaled_keeps_the_claim(name):
    pair = structures.load(name)
    scaled = pair.scaled(3.0)
    assert scaled.max_distance() == pytest.approx(3.0)
    if pair.claim.scope == "environment":
        np.testing.assert_allclose(scaled.plus.positions[0], pair.plus.positions[0])
    structures.verify(scaled)
    assert scaled.plus.info["params"] != pair.plus.info["params"]  # records the scale factor


def test_scaled_rejects_bad_distance():
    with pytest.raises(InputError):
        structures.load("joshi2023-two-body").scaled(-1.0)


def test_permutations_helper_is_not_a_congruence_loophole():
    # a pair whose members differ only by the order of the neighbours is congruent
    pair = structures.load("joshi2023-two-body")
    for order in permutations(range(1, 3)):
        swapped = pair.plus[[0, *order]]
        fake = DegeneratePair("fake", pair.plus.copy(), swapped, pair.claim, {}, "test")
        with pytest.raises(ClaimError, match="congruent"):
            structures.verify(fake)

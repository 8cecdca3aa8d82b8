"""Behler-Parrinello symmetry functions: formulas, invariance, gradients, degeneracies, dscribe."""

import itertools

import ase
import numpy as np
import pytest
from descriptor_helpers import centre_distance, scaled_pair
from hypothesis import given, settings
from hypothesis import strategies as st

from completeness.descriptors import SymmetryFunctions, neighbour_sums
from completeness.descriptors.neighbour_sums import pair_triplets, sample_chunks
from completeness.testing import (
    assert_gradients,
    assert_invariant,
    random_cluster,
    relative_difference,
)

SPECIES = [1, 6, 8]
G2 = [[0.5, 0.0], [1.0, 2.0], [0.1, 3.5]]
G3 = [1.0, 2.5]
G4 = [[0.05, 1.0, 1.0], [0.1, 2.0, -1.0], [0.02, 4.5, 1.0]]
G5 = [[0.05, 1.0, -1.0], [0.01, 3.0, 1.0]]


def full(cutoff=4.0, **kwargs):
    params = dict(g2_params=G2, g3_params=G3, g4_params=G4, g5_params=G5, species=SPECIES)
    params.update(kwargs)
    return SymmetryFunctions(cutoff=cutoff, **params)


def brute_force(atoms, cutoff, g2, g3, g4, g5, species, centre=0):
    """Behler's formulas (JCP 134, 074106) with explicit loops; dscribe's layout."""
    fc = lambda r: 0.5 * (np.cos(np.pi * r / cutoff) + 1) if r < cutoff else 0.0  # noqa: E731
    pos, numbers = atoms.positions, atoms.numbers
    neighbours = [
        j
        for j in range(len(atoms))
        if j != centre and np.linalg.norm(pos[j] - pos[centre]) < cutoff
    ]
    radial = {z: [0.0] * (1 + len(g2) + len(g3)) for z in species}
    for j in neighbours:
        r = np.linalg.norm(pos[j] - pos[centre])
        row = [fc(r)] + [np.exp(-e * (r - rs) ** 2) * fc(r) for e, rs in g2]
        row += [np.cos(k * r) * fc(r) for k in g3]
        radial[numbers[j]] = [x + y for x, y in zip(radial[numbers[j]], row, strict=True)]
    out = [x for z in species for x in radial[z]]
    for high in range(len(species)):
        for low in range(high + 1):
            block = [0.0] * (len(g4) + len(g5))
            for j, k in itertools.combinations(neighbours, 2):
                if sorted([numbers[j], numbers[k]]) != sorted([species[high], species[low]]):
                    continue
                rij = np.linalg.norm(pos[j] - pos[centre])
                rik = np.linalg.norm(pos[k] - pos[centre])
                rjk = np.linalg.norm(pos[k] - pos[j])
                cos = (rij**2 + rik**2 - rjk**2) / (2 * rij * rik)  # law of cosines
                m = 0
                for e, z, lam in g4:
                    block[m] += (
                        2 ** (1 - z)
                        * (1 + lam * cos) ** z
                        * np.exp(-e * (rij**2 + rik**2 + rjk**2))
                        * fc(rij)
                        * fc(rik)
                        * fc(rjk)
                    )
                    m += 1
                for e, z, lam in g5:
                    block[m] += (
                        2 ** (1 - z)
                        * (1 + lam * cos) ** z
                        * np.exp(-e * (rij**2 + rik**2))
                        * fc(rij)
                        * fc(rik)
                    )
                    m += 1
            out += block
    return np.array(out)


def test_values_match_explicit_loops_of_behlers_formulas():
    atoms = random_cluster(3)
    expected = brute_force(atoms, 4.0, G2, G3, G4, G5, SPECIES)
    got = full().compute(atoms, centers=[0]).values[0]
    assert got.shape == expected.shape
    assert relative_difference(got, expected) < 1e-13


def test_single_neighbour_by_hand():
    # one H at 1.5 Å: G1 = f_c, G2 = exp(-eta (r - R_s)^2) f_c; no angular terms
    atoms = ase.Atoms("CH", positions=[[0, 0, 0], [1.5, 0, 0]])
    descriptor = SymmetryFunctions(cutoff=3.0, g2_params=[[2.0, 1.0]], species=[1, 6])
    values = descriptor.compute(atoms, centers=[0]).values[0]
    fc = 0.5 * (np.cos(np.pi * 0.5) + 1)  # = 0.5
    np.testing.assert_allclose(values, [fc, np.exp(-2.0 * 0.25) * fc, 0.0, 0.0], atol=1e-15)


def test_feature_count_and_names_follow_dscribe_layout():
    descriptor = full()
    names = descriptor.feature_names()
    assert len(names) == (1 + 3 + 2) * 3 + (3 + 2) * 6
    assert names[0] == "G1[1]" and names[6] == "G1[6]"
    # species-pair channels in the order (0,0), (1,0), (1,1), (2,0), ...
    assert names[18].startswith("G4[1,1]") and names[23].startswith("G4[6,1]")
    assert names[28].startswith("G4[6,6]") and names[33].startswith("G4[8,1]")


def test_body_order_follows_hypers():
    assert SymmetryFunctions(cutoff=4.0, g2_params=G2).body_order == 2
    assert SymmetryFunctions(cutoff=4.0, g5_params=G5).body_order == 3
    assert full().body_order == 3 and full().parity == "O(3)"


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 8))
def test_invariance_on_random_multispecies_environments(seed, n):
    atoms = random_cluster(seed, n_neighbours=n)
    worst = assert_invariant(full(), atoms, rtol=1e-12, seed=seed % 1000)
    assert set(worst) == {"rotation", "permutation", "translation", "reflection"}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradients_match_finite_differences(seed):
    atoms = random_cluster(seed, n_neighbours=6)
    assert assert_gradients(full(), atoms, centers=[0, 2], rtol=1e-6) < 1e-6


def test_gradients_with_neighbour_pairs_beyond_the_cutoff():
    # r_jk > cutoff switches the G4 term off smoothly: gradients stay exact across it
    atoms = ase.Atoms(
        "CHHO", positions=[[0, 0, 0], [2.9, 0.1, 0], [-2.8, 0.3, 0.2], [0.2, 2.5, -0.4]]
    )
    assert assert_gradients(full(cutoff=3.2), atoms, centers=[0], rtol=1e-6) < 1e-6


def test_continuous_when_an_atom_crosses_the_cutoff():
    cutoff, eps = 4.0, 1e-6
    base = random_cluster(5, n_neighbours=4, radius=3.0)

    def with_extra(distance):
        atoms = base.copy()
        atoms += ase.Atom("O", position=distance * np.array([0.6, 0.0, 0.8]))
        return full(cutoff).compute(atoms, centers=[0]).values[0]

    inside, outside = with_extra(cutoff - eps), with_extra(cutoff + eps)
    assert np.abs(inside - outside).max() < 1e-9


def test_two_body_pair_separated_by_angular_but_not_by_radial_terms():
    plus, minus = scaled_pair([[5, 0, 0], [3, 0, 4]], [[5, 0, 0], [-5, 0, 0]], 3.0)
    radial = SymmetryFunctions(cutoff=4.0, g2_params=G2, g3_params=G3)
    assert centre_distance(radial, plus, minus) < 1e-15
    for angular in (dict(g4_params=G4), dict(g5_params=G5)):
        assert (
            centre_distance(SymmetryFunctions(cutoff=4.0, g2_params=G2, **angular), plus, minus)
            > 1e-3
        )


def test_prl_three_body_pair_is_not_separated():
    # Pozdnyakov et al. PRL 125, 166001 (2020), Fig. 1(b): equal 3-body multisets
    a, bp, bm = [5, 0, 5], [5, 5, 5], [-5, -5, 5]
    plus, minus = scaled_pair([a, bp, bm, [0, 5, 5]], [a, bp, bm, [0, -5, 5]], 3.0)
    assert not np.allclose(plus.positions, minus.positions)
    assert centre_distance(full(cutoff=4.0), plus, minus) < 1e-14
    assert centre_distance(full(cutoff=6.0), plus, minus) < 1e-14


def test_matches_dscribe_feature_for_feature():
    dscribe = pytest.importorskip("dscribe.descriptors")
    reference = dscribe.ACSF(
        r_cut=4.0, g2_params=G2, g3_params=G3, g4_params=G4, g5_params=G5, species=SPECIES
    )
    ours = full()
    for seed in range(4):
        atoms = random_cluster(100 + seed, n_neighbours=8)
        features = ours.compute(atoms, gradients=True)
        expected = reference.create(atoms)
        assert relative_difference(features.values, expected) < 1e-10
        np.testing.assert_allclose(features.values, expected, rtol=1e-10, atol=1e-14)
        # dscribe's ACSF derivatives are central differences with h = 1e-4 (attach=True moves
        # the centre too): agreement is limited by their O(h^2) truncation error, ~1e-8
        derivatives = reference.derivatives(atoms, attach=True, return_descriptor=False)
        assert relative_difference(features.gradients, derivatives) < 1e-6


def test_pair_triplets_are_every_unordered_pair_within_each_sample():
    offsets = np.array([0, 0, 1, 4, 4, 8])
    first, second = pair_triplets(offsets)
    expected = [
        (p, q)
        for s in range(len(offsets) - 1)
        for p, q in itertools.combinations(range(offsets[s], offsets[s + 1]), 2)
    ]
    assert list(zip(first.tolist(), second.tolist(), strict=True)) == expected


def test_sample_chunks_cover_every_sample_once():
    offsets = np.concatenate([[0], np.cumsum([3, 0, 5, 1, 7, 2, 4])])
    for limit in (1, 5, 20, 1000):
        chunks = sample_chunks(offsets, limit)
        assert chunks[0][0] == 0 and chunks[-1][1] == 7
        assert all(a[1] == b[0] and a[0] < a[1] for a, b in itertools.pairwise(chunks))


def test_batches_split_into_chunks_match_one_system_at_a_time(monkeypatch):
    systems = [random_cluster(seed, n_neighbours=4 + seed) for seed in range(4)]
    descriptor = full()
    single = [descriptor.compute(s, centers=[0, 1], gradients=True) for s in systems]
    monkeypatch.setattr(neighbour_sums, "MAX_TRIPLETS_PER_CHUNK", 7)
    batch = descriptor.compute(systems, centers=[0, 1], gradients=True)
    np.testing.assert_allclose(batch.values, np.concatenate([f.values for f in single]), rtol=1e-14)
    for k, (f, s) in enumerate(zip(single, systems, strict=True)):
        np.testing.assert_allclose(
            batch.gradients[2 * k : 2 * k + 2, : len(s)], f.gradients, rtol=1e-13, atol=1e-15
        )


def test_matches_dscribe_on_a_periodic_crystal():
    dscribe = pytest.importorskip("dscribe.descriptors")
    from ase.build import bulk

    atoms = bulk("NaCl", "rocksalt", a=5.64) * (2, 1, 1)
    atoms.positions += np.random.default_rng(0).normal(scale=0.1, size=atoms.positions.shape)
    params = dict(g2_params=G2, g4_params=G4, g5_params=G5, species=[11, 17])
    expected = dscribe.ACSF(r_cut=5.0, periodic=True, **params).create(atoms)
    got = SymmetryFunctions(cutoff=5.0, **params).compute(atoms).values
    assert relative_difference(got, expected) < 1e-10

"""Artrith-Urban-Ceder Chebyshev descriptor: formulas, typespins, invariance, gradients."""

import itertools

import ase
import numpy as np
import pytest
from descriptor_helpers import SPECIES, centre_distance, random_cluster, scaled_pair
from numpy.polynomial import chebyshev as npcheb

from completeness.descriptors import ChebyshevDescriptor, neighbour_sums
from completeness.descriptors.chebyshev import chebyshev_polynomials, typespins
from completeness.testing import assert_gradients, relative_difference


def descriptor(radial_cutoff=4.0, angular_cutoff=3.5, radial_order=8, angular_order=6, **kw):
    return ChebyshevDescriptor(
        radial_cutoff=radial_cutoff,
        radial_order=radial_order,
        angular_cutoff=angular_cutoff,
        angular_order=angular_order,
        **kw,
    )


def brute_force(atoms, rc_rad, n_rad, rc_ang, n_ang, spins, centre=0):
    """aenet's sfb_eval with explicit loops and numpy's Chebyshev series (chebval)."""
    fc = lambda r, rc: 0.5 * (np.cos(np.pi * r / rc) + 1) if r < rc else 0.0  # noqa: E731
    basis = lambda x, order: np.array(  # noqa: E731
        [npcheb.chebval(x, np.eye(order + 1)[n]) for n in range(order + 1)]
    )
    pos = atoms.positions - atoms.positions[centre]
    others = [j for j in range(len(atoms)) if j != centre]
    rad, rad_w = np.zeros(n_rad + 1), np.zeros(n_rad + 1)
    ang, ang_w = np.zeros(n_ang + 1), np.zeros(n_ang + 1)
    for j in others:
        r = np.linalg.norm(pos[j])
        term = basis(2 * r / rc_rad - 1, n_rad) * fc(r, rc_rad)
        rad += term
        rad_w += spins[atoms.numbers[j]] * term
    for j, k in itertools.combinations(others, 2):
        rj, rk = np.linalg.norm(pos[j]), np.linalg.norm(pos[k])
        cos = pos[j] @ pos[k] / (rj * rk)
        term = basis(cos, n_ang) * fc(rj, rc_ang) * fc(rk, rc_ang)
        ang += term
        ang_w += spins[atoms.numbers[j]] * spins[atoms.numbers[k]] * term
    if len(spins) == 1:
        return np.concatenate([rad, ang])
    return np.concatenate([rad, ang, rad_w, ang_w])


def test_chebyshev_polynomials_are_cos_n_theta_and_derivatives_match():
    x = np.linspace(-0.99, 0.99, 11)
    t, dt = chebyshev_polynomials(x, 7)
    theta = np.arccos(x)
    np.testing.assert_allclose(t, np.cos(np.arange(8) * theta[:, None]), atol=1e-14)
    # T_n'(x) = n sin(n theta) / sin(theta)
    expected = np.arange(8) * np.sin(np.arange(8) * theta[:, None]) / np.sin(theta)[:, None]
    np.testing.assert_allclose(dt, expected, atol=1e-12)


def test_typespins_are_aenets_defaults():
    assert typespins(1).tolist() == [0.0]
    assert typespins(2).tolist() == [-1.0, 1.0]
    assert typespins(3).tolist() == [-1.0, 0.0, 1.0]
    assert typespins(4).tolist() == [-2.0, -1.0, 1.0, 2.0]


@pytest.mark.parametrize("species", [[6], [1, 8], SPECIES])
def test_values_match_explicit_loops(species):
    atoms = random_cluster(4, species=species)
    spins = {1: -1.0, 6: 0.0, 8: 1.0} if len(species) == 3 else {1: -1.0, 8: 1.0}
    if len(species) == 1:
        spins = {6: 0.0}
    got = descriptor(species=species).compute(atoms, centers=[0]).values[0]
    expected = brute_force(atoms, 4.0, 8, 3.5, 6, spins)
    assert got.shape == expected.shape
    assert relative_difference(got, expected) < 1e-13


def test_feature_layout_and_counts():
    single = descriptor(species=[6])
    assert single.n_features() == 9 + 7
    multi = descriptor(species=[1, 8])
    names = multi.feature_names()
    assert len(names) == 2 * (9 + 7)
    assert names[9] == "angular[n=0]" and names[16] == "radial_typespin[n=0]"
    assert descriptor(angular_order=None).body_order == 2 and multi.body_order == 3
    assert multi.cutoff == 4.0 and descriptor(angular_cutoff=4.5).cutoff == 4.5


@pytest.mark.parametrize(
    "radial_cutoff, angular_cutoff", [(4.0, 3.0), (3.0, 4.0)], ids=["ang<rad", "rad<ang"]
)
def test_gradients_match_finite_differences(radial_cutoff, angular_cutoff):
    for seed in range(2):
        atoms = random_cluster(seed, n_neighbours=6)
        d = descriptor(radial_cutoff=radial_cutoff, angular_cutoff=angular_cutoff)
        assert assert_gradients(d, atoms, centers=[0, 3], rtol=1e-6) < 1e-6


@pytest.mark.parametrize("which", ["radial", "angular"])
def test_continuous_when_an_atom_crosses_a_cutoff(which):
    # an atom just inside a cutoff changes the features of that cutoff's block by O(eps^2),
    # i.e. they are continuous (with a continuous derivative) when it enters
    eps = 1e-6
    radial_cutoff, angular_cutoff = (4.0, 3.0) if which == "angular" else (3.0, 4.0)
    crossing = radial_cutoff if which == "radial" else angular_cutoff
    base = random_cluster(5, n_neighbours=4, radius=2.5)
    d = descriptor(radial_cutoff=radial_cutoff, angular_cutoff=angular_cutoff)
    block = np.array([name.startswith(which) for name in d.feature_names(SPECIES)])

    def with_extra(distance):
        atoms = base.copy()
        if distance is not None:
            atoms += ase.Atom("O", position=distance * np.array([0.0, 0.6, 0.8]))
        return d.compute(atoms, centers=[0]).values[0][block]

    without = with_extra(None)
    assert np.abs(with_extra(crossing - eps) - without).max() < 1e-9
    assert np.abs(with_extra(crossing + eps) - without).max() == 0.0
    assert np.abs(with_extra(crossing - 0.5) - without).max() > 1e-3


def test_two_body_pair_separated_by_angular_but_not_by_radial_terms():
    plus, minus = scaled_pair([[5, 0, 0], [3, 0, 4]], [[5, 0, 0], [-5, 0, 0]], 3.0)
    assert centre_distance(descriptor(angular_order=None), plus, minus) < 1e-15
    assert centre_distance(descriptor(), plus, minus) > 1e-3


def test_prl_three_body_pair_is_not_separated():
    a, bp, bm = [5, 0, 5], [5, 5, 5], [-5, -5, 5]
    plus, minus = scaled_pair([a, bp, bm, [0, 5, 5]], [a, bp, bm, [0, -5, 5]], 3.0)
    assert not np.allclose(plus.positions, minus.positions)
    assert centre_distance(descriptor(radial_order=12, angular_order=12), plus, minus) < 1e-14


def test_batches_split_into_chunks_match_one_system_at_a_time(monkeypatch):
    systems = [random_cluster(seed, n_neighbours=4 + seed) for seed in range(4)]
    d = descriptor()
    single = [d.compute(s, centers=[0, 1], gradients=True) for s in systems]
    monkeypatch.setattr(neighbour_sums, "MAX_TRIPLETS_PER_CHUNK", 2)
    batch = d.compute(systems, centers=[0, 1], gradients=True)
    np.testing.assert_allclose(batch.values, np.concatenate([f.values for f in single]), rtol=1e-14)
    for k, (f, s) in enumerate(zip(single, systems, strict=True)):
        np.testing.assert_allclose(
            batch.gradients[2 * k : 2 * k + 2, : len(s)], f.gradients, rtol=1e-13, atol=1e-15
        )

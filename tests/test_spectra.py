"""RadialSpectrum and PowerSpectrum: invariance, gradients, API, continuity, known pairs."""

import ase
import numpy as np
import pytest
from ase.build import bulk
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from completeness.descriptors import PowerSpectrum, RadialSpectrum
from completeness.descriptors.spherical_expansion import SphericalExpansion
from completeness.environments import build_neighbourhoods
from completeness.testing import assert_gradients, assert_invariant

CUTOFF = 4.0
SMALL = {"cutoff": CUTOFF, "n_radial": 4, "density_width": 0.4}


def power(**kw):
    return PowerSpectrum(**{**SMALL, "max_angular": 3, **kw})


def radial(**kw):
    return RadialSpectrum(**{**SMALL, **kw})


@st.composite
def environments(draw):
    """A centre plus 1..7 neighbours inside the cutoff, species from {H, C, O}."""
    n = draw(st.integers(1, 7))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    for _ in range(100):
        directions = rng.normal(size=(n, 3))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        positions = np.vstack([[0, 0, 0], directions * rng.uniform(0.7, 3.4, size=(n, 1))])
        d = np.linalg.norm(positions[:, None] - positions[None], axis=-1)
        if d[np.triu_indices(n + 1, 1)].min() > 0.4:
            break
    numbers = rng.choice([1, 6, 8], size=n + 1)
    return ase.Atoms(numbers=numbers, positions=positions)


@settings(max_examples=15, deadline=None)
@given(environments())
def test_spherical_bessel_power_spectrum_invariance(atoms):
    # the GTO basis is checked by the contract test (tests/test_descriptor_contract.py)
    assert_invariant(power(radial_basis="spherical_bessel"), atoms, rtol=1e-12)


def _cluster(seed, numbers=(1, 6, 8), n_atoms=6):
    rng = np.random.default_rng(seed)
    while True:
        positions = rng.uniform(-2.0, 2.0, size=(n_atoms, 3))
        d = np.linalg.norm(positions[:, None] - positions[None], axis=-1)
        if d[np.triu_indices(n_atoms, 1)].min() > 0.6:
            break
    return ase.Atoms(numbers=rng.choice(numbers, size=n_atoms), positions=positions)


@pytest.mark.parametrize("basis", ["gto", "spherical_bessel"])
@pytest.mark.parametrize("numbers", [(6,), (1, 6, 8)])
@pytest.mark.parametrize("factory", [power, radial])
def test_gradients_match_finite_differences(factory, numbers, basis):
    atoms = _cluster(3, numbers=numbers)
    assert_gradients(factory(radial_basis=basis), atoms, rtol=1e-6)


def test_gradients_with_neighbours_in_switching_region():
    # the farthest atoms sit inside [cutoff - cutoff_width, cutoff): the cutoff derivative counts
    atoms = ase.Atoms(
        "COHC", positions=[[0, 0, 0], [1.2, 0.3, 0], [0.2, 3.7, 0.5], [-0.3, -0.2, -3.8]]
    )
    assert_gradients(power(), atoms, centers=[0])
    assert_gradients(radial(), atoms, centers=[0])


def test_power_spectrum_matches_definition():
    """p from the spherical expansion by an explicit loop over (a n), (b n'), l."""
    atoms = _cluster(5)
    descriptor = power(species=[1, 6, 8])
    features = descriptor.compute(atoms)
    neighbourhoods = build_neighbourhoods(atoms, CUTOFF)
    expansion = SphericalExpansion(CUTOFF, 4, 3, density_width=0.4).compute(
        neighbourhoods, [1, 6, 8]
    )
    names = descriptor.feature_names()
    assert len(names) == features.values.shape[1] == 4 * (12 * 13 // 2)
    for s in range(len(atoms)):
        expected = {}
        for l in range(4):
            c = expansion.coefficients[l][s].reshape(12, 2 * l + 1)
            for i in range(12):
                for j in range(i, 12):
                    weight = 1.0 if i == j else np.sqrt(2.0)
                    a, n = [1, 6, 8][i // 4], i % 4
                    b, m = [1, 6, 8][j // 4], j % 4
                    expected[f"a{a}_n{n}_b{b}_n{m}_l{l}"] = (
                        weight * c[i] @ c[j] / np.sqrt(2 * l + 1)
                    )
        got = dict(zip(names, features.values[s], strict=True))
        assert set(got) == set(expected)
        for name, value in expected.items():
            assert got[name] == pytest.approx(value, rel=1e-12, abs=1e-14)


def test_half_vector_norm_equals_full_matrix_norm():
    atoms = _cluster(6)
    values = power(species=[1, 6, 8]).compute(atoms).values
    neighbourhoods = build_neighbourhoods(atoms, CUTOFF)
    expansion = SphericalExpansion(CUTOFF, 4, 3, density_width=0.4).compute(
        neighbourhoods, [1, 6, 8]
    )
    for s in range(len(atoms)):
        full = 0.0
        for l in range(4):
            c = expansion.coefficients[l][s].reshape(12, 2 * l + 1)
            full += np.sum((c @ c.T) ** 2) / (2 * l + 1)
        assert np.sum(values[s] ** 2) == pytest.approx(full, rel=1e-12)


def test_radial_spectrum_is_l0_expansion():
    atoms = _cluster(7)
    values = radial(species=[1, 6, 8]).compute(atoms).values
    neighbourhoods = build_neighbourhoods(atoms, CUTOFF)
    c0 = SphericalExpansion(CUTOFF, 4, 0, density_width=0.4).compute(neighbourhoods, [1, 6, 8])
    np.testing.assert_allclose(values, c0.coefficients[0].reshape(len(atoms), 12), rtol=1e-14)


def test_feature_count_body_order_and_parity():
    descriptor = PowerSpectrum(cutoff=4.5, n_radial=5, max_angular=2, species=[1, 6])
    assert descriptor.n_features() == 3 * (10 * 11 // 2)
    assert PowerSpectrum.body_order == 3 and RadialSpectrum.body_order == 2
    assert PowerSpectrum.parity == "O(3)"


def test_feature_names_follow_hyperparameter_changes():
    """Names are cached per (hyperparameters, species), never reused after set_params."""
    descriptor = PowerSpectrum(n_radial=2, max_angular=1)
    assert len(descriptor.feature_names([1])) == 3 * 2
    assert descriptor.feature_names([1])[-1] == "a1_n1_b1_n1_l1"
    descriptor.set_params(n_radial=3)
    assert len(descriptor.feature_names([1])) == 6 * 2
    assert len(descriptor.feature_names([1, 8])) == 21 * 2
    two = clone(descriptor).set_params(max_angular=0)
    assert two.feature_names([1]) == descriptor.feature_names([1])[:6]


def test_pipeline_fit_transform():
    systems = [_cluster(seed, numbers=(6,)) for seed in range(4)]
    pipeline = make_pipeline(power(species=[6]), StandardScaler())
    out = pipeline.fit(systems).transform(systems)
    assert out.shape == (24, 4 * (4 * 5 // 2))
    assert np.all(np.isfinite(out))


@pytest.mark.parametrize("factory", [power, radial])
def test_continuous_across_cutoff(factory):
    descriptor = factory(species=[1, 6])
    direction = np.array([0.3, -0.5, 0.8]) / np.linalg.norm([0.3, -0.5, 0.8])

    def atoms(distance):
        return ase.Atoms("CCH", positions=[[0, 0, 0], [1.1, 0.2, -0.4], distance * direction])

    inside = descriptor.compute(atoms(CUTOFF - 1e-9), centers=[0], gradients=True)
    outside = descriptor.compute(atoms(CUTOFF + 1e-9), centers=[0], gradients=True)
    without = descriptor.compute(atoms(CUTOFF + 1e-9)[:2], centers=[0], gradients=True)
    assert np.abs(inside.values).max() > 1e-3
    assert np.abs(inside.values - outside.values).max() < 1e-9
    assert np.abs(inside.gradients - outside.gradients).max() < 1e-7
    # beyond the cutoff the atom is absent: same features as without it
    np.testing.assert_allclose(outside.values, without.values, atol=1e-15)


def test_periodic_diamond_silicon():
    silicon = bulk("Si", "diamond", a=5.43)
    descriptor = power(cutoff=4.0)
    features = descriptor.compute(silicon, gradients=True)
    # the two atoms of diamond are equivalent (inversion maps one onto the other)
    scale = np.abs(features.values).max()
    np.testing.assert_allclose(features.values[0], features.values[1], atol=1e-13 * scale)
    assert np.all(np.isfinite(features.gradients))
    # perfect crystal: every atom sits at an inversion centre of its environment -> zero gradient
    # of its own features with respect to its own position
    assert np.abs(features.gradients[0, 0]).max() < 1e-10
    rattled = silicon.copy()
    rattled.rattle(0.05, seed=2)
    assert_gradients(power(cutoff=3.0), rattled)


def test_empty_environment_gives_zeros():
    atoms = ase.Atoms("CO", positions=[[0, 0, 0], [0, 0, 8.0]])
    for descriptor in (power(), radial()):
        features = descriptor.compute(atoms, gradients=True)
        assert np.all(features.values == 0)
        assert np.all(features.gradients == 0)
    single = power(species=[6]).compute(ase.Atoms("C"), gradients=True)
    assert single.values.shape == (1, 4 * 10) and np.all(single.values == 0)


def _pair(first, second, scale=0.45):
    def atoms(neighbours):
        positions = np.vstack([[0, 0, 0], np.asarray(neighbours, dtype=float) * scale])
        return ase.Atoms(numbers=[6] * len(positions), positions=positions)

    return atoms(first), atoms(second)


def test_prl_fig1b_pair_is_power_spectrum_degenerate():
    """Pozdnyakov et al. PRL 125, 166001 (2020), Fig. 1(b), scaled by 0.45 (inside cutoff 5)."""
    common = [(5, 0, 5), (5, 5, 5), (-5, -5, 5)]
    plus, minus = _pair([*common, (0, 5, 5)], [*common, (0, -5, 5)])
    assert not np.allclose(np.sort(plus.positions, 0), np.sort(minus.positions, 0))
    for basis in ("gto", "spherical_bessel"):
        descriptor = PowerSpectrum(
            cutoff=5.0, n_radial=8, max_angular=6, density_width=0.5, radial_basis=basis
        )
        a = descriptor.compute(plus, centers=[0]).values
        b = descriptor.compute(minus, centers=[0]).values
        assert np.abs(a).max() > 1e-3
        assert np.linalg.norm(a - b) <= 1e-13 * np.linalg.norm(a)


def test_two_body_pair_separated_by_power_not_radial_spectrum():
    """Joshi et al. ICML 2023: (5,0,0),(3,0,4) vs (5,0,0),(-5,0,0): same distances, other angle."""
    plus, minus = _pair([(5, 0, 0), (3, 0, 4)], [(5, 0, 0), (-5, 0, 0)])
    rs = RadialSpectrum(cutoff=5.0, n_radial=8, density_width=0.5)
    ps = PowerSpectrum(cutoff=5.0, n_radial=8, max_angular=6, density_width=0.5)
    r_plus, r_minus = rs.compute(plus, centers=[0]).values, rs.compute(minus, centers=[0]).values
    assert np.linalg.norm(r_plus - r_minus) <= 1e-13 * np.linalg.norm(r_plus)
    p_plus, p_minus = ps.compute(plus, centers=[0]).values, ps.compute(minus, centers=[0]).values
    assert np.linalg.norm(p_plus - p_minus) > 1e-2 * np.linalg.norm(p_plus)


def test_power_spectrum_matches_featomic():
    """An independent implementation: featomic's SoapPowerSpectrum without the centre's density.

    featomic's invariant carries (-1)^l (Clebsch-Gordan coupling to lambda = 0), keeps both
    (n, n') orders of a same-species block without sqrt(2), and includes sqrt(2) in blocks of two
    different species; its radial integrals are splined independently (agreement ~1e-6).
    """
    featomic = pytest.importorskip("featomic")
    atoms = _cluster(8)
    hypers = {
        "cutoff": {"radius": CUTOFF, "smoothing": {"type": "ShiftedCosine", "width": 0.5}},
        "density": {"type": "Gaussian", "width": 0.4, "center_atom_weight": 0.0},
        "basis": {
            "type": "TensorProduct",
            "max_angular": 3,
            "radial": {"type": "Gto", "max_radial": 3},
        },
    }
    reference = featomic.SoapPowerSpectrum(**hypers).compute([atoms])
    reference = reference.keys_to_samples("center_type")
    descriptor = power(species=[1, 6, 8])
    ours = descriptor.compute(atoms).values
    index = {name: k for k, name in enumerate(descriptor.feature_names())}
    mapped = np.zeros_like(ours)  # featomic stores no rows for absent neighbour species
    covered = set()
    for key, block in reference.items():
        a, b = int(key["neighbor_1_type"]), int(key["neighbor_2_type"])
        rows = block.samples.column("atom")
        for column, (l, n, m) in enumerate(block.properties.values.tolist()):
            name = f"a{a}_n{n}_b{b}_n{m}_l{l}"
            if name not in index:
                continue  # the other half of a same-species block
            factor = (-1) ** l * (np.sqrt(2.0) if a == b and n != m else 1.0)
            mapped[rows, index[name]] = factor * block.values[:, column]
            covered.add(name)
    assert covered == set(index)
    assert np.linalg.norm(mapped - ours) < 1e-6 * np.linalg.norm(ours)


@pytest.mark.parametrize("species", [None, [1, 6, 8, 26]])  # 26: an empty channel
def test_small_and_large_batch_gradient_paths_agree(monkeypatch, species):
    """The full-grid path of small batches and the row-by-row path of large ones."""
    from completeness.descriptors import spectra

    atoms = _cluster(5, numbers=(1, 6, 8), n_atoms=5)
    descriptor = power(species=species)
    small = descriptor.compute(atoms, centers=[0, 1], gradients=True).pair_gradients
    monkeypatch.setattr(spectra, "_SMALL_GRADIENT_ENTRIES", 0)
    rows = descriptor.compute(atoms, centers=[0, 1], gradients=True).pair_gradients
    assert np.abs(small - rows).max() <= 1e-14 * np.abs(rows).max()

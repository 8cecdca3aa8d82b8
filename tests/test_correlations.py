"""Bispectrum and DensityCorrelations: invariance, gradients, conventions, resolving power."""

import itertools
import re

import ase
import numpy as np
import pytest
import sphericart
from descriptor_helpers import choose_kernels
from sympy import S
from sympy.physics.wigner import clebsch_gordan as sympy_cg

from completeness.descriptors import (
    Bispectrum,
    DensityCorrelations,
    PowerSpectrum,
    RadialSpectrum,
)
from completeness.descriptors.clebsch_gordan import real_clebsch_gordan
from completeness.descriptors.spherical_expansion import SphericalExpansion
from completeness.environments import build_neighbourhoods
from completeness.testing import assert_gradients, random_cluster, relative_difference

SMALL = dict(cutoff=4.0, n_radial=2, max_angular=2, density_width=0.4)


def random_environment(seed, n_neighbours=6, species=(1, 6, 8), radius=2.5, min_distance=0.7):
    """Centre at the origin plus neighbours in a ball, no two atoms closer than min_distance."""
    return random_cluster(seed, n_neighbours, radius, species, min_distance)


def _strip(name):
    return re.sub(r"\[\d+\]", "", name)


# ------------------------------------------------------------------------------------------------
# invariance and gradients
# ------------------------------------------------------------------------------------------------


def test_mirror_flips_exactly_the_pseudoscalars():
    atoms = random_environment(11, 7)
    descriptor = Bispectrum(**SMALL, include_pseudoscalar=True)
    mirrored = atoms.copy()
    mirrored.positions[:, 2] *= -1
    a = descriptor.compute(atoms, centers=[0]).values[0]
    b = descriptor.compute(mirrored, centers=[0]).values[0]
    parity = descriptor.feature_parity(np.unique(atoms.numbers))
    assert set(np.unique(parity)) == {-1, 1}
    odd = parity == -1
    assert np.linalg.norm(a[odd]) > 1e-3 * np.linalg.norm(a)  # a chiral environment
    np.testing.assert_allclose(b[~odd], a[~odd], rtol=0, atol=1e-14 * np.abs(a).max())
    np.testing.assert_allclose(b[odd], -a[odd], rtol=0, atol=1e-14 * np.abs(a).max())


@pytest.mark.parametrize("include_pseudoscalar", [False, True])
def test_bispectrum_gradients(include_pseudoscalar):
    atoms = random_environment(3, 6)
    descriptor = Bispectrum(**SMALL, include_pseudoscalar=include_pseudoscalar)
    assert_gradients(descriptor, atoms, centers=[0, 2], rtol=1e-6)
    # the values come from a different code path when gradients are requested
    with_gradients = descriptor.compute(atoms, gradients=True).values
    np.testing.assert_allclose(with_gradients, descriptor.compute(atoms).values, atol=1e-15)


def test_bispectrum_gradients_uneven_neighbour_counts():
    # two systems with different neighbour counts exercise the padded path
    atoms = [random_environment(4, 5), random_environment(5, 3)]
    descriptor = Bispectrum(**SMALL, include_pseudoscalar=True, species=[1, 6, 8])
    features = descriptor.compute(atoms, centers=[0], gradients=True)
    for k, system in enumerate(atoms):
        single = descriptor.compute(system, centers=[0], gradients=True)
        n = len(system)
        np.testing.assert_allclose(features.gradients[k, :n], single.gradients[0], atol=1e-15)
    assert_gradients(descriptor, atoms[1], centers=[0], rtol=1e-6)


def _bispectrum_by_the_product_rule(descriptor, systems):
    """Values and pair gradients from the expansion and its pair gradients, feature by feature:
    ``dB/dr_p = sum_j sum_m dB/dc_{t_j m} dc_{t_j m}/dr_p`` with each partial an einsum."""
    neighbourhoods = build_neighbourhoods(systems, descriptor.cutoff, centers=[0])
    species = np.unique(np.concatenate([s.numbers for s in systems]))
    n_radial = descriptor.n_radial
    expansion = SphericalExpansion(
        descriptor.cutoff, n_radial, descriptor.max_angular, descriptor.density_width
    ).compute(neighbourhoods, species, gradients=True)
    coefficients = [c.reshape(len(c), -1, c.shape[-1]) for c in expansion.coefficients]
    values, gradients = [], []
    pairs = np.arange(neighbourhoods.n_pairs)
    for name in descriptor.feature_names(species):
        channels = [
            (int(np.searchsorted(species, int(a))) * n_radial + int(n), int(l))
            for a, n, l in re.findall(r"\(a(\d+),n(\d+),l(\d+)\)", name)
        ]
        tensor = real_clebsch_gordan(*(l for _, l in channels))
        c1, c2, c3 = (coefficients[l][:, k] for k, l in channels)
        values.append(np.einsum("abc,sa,sb,sc->s", tensor, c1, c2, c3))
        partials = (
            np.einsum("abc,sb,sc->sa", tensor, c2, c3),
            np.einsum("abc,sa,sc->sb", tensor, c1, c3),
            np.einsum("abc,sa,sb->sc", tensor, c1, c2),
        )
        gradient = np.zeros((neighbourhoods.n_pairs, 3))
        for (k, l), g in zip(channels, partials, strict=True):
            own = expansion.pair_species_index == k // n_radial
            dc = expansion.pair_gradients[l][pairs, :, k % n_radial]  # (P, 3, 2l+1)
            gradient += own[:, None] * np.einsum("pxm,pm->px", dc, g[neighbourhoods.pair_sample])
        gradients.append(gradient)
    return np.stack(values, axis=1), np.stack(gradients, axis=2)


@pytest.mark.parametrize("compiled", [False, True])
def test_bispectrum_gradients_equal_the_product_rule(monkeypatch, compiled):
    choose_kernels(monkeypatch, compiled)
    # three species, one sample with one neighbour, one without any, uneven counts
    systems = [random_environment(seed, n) for seed, n in ((20, 6), (21, 1), (22, 9))]
    systems.append(ase.Atoms("O", positions=[[0.0, 0.0, 0.0]]))
    descriptor = Bispectrum(cutoff=3.0, n_radial=2, max_angular=3, include_pseudoscalar=True)
    features = descriptor.compute(systems, centers=[0], gradients=True)
    values, gradients = _bispectrum_by_the_product_rule(descriptor, systems)
    scale = np.abs(gradients).max()
    assert np.abs(features.values - values).max() <= 1e-13 * np.abs(values).max()
    assert np.abs(features.pair_gradients - gradients).max() <= 1e-13 * scale


@pytest.mark.parametrize("species", [None, [1, 6, 8, 9]])  # 9: a channel without atoms
def test_compiled_bispectrum_equals_the_numpy_path(monkeypatch, species):
    from completeness.descriptors import _kernels

    pytest.importorskip("numba", reason="the compiled kernels need the 'fast' extra")
    monkeypatch.setattr(_kernels, "COMPILED_MIN_ENTRIES", 0)
    monkeypatch.delenv(_kernels.KERNELS_VARIABLE, raising=False)
    # uneven neighbour counts, a centre without neighbours, a periodic cell (repeated images)
    systems = [random_environment(seed, n) for seed, n in ((50, 7), (51, 1), (52, 9), (53, 4))]
    systems.insert(2, ase.Atoms("O", positions=[[0.0, 0.0, 0.0]]))
    systems.append(ase.Atoms("CH", positions=[[0, 0, 0], [1.1, 0, 0]], cell=[2.6] * 3, pbc=True))
    descriptor = Bispectrum(cutoff=3.0, n_radial=3, max_angular=3, species=species)
    descriptor.set_params(include_pseudoscalar=True)
    compiled = descriptor.compute(systems, gradients=True)
    monkeypatch.setenv(_kernels.KERNELS_VARIABLE, "numpy")
    reference = descriptor.compute(systems, gradients=True)
    assert np.abs(reference.centre_gradients).max() > 0
    scale = np.abs(reference.pair_gradients).max()
    assert (
        np.abs(compiled.values - reference.values).max() <= 1e-14 * np.abs(reference.values).max()
    )
    assert np.abs(compiled.pair_gradients - reference.pair_gradients).max() <= 1e-14 * scale
    assert np.abs(compiled.centre_gradients - reference.centre_gradients).max() <= 1e-14 * scale


@pytest.mark.parametrize("nu", [1, 2, 3, 4])
def test_density_correlation_gradients(nu):
    atoms = random_environment(6, 5, species=(1, 6))
    descriptor = DensityCorrelations(correlation_order=nu, **SMALL, include_pseudoscalar=True)
    assert_gradients(descriptor, atoms, centers=[0], rtol=1e-6)


def test_large_outputs_on_their_own_mapping_equal_the_ordinary_ones(monkeypatch):
    from completeness.descriptors import outputs

    systems = [random_environment(seed, 6) for seed in (40, 41)]
    bispectrum = Bispectrum(**SMALL, include_pseudoscalar=True)
    nu3 = DensityCorrelations(correlation_order=3, **SMALL, species=[1, 6, 8, 9])
    ordinary = [d.compute(systems, gradients=True) for d in (bispectrum, nu3)]
    monkeypatch.setattr(outputs, "LARGE_OUTPUT_BYTES", 0)
    fresh = outputs.output_zeros((5, 3, 7))
    assert fresh.flags.writeable and not fresh.any()
    for descriptor, reference in zip((bispectrum, nu3), ordinary, strict=True):
        mapped = descriptor.compute(systems, gradients=True)
        assert isinstance(mapped.pair_gradients.base, np.ndarray)  # not numpy's own memory
        np.testing.assert_array_equal(mapped.pair_gradients, reference.pair_gradients)


@pytest.mark.parametrize("nu", [3, 4])
def test_density_correlations_skip_species_without_neighbours(nu):
    # oxygen is a channel but no neighbour of the first two systems: computed without its
    # channels there, the features must equal those of a batch where oxygen is a neighbour
    # (every channel computed), and every feature with an oxygen channel must be zero
    descriptor = DensityCorrelations(correlation_order=nu, **SMALL, species=[1, 6, 8])
    without = [random_environment(seed, 5, species=(1, 6)) for seed in (30, 31)]
    with_oxygen = random_environment(32, 5, species=(1, 6, 8))
    assert 8 in with_oxygen.numbers[1:]
    alone = descriptor.compute(without, centers=[0], gradients=True)
    together = descriptor.compute([*without, with_oxygen], centers=[0], gradients=True)
    n_pairs = len(alone.pair_sample)
    scale = np.abs(together.pair_gradients).max()
    assert np.abs(alone.values - together.values[:2]).max() <= 1e-13 * np.abs(alone.values).max()
    assert np.abs(alone.pair_gradients - together.pair_gradients[:n_pairs]).max() <= 1e-13 * scale
    oxygen = np.array(["a8," in name for name in alone.feature_names])
    assert oxygen.any() and not oxygen.all()
    assert not alone.values[:, oxygen].any() and not alone.pair_gradients[:, :, oxygen].any()
    assert_gradients(descriptor, without[0], centers=[0], rtol=1e-6)


# ------------------------------------------------------------------------------------------------
# conventions and values, against independent evaluations
# ------------------------------------------------------------------------------------------------


def test_single_neighbour_bispectrum_matches_gaunt_closed_form():
    """One neighbour: c_{nlm} = R_nl Y_lm(r^), so B = R R R k(l1,l2,l3) (2 l3 + 1) / (4 pi)."""
    vector = np.array([0.7, -1.1, 1.6])
    atoms = ase.Atoms(numbers=[6, 6], positions=[np.zeros(3), vector])
    max_angular, n_radial = 3, 3
    descriptor = Bispectrum(
        cutoff=4.0, n_radial=n_radial, max_angular=max_angular, include_pseudoscalar=True
    )
    features = descriptor.compute(atoms, centers=[0])
    # radial parts from the expansion (a dependency, not the code under test) and sphericart
    expansion = SphericalExpansion(cutoff=4.0, n_radial=n_radial, max_angular=max_angular)
    neighbourhoods = build_neighbourhoods(atoms, 4.0, [0])
    coefficients = expansion.compute(neighbourhoods, [6]).coefficients
    y = sphericart.SphericalHarmonics(max_angular).compute(vector[None, :])[0]
    radial = np.array(
        [
            [
                coefficients[l][0, 0, n] @ y[l * l : (l + 1) ** 2] / ((2 * l + 1) / (4 * np.pi))
                for l in range(max_angular + 1)
            ]
            for n in range(n_radial)
        ]
    )
    checked = 0
    for name, value in zip(features.feature_names, features.values[0], strict=True):
        triples = re.findall(r"\(a6,n(\d+),l(\d+)\)", name)
        (n1, l1), (n2, l2), (n3, l3) = [(int(n), int(l)) for n, l in triples]
        if (l1 + l2 + l3) % 2:
            assert abs(value) < 1e-15
            continue
        gaunt = np.sqrt((2 * l1 + 1) * (2 * l2 + 1) / (4 * np.pi * (2 * l3 + 1))) * float(
            sympy_cg(S(l1), S(l2), S(l3), 0, 0, 0)
        )
        expected = (
            radial[n1, l1] * radial[n2, l2] * radial[n3, l3] * gaunt * (2 * l3 + 1) / (4 * np.pi)
        )
        assert value == pytest.approx(expected, rel=1e-10, abs=1e-16)
        checked += 1
    assert checked > 50


def _brute_force_bispectrum_count(n_channels, max_angular, include_odd):
    """Multisets of channels (l, k) with a triangle and nonzero by the exchange symmetry."""
    channels = [(l, k) for l in range(max_angular + 1) for k in range(n_channels)]
    count = 0
    for triple in itertools.combinations_with_replacement(channels, 3):
        (l1, _), (l2, _), (l3, _) = triple
        if not abs(l1 - l2) <= l3 <= l1 + l2:
            continue
        odd = (l1 + l2 + l3) % 2 == 1
        if odd and (not include_odd or len(set(triple)) < 3):
            continue
        count += 1
    return count


@pytest.mark.parametrize("include_odd", [False, True])
def test_bispectrum_feature_count_matches_enumeration(include_odd):
    descriptor = Bispectrum(cutoff=5.0, n_radial=4, max_angular=4, include_pseudoscalar=include_odd)
    assert descriptor.n_features([6]) == _brute_force_bispectrum_count(4, 4, include_odd)
    assert descriptor.n_features([1, 8]) == _brute_force_bispectrum_count(8, 4, include_odd)
    parity = descriptor.feature_parity([6])
    assert (parity == -1).any() == include_odd


def test_no_feature_vanishes_identically():
    atoms = random_environment(8, 12, species=(1, 6), radius=3.0)
    for descriptor in [
        Bispectrum(**SMALL, include_pseudoscalar=True),
        DensityCorrelations(correlation_order=4, **SMALL, include_pseudoscalar=True),
    ]:
        values = descriptor.compute(atoms, centers=[0, 1, 2]).values
        size = np.abs(values).max(axis=0)
        assert size.min() > 1e-8 * size.max(), type(descriptor).__name__


def test_density_correlations_nu3_is_the_bispectrum():
    """Two different algorithms (iterated forward-mode coupling vs Jacobian GEMM)."""
    atoms = random_environment(9, 6)
    bispectrum = Bispectrum(**SMALL, include_pseudoscalar=True)
    correlations = DensityCorrelations(correlation_order=3, **SMALL, include_pseudoscalar=True)
    a = bispectrum.compute(atoms, centers=[0, 1], gradients=True)
    b = correlations.compute(atoms, centers=[0, 1], gradients=True)
    assert sorted(a.feature_names) == sorted(_strip(n) for n in b.feature_names)
    order = [a.feature_names.index(_strip(n)) for n in b.feature_names]
    np.testing.assert_allclose(a.values[:, order], b.values, rtol=0, atol=1e-15)
    np.testing.assert_allclose(a.gradients[..., order], b.gradients, rtol=0, atol=1e-14)
    parity_a = bispectrum.feature_parity(np.unique(atoms.numbers))[order]
    np.testing.assert_array_equal(parity_a, correlations.feature_parity(np.unique(atoms.numbers)))


def test_density_correlations_nu1_nu2_match_radial_and_power_spectrum():
    atoms = random_environment(10, 7, species=(1, 6))
    common = dict(cutoff=4.0, n_radial=3, density_width=0.4)
    nu1 = DensityCorrelations(correlation_order=1, max_angular=2, **common).compute(
        atoms, centers=[0, 1]
    )
    radial = RadialSpectrum(**common).compute(atoms, centers=[0, 1])
    # the radial spline tables are built per max_angular (RadialSpectrum uses 0): agreement is
    # to the spline accuracy, not round-off
    np.testing.assert_allclose(nu1.values, radial.values, rtol=1e-9)

    nu2 = DensityCorrelations(correlation_order=2, max_angular=2, **common).compute(
        atoms, centers=[0, 1]
    )
    power = PowerSpectrum(max_angular=2, **common).compute(atoms, centers=[0, 1])
    assert nu2.n_features == power.n_features
    # same information: the power spectrum is w / sqrt(2l+1) times our unnormalised sum
    index = {}
    for k, name in enumerate(power.feature_names):
        a, n, b, m, l = re.fullmatch(r"a(\d+)_n(\d+)_b(\d+)_n(\d+)_l(\d+)", name).groups()
        index[(a, n, b, m, l)] = k
    for k, name in enumerate(nu2.feature_names):
        (a, n, l), (b, m, _) = re.findall(r"\(a(\d+),n(\d+),l(\d+)\)", name)
        weight = (1.0 if (a, n) == (b, m) else np.sqrt(2.0)) / np.sqrt(2 * int(l) + 1)
        np.testing.assert_allclose(
            power.values[:, index[(a, n, b, m, l)]], weight * nu2.values[:, k], rtol=1e-12
        )


# ------------------------------------------------------------------------------------------------
# hyperparameters (clone, JSON and bad values: tests/test_descriptor_contract.py)
# ------------------------------------------------------------------------------------------------


def test_parity_and_body_order_follow_the_hyperparameters():
    assert Bispectrum().parity == "O(3)"
    assert Bispectrum(include_pseudoscalar=True).parity == "SO(3)"
    assert Bispectrum().body_order == 4
    assert DensityCorrelations(correlation_order=4).body_order == 5


# ------------------------------------------------------------------------------------------------
# resolving power on the catalog constructions (built inline from docs/science.md)
# ------------------------------------------------------------------------------------------------


def prl_fig1b_pair(scale=0.45):
    """Pozdnyakov et al., PRL 125, 166001 (2020), Fig. 1(b); all species equal."""
    common = [(5, 0, 5), (5, 5, 5), (-5, -5, 5)]
    plus = [(0, 0, 0), *common, (0, 5, 5)]
    minus = [(0, 0, 0), *common, (0, -5, 5)]
    return tuple(
        ase.Atoms(numbers=[6] * 5, positions=scale * np.array(p, dtype=float))
        for p in (plus, minus)
    )


def test_bispectrum_resolves_the_prl_pair_power_spectrum_does_not():
    plus, minus = prl_fig1b_pair()
    hypers = dict(cutoff=5.0, n_radial=4, max_angular=4, density_width=0.5)
    power = PowerSpectrum(**hypers)
    bispectrum = Bispectrum(**hypers)
    p = power.compute([plus, minus], centers=[0]).values
    b = bispectrum.compute([plus, minus], centers=[0]).values
    assert relative_difference(p[0], p[1]) < 1e-13
    assert relative_difference(b[0], b[1]) > 1e-5
    nu2 = (
        DensityCorrelations(correlation_order=2, **hypers)
        .compute([plus, minus], centers=[0])
        .values
    )
    assert relative_difference(nu2[0], nu2[1]) < 1e-13


def b8_pair(seed=12345):
    """One B8-style pair (docs/science.md §2.5; Nigam et al., APL Mach. Learn. 2, 016110 (2024)).

    Two rings of three atoms at heights +-z1 (the second rotated by psi), one apex atom at
    +z2 (plus) or -z2 (minus); sampled until the rejection rules hold. Every atom is carbon.
    """
    rng = np.random.default_rng(seed)
    while True:
        r, z1 = rng.uniform(0.5, 2.0, size=2)
        z2 = rng.uniform(1.5, 1.8)
        psi = rng.uniform(0, np.pi)
        p1, p2 = rng.uniform(np.pi / 6, np.pi, size=2)
        phi = np.array([0.0, p1, p1 + p2])
        ring1 = np.stack([r * np.cos(phi), r * np.sin(phi), np.full(3, z1)], axis=1)
        ring2 = np.stack([r * np.cos(phi + psi), r * np.sin(phi + psi), np.full(3, -z1)], axis=1)
        members = []
        for sign in (1, -1):
            neighbours = np.vstack([ring1, ring2, [[0.0, 0.0, sign * z2]]])
            members.append(np.vstack([np.zeros(3), neighbours]))
        distances_ok = True
        for positions in members:
            centre = np.linalg.norm(positions[1:], axis=1)
            if not np.all((centre > 1.5) & (centre < 1.8)):
                distances_ok = False
            pairwise = np.linalg.norm(positions[1:, None] - positions[None, 1:], axis=2)
            if np.min(pairwise[np.triu_indices(7, 1)]) <= 1.2:
                distances_ok = False
        if distances_ok:
            return tuple(ase.Atoms(numbers=[6] * 8, positions=p) for p in members)


B8_HYPERS = dict(cutoff=4.0, n_radial=4, max_angular=4, density_width=0.3)


def test_b8_pair_bispectrum_degenerate_even_and_odd():
    plus, minus = b8_pair()
    values = Bispectrum(**B8_HYPERS, include_pseudoscalar=True).compute([plus, minus], centers=[0])
    parity = Bispectrum(**B8_HYPERS, include_pseudoscalar=True).feature_parity([6])
    even, odd = values.values[:, parity == 1], values.values[:, parity == -1]
    assert relative_difference(even[0], even[1]) < 1e-12
    assert relative_difference(odd[0], odd[1]) < 1e-10
    assert np.linalg.norm(odd[0]) > 1e-3 * np.linalg.norm(even[0])  # chiral: odd terms alive


def test_b8_pair_resolved_by_nu4():
    plus, minus = b8_pair()
    descriptor = DensityCorrelations(correlation_order=4, **B8_HYPERS, include_pseudoscalar=True)
    values = descriptor.compute([plus, minus], centers=[0]).values
    parity = descriptor.feature_parity([6])
    even, odd = values[:, parity == 1], values[:, parity == -1]
    assert relative_difference(even[0], even[1]) > 1e-5
    assert relative_difference(odd[0], odd[1]) > 1e-3


def test_b8_pair_resolved_by_nu4_small_basis():
    plus, minus = b8_pair()
    descriptor = DensityCorrelations(
        correlation_order=4,
        cutoff=4.0,
        n_radial=3,
        max_angular=3,
        density_width=0.3,
        include_pseudoscalar=True,
    )
    values = descriptor.compute([plus, minus], centers=[0]).values
    parity = descriptor.feature_parity([6])
    assert relative_difference(values[0, parity == 1], values[1, parity == 1]) > 1e-6
    assert relative_difference(values[0], values[1]) > 1e-4


def test_enantiomers_even_equal_pseudoscalars_differ():
    atoms = random_environment(21, 5, species=(6, 1, 8))
    image = atoms.copy()
    image.positions[:, 0] *= -1  # mirror x -> -x
    descriptor = Bispectrum(**SMALL, include_pseudoscalar=True)
    values = descriptor.compute([atoms, image], centers=[0]).values
    parity = descriptor.feature_parity(np.unique(atoms.numbers))
    even, odd = values[:, parity == 1], values[:, parity == -1]
    assert relative_difference(even[0], even[1]) < 1e-13
    assert relative_difference(odd[0], odd[1]) > 0.5  # they flip sign: distance 2 x norm


def test_centre_without_neighbours_gives_zeros():
    lonely = ase.Atoms(numbers=[6, 6], positions=[[0, 0, 0], [0, 0, 9.0]])
    crowded = random_environment(2, 4, species=(6,))
    for descriptor in [
        Bispectrum(**SMALL, include_pseudoscalar=True),
        DensityCorrelations(correlation_order=4, **SMALL, include_pseudoscalar=True),
    ]:
        for systems in ([lonely], [lonely, crowded]):
            features = descriptor.compute(systems, centers=[0], gradients=True)
            assert np.all(features.values[0] == 0.0)
            assert np.all(features.gradients[0] == 0.0)
        assert np.any(features.values[1] != 0.0)

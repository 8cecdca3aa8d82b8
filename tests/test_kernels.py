"""Compiled kernels (numba, the ``fast`` extra) against their numpy fallback."""

from __future__ import annotations

import ase
import numpy as np
import pytest
from ase.build import bulk

from completeness.descriptors import PowerSpectrum, _kernels
from completeness.testing import assert_gradients

pytest.importorskip("numba", reason="the compiled kernels need the 'fast' extra (numba)")


@pytest.fixture
def every_batch_compiled(monkeypatch):
    """Send every batch, however small, to the compiled kernels."""
    monkeypatch.setattr(_kernels, "COMPILED_MIN_ENTRIES", 0)
    monkeypatch.delenv(_kernels.KERNELS_VARIABLE, raising=False)


def mixed_systems(seed=0):
    """Clusters of three species (one without neighbours of one species) and a periodic cell."""
    rng = np.random.default_rng(seed)
    systems = []
    for n_atoms in (2, 5, 9, 9):
        positions = rng.uniform(-2.5, 2.5, size=(n_atoms, 3))
        systems.append(ase.Atoms(numbers=rng.choice([1, 6, 8], n_atoms), positions=positions))
    systems.append(ase.Atoms("H", positions=[[0, 0, 0]]))  # a sample without pairs
    cell = bulk("Si", "diamond", a=5.43) * (2, 1, 1)
    cell.numbers[[0, 3]] = 6
    cell.rattle(0.05, seed=seed)
    systems.append(cell)
    return systems


@pytest.mark.parametrize("species", [None, [1, 6, 8, 14, 26]])  # 26: an empty channel
def test_power_spectrum_gradients_match_numpy(every_batch_compiled, monkeypatch, species):
    descriptor = PowerSpectrum(cutoff=3.5, n_radial=4, max_angular=3, species=species)
    systems = mixed_systems()
    assert _kernels.use_compiled(1, 1)
    compiled = descriptor.compute(systems, gradients=True)
    monkeypatch.setenv(_kernels.KERNELS_VARIABLE, "numpy")
    assert not _kernels.use_compiled(10**9, 10**3)
    reference = descriptor.compute(systems, gradients=True)
    np.testing.assert_array_equal(compiled.values, reference.values)
    scale = np.abs(reference.pair_gradients).max()
    assert np.abs(compiled.pair_gradients - reference.pair_gradients).max() <= 1e-14 * scale
    assert np.abs(compiled.centre_gradients - reference.centre_gradients).max() <= 1e-14 * scale


@pytest.mark.parametrize("n_radial", [5, 8, 11])  # fewer, as many and more channels than lanes
def test_one_species_power_spectrum_gradients_match_numpy(
    every_batch_compiled, monkeypatch, n_radial
):
    """One species: every row of the output is written, eight entries at a time."""
    systems = mixed_systems(3)
    for atoms in systems:
        atoms.numbers[:] = 6
    descriptor = PowerSpectrum(cutoff=3.5, n_radial=n_radial, max_angular=4)
    compiled = descriptor.compute(systems, gradients=True)
    monkeypatch.setenv(_kernels.KERNELS_VARIABLE, "numpy")
    reference = descriptor.compute(systems, gradients=True)
    scale = np.abs(reference.pair_gradients).max()
    assert np.abs(compiled.pair_gradients - reference.pair_gradients).max() <= 1e-14 * scale
    assert np.abs(compiled.centre_gradients - reference.centre_gradients).max() <= 1e-14 * scale


@pytest.mark.parametrize("max_angular", [0, 2])
def test_power_spectrum_centre_gradients_sum_the_pair_gradients(every_batch_compiled, max_angular):
    """The kernel subtracts each pair's rows from its centre: minus the sum per sample."""
    descriptor = PowerSpectrum(
        cutoff=3.5, n_radial=3, max_angular=max_angular, species=[1, 6, 8, 14]
    )
    features = descriptor.compute(mixed_systems(2), gradients=True)
    expected = np.zeros_like(features.centre_gradients)
    np.add.at(expected, features.pair_sample, -features.pair_gradients)
    scale = np.abs(expected).max()
    assert scale > 0
    assert np.abs(features.centre_gradients - expected).max() <= 1e-14 * scale


def test_compiled_power_spectrum_gradients_match_finite_differences(every_batch_compiled):
    atoms = mixed_systems(1)[3]
    assert_gradients(PowerSpectrum(cutoff=4.0, n_radial=3, max_angular=3), atoms, rtol=1e-6)


def test_small_batches_stay_on_numpy(monkeypatch):
    monkeypatch.delenv(_kernels.KERNELS_VARIABLE, raising=False)
    assert not _kernels.use_compiled(_kernels.COMPILED_MIN_ENTRIES // 256 - 1, 256)
    assert _kernels.use_compiled(_kernels.COMPILED_MIN_ENTRIES // 256, 256)


def test_repeated_small_calls_use_compiled_kernels(monkeypatch):
    """A run of n small calls weighs the one-time load against all of them, and only inside
    the block."""
    monkeypatch.delenv(_kernels.KERNELS_VARIABLE, raising=False)
    small = _kernels.COMPILED_MIN_ENTRIES // 1024
    assert not _kernels.use_compiled(small, 1)
    with _kernels.repeated_calls(1023):
        assert not _kernels.use_compiled(small, 1)
    with _kernels.repeated_calls(1024):
        assert _kernels.use_compiled(small, 1)
    assert not _kernels.use_compiled(small, 1)


def test_manifold_following_of_many_steps_goes_compiled(monkeypatch):
    """The same path to round-off whether the long run goes to compiled code or to numpy."""
    from completeness.analysis.sensitivity import follow_insensitive_mode

    calls = []
    compiled_gradients = _kernels.power_spectrum_pair_gradients
    monkeypatch.setattr(
        "completeness.descriptors.spectra.power_spectrum_pair_gradients",
        lambda *args: calls.append(1) or compiled_gradients(*args),
    )
    rng = np.random.default_rng(3)
    ch4 = ase.Atoms("CH4", positions=np.vstack([[0, 0, 0], rng.normal(size=(4, 3))]))
    descriptor = PowerSpectrum(cutoff=3.0, n_radial=4, max_angular=4, density_width=0.4)
    monkeypatch.setattr(_kernels, "COMPILED_MIN_ENTRIES", 4 * 50 * 60)  # 4 pairs x 50 features
    n_steps = 60
    assert not _kernels.use_compiled(4, 50)
    path = follow_insensitive_mode(descriptor, ch4, 0, n_steps=n_steps, n_random=1)
    assert len(calls) == n_steps
    monkeypatch.setenv(_kernels.KERNELS_VARIABLE, "numpy")
    reference = follow_insensitive_mode(descriptor, ch4, 0, n_steps=n_steps, n_random=1)
    assert len(calls) == n_steps
    np.testing.assert_allclose(path.vectors, reference.vectors, rtol=0, atol=1e-10)


@pytest.mark.parametrize("derivatives", [False, True])
def test_radial_with_cutoff_matches_numpy(derivatives):
    from completeness.descriptors.radial_basis import radial_spline, shifted_cosine_cutoff

    spline = radial_spline("gto", 4.0, 5, 3, 0.4)
    # inside, in the switching region, on grid nodes, at and beyond the cutoff
    distances = np.concatenate(
        [np.random.default_rng(0).uniform(0.0, 4.5, 200), [0.0, spline.spacing * 7, 4.0, 4.2]]
    )
    fc, dfc = shifted_cosine_cutoff(distances, 4.0, 0.7)
    radial, dradial = _kernels.radial_with_cutoff(spline, distances, fc, dfc, derivatives)
    values, slopes = spline(distances, derivatives=derivatives)
    reference = values * fc[:, None, None]
    scale = np.abs(reference).max()
    assert np.abs(radial - reference).max() <= 1e-14 * scale
    assert np.all(radial[distances >= 4.0] == 0)
    if derivatives:
        reference = slopes * fc[:, None, None] + values * dfc[:, None, None]
        assert np.abs(dradial - reference).max() <= 1e-14 * np.abs(reference).max()
    else:
        assert dradial is None

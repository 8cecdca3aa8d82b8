"""Layout of Features gradients: sparse pair/centre rows, COO accessor, lazy dense view."""

import ase
import numpy as np
import pytest
from ase.build import bulk

from completeness.descriptors import Bispectrum, Features, PowerSpectrum
from completeness.environments import InputError
from completeness.testing import assert_gradients


def power():
    return PowerSpectrum(cutoff=3.5, n_radial=3, max_angular=2, density_width=0.4)


def dense_by_loop(features) -> np.ndarray:
    """The dense layout rebuilt pair by pair with plain Python additions (a different algorithm).

    Neighbour ``j`` of a pair gets ``+d/dr_ij``, the centre ``-d/dr_ij``, every image adds.
    """
    n_samples, n_features = features.values.shape
    out = np.zeros((n_samples, int(features.n_atoms.max()), 3, n_features))
    for p, (sample, atom) in enumerate(
        zip(features.pair_sample, features.pair_neighbour, strict=True)
    ):
        out[sample, atom] += features.pair_gradients[p]
        out[sample, features.samples[sample, 1]] -= features.pair_gradients[p]
    return out


def small_periodic_cell():
    """Two-atom diamond primitive cell, compressed (a = 4.2 Å) so that within the 3.5 Å cutoff
    every centre sees several images of the other atom (at 1.82 Å and 3.48 Å) and 12 images of
    itself (at a / sqrt 2 = 2.97 Å)."""
    atoms = bulk("Si", "diamond", a=4.2)
    atoms.rattle(0.05, seed=3)
    return atoms


def test_periodic_images_repeat_and_dense_matches_loop():
    atoms = small_periodic_cell()
    features = power().compute(atoms, gradients=True)
    # the situation under test really occurs: repeated neighbours and images of the centre
    keys = features.pair_sample * len(atoms) + features.pair_neighbour
    assert np.unique(keys).size < keys.size
    assert np.any(features.pair_neighbour == features.samples[features.pair_sample, 1])
    np.testing.assert_allclose(features.gradients, dense_by_loop(features), rtol=1e-13, atol=1e-16)
    # translation invariance: the derivatives of one sample over every atom sum to zero
    scale = np.abs(features.gradients).max()
    assert np.abs(features.gradients.sum(axis=1)).max() < 1e-13 * scale


def test_periodic_gradients_against_finite_differences():
    assert_gradients(power(), small_periodic_cell(), rtol=1e-6)


def test_batch_of_different_sizes():
    rng = np.random.default_rng(7)
    systems = []
    for n in (3, 6, 4):
        positions = rng.uniform(-1.6, 1.6, size=(n, 3))
        systems.append(ase.Atoms(numbers=rng.choice([1, 6], size=n), positions=positions))
    features = power().compute(systems, gradients=True)
    assert features.gradients.shape == (13, 6, 3, features.n_features)
    np.testing.assert_allclose(features.gradients, dense_by_loop(features), rtol=1e-13, atol=1e-16)
    row = 0
    for atoms in systems:  # each system alone: the same rows, zeros beyond its own atoms
        alone = power().compute(atoms, gradients=True)
        block = features.gradients[row : row + len(atoms)]
        np.testing.assert_allclose(block[:, : len(atoms)], alone.gradients, rtol=1e-13, atol=1e-16)
        assert np.all(block[:, len(atoms) :] == 0)
        row += len(atoms)


@pytest.mark.parametrize("merge", [False, True])
def test_coo_rows_sum_to_dense(merge):
    atoms = small_periodic_cell()
    for descriptor in (power(), Bispectrum(cutoff=3.5, n_radial=2, max_angular=2)):
        features = descriptor.compute(atoms, gradients=True)
        rows, values = features.position_gradients(merge=merge)
        assert rows.shape == (features.n_samples + len(features.pair_sample), 2) or merge
        assert values.shape == (len(rows), 3, features.n_features)
        summed = np.zeros_like(features.gradients)
        np.add.at(summed, (rows[:, 0], rows[:, 1]), values)
        np.testing.assert_allclose(summed, features.gradients, rtol=1e-13, atol=1e-16)
        if merge:  # one row per (sample, atom), sorted
            keys = rows[:, 0] * len(atoms) + rows[:, 1]
            assert np.all(np.diff(keys) > 0)
        else:  # sample by sample: the centre's own row first
            assert np.all(np.diff(rows[:, 0]) >= 0)
            first = np.searchsorted(rows[:, 0], np.arange(features.n_samples))
            np.testing.assert_array_equal(rows[first, 1], features.samples[:, 1])
            np.testing.assert_array_equal(values[first], features.centre_gradients)


def test_centre_rows_are_minus_the_pair_sums():
    features = power().compute(small_periodic_cell(), gradients=True)
    expected = np.zeros_like(features.centre_gradients)
    for p, sample in enumerate(features.pair_sample):
        expected[sample] -= features.pair_gradients[p]
    np.testing.assert_allclose(features.centre_gradients, expected, rtol=1e-13, atol=1e-16)


def test_dense_is_lazy_and_cached():
    features = power().compute(small_periodic_cell(), gradients=True)
    assert "gradients" not in features.__dict__
    first = features.gradients
    assert features.gradients is first


def test_without_gradients_everything_is_none():
    features = power().compute(small_periodic_cell())
    assert features.gradients is None
    assert features.position_gradients() is None
    for name in ("pair_gradients", "pair_sample", "pair_neighbour", "centre_gradients"):
        assert getattr(features, name) is None


def test_dense_input_is_kept_and_listed_sparse():
    dense = np.zeros((2, 3, 3, 4))
    dense[0, 1, 2, 3] = 1.5
    dense[1, 0, 0, 0] = -2.0
    features = Features(np.ones((2, 4)), dense, np.array([[0, 0], [0, 1]]), ("a", "b", "c", "d"))
    assert features.gradients is dense
    rows, values = features.position_gradients()
    np.testing.assert_array_equal(rows, [[0, 1], [1, 0]])
    assert values[0, 2, 3] == 1.5 and values[1, 0, 0] == -2.0


def test_inconsistent_sparse_input_raises():
    values = np.ones((1, 2))
    with pytest.raises(InputError, match="all of pair_gradients"):
        Features(values, samples=np.zeros((1, 2), int), pair_gradients=np.zeros((1, 3, 2)))
    with pytest.raises(InputError, match="inconsistent sparse gradients"):
        Features(
            values,
            samples=np.zeros((1, 2), int),
            pair_gradients=np.zeros((2, 3, 2)),
            pair_sample=np.zeros(2, int),
            pair_neighbour=np.ones(2, int),
            centre_gradients=np.zeros((1, 3, 3)),
            n_atoms=np.array([2]),
        )
    with pytest.raises(InputError, match="give one of them"):
        Features(
            values,
            np.zeros((1, 2, 3, 2)),
            np.zeros((1, 2), int),
            pair_gradients=np.zeros((2, 3, 2)),
            pair_sample=np.zeros(2, int),
            pair_neighbour=np.ones(2, int),
            centre_gradients=np.zeros((1, 3, 2)),
            n_atoms=np.array([2]),
        )


def test_large_cell_keeps_memory_sparse():
    """A 64-atom periodic cell, every atom a centre: the sparse form is far below the dense."""
    atoms = bulk("Si", "diamond", a=5.43, cubic=True).repeat(2)
    features = power().compute(atoms, gradients=True)
    sparse_bytes = features.pair_gradients.nbytes + features.centre_gradients.nbytes
    dense_bytes = 8 * features.n_samples * len(atoms) * 3 * features.n_features
    assert sparse_bytes < dense_bytes / 3
    assert "gradients" not in features.__dict__


def test_bispectrum_periodic_two_species_gradients():
    """Every l-set window of max_angular 4 (gaps such as {1, 3, 4}), two species, images."""
    atoms = small_periodic_cell()
    atoms.numbers = [14, 6]
    descriptor = Bispectrum(cutoff=3.5, n_radial=2, max_angular=4, density_width=0.5)
    assert_gradients(descriptor, atoms, rtol=1e-6)

import ase
import numpy as np
import pytest
from ase.build import bulk

from completeness.environments import (
    Environment,
    InputError,
    build_neighbourhoods,
    environment,
)


def cluster(n=6, seed=0):
    rng = np.random.default_rng(seed)
    positions = np.vstack([[0.0, 0.0, 0.0], rng.uniform(-2, 2, size=(n, 3))])
    return ase.Atoms(numbers=[6] + [1] * n, positions=positions)


def test_finite_cluster_without_cutoff_has_every_other_atom():
    atoms = cluster()
    env = environment(atoms, centre=0)
    assert env.n_neighbours == len(atoms) - 1
    np.testing.assert_allclose(env.vectors, atoms.positions[1:] - atoms.positions[0])
    assert env.centre_species == 6
    assert list(env.species) == [1] * 6


def test_cutoff_selects_neighbours_and_empty_environment_is_valid():
    atoms = ase.Atoms("H3", positions=[[0, 0, 0], [1, 0, 0], [0, 4, 0]])
    assert environment(atoms, 0, cutoff=2.0).n_neighbours == 1
    assert environment(atoms, 2, cutoff=2.0).n_neighbours == 0
    lone = ase.Atoms("H", positions=[[0, 0, 0]])
    nb = build_neighbourhoods([lone, atoms], cutoff=2.0)
    assert nb.n_samples == 4 and nb.n_pairs == 2
    assert list(nb.pair_offsets) == [0, 0, 1, 2, 2]


def test_periodic_cell_counts_images():
    si = bulk("Si", "diamond", a=5.43, cubic=True)
    env = environment(si, 0, cutoff=2.5)
    assert env.n_neighbours == 4
    np.testing.assert_allclose(env.distances, np.sqrt(3) / 4 * 5.43)
    # a tiny cell: the same atom appears through several images
    prim = bulk("Si", "diamond", a=5.43)
    env = environment(prim, 0, cutoff=4.0)
    assert env.n_neighbours == 16  # 4 first + 12 second neighbours, only 2 atoms in the cell
    assert set(env.neighbour_index.tolist()) == {0, 1}


def test_batch_matches_single_environments():
    systems = [cluster(5, seed) for seed in range(3)]
    nb = build_neighbourhoods(systems, cutoff=3.0, centers=[[0, 2], None, [1]])
    assert nb.samples.tolist()[:2] == [[0, 0], [0, 2]]
    for s, (system, centre) in enumerate(nb.samples):
        single = environment(systems[system], centre, cutoff=3.0)
        batch = nb.environment(s)
        order_a = np.lexsort(single.vectors.T)
        order_b = np.lexsort(batch.vectors.T)
        np.testing.assert_allclose(single.vectors[order_a], batch.vectors[order_b])


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: ase.Atoms("H2", positions=[[0, 0, 0], [np.nan, 0, 0]]), "non-finite"),
        (lambda: ase.Atoms("H2", positions=[[0, 0, 0], [np.inf, 0, 0]]), "non-finite"),
        (lambda: ase.Atoms("H2", positions=[[0, 0, 0], [0, 0, 1e-9]]), "coincide"),
        (lambda: ase.Atoms(), "no atoms"),
    ],
)
def test_bad_atoms_fail_early_with_one_line(make, message):
    with pytest.raises(InputError, match=message) as info:
        build_neighbourhoods(make(), cutoff=3.0)
    assert "\n" not in str(info.value)


def test_bad_centre_cutoff_and_types():
    atoms = cluster()
    with pytest.raises(InputError, match="out of range"):
        environment(atoms, centre=7)
    with pytest.raises(InputError, match="positive"):
        build_neighbourhoods(atoms, cutoff=-1.0)
    with pytest.raises(InputError, match=r"ase\.Atoms"):
        build_neighbourhoods("file.xyz", cutoff=3.0)
    with pytest.raises(InputError, match="needs a cutoff"):
        environment(bulk("Si"), 0)
    with pytest.raises(InputError, match=r"shape \(n_neighbours, 3\)"):
        Environment.from_vectors(np.zeros((3, 2)))
    with pytest.raises(InputError, match="one atomic number per neighbour"):
        Environment.from_vectors(np.ones((3, 3)) * [1, 2, 3], species=[1, 1])


def test_from_vectors_round_trip():
    vectors = np.array([[1.0, 0, 0], [0, 2.0, 0]])
    env = Environment.from_vectors(vectors, species=[1, 8], centre_species=6)
    back = environment(env.to_atoms(), 0)
    np.testing.assert_allclose(back.vectors, vectors)
    assert back.species.tolist() == [1, 8] and back.centre_species == 6

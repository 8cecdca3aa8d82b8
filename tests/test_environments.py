import ase
import numpy as np
import pytest
from ase.build import bulk

from completeness.environments import (
    Environment,
    InputError,
    atomic_number,
    build_neighbourhoods,
    environment,
    estimate_pairs,
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


def test_a_one_atom_periodic_cell_sees_its_images():
    """fcc copper's primitive cell: 12 nearest neighbours at a / sqrt(2), all images of the one
    atom, in a batch with a lone finite atom (no neighbours) and the conventional cubic cell."""
    primitive = bulk("Cu", "fcc", a=3.6)
    lone = ase.Atoms("Cu", positions=[[0, 0, 0]])
    cubic = bulk("Cu", "fcc", a=3.6, cubic=True)
    nb = build_neighbourhoods([primitive, lone, cubic], cutoff=3.0)
    assert list(np.diff(nb.pair_offsets)) == [12, 0, 12, 12, 12, 12]
    np.testing.assert_allclose(nb.pair_distances, 3.6 / np.sqrt(2))
    assert set(nb.pair_neighbour[:12].tolist()) == {0}
    assert environment(primitive, 0, cutoff=3.0).n_neighbours == 12


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


@pytest.mark.parametrize("number", [0, 200, -1])
def test_atomic_numbers_outside_the_periodic_table_are_refused(number):
    atoms = ase.Atoms(numbers=[6, number], positions=[[0, 0, 0], [1, 0, 0]])
    with pytest.raises(InputError, match=rf"atomic number {number} .*outside 1\.\.118"):
        build_neighbourhoods(atoms, cutoff=3.0)
    with pytest.raises(InputError, match=r"out of range 1\.\.118"):
        atomic_number(number)


def test_atomic_number_helper_reads_symbols_and_names_unknown_ones():
    assert atomic_number("C") == 6 and atomic_number(np.int64(8)) == 8
    with pytest.raises(InputError, match="unknown chemical symbol 'Xx'"):
        atomic_number("Xx")
    with pytest.raises(InputError, match="unknown chemical symbol 'X'"):
        atomic_number("X")  # ase's placeholder for atomic number 0
    with pytest.raises(InputError, match="unknown chemical symbol"):
        Environment.from_vectors([[1.0, 0, 0]], species=["Xx"])
    assert Environment.from_vectors([[1.0, 0, 0]], species=["O"]).species.tolist() == [8]


@pytest.mark.parametrize(
    "cell, pbc",
    [
        (np.eye(3) * 0.01, True),  # a 0.01 Å cubic cell
        (np.diag([10.0, 10.0, 1e-5]), True),  # one 1e-5 Å lattice vector
        (np.diag([1e-5, 0.0, 0.0]), [True, False, False]),  # a 1-d chain with a 1e-5 Å period
    ],
)
def test_tiny_periodic_cells_are_refused_before_allocating(cell, pbc):
    rng = np.random.default_rng(0)
    atoms = ase.Atoms("H20", positions=rng.uniform(0, 1e-6, (20, 3)), cell=cell, pbc=pbc)
    with pytest.raises(InputError, match=r"neighbour pairs .*limit .*--max-pairs") as info:
        build_neighbourhoods(atoms, cutoff=5.0)
    assert "\n" not in str(info.value)
    with pytest.raises(InputError, match="neighbour pairs"):
        environment(atoms, 0, cutoff=5.0)


def test_pair_limit_can_be_raised_and_ordinary_crystals_pass(monkeypatch):
    si = bulk("Si", "diamond", a=5.43)  # 2 atoms, 16 neighbours within 4 Å
    assert 16 <= estimate_pairs(si, 4.0) <= 64  # within a factor two of the 32 pairs
    with pytest.raises(InputError, match="neighbour pairs"):
        build_neighbourhoods(si, cutoff=4.0, max_pairs=10)
    assert build_neighbourhoods(si, cutoff=4.0, max_pairs=100).n_pairs == 32
    monkeypatch.setenv("COMPLETENESS_MAX_PAIRS", "10")
    with pytest.raises(InputError, match="limit 10"):
        build_neighbourhoods(si, cutoff=4.0)
    monkeypatch.setenv("COMPLETENESS_MAX_PAIRS", "lots")
    with pytest.raises(InputError, match="COMPLETENESS_MAX_PAIRS must be a positive integer"):
        build_neighbourhoods(si, cutoff=4.0)


@pytest.mark.parametrize("cutoff", [1e-9, 1e-6, 1e-4])
def test_tiny_cutoffs_are_refused_before_the_neighbour_list(cutoff):
    with pytest.raises(InputError, match=r"shorter than 0\.001 Å"):
        environment(bulk("Si"), 0, cutoff=cutoff)
    with pytest.raises(InputError, match=r"shorter than 0\.001 Å"):
        build_neighbourhoods(cluster(80), cutoff=cutoff)


def _pair_sets(neighbourhoods):
    """Every sample's pairs, sorted by neighbour and vector (the order within a sample is free)."""
    rows = []
    for s in range(neighbourhoods.n_samples):
        pairs = slice(neighbourhoods.pair_offsets[s], neighbourhoods.pair_offsets[s + 1])
        vectors = neighbourhoods.pair_vectors[pairs]
        order = np.lexsort((*vectors.T[::-1], neighbourhoods.pair_neighbour[pairs]))
        rows.append(
            (
                neighbourhoods.pair_neighbour[pairs][order],
                neighbourhoods.pair_species[pairs][order],
                vectors[order],
                neighbourhoods.pair_distances[pairs][order],
            )
        )
    return rows


def test_small_periodic_systems_by_broadcasting_equal_vesin_bit_for_bit(monkeypatch):
    from completeness.environments import images

    rng = np.random.default_rng(3)

    def crystal(n, side):  # skewed cells, atoms also outside the cell
        cell = np.eye(3) * side + rng.normal(0, 0.3, (3, 3))
        positions = rng.uniform(-1.0, side + 1.0, (n, 3))
        return ase.Atoms(numbers=rng.choice([1, 6], n), positions=positions, cell=cell, pbc=True)

    systems = [crystal(4, 4.0), crystal(4, 4.0), crystal(3, 1.7), cluster(4), crystal(4, 4.0)]
    for centers in (None, [0, 2]):
        broadcast = build_neighbourhoods(systems, 4.5, centers)
        monkeypatch.setattr(images, "PERIODIC_BRUTE_FORCE_ENTRIES", 0)  # vesin for every one
        listed = build_neighbourhoods(systems, 4.5, centers)
        monkeypatch.undo()
        for name in ("samples", "centre_species", "pair_offsets"):
            np.testing.assert_array_equal(getattr(broadcast, name), getattr(listed, name))
        assert broadcast.n_pairs > 100
        for ours, theirs in zip(_pair_sets(broadcast), _pair_sets(listed), strict=True):
            for a, b in zip(ours, theirs, strict=True):
                np.testing.assert_array_equal(a, b)


def test_periodic_image_shifts_reach_every_neighbour():
    from completeness.environments import images

    # a 1 Å cubic cell seen to 2.5 Å: |S_k| <= floor(2.5 + spread), here spread 0
    positions = np.zeros((1, 1, 3))
    extents = images.image_extents(positions, np.eye(3)[None], 2.5)
    assert extents.tolist() == [[2, 2, 2]]
    atoms = ase.Atoms("H2", positions=[[0, 0, 0], [0.5, 0.5, 0.5]], cell=np.eye(3), pbc=True)
    # every lattice point and every body centre within 2.5 Å of the origin
    grid = np.stack(np.meshgrid(*[np.arange(-3, 4)] * 3, indexing="ij"), -1).reshape(-1, 3)
    expected = sum(
        int(np.count_nonzero((0 < d) & (d < 2.5)))
        for d in (np.linalg.norm(grid, axis=1), np.linalg.norm(grid + 0.5, axis=1))
    )
    assert build_neighbourhoods(atoms, 2.5, [0]).n_pairs == expected

"""Random-weight message-passing networks: invariance, locality in hops, families, the table."""

from __future__ import annotations

import json
from pathlib import Path

import ase
import numpy as np
import pytest
from ase.build import bulk
from scipy.spatial.transform import Rotation

from completeness import structures
from completeness.analysis.distance import family_verdicts, verdict
from completeness.descriptors import DistanceMessagePassing, EquivariantMessagePassing
from completeness.environments import InputError, build_neighbourhoods
from completeness.testing import assert_gradients, finite_difference_gradients

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "analyses" / "networks" / "results"

NETWORKS = [
    DistanceMessagePassing(cutoff=4.0, n_layers=3, width=8, n_radial=8, seeds=[0, 1]),
    EquivariantMessagePassing(cutoff=4.0, n_layers=2, width=4, n_radial=6, seeds=[0, 1]),
]
IDS = ["distance", "equivariant"]


def _cluster(rng, n=8, species=(1, 6, 8), box=2.5):
    while True:
        positions = rng.uniform(-box, box, size=(n, 3))
        gaps = np.linalg.norm(positions[:, None] - positions[None], axis=-1)
        if gaps[np.triu_indices(n, 1)].min() > 0.8:
            return ase.Atoms(numbers=rng.choice(species, size=n), positions=positions)


@pytest.mark.parametrize("network", NETWORKS, ids=IDS)
def test_selected_centres_equal_the_rows_of_the_full_computation(network):
    # the pruned graph (only edges that reach the read-out) gives the full graph's numbers
    rng = np.random.default_rng(1)
    silicon = bulk("Si", "diamond", a=5.43)
    silicon.rattle(0.05, seed=2)
    systems = [_cluster(rng, n=6), _cluster(rng, n=9), silicon]
    full = network.compute(systems).values
    offsets = np.concatenate([[0], np.cumsum([len(s) for s in systems])])
    chosen = [[0, 3], [8], [1]]
    part = network.compute(systems, centers=chosen)
    rows = [offsets[k] + c for k, cs in enumerate(chosen) for c in cs]
    np.testing.assert_allclose(part.values, full[rows], rtol=1e-13, atol=1e-13)
    assert part.samples.tolist() == [[0, 0], [0, 3], [1, 8], [2, 1]]


@pytest.mark.parametrize("cls", [DistanceMessagePassing, EquivariantMessagePassing])
def test_output_depends_on_atoms_exactly_n_layers_hops_away(cls):
    # chain along x, bonds ~3 A, cutoff 4 A: atom 3 is three hops from atom 0 (by hand); moving
    # it changes its distance to atom 2 (3.04 -> 3.16 A) and no other distance below the cutoff
    def chain(end_y):
        positions = [[0, 0, 0], [3, 0, 0], [6, 0.5, 0], [9, end_y, 0]]
        return ase.Atoms("CCCC", positions=positions)

    for n_layers in (1, 2, 3, 4):
        network = cls(cutoff=4.0, n_layers=n_layers, seeds=[0])
        a = network.compute(chain(0.0), centers=[0]).values
        b = network.compute(chain(1.5), centers=[0]).values
        changed = np.linalg.norm(a - b) / np.linalg.norm(a)
        if n_layers < 3:
            assert changed == 0.0
        else:
            assert changed > 1e-8


def test_finite_difference_derivatives_are_smooth_and_translation_free():
    network = NETWORKS[0]
    atoms = _cluster(np.random.default_rng(4), n=6)
    coarse = finite_difference_gradients(network, atoms, [0, 2], step=1e-4)
    fine = finite_difference_gradients(network, atoms, [0, 2], step=1e-5)
    scale = np.linalg.norm(fine)
    assert scale > 1e-3
    # central differences converge as step^2: 1e-4 and 1e-5 agree to ~1e-8 relative
    assert np.linalg.norm(coarse - fine) / scale < 1e-6
    # moving every atom together changes nothing: the derivatives sum to zero over atoms
    assert np.linalg.norm(fine.sum(axis=1)) / scale < 1e-6


def test_equivariant_features_hold_the_read_out_and_rotate_with_the_structure():
    network = EquivariantMessagePassing(cutoff=4.0, n_layers=2, width=4, seeds=[3, 1])
    atoms = _cluster(np.random.default_rng(6), n=7)
    channels = network.equivariant_features(atoms, centre=2)
    assert [c.shape for c in channels] == [(4, 1), (4, 3), (4, 5)]
    # l = 0 is the read-out of the first seed (through the full compute path)
    read_out = network.compute(atoms, centers=[2]).values[0, :4]
    np.testing.assert_allclose(channels[0][:, 0], read_out, rtol=1e-13)
    # l = 1 turns as a vector (real harmonics in the order y, z, x); every l keeps its norms
    rotation = Rotation.random(random_state=7).as_matrix()
    turned = atoms.copy()
    turned.positions = atoms.positions @ rotation.T
    rotated = network.equivariant_features(turned, centre=2)
    xyz = [2, 0, 1]
    np.testing.assert_allclose(
        rotated[1][:, xyz], channels[1][:, xyz] @ rotation.T, rtol=1e-10, atol=1e-12
    )
    for before, after in zip(channels, rotated, strict=True):
        np.testing.assert_allclose(
            np.linalg.norm(after, axis=1), np.linalg.norm(before, axis=1), rtol=1e-10
        )
    assert np.linalg.norm(channels[1]) > 1e-3 and np.linalg.norm(channels[2]) > 1e-3


GRADIENT_NETWORKS = {
    "distance": lambda n_layers: DistanceMessagePassing(
        cutoff=4.0, n_layers=n_layers, width=8, seeds=[0, 1]
    ),
    "equivariant-nu3": lambda n_layers: EquivariantMessagePassing(
        cutoff=4.0, n_layers=n_layers, width=4, n_radial=6, seeds=[0, 1]
    ),
    "equivariant-nu1-l3": lambda n_layers: EquivariantMessagePassing(
        cutoff=4.0, n_layers=n_layers, width=3, max_angular=3, correlation_order=1, seeds=[2]
    ),
}


@pytest.mark.parametrize("kind", list(GRADIENT_NETWORKS))
@pytest.mark.parametrize("n_layers", [1, 2, 3])
def test_gradients_match_finite_differences(kind, n_layers):
    atoms = _cluster(np.random.default_rng(5), n=5)
    network = GRADIENT_NETWORKS[kind](n_layers)
    assert assert_gradients(network, atoms, centers=[2], rtol=1e-6) < 1e-6
    if n_layers == 2:  # every atom a centre once (slower)
        assert assert_gradients(network, atoms, rtol=1e-6) < 1e-6


@pytest.mark.parametrize("kind", ["distance", "equivariant-nu3"])
def test_gradients_periodic_and_batched(kind):
    silicon = bulk("Si", "diamond", a=5.43)
    silicon.rattle(0.05, seed=3)
    network = GRADIENT_NETWORKS[kind](2)
    assert_gradients(network, silicon, centers=[0, 1], rtol=1e-6)
    # several systems of different sizes: each sample's rows beyond its system are zero
    rng = np.random.default_rng(6)
    small, large = _cluster(rng, n=4), _cluster(rng, n=7)
    both = network.compute([small, large], centers=[[0], [0, 5]], gradients=True)
    alone = network.compute(large, centers=[0, 5], gradients=True)
    np.testing.assert_allclose(both.gradients[1:], alone.gradients, rtol=1e-12, atol=1e-14)
    assert not np.any(both.gradients[0, 4:])
    # values computed system by system (gradient mode) equal the batched values
    np.testing.assert_allclose(
        both.values, network.compute([small, large], centers=[[0], [0, 5]]).values, rtol=1e-13
    )


def test_no_neighbourhood_batches():
    atoms = _cluster(np.random.default_rng(5), n=4)
    for network in NETWORKS:
        with pytest.raises(InputError, match="whole systems"):
            network.compute_neighbourhoods(build_neighbourhoods(atoms, 4.0))


@pytest.mark.parametrize("cls", [DistanceMessagePassing, EquivariantMessagePassing])
def test_seed_family_is_the_concatenation_of_its_members(cls):
    atoms = _cluster(np.random.default_rng(6), n=5)
    family = cls(cutoff=4.0, n_layers=2, seeds=[3, 7]).compute(atoms).values
    first = cls(cutoff=4.0, n_layers=2, seeds=[3]).compute(atoms).values
    second = cls(cutoff=4.0, n_layers=2, seeds=7).compute(atoms).values
    np.testing.assert_array_equal(family, np.hstack([first, second]))
    assert np.linalg.norm(first - second) > 0.1 * np.linalg.norm(first)
    assert cls(seeds=[3, 7]).n_features(species=[1]) == family.shape[1]


def test_species_embedding_does_not_depend_on_the_other_species():
    atoms = _cluster(np.random.default_rng(7), n=5, species=(6,))
    free = DistanceMessagePassing(n_layers=2, seeds=[0]).compute(atoms).values
    fixed = DistanceMessagePassing(n_layers=2, seeds=[0], species=[1, 6, 8]).compute(atoms).values
    np.testing.assert_array_equal(free, fixed)
    with pytest.raises(InputError, match="species"):
        DistanceMessagePassing(species=[1]).compute(atoms)


def test_body_order_and_parity_declarations():
    assert DistanceMessagePassing(n_layers=1).body_order == 2
    assert DistanceMessagePassing(n_layers=2).body_order is None
    assert EquivariantMessagePassing(n_layers=1, correlation_order=3).body_order == 4
    assert EquivariantMessagePassing(n_layers=1, correlation_order=1).body_order == 2
    assert EquivariantMessagePassing(n_layers=3).body_order is None
    assert DistanceMessagePassing().parity == EquivariantMessagePassing().parity == "O(3)"


def test_one_layer_verdicts_follow_the_declared_body_order():
    # one distance layer: 2-body (the Joshi pair has equal distances, different angle)
    pair = structures.load("joshi2023-two-body")
    one = verdict(DistanceMessagePassing(n_layers=1, seeds=[0]), pair)
    assert (one.verdict, one.status) == ("degenerate", "as expected")
    # one MACE-like layer: 4-body; B8 coincides up to 4-body, PRL only up to 3-body
    net = EquivariantMessagePassing(n_layers=1, correlation_order=3, seeds=[0, 1])
    b8 = verdict(net, structures.load("nigam2024-b8-0000"))
    prl = verdict(net, structures.load("pozdnyakov2020-fig1b"))
    assert (b8.verdict, b8.status) == ("degenerate", "as expected")
    assert (prl.verdict, prl.status) == ("resolved", "as expected")
    # O(3) network: mirror images stay degenerate at any depth
    mirror = verdict(EquivariantMessagePassing(n_layers=3), structures.load("enantiomers-chbrclf"))
    assert mirror.verdict == "degenerate"


# ---- the generated table ------------------------------------------------------------------------


def _stored():
    return json.loads((RESULTS / "layers.json").read_text())


def test_docs_contain_the_generated_tables():
    docs = (ROOT / "docs" / "networks.md").read_text()
    assert (RESULTS / "table.md").read_text() in docs
    assert (RESULTS / "cards.md").read_text() in docs


def test_stored_kchain_layers_match_a_recomputation_and_the_literature():
    table = _stored()
    config = table["config"]
    spec = config["architectures"]["equivariant nu=3 (MACE-like)"]
    rows = table["architectures"]["equivariant nu=3 (MACE-like)"]
    stored = {(r["pair"], r["n_layers"]): r for r in rows}
    for k in (2, 3, 4):
        pair = structures.load(f"dojo-kchain-{k}")
        hops = pair.claim.equivariant_hops
        assert hops == k // 2 + 1  # Joshi et al.'s value, as stored in the catalog
        for n_layers, expected in ((hops - 1, "degenerate"), (hops, "resolved")):
            network = EquivariantMessagePassing(**spec["hypers"], n_layers=n_layers)
            (family,) = family_verdicts(network, [pair], rescale=False)
            assert family.verdict == expected
            row = stored[(pair.name, n_layers)]
            assert row["verdict"] == family.verdict
            assert row["seed_verdicts"] == [m.verdict for m in family.members]


def test_stored_distance_network_is_blind_to_every_graph_pair():
    # the oracle's claim: geometric 1-WL never separates these clouds (wl_iteration None)
    table = _stored()
    rows = table["architectures"]["distance (SchNet-like)"]
    graph_pairs = table["config"]["graph_pairs"]
    for name in graph_pairs:
        assert structures.load(name).claim.wl_iteration is None
        assert all(r["verdict"] == "degenerate" for r in rows if r["pair"] == name)
    spec = table["config"]["architectures"]["distance (SchNet-like)"]
    network = DistanceMessagePassing(**spec["hypers"], n_layers=4)
    pairs = [structures.load(name) for name in ("gram-sign-flip", "dojo-kchain-3")]
    for family in family_verdicts(network, pairs, rescale=False):
        assert family.verdict == "degenerate"

"""Local MBTR (k = 2, 3): formulas, invariance, gradients, continuity, degeneracies."""

import itertools

import ase
import numpy as np
import pytest
from descriptor_helpers import SPECIES, centre_distance, random_cluster, scaled_pair
from scipy.stats import norm

from completeness.descriptors import LocalMBTR, neighbour_sums
from completeness.descriptors.mbtr import _broadened
from completeness.testing import assert_gradients, relative_difference

EXPONENTIAL_ANGLE = dict(
    k2_geometry="inverse_distance",
    k2_grid=(0.1, 2.0, 30, 0.1),
    k2_weighting="exponential",
    k2_scale=0.5,
    k3_geometry="angle",
    k3_grid=(0.0, 180.0, 40, 6.0),
    k3_weighting="exponential",
    k3_scale=0.3,
)


def mbtr(cutoff=4.0, **kwargs):
    kwargs.setdefault("k2_grid", (0.0, 5.0, 40, 0.2))
    kwargs.setdefault("k3_grid", (-1.0, 1.0, 30, 0.1))
    return LocalMBTR(cutoff=cutoff, **kwargs)


def brute_force(atoms, d: LocalMBTR, species, centre=0):
    """The module's formulas with explicit loops, scipy's normal CDF and the law of cosines."""
    rc, y = d.cutoff, d.cutoff_sharpness
    f = lambda r: 1 + y * (r / rc) ** (y + 1) - (y + 1) * (r / rc) ** y if r < rc else 0.0  # noqa: E731

    def broadened(g, grid):
        low, high, n, width = grid
        dx = (high - low) / (n - 1)
        x = np.linspace(low, high, n)
        return (norm.cdf(x + dx / 2, g, width) - norm.cdf(x - dx / 2, g, width)) / dx

    pos = atoms.positions - atoms.positions[centre]
    others = [j for j in range(len(atoms)) if j != centre and np.linalg.norm(pos[j]) < rc]
    dist = lambda p, q: np.linalg.norm(p - q)  # noqa: E731
    z = {s: i for i, s in enumerate(species)}
    ns = len(species)
    k2 = np.zeros((ns, d.k2_grid[2]))
    for j in others:
        r = dist(pos[j], 0)
        w = f(r) * (np.exp(-d.k2_scale * r) if d.k2_weighting == "exponential" else 1.0)
        g = r if d.k2_geometry == "distance" else 1 / r
        k2[z[atoms.numbers[j]]] += w * broadened(g, d.k2_grid)
    centre_channels = {
        (a, b): m for m, (b, a) in enumerate((b, a) for b in range(ns) for a in range(b + 1))
    }
    k3 = np.zeros((ns * (ns + 1) // 2 + ns * ns, d.k3_grid[2]))

    def geometry(opposite, side1, side2):  # angle between side1 and side2
        cos = (side1**2 + side2**2 - opposite**2) / (2 * side1 * side2)
        cos = min(1.0, max(-1.0, cos))
        return cos if d.k3_geometry == "cosine" else np.degrees(np.arccos(cos))

    for j, k in itertools.permutations(others, 2):
        rij, rik, rjk = dist(pos[j], 0), dist(pos[k], 0), dist(pos[j], pos[k])
        w = f(rij) * f(rik)
        if d.k3_weighting == "exponential":
            w *= np.exp(-d.k3_scale * (rij + rik + rjk))
        zj, zk = z[atoms.numbers[j]], z[atoms.numbers[k]]
        # angle at the neighbour j: channel (X, Zj, Zk)
        k3[ns * (ns + 1) // 2 + zj * ns + zk] += w * broadened(geometry(rik, rij, rjk), d.k3_grid)
        if j < k:  # angle at the centre, once per unordered pair
            channel = centre_channels[(min(zj, zk), max(zj, zk))]
            k3[channel] += w * broadened(geometry(rjk, rij, rik), d.k3_grid)
    return np.concatenate([k2.ravel(), k3.ravel()])


@pytest.mark.parametrize("kwargs", [{}, EXPONENTIAL_ANGLE], ids=["cosine", "angle-exp"])
def test_values_match_explicit_loops(kwargs):
    atoms = random_cluster(3)
    d = mbtr(**kwargs)
    got = d.compute(atoms, centers=[0]).values[0]
    expected = brute_force(atoms, d, SPECIES)
    assert got.shape == expected.shape
    assert relative_difference(got, expected) < 1e-12


def test_k2_distribution_integrates_to_the_total_weight():
    # a grid wide enough to hold every Gaussian: sum(values) dx = sum of weights (exactly, since
    # each value is a bin average of the Gaussian)
    atoms = ase.Atoms("CHO", positions=[[0, 0, 0], [1.1, 0, 0], [0, 1.9, 0.3]])
    d = LocalMBTR(cutoff=3.0, k2_grid=(-2.0, 6.0, 81, 0.15), k3_geometry=None)
    values = d.compute(atoms, centers=[0]).values[0].reshape(3, 81)  # channels H, C, O
    f = lambda r: 1 + 2 * (r / 3) ** 3 - 3 * (r / 3) ** 2  # noqa: E731
    np.testing.assert_allclose(values.sum(axis=1) * 0.1, [f(1.1), 0.0, f(np.hypot(1.9, 0.3))])


def test_feature_layout_and_body_order():
    d = mbtr(species=[1, 8])
    names = d.feature_names()
    assert len(names) == 2 * 40 + (3 + 4) * 30
    assert names[0].startswith("k2[X,1]") and names[40].startswith("k2[X,8]")
    assert names[80].startswith("k3[1,X,1]") and names[80 + 30].startswith("k3[1,X,8]")
    assert names[80 + 90].startswith("k3[X,1,1]") and names[-1].startswith("k3[X,8,8]")
    assert d.body_order == 3 and mbtr(k3_geometry=None).body_order == 2
    assert d.parity == "O(3)"


@pytest.mark.parametrize("kwargs", [{}, EXPONENTIAL_ANGLE], ids=["cosine", "angle-exp"])
def test_gradients_match_finite_differences(kwargs):
    for seed in range(2):
        atoms = random_cluster(seed, n_neighbours=5)
        assert assert_gradients(mbtr(**kwargs), atoms, centers=[0, 2], rtol=1e-6) < 1e-6


@pytest.mark.parametrize("kwargs", [{}, EXPONENTIAL_ANGLE], ids=["cosine", "angle-exp"])
def test_continuous_when_an_atom_crosses_the_cutoff(kwargs):
    cutoff, eps = 4.0, 1e-6
    base = random_cluster(5, n_neighbours=4, radius=3.0)
    d = mbtr(cutoff, **kwargs)

    def with_extra(distance):
        atoms = base.copy()
        if distance is not None:
            atoms += ase.Atom("O", position=distance * np.array([0.6, 0.0, 0.8]))
        return d.compute(atoms, centers=[0]).values[0]

    without = with_extra(None)
    assert np.abs(with_extra(cutoff - eps) - without).max() < 1e-9
    np.testing.assert_array_equal(with_extra(cutoff + eps), without)
    assert np.abs(with_extra(cutoff - 0.5) - without).max() > 1e-3


def test_two_body_pair_separated_by_k3_but_not_by_k2():
    plus, minus = scaled_pair([[5, 0, 0], [3, 0, 4]], [[5, 0, 0], [-5, 0, 0]], 3.0)
    assert centre_distance(mbtr(k3_geometry=None), plus, minus) < 1e-15
    assert centre_distance(mbtr(), plus, minus) > 1e-3
    assert centre_distance(mbtr(**EXPONENTIAL_ANGLE), plus, minus) > 1e-5  # k3 weights are small


def test_prl_three_body_pair_is_not_separated():
    a, bp, bm = [5, 0, 5], [5, 5, 5], [-5, -5, 5]
    plus, minus = scaled_pair([a, bp, bm, [0, 5, 5]], [a, bp, bm, [0, -5, 5]], 3.0)
    assert not np.allclose(plus.positions, minus.positions)
    assert centre_distance(mbtr(), plus, minus) < 1e-14
    assert centre_distance(mbtr(**EXPONENTIAL_ANGLE), plus, minus) < 1e-14


def test_batches_split_into_chunks_match_one_system_at_a_time(monkeypatch):
    systems = [random_cluster(seed, n_neighbours=4 + seed) for seed in range(4)]
    d = mbtr(**EXPONENTIAL_ANGLE)
    single = [d.compute(s, centers=[0, 1], gradients=True) for s in systems]
    monkeypatch.setattr(neighbour_sums, "MAX_TRIPLETS_PER_CHUNK", 2)
    batch = d.compute(systems, centers=[0, 1], gradients=True)
    np.testing.assert_allclose(batch.values, np.concatenate([f.values for f in single]), rtol=1e-14)
    for k, (f, s) in enumerate(zip(single, systems, strict=True)):
        np.testing.assert_allclose(
            batch.gradients[2 * k : 2 * k + 2, : len(s)], f.gradients, rtol=1e-13, atol=1e-15
        )


def test_windowed_gaussians_equal_the_dense_evaluation_inside_and_outside_the_grid():
    grid = (-1.0, 1.0, 60, 0.03)
    g = np.linspace(-1.6, 1.6, 101)
    values, derivative = _broadened(g, grid, gradients=True)
    x = np.linspace(-1.0, 1.0, 60)
    dx = x[1] - x[0]
    hi, lo = x[None, :] + dx / 2 - g[:, None], x[None, :] - dx / 2 - g[:, None]
    np.testing.assert_allclose(
        values, (norm.cdf(hi, scale=0.03) - norm.cdf(lo, scale=0.03)) / dx, atol=1e-15
    )
    expected = -(norm.pdf(hi, scale=0.03) - norm.pdf(lo, scale=0.03)) / dx
    np.testing.assert_allclose(derivative, expected, atol=1e-12 * np.abs(expected).max())

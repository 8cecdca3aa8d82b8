"""Tests of completeness.analysis.discovery: separation, search, classification, family, output.

Expected values come from outside the code under test: scipy's own alignment (for the
separation), finite differences (for its gradient), counting by hand (the dimension of the set of
2-body-degenerate pairs: equal radii, ``6n - n - 6``), the PRL paper (7 free parameters of its
3-body family) and the basis-free oracle (for what the found pairs are).
"""

from __future__ import annotations

import itertools
import json

import ase.io
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from completeness import oracle, structures
from completeness.analysis.discovery import (
    discover,
    family_dimension,
    separation,
    species_permutations,
)
from completeness.analysis.discovery.separation import separation_and_gradient
from completeness.cli import main
from completeness.descriptors import PowerSpectrum, RadialSpectrum
from completeness.environments import InputError
from completeness.structures.catalog import CATALOG_FORMAT


def _random_vectors(rng, n, radius=2.0):
    v = rng.normal(size=(n, 3))
    return v / np.linalg.norm(v, axis=1)[:, None] * rng.uniform(0.6, 1.0, size=(n, 1)) * radius


def _brute_force_separation(a, b, species, reflections):
    """Min over permutations of scipy's optimal rotation (Rotation.align_vectors), and mirrors."""
    best = np.inf
    mirrors = [np.eye(3), np.diag([1.0, 1.0, -1.0])] if reflections else [np.eye(3)]
    for perm in itertools.permutations(range(len(a))):
        perm = list(perm)
        if not np.array_equal(np.asarray(species)[perm], species):
            continue
        for mirror in mirrors:
            mirrored = a @ mirror
            rotation, _ = Rotation.align_vectors(b[perm], mirrored)
            rmsd = np.sqrt(np.mean(np.sum((rotation.apply(mirrored) - b[perm]) ** 2, axis=1)))
            best = min(best, rmsd)
    return best


# ---- separation ------------------------------------------------------------------------------


@pytest.mark.parametrize("reflections", [True, False])
def test_separation_matches_brute_force_alignment(reflections):
    rng = np.random.default_rng(0)
    species = np.array([1, 1, 8, 1])
    for _ in range(5):
        a, b = _random_vectors(rng, 4), _random_vectors(rng, 4)
        expected = _brute_force_separation(a, b, species, reflections)
        got = separation(a, b, species, reflections=reflections)
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_separation_zero_for_rotated_permuted_copy_and_mirror_only_with_reflections():
    rng = np.random.default_rng(1)
    a = _random_vectors(rng, 5)
    rotation = Rotation.random(random_state=2).as_matrix()
    perm = rng.permutation(5)
    b = (a @ rotation.T)[perm]
    assert separation(a, b) < 1e-12
    mirror = a * np.array([1.0, 1.0, -1.0])  # a generic 5-point set is chiral
    assert separation(a, mirror, reflections=True) < 1e-12
    assert separation(a, mirror, reflections=False) > 1e-2


def test_separation_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    a, b = _random_vectors(rng, 4), _random_vectors(rng, 4)
    permutations = species_permutations([1, 1, 1, 1])
    for reflections in (True, False):
        _, grad_a, grad_b = separation_and_gradient(a, b, permutations, reflections)
        step = 1e-6
        for member, grad in ((0, grad_a), (1, grad_b)):
            numeric = np.zeros_like(grad)
            for j, x in itertools.product(range(4), range(3)):
                plus, minus = [a.copy(), b.copy()], [a.copy(), b.copy()]
                plus[member][j, x] += step
                minus[member][j, x] -= step
                numeric[j, x] = (
                    separation_and_gradient(*plus, permutations, reflections)[0]
                    - separation_and_gradient(*minus, permutations, reflections)[0]
                ) / (2 * step)
            np.testing.assert_allclose(grad, numeric, atol=1e-7)


def test_penalty_jacobian_matches_finite_differences():
    from completeness.analysis.discovery.search import Problem, search_settings

    descriptor = RadialSpectrum(cutoff=5.0, n_radial=4, density_width=0.5)
    settings = search_settings(descriptor, 3, min_separation=0.5, min_radial_spread=1.0)
    problem = Problem(descriptor, settings)
    rng = np.random.default_rng(7)
    # a point violating every constraint: radii out of the shell, neighbours close, one shell
    a = np.array([[1.0, 0.1, 0.0], [1.1, 0.4, 0.2], [0.0, 4.5, 0.3]])
    b = a @ Rotation.random(random_state=3).as_matrix().T + rng.normal(scale=0.05, size=(3, 3))
    x = np.concatenate([a.ravel(), b.ravel()])
    residual, jac = problem.penalty_residuals(x)
    assert np.count_nonzero(residual) >= 5
    numeric = np.zeros_like(jac)
    for k in range(x.size):
        step = np.zeros_like(x)
        step[k] = 1e-7
        numeric[:, k] = (
            problem.penalty_residuals(x + step)[0] - problem.penalty_residuals(x - step)[0]
        ) / 2e-7
    np.testing.assert_allclose(jac, numeric, atol=1e-5)
    _, jr = problem.feature_residuals(x)
    numeric = np.zeros_like(jr)
    for k in range(x.size):
        step = np.zeros_like(x)
        step[k] = 1e-6
        numeric[:, k] = (
            problem.feature_residuals(x + step)[0] - problem.feature_residuals(x - step)[0]
        ) / 2e-6
    np.testing.assert_allclose(jr, numeric, atol=1e-6)


def test_species_permutations_preserve_species_and_count():
    species = [1, 8, 1, 8, 1]
    perms = species_permutations(species)
    assert len(perms) == 3 * 2 * 1 * 2 * 1  # 3! * 2!
    assert len({tuple(p) for p in perms}) == len(perms)
    for p in perms:
        assert np.array_equal(np.asarray(species)[p], species)


# ---- family dimension ------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 3])
def test_family_dimension_of_prl_family_is_seven(seed):
    # Pozdnyakov et al. PRL 125, 166001 (2020): 7 free parameters (modulo rotations)
    pair = structures.load("prl-family", seed=seed).scaled(3.5)
    descriptor = PowerSpectrum(cutoff=5.0, n_radial=8, max_angular=6, density_width=0.5)
    family = family_dimension(descriptor, pair.plus, pair.minus)
    assert family.dimension == 7
    assert family.n_rotations == 6
    assert family.gap > 8  # a clean split between zero and non-zero singular values


def test_family_dimension_of_equal_bond_prl_family_is_four():
    # the CH4-like version of the PRL family: 4 free angles at a given bond length
    pair = structures.load("prl-equal-bond", seed=1).scaled(3.5)
    descriptor = PowerSpectrum(cutoff=5.0, n_radial=8, max_angular=6, density_width=0.3)
    assert family_dimension(descriptor, pair.plus, pair.minus, equal_radii=True).dimension == 4
    with pytest.raises(InputError, match="one distance"):
        family_dimension(descriptor, *structures.load("prl-family").members, equal_radii=True)


def test_family_dimension_of_two_body_pairs_counts_equal_radii():
    # 2-body degeneracy = equal radii: 6n coordinates - n radius equations - 6 rotations
    rng = np.random.default_rng(4)
    n = 4
    a = _random_vectors(rng, n, radius=3.0)
    directions = rng.normal(size=(n, 3))
    b = (
        directions
        / np.linalg.norm(directions, axis=1)[:, None]
        * np.linalg.norm(a, axis=1)[:, None]
    )
    descriptor = RadialSpectrum(cutoff=5.0, n_radial=6, density_width=0.5)
    family = family_dimension(descriptor, a, b)
    assert family.dimension == 6 * n - n - 6
    assert family.member_dimension == 3 * n - 3  # every environment has such partners


# ---- search ----------------------------------------------------------------------------------


def _check_found(result, descriptor):
    for found in result.pairs:
        plus, minus = found.pair.plus, found.pair.minus
        # agreement to the noise floor (within the audit's one decade), not merely "small"
        assert found.candidate.distance <= 10 * found.candidate.floor
        assert found.candidate.floor < 1e-13
        order = oracle.degeneracy_order(plus, minus)
        assert not order.congruence.congruent
        assert found.order.o3 == order.o3
        assert found.kind == ("body-order" if order.o3 >= descriptor.body_order else "basis")
        structures.verify(found.pair)
        radii = np.linalg.norm(plus.positions[1:], axis=1)
        assert radii.min() >= result.settings.inner_radius
        assert radii.max() <= result.settings.outer_radius


def test_discover_radial_spectrum_finds_equal_radius_pairs():
    descriptor = RadialSpectrum(cutoff=5.0, n_radial=6, density_width=0.5)
    result = discover(descriptor, 3, restarts=2, seed=0)
    assert len(result.pairs) == 2
    _check_found(result, descriptor)
    for found in result.pairs:
        ra = np.sort(np.linalg.norm(found.pair.plus.positions[1:], axis=1))
        rb = np.sort(np.linalg.norm(found.pair.minus.positions[1:], axis=1))
        np.testing.assert_allclose(ra, rb, atol=1e-6)  # the 2-body signature, by hand
        assert found.kind == "body-order"
        assert found.family.dimension == 6 * 3 - 3 - 6


def _assert_same_candidates(first, second):
    for x, y in zip(first.candidates, second.candidates, strict=True):
        np.testing.assert_array_equal(x.plus, y.plus)
        np.testing.assert_array_equal(x.minus, y.minus)


def test_discover_is_reproducible():
    descriptor = RadialSpectrum(cutoff=5.0, n_radial=4, density_width=0.5)
    first = discover(descriptor, 3, restarts=2, seed=5)
    _assert_same_candidates(first, discover(descriptor, 3, restarts=2, seed=5))
    other = discover(descriptor, 3, restarts=2, seed=6)
    assert not np.array_equal(first.candidates[0].plus, other.candidates[0].plus)


@pytest.mark.slow
def test_discover_is_backend_independent():
    descriptor = RadialSpectrum(cutoff=5.0, n_radial=4, density_width=0.5)
    first = discover(descriptor, 3, restarts=2, seed=5)
    second = discover(descriptor, 3, restarts=2, seed=5, backend="processes", n_workers=2)
    _assert_same_candidates(first, second)


def test_discover_small_power_spectrum_finds_a_three_body_pair():
    descriptor = PowerSpectrum(cutoff=5.0, n_radial=4, max_angular=3, density_width=0.5)
    result = discover(descriptor, 4, restarts=1, seed=2, max_iterations=200)
    _check_found(result, descriptor)
    body = [found for found in result.pairs if found.kind == "body-order"]
    assert body, [c.status for c in result.candidates]
    for found in body:
        assert found.order.o3 == 3  # equal 3-body, different 4-body
        assert found.family.dimension >= 1  # part of a continuous family, not isolated


def test_discover_with_a_plain_callable_uses_finite_differences():
    centres = np.linspace(1.0, 3.0, 6)

    def radial_histogram(positions, numbers):
        r = np.linalg.norm(positions[1:] - positions[0], axis=1)
        return np.exp(-((r[:, None] - centres[None]) ** 2) / 0.5).sum(axis=0)

    result = discover(radial_histogram, 3, restarts=1, seed=0, inner_radius=1.0, outer_radius=3.0)
    assert result.pairs
    found = result.pairs[0]
    assert found.family.method == "finite-difference"
    ra = np.sort(np.linalg.norm(found.pair.plus.positions[1:], axis=1))
    rb = np.sort(np.linalg.norm(found.pair.minus.positions[1:], axis=1))
    np.testing.assert_allclose(ra, rb, atol=1e-5)


def test_write_produces_the_catalog_format(tmp_path):
    descriptor = RadialSpectrum(cutoff=5.0, n_radial=6, density_width=0.5)
    result = discover(descriptor, 3, restarts=1, seed=0)
    result.write(tmp_path)
    index = json.loads((tmp_path / "index.json").read_text())
    assert index["format"] == CATALOG_FORMAT
    entry = index["pairs"][0]
    plus, minus = ase.io.read(tmp_path / entry["file"], index=":")
    assert plus.info["member"] == "+" and minus.info["member"] == "-"
    assert plus.info["claim_equal_up_to_o3"] == entry["claim"]["equal_up_to_o3"]
    order = oracle.degeneracy_order(plus, minus)
    assert order.o3 == entry["claim"]["equal_up_to_o3"]
    assert (tmp_path / "README.md").exists()
    assert json.loads((tmp_path / "discovery.json").read_text())["restarts"] == 1


def test_duplicates_are_merged_up_to_congruence():
    from completeness.analysis.discovery import same_pair

    pair = structures.load("prl-family", seed=1)
    rotation = Rotation.random(random_state=0).as_matrix()
    turned = [atoms.copy() for atoms in (pair.minus, pair.plus)]  # swapped and rotated
    for atoms in turned:
        atoms.positions = atoms.positions @ rotation.T
    assert same_pair((pair.plus, pair.minus), tuple(turned), reflections=False)
    other = structures.load("prl-family", seed=2)
    assert not same_pair((pair.plus, pair.minus), (other.plus, other.minus), reflections=True)


# ---- input errors and CLI --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_neighbours": 1}, "at least 2"),
        ({"n_neighbours": 3, "species": ["H", "O"]}, "one per neighbour"),
        ({"n_neighbours": 9}, "permutations"),
        ({"n_neighbours": 3, "restarts": 0}, "restarts"),
        ({"n_neighbours": 3, "species": "Xx"}, "unknown chemical symbol"),
    ],
)
def test_bad_input_fails_early(kwargs, message):
    descriptor = RadialSpectrum(cutoff=5.0)
    with pytest.raises(InputError, match=message):
        discover(descriptor, **kwargs)


def test_cli_discover(tmp_path, capsys):
    out = tmp_path / "found"
    code = main(
        [
            "discover",
            "--descriptor",
            "radial-spectrum",
            "--neighbours",
            "3",
            "--restarts",
            "1",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "1 distinct pairs" in text and "family dimension 9" in text
    assert (out / "index.json").exists()


@pytest.mark.slow
def test_power_spectrum_rediscovers_prl_dimension_family():
    descriptor = PowerSpectrum(cutoff=5.0, n_radial=6, max_angular=4, density_width=0.5)
    result = discover(descriptor, 4, restarts=8, seed=0, backend="processes", n_workers=2)
    _check_found(result, descriptor)
    dimensions = [f.family.dimension for f in result.pairs if f.kind == "body-order"]
    assert 7 in dimensions

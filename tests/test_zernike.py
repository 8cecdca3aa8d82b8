"""AMP's Zernike descriptor: radial polynomials, brute-force values, invariance, gradients."""

from __future__ import annotations

import ase
import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import eval_legendre

from completeness import structures
from completeness.analysis.distance import verdict
from completeness.descriptors import ZernikeDescriptor
from completeness.descriptors.zernike import zernike_radial
from completeness.testing import assert_gradients


def _random_cluster(rng, n=7, species=(1, 6, 8), box=2.2):
    while True:
        positions = rng.uniform(-box, box, size=(n, 3))
        gaps = np.linalg.norm(positions[:, None] - positions[None], axis=-1)
        if gaps[np.triu_indices(n, 1)].min() > 0.7:
            return ase.Atoms(numbers=rng.choice(species, size=n), positions=positions)


# hand-derived shapes: R_nl is x^l times a polynomial in x^2 orthogonal (weight x^2) to lower ones
@pytest.mark.parametrize(
    ("n", "l", "shape"),
    [
        (0, 0, lambda x: np.ones_like(x)),
        (1, 1, lambda x: x),
        (2, 0, lambda x: 5 * x**2 - 3),  # int (a x^2 + b) x^2 = a/5 + b/3 = 0
        (3, 1, lambda x: 7 * x**3 - 5 * x),  # int (a x^3 + b x) x^3 = a/7 + b/5 = 0
        (2, 2, lambda x: x**2),
    ],
)
def test_radial_polynomials_have_the_hand_derived_shape(n, l, shape):
    x = np.linspace(0.05, 1.0, 9)
    ratio = zernike_radial(n, l, x) / shape(x)
    assert np.ptp(ratio) < 1e-12 * np.abs(ratio).max()
    # normalised on the unit ball (numerical quadrature, not the code's exact integral)
    norm, _ = quad(lambda t: zernike_radial(n, l, t) ** 2 * t**2, 0, 1)
    assert norm == pytest.approx(1.0, abs=1e-12)


def test_radial_polynomials_equal_amps_explicit_sum():
    # AMP's calculate_R: sqrt(2n+3) sum_s (-1)^s C(k, s) C(n - s + 1/2, k) x^(n - 2s), k = (n-l)/2
    from scipy.special import binom

    x = np.linspace(0.05, 1.0, 7)
    for n in range(8):
        for l in range(n % 2, n + 1, 2):
            k = (n - l) // 2
            terms = [
                (-1) ** s * binom(k, s) * binom(n - s + 0.5, k) * x ** (n - 2 * s)
                for s in range(k + 1)
            ]
            np.testing.assert_allclose(
                zernike_radial(n, l, x), np.sqrt(2 * n + 3) * np.sum(terms, axis=0), rtol=1e-11
            )


def test_radial_polynomials_are_orthogonal_and_derivatives_match():
    for l in range(4):
        for n in range(l, 9, 2):
            for m in range(n + 2, 9, 2):
                value, _ = quad(
                    lambda t, n=n, m=m, l=l: (
                        zernike_radial(n, l, t) * zernike_radial(m, l, t) * t**2
                    ),
                    0,
                    1,
                )
                assert abs(value) < 1e-12
            x = np.linspace(0.1, 0.9, 5)
            _, derivative = zernike_radial(n, l, x, derivative=True)
            h = 1e-6
            numeric = (zernike_radial(n, l, x + h) - zernike_radial(n, l, x - h)) / (2 * h)
            np.testing.assert_allclose(derivative, numeric, rtol=1e-6, atol=1e-6)


def test_values_match_the_addition_theorem_brute_force():
    # p_nl = sum_m c_nlm^2 = sum_{j,k} g_j g_k (2l+1)/(4 pi) P_l(cos theta_jk): no harmonics used
    rng = np.random.default_rng(3)
    atoms = _random_cluster(rng, n=6, species=(1,))
    cutoff, max_order = 4.5, 5
    features = ZernikeDescriptor(cutoff=cutoff, max_order=max_order).compute(atoms, centers=[0])
    vectors = atoms.positions[1:] - atoms.positions[0]
    r = np.linalg.norm(vectors, axis=1)
    inside = r < cutoff
    vectors, r = vectors[inside], r[inside]
    cosines = (vectors @ vectors.T) / np.outer(r, r)
    fc = 0.5 * (1 + np.cos(np.pi * r / cutoff))
    expected = []
    for n in range(max_order + 1):
        for l in range(n % 2, n + 1, 2):
            g = fc * zernike_radial(n, l, r / cutoff)
            expected.append(g @ ((2 * l + 1) / (4 * np.pi) * eval_legendre(l, cosines)) @ g)
    np.testing.assert_allclose(features.values[0], expected, rtol=1e-11, atol=1e-14)


def test_feature_count_and_names():
    # orders with n <= 6: 1 + 1 + 2 + 2 + 3 + 3 + 4 = 16 (n, l) per pair of species
    descriptor = ZernikeDescriptor(cutoff=5.0, max_order=6, species=[1, 6, 8])
    assert descriptor.n_features() == 16 * 6
    assert descriptor.feature_names()[0] == "a1_b1_n0_l0"


def test_periodic_gradients():
    from ase.build import bulk

    silicon = bulk("Si", "diamond", a=5.43)
    silicon.rattle(0.05, seed=1)
    assert_gradients(ZernikeDescriptor(cutoff=4.0, max_order=4), silicon, rtol=1e-6)


def test_verdicts_are_those_of_a_three_body_descriptor():
    descriptor = ZernikeDescriptor(cutoff=5.0, max_order=6)
    assert descriptor.body_order == 3 and descriptor.parity == "O(3)"
    prl = verdict(descriptor, structures.load("pozdnyakov2020-fig1b"))
    assert prl.verdict == "degenerate" and prl.status == "as expected"
    two_body = verdict(descriptor, structures.load("joshi2023-two-body"))
    assert two_body.verdict == "resolved" and two_body.status == "as expected"

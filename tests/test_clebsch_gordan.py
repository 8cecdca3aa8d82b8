"""Conventions of the real Clebsch-Gordan coupling, pinned by independent identities."""

import numpy as np
import pytest
import scipy.special
import sphericart
from scipy.spatial.transform import Rotation
from sympy import S
from sympy.physics.wigner import clebsch_gordan as sympy_cg

from completeness.descriptors.clebsch_gordan import (
    complex_to_real_matrix,
    couple,
    real_clebsch_gordan,
)

MAX_L = 4


def _triples(max_l=MAX_L):
    for l1 in range(max_l + 1):
        for l2 in range(max_l + 1):
            for l3 in range(abs(l1 - l2), min(l1 + l2, max_l) + 1):
                yield l1, l2, l3


def _real_harmonics(points, max_l=MAX_L):
    sh = sphericart.SphericalHarmonics(max_l)
    values = sh.compute(np.ascontiguousarray(points))
    return [values[:, l * l : (l + 1) ** 2] for l in range(max_l + 1)]


def _real_wigner_d(rotation, max_l=MAX_L, seed=0):
    """Real Wigner D by least squares: Y_l(R r) = D_l Y_l(r) on many random points.

    Built from sphericart alone, independently of wigners and of the complex->real map.
    """
    points = np.random.default_rng(seed).normal(size=(300, 3))
    before = _real_harmonics(points, max_l)
    after = _real_harmonics(points @ rotation.T, max_l)
    return [np.linalg.lstsq(b, a, rcond=None)[0].T for b, a in zip(before, after, strict=True)]


def test_complex_to_real_map_matches_sphericart_and_scipy():
    rng = np.random.default_rng(1)
    points = rng.normal(size=(50, 3))
    r = np.linalg.norm(points, axis=1)
    theta = np.arccos(points[:, 2] / r)
    phi = np.arctan2(points[:, 1], points[:, 0])
    real = _real_harmonics(points)
    for l in range(MAX_L + 1):
        ms = np.arange(-l, l + 1)
        complex_y = scipy.special.sph_harm_y(l, ms[None, :], theta[:, None], phi[:, None])
        mapped = complex_y @ complex_to_real_matrix(l).T
        assert np.abs(mapped.imag).max() < 1e-13
        np.testing.assert_allclose(mapped.real, real[l], atol=1e-13)


@pytest.mark.parametrize("l", range(MAX_L + 1))
def test_complex_to_real_map_is_unitary(l):
    u = complex_to_real_matrix(l)
    np.testing.assert_allclose(u @ u.conj().T, np.eye(2 * l + 1), atol=1e-15)


def test_orthogonality_relations():
    for l1, l2, l3 in _triples():
        c = real_clebsch_gordan(l1, l2, l3).reshape(-1, 2 * l3 + 1)
        np.testing.assert_allclose(c.T @ c, np.eye(2 * l3 + 1), atol=1e-14)
    # completeness: sum over every l3 of the (m1 m2) projectors is the identity
    for l1 in range(3):
        for l2 in range(3):
            blocks = [
                real_clebsch_gordan(l1, l2, l3).reshape(-1, 2 * l3 + 1)
                for l3 in range(abs(l1 - l2), l1 + l2 + 1)
            ]
            full = np.concatenate(blocks, axis=1)
            assert full.shape[0] == full.shape[1]
            np.testing.assert_allclose(full @ full.T, np.eye(full.shape[0]), atol=1e-14)


def test_tensors_are_real_for_both_parities_and_nonzero():
    for l1, l2, l3 in _triples():
        c = real_clebsch_gordan(l1, l2, l3)
        assert c.dtype == np.float64
        assert np.linalg.norm(c) == pytest.approx(np.sqrt(2 * l3 + 1), rel=1e-13)


@pytest.mark.parametrize("seed", [3, 4])
def test_rotation_identity(seed):
    rng = np.random.default_rng(seed)
    rotation = Rotation.random(random_state=rng).as_matrix()
    d = _real_wigner_d(rotation)
    for l in range(MAX_L + 1):  # the least-squares D must be an exact orthogonal representation
        np.testing.assert_allclose(d[l] @ d[l].T, np.eye(2 * l + 1), atol=1e-12)
    for l1, l2, l3 in _triples():
        a = rng.normal(size=(5, 2 * l1 + 1))
        b = rng.normal(size=(5, 2 * l2 + 1))
        lhs = couple(a @ d[l1].T, b @ d[l2].T, l3)
        rhs = couple(a, b, l3) @ d[l3].T
        np.testing.assert_allclose(lhs, rhs, atol=1e-12)


def test_gaunt_relation_same_point():
    rng = np.random.default_rng(5)
    points = rng.normal(size=(20, 3))
    y = _real_harmonics(points)
    for l1, l2, l3 in _triples():
        coupled = couple(y[l1], y[l2], l3)
        if (l1 + l2 + l3) % 2:
            np.testing.assert_allclose(coupled, 0.0, atol=1e-14)
            continue
        # closed form (Gaunt), coefficient from sympy's exact Clebsch-Gordan
        cg0 = float(sympy_cg(S(l1), S(l2), S(l3), 0, 0, 0))
        factor = np.sqrt((2 * l1 + 1) * (2 * l2 + 1) / (4 * np.pi * (2 * l3 + 1))) * cg0
        assert factor != 0.0
        np.testing.assert_allclose(coupled, factor * y[l3], atol=1e-13)


def test_odd_coupling_of_two_vectors_is_the_cross_product():
    rng = np.random.default_rng(6)
    v, w = rng.normal(size=(2, 3))
    to_real = [1, 2, 0]  # sphericart's l = 1 order is (y, z, x)
    coupled = couple(v[to_real], w[to_real], 1)
    np.testing.assert_allclose(coupled, np.cross(v, w)[to_real] / np.sqrt(2), atol=1e-15)
    # and the even l = 0 coupling is the scalar product / sqrt(3) with a sign (-1)
    scalar = couple(v[to_real], w[to_real], 0)
    np.testing.assert_allclose(scalar, [-np.dot(v, w) / np.sqrt(3)], atol=1e-15)


def test_triangle_violation_raises():
    with pytest.raises(ValueError, match="violates"):
        real_clebsch_gordan(1, 1, 3)

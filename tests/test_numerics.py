"""completeness.numerics: Kabsch alignment and central differences against known answers."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from completeness.numerics import central_differences, kabsch, rotation_from_covariance


def test_kabsch_recovers_a_rotation_and_a_reflection():
    rng = np.random.default_rng(0)
    p = rng.normal(size=(7, 3))
    rotation = Rotation.random(random_state=1).as_matrix()
    np.testing.assert_allclose(kabsch(p, p @ rotation.T), rotation, atol=1e-12)
    mirror = rotation @ np.diag([1.0, 1.0, -1.0])
    np.testing.assert_allclose(kabsch(p, p @ mirror.T, determinant=-1), mirror, atol=1e-12)
    np.testing.assert_allclose(kabsch(p, p @ mirror.T, determinant=None), mirror, atol=1e-12)
    # only rotations allowed: the best proper rotation, never the mirror itself
    proper = kabsch(p, p @ mirror.T, determinant=1)
    assert np.linalg.det(proper) > 0.999


def test_kabsch_is_orthogonal_for_degenerate_point_sets():
    for p in (np.zeros((0, 3)), np.zeros((3, 3)), np.array([[1.0, 0, 0], [2.0, 0, 0]])):
        for determinant in (1, -1):
            r = kabsch(p, p, determinant)
            np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)
            assert np.isclose(np.linalg.det(r), determinant)
    r = rotation_from_covariance(np.zeros((3, 3)))
    np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)


def test_central_differences_of_a_known_function():
    x = np.array([[0.3, -1.2, 2.0], [0.5, 0.1, -0.7]])

    def f(batch):  # (m, 2, 3) -> (m, 2): sum of cubes and a product, per batch member
        return np.stack([np.sum(batch**3, axis=(1, 2)), batch[:, 0, 0] * batch[:, 1, 2]], axis=1)

    value, derivatives = central_differences(f, x, step=1e-5, with_value=True)
    np.testing.assert_allclose(value, [np.sum(x**3), x[0, 0] * x[1, 2]])
    expected = np.zeros((2, 3, 2))
    expected[..., 0] = 3 * x**2
    expected[0, 0, 1], expected[1, 2, 1] = x[1, 2], x[0, 0]
    np.testing.assert_allclose(derivatives, expected, atol=1e-8)
    np.testing.assert_allclose(central_differences(f, x, step=1e-5), expected, atol=1e-8)

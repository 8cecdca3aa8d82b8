"""sphericart through completeness.descriptors.harmonics: same numbers, thread count restored."""

import numpy as np
import pytest

from completeness.descriptors import harmonics


@pytest.mark.parametrize("n_points", [7, harmonics.THREADED_POINTS + 5])
def test_values_and_gradients_are_sphericart_s(n_points):
    import sphericart

    # the package calls sphericart's C API itself (the wheels ship the library)
    assert isinstance(harmonics._calculator(4), harmonics._DirectHarmonics)
    vectors = np.random.default_rng(0).normal(size=(n_points, 3))
    direct = sphericart.SphericalHarmonics(4)
    np.testing.assert_array_equal(
        harmonics.spherical_harmonics(vectors, 4), direct.compute(vectors)
    )
    y, dy = harmonics.spherical_harmonics(vectors[::-1].T.T, 4, gradients=True)  # not contiguous
    expected_y, expected_dy = direct.compute_with_gradients(np.ascontiguousarray(vectors[::-1]))
    np.testing.assert_array_equal(y, expected_y)
    np.testing.assert_array_equal(dy, expected_dy)
    with pytest.raises(ValueError, match=r"shape \(n, 3\)"):
        harmonics.spherical_harmonics(vectors[:, :2], 4)


def test_no_points_give_empty_arrays():
    y, dy = harmonics.spherical_harmonics(np.zeros((0, 3)), 3, gradients=True)
    assert y.shape == (0, 16) and dy.shape == (0, 3, 16)
    assert harmonics.spherical_harmonics(np.zeros((0, 3)), 2).shape == (0, 9)


@pytest.mark.parametrize(
    ("n_points", "policy", "expected"),
    [
        (5, "2", 1),
        (harmonics.THREADED_POINTS, "2", 2),
        (harmonics.THREADED_POINTS, "default", 1),
        (harmonics.THREADED_POINTS, "1", 1),
    ],
)
def test_threads_only_for_large_inputs_when_the_policy_asks_and_the_counts_are_restored(
    n_points, policy, expected, monkeypatch
):
    runtimes = harmonics._openmp_runtimes()
    if not runtimes:
        pytest.skip("this sphericart build has no OpenMP runtime")
    seen = []
    calculator = harmonics._calculator(2)

    class Recording:
        def compute(self, vectors):
            seen.append([get() for get, _ in runtimes])
            return calculator.compute(vectors)

    monkeypatch.setattr(harmonics, "_calculator", lambda max_angular: Recording())
    monkeypatch.setenv("COMPLETENESS_THREADS", policy)
    before = [get() for get, _ in runtimes]
    for _, set_ in runtimes:
        set_(2)
    try:
        harmonics.spherical_harmonics(np.ones((n_points, 3)), 2)
        assert [get() for get, _ in runtimes] == [2] * len(runtimes)
    finally:
        for (_, set_), count in zip(runtimes, before, strict=True):
            set_(count)
    assert seen == [[expected] * len(runtimes)]

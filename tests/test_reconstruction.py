"""GFRE / GFRD / LFRE on synthetic cases with known answers, then on real descriptors."""

import numpy as np
import pytest

from completeness.analysis.reconstruction import (
    TruncatedRidgeCV,
    degenerate_gfre_floor,
    gfrd,
    gfre,
    kernel_reconstruction_error,
    lfre,
    pointwise_gfre,
    reconstruction_table,
    split_half,
    standardise,
)
from completeness.environments import InputError


def _gaussian(n, d, seed):
    return np.random.default_rng(seed).normal(size=(n, d))


def test_linear_target_is_reconstructed_exactly():
    X = _gaussian(300, 8, 0)
    A = np.random.default_rng(1).normal(size=(8, 5))
    assert gfre(X, X @ A + 3.0) < 1e-10  # an offset is removed by the centring


def test_orthogonal_transform_has_zero_distortion():
    X = _gaussian(300, 6, 2)
    Q, _ = np.linalg.qr(np.random.default_rng(3).normal(size=(6, 6)))
    assert gfre(X, X @ Q) < 1e-10
    assert gfrd(X, X @ Q) < 1e-10


def test_anisotropic_linear_map_is_distorted():
    # Y = X diag(1, 0.01): reconstructible (GFRE = 0) but far from orthogonal. After the
    # standardisation E||X'||^2 = E||Y'||^2 = 1 and C = E[X'^T Y'] = diag(1, 0.01) / (sqrt(2)
    # sqrt(1.0001)); the best orthogonal Q maximises tr(Q^T C) = sum of singular values of C, so
    # GFRD^2 = 2 - 2 * 1.01 / (sqrt(2) sqrt(1.0001)) (the linear reconstruction is exact).
    X = _gaussian(40000, 2, 4)
    Y = X * np.array([1.0, 0.01])
    expected = np.sqrt(2 - 2 * 1.01 / (np.sqrt(2) * np.sqrt(1.0001)))
    assert gfre(X, Y) < 1e-10
    assert gfrd(X, Y) == pytest.approx(expected, abs=0.015)


def test_noise_source_cannot_reconstruct():
    X = _gaussian(400, 10, 5)
    Y = _gaussian(400, 10, 6)
    assert gfre(X, Y) == pytest.approx(1.0, abs=0.08)


def test_degenerate_source_keeps_a_floor_however_much_data():
    # Pairs share u (the "3-body" features) and differ in the sign of v: Y = [u, s v] with s = +-1
    # independent of u. The best linear (indeed any) prediction of s v from u is 0, so
    # GFRE^2 = E[v^2] / (tr cov u + E[v^2]); with u ~ N(0, 1_3), v ~ U(0.5, 1.5):
    # E[v^2] = 13/12, GFRE = sqrt(13/12 / (3 + 13/12)) ~ 0.515, whatever the size.
    expected = np.sqrt((13 / 12) / (3 + 13 / 12))
    for n_pairs in (100, 1000):
        rng = np.random.default_rng(n_pairs)
        u = rng.normal(size=(n_pairs, 3))
        v = rng.uniform(0.5, 1.5, size=(n_pairs, 1))
        X = np.vstack([u, u])
        Y = np.vstack([np.hstack([u, v]), np.hstack([u, -v])])
        assert gfre(X, Y) == pytest.approx(expected, abs=0.06)
        assert gfre(Y, X) < 1e-10  # the richer space contains the poorer one
        floor = degenerate_gfre_floor(Y[:n_pairs], Y[n_pairs:])
        assert floor == pytest.approx(expected, abs=0.06)


def test_local_error_sees_nonlinear_relations():
    # y = sin(3x): no global linear map, but locally linear.
    x = np.linspace(-2, 2, 600)[:, None]
    Y = np.sin(3 * x)
    assert gfre(x, Y) > 0.7
    assert lfre(x, Y, n_local_points=10) < 0.05


def test_kernel_reconstruction_nonlinear_and_degenerate():
    # a smooth non-linear relation is reconstructed by the kernel but not linearly
    x = np.linspace(-2, 2, 600)[:, None]
    assert kernel_reconstruction_error(x, np.sin(3 * x)) < 1e-3
    # degenerate pairs: even a non-linear map cannot beat the pair-mean bound (closed form
    # sqrt(13/12 / (3 + 13/12)), see test_degenerate_source_keeps_a_floor_however_much_data)
    rng = np.random.default_rng(13)
    u = rng.normal(size=(300, 3))
    v = rng.uniform(0.5, 1.5, size=(300, 1))
    X = np.vstack([u, u])
    Y = np.vstack([np.hstack([u, v]), np.hstack([u, -v])])
    expected = np.sqrt((13 / 12) / (3 + 13 / 12))
    assert kernel_reconstruction_error(X, Y) == pytest.approx(expected, abs=0.06)


def test_local_error_of_linear_relation_is_zero():
    X = _gaussian(200, 3, 7)
    assert lfre(X, X @ np.array([[1.0], [2.0], [-1.0]]), n_local_points=20) < 1e-10


def test_split_half_and_complements():
    split = split_half(10, seed=1)
    assert len(split.train) == 5 and len(split.test) == 5
    assert sorted(np.concatenate([split.train, split.test]).tolist()) == list(range(10))
    other = split_half(10, train_idx=[0, 1, 2])
    assert other.test.tolist() == list(range(3, 10))


def test_standardise_unit_total_variance():
    X = _gaussian(50, 4, 8) * np.array([1.0, 10.0, 0.1, 3.0]) + 5.0
    train, _ = standardise(X[:30], X[30:])
    assert np.allclose(train.mean(axis=0), 0.0)
    # total variance 1: ||train||_F^2 = n_train
    assert np.sum(train**2) == pytest.approx(30.0)
    # one scale for the whole matrix keeps the ratios between columns
    ratio = train.std(axis=0) / X[:30].std(axis=0)
    assert np.allclose(ratio, ratio[0])


def test_truncated_ridge_matches_least_squares_when_well_conditioned():
    X = _gaussian(100, 5, 9)
    y = X @ np.arange(1.0, 6.0)[:, None] + 0.01 * _gaussian(100, 1, 10)
    model = TruncatedRidgeCV(alphas=[1e-12]).fit(X, y)
    reference = np.linalg.lstsq(X, y, rcond=None)[0]
    assert np.allclose(model.coef_, reference)


def test_pointwise_shape_and_table():
    X = _gaussian(40, 3, 11)
    assert pointwise_gfre(X, X).shape == (20,)
    table = reconstruction_table({"a": X, "b": X[:, :2]})
    assert set(table) == {("a", "b"), ("b", "a")}
    assert table[("a", "b")] < 1e-10 < table[("b", "a")]


def test_bad_input():
    X = _gaussian(10, 2, 12)
    with pytest.raises(InputError, match="same structures"):
        gfre(X, X[:5])
    with pytest.raises(InputError, match="NaN"):
        gfre(np.full((10, 2), np.nan), X)
    with pytest.raises(InputError, match="zero variance"):
        gfre(np.ones((10, 2)), X)
    with pytest.raises(InputError, match="n_local_points"):
        lfre(X, X, n_local_points=100)
    with pytest.raises(InputError, match="unknown measure"):
        reconstruction_table({"a": X, "b": X}, measure="nope")


def test_power_spectrum_cannot_reconstruct_bispectrum_on_prl_pairs():
    from completeness.analysis.learning import family_pairs, pair_features
    from completeness.descriptors.correlations import Bispectrum
    from completeness.descriptors.spectra import PowerSpectrum

    pairs = family_pairs("prl", 200)
    power = np.vstack(pair_features(PowerSpectrum(cutoff=6.0, n_radial=4, max_angular=3), pairs))
    bispectrum_plus, bispectrum_minus = pair_features(
        Bispectrum(cutoff=6.0, n_radial=4, max_angular=3), pairs
    )
    bispectrum = np.vstack([bispectrum_plus, bispectrum_minus])
    floor = degenerate_gfre_floor(bispectrum_plus, bispectrum_minus)
    assert floor > 0.05
    # any source that is blind to the pairs stays above the floor (up to split fluctuations)
    assert gfre(power, bispectrum) > 0.8 * floor
    assert gfre(power, bispectrum) > gfre(bispectrum, power)

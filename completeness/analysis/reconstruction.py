"""Feature-space reconstruction measures: GFRE, GFRD and LFRE.

How much of feature space ``Y`` can be rebuilt from feature space ``X``? Goscinski, Fraux,
Imbalzano and Ceriotti (Mach. Learn.: Sci. Technol. 2, 025028 (2021), doi:10.1088/2632-2153/abdaf7)
answer with three numbers, implemented here with numpy/scipy only (scikit-matter, which ships the
reference implementation, pins old scikit-learn and scipy; its conventions are followed):

* **Standardisation.** ``X`` and ``Y`` are centred with the training mean and divided by the
  square root of the *total* training variance, ``s = sqrt(sum_f var_f)`` (one number per matrix,
  not per column, so an orthogonal transform of a feature space stays one: scikit-matter's
  ``StandardFlexibleScaler(column_wise=False)``). After this the training set has
  ``||X||_F^2 = n_train`` and reconstructing ``Y`` by zero costs exactly 1.
* **Split.** Half the samples train, half test (seeded shuffle), unless indices are given.
* **GFRE** (global feature reconstruction error)::

      W = argmin_W ||Y_train - X_train W||^2 (ridge, regularisation by 2-fold CV)
      GFRE(X, Y) = sqrt( sum_{i in test} ||y_i - x_i W||^2 / n_test )

  0 when ``Y`` is a linear function of ``X``, about 1 when ``X`` carries no information on
  ``Y``. The ridge is scikit-matter's ``RidgeRegression2FoldCV`` default: the regularisation is a
  *cutoff* on the singular values of ``X_train`` relative to the largest one (truncated SVD, like
  ``rcond`` of ``numpy.linalg.lstsq``), chosen among ``geomspace(1e-9, 0.9, 20)`` by the RMSE of
  a 2-fold split of the training set.
* **GFRD** (global feature reconstruction distortion): how far the best linear map is from an
  orthogonal one. With ``Yhat = X W`` the linear reconstruction, ``Q`` solves the orthogonal
  Procrustes problem ``min_Q ||Yhat_train - X_train Q||, Q^T Q = 1`` (both padded with zero
  columns to the same width), and ``GFRD = sqrt( sum_{i in test} ||xhat_i - x_i Q||^2 / n_test )``.
  0 when ``X`` is an orthogonal transform (rotation/reflection) of ``Y``.
* **LFRE** (local feature reconstruction error): the same as GFRE but for each test point a
  separate affine map is fitted on its ``n_local_points`` nearest training neighbours in ``X``
  (Euclidean distance in standardised ``X``)::

      ytilde_i = mean_k(y_k) + (x_i - mean_k(x_k)) P^{(i)}
      LFRE = sqrt(mean_i ||y_i - ytilde_i||^2)

  It detects features that are reconstructible locally but not globally (non-linear relations).

A data set rich in degenerate pairs (two structures with equal 3-body but different 4-body
features) keeps ``GFRE(3-body -> 4-body) > 0`` however many samples are used: no map, linear or
not, can send one ``x`` to two different ``y``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import orthogonal_procrustes

from ..environments import InputError

__all__ = [
    "DEFAULT_ALPHAS",
    "GFRE_SEED",
    "KERNEL_ALPHAS",
    "KERNEL_GAMMAS",
    "ReconstructionSplit",
    "TruncatedRidgeCV",
    "degenerate_gfre_floor",
    "gfrd",
    "gfre",
    "kernel_reconstruction_error",
    "lfre",
    "pointwise_gfrd",
    "pointwise_gfre",
    "pointwise_lfre",
    "reconstruction_table",
    "split_half",
    "standardise",
]

#: Relative singular-value cutoffs tried by the 2-fold cross-validation (scikit-matter default).
DEFAULT_ALPHAS = np.geomspace(1e-9, 0.9, 20)
#: Default seed of the train/test split (scikit-matter uses 0x5F3759DF).
GFRE_SEED = 0x5F3759DF


# --------------------------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------------------------


def _as_matrix(array, name: str) -> np.ndarray:
    matrix = np.asarray(array, dtype=np.float64)
    if matrix.ndim == 1:
        matrix = matrix[:, None]
    if matrix.ndim != 2:
        raise InputError(
            f"{name} must be a (n_samples, n_features) array, got shape {matrix.shape}"
        )
    if not np.isfinite(matrix).all():
        raise InputError(f"{name} contains NaN or inf; remove those samples first")
    return matrix


def _check_pair(X, Y):
    X = _as_matrix(X, "X")
    Y = _as_matrix(Y, "Y")
    if len(X) != len(Y):
        raise InputError(
            f"X has {len(X)} samples and Y has {len(Y)}; give the same structures to both"
        )
    if len(X) < 4:
        raise InputError(f"need at least 4 samples for a train/test split, got {len(X)}")
    return X, Y


@dataclass(frozen=True)
class ReconstructionSplit:
    """Train and test indices of a reconstruction measure."""

    train: np.ndarray
    test: np.ndarray


def split_half(n_samples: int, seed: int = GFRE_SEED, train_idx=None, test_idx=None):
    """The default split: a seeded shuffle, half train and half test.

    If only one of ``train_idx``/``test_idx`` is given the other is its complement.
    """
    if train_idx is None and test_idx is None:
        order = np.random.default_rng(seed).permutation(n_samples)
        half = n_samples // 2
        return ReconstructionSplit(np.sort(order[:half]), np.sort(order[half:]))
    everything = np.arange(n_samples)
    if train_idx is None:
        test_idx = np.asarray(test_idx, dtype=np.int64)
        train_idx = np.setdiff1d(everything, test_idx)
    elif test_idx is None:
        train_idx = np.asarray(train_idx, dtype=np.int64)
        test_idx = np.setdiff1d(everything, train_idx)
    train_idx = np.asarray(train_idx, dtype=np.int64)
    test_idx = np.asarray(test_idx, dtype=np.int64)
    if len(train_idx) < 2 or len(test_idx) < 1:
        raise InputError("need at least 2 training and 1 test samples; give a larger split")
    return ReconstructionSplit(train_idx, test_idx)


def standardise(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre with the training mean and divide by the root of the total training variance.

    ``s = sqrt(sum_f mean_i (x_if - mean_f)^2)``; afterwards ``||train||_F^2 = n_train``.
    """
    mean = train.mean(axis=0)
    scale = np.sqrt(((train - mean) ** 2).mean(axis=0).sum())
    if not scale > 1e-12:
        raise InputError(
            "a feature matrix has zero variance on the training set (all samples equal); "
            "use structures that differ"
        )
    return (train - mean) / scale, (test - mean) / scale


# --------------------------------------------------------------------------------------------
# the regression
# --------------------------------------------------------------------------------------------


class TruncatedRidgeCV:
    """Linear least squares without intercept, regularised by a relative singular-value cutoff.

    ``W = V_k S_k^{-1} U_k^T Y`` keeping the singular values ``s > alpha * s_max`` of ``X``;
    ``alpha`` among ``alphas`` minimises the RMSE of a seeded 2-fold split of the training data
    (each half predicts the other, the two RMSEs averaged). This is scikit-matter's
    ``RidgeRegression2FoldCV(alpha_type="relative", regularization_method="cutoff")``.
    """

    def __init__(self, alphas=DEFAULT_ALPHAS, seed: int = GFRE_SEED):
        self.alphas = np.asarray(alphas, dtype=np.float64)
        self.seed = seed

    @staticmethod
    def _svd(X):
        U, s, Vt = np.linalg.svd(X, full_matrices=False)
        rcond = max(X.shape) * np.finfo(np.float64).eps
        keep = s > rcond * (s[0] if s.size else 0.0)
        return U[:, keep], s[keep], Vt[keep]

    def fit(self, X, Y):
        X = np.asarray(X, dtype=np.float64)
        Y = np.asarray(Y, dtype=np.float64)
        order = np.random.default_rng(self.seed).permutation(len(X))
        folds = (order[: len(X) // 2], order[len(X) // 2 :])
        if min(len(folds[0]), len(folds[1])) >= 1:
            parts = [self._svd(X[f]) for f in folds]
            s_max = max((p[1][0] for p in parts if p[1].size), default=0.0)
            losses = np.zeros(len(self.alphas))
            for (U, s, Vt), fit_fold, other in ((parts[0], *folds), (parts[1], *folds[::-1])):
                projected = X[other] @ Vt.T  # (n_other, k)
                coefficients = U.T @ Y[fit_fold]  # (k, n_targets)
                for a, alpha in enumerate(self.alphas):
                    k = int(np.sum(s > alpha * s_max))
                    prediction = (projected[:, :k] / s[:k]) @ coefficients[:k]
                    losses[a] += np.sqrt(np.mean((Y[other] - prediction) ** 2)) / 2
            best = int(np.argmin(losses))
            self.cv_rmse_ = losses
        else:
            best, s_max = 0, 0.0
        self.alpha_ = float(self.alphas[best])
        U, s, Vt = self._svd(X)
        # like scikit-matter, the cutoff chosen on the folds is applied in absolute terms
        k = int(np.sum(s > self.alpha_ * s_max))
        self.coef_ = (Vt[:k].T / s[:k]) @ (U[:, :k].T @ Y)  # (n_features, n_targets)
        return self

    def predict(self, X):
        return np.asarray(X, dtype=np.float64) @ self.coef_


def _prepare(X, Y, train_idx, test_idx, seed):
    X, Y = _check_pair(X, Y)
    split = split_half(len(X), seed, train_idx, test_idx)
    X_train, X_test = standardise(X[split.train], X[split.test])
    Y_train, Y_test = standardise(Y[split.train], Y[split.test])
    return X_train, X_test, Y_train, Y_test


# --------------------------------------------------------------------------------------------
# GFRE / GFRD / LFRE
# --------------------------------------------------------------------------------------------


def pointwise_gfre(X, Y, *, train_idx=None, test_idx=None, seed: int = GFRE_SEED, alphas=None):
    """``||y_i - x_i W||`` for every test sample ``i`` (see the module docstring).

    Parameters
    ----------
    X, Y : (n_samples, n_features_X), (n_samples, n_features_Y) arrays
        Source and target features of the same samples.
    train_idx, test_idx : index arrays, optional
        The split; by default a seeded half/half shuffle.
    seed : int
        Seed of the default split and of the 2-fold regularisation search.
    alphas : array, optional
        Relative singular-value cutoffs to choose from (default :data:`DEFAULT_ALPHAS`).
    """
    X_train, X_test, Y_train, Y_test = _prepare(X, Y, train_idx, test_idx, seed)
    model = TruncatedRidgeCV(DEFAULT_ALPHAS if alphas is None else alphas, seed).fit(
        X_train, Y_train
    )
    return np.linalg.norm(Y_test - model.predict(X_test), axis=1)


def gfre(X, Y, **kwargs) -> float:
    """Global feature reconstruction error of ``Y`` from ``X`` (Goscinski et al. 2021).

    ``GFRE = sqrt(mean_test ||y_i - x_i W||^2)`` with standardised features and a
    cross-validated truncated-SVD linear map ``W``; keyword arguments as
    :func:`pointwise_gfre`. doi:10.1088/2632-2153/abdaf7
    """
    errors = pointwise_gfre(X, Y, **kwargs)
    return float(np.sqrt(np.mean(errors**2)))


def pointwise_gfrd(X, Y, *, train_idx=None, test_idx=None, seed: int = GFRE_SEED, alphas=None):
    """``||x_i W - x_i Q||`` per test sample: linear versus best orthogonal reconstruction."""
    X_train, X_test, Y_train, _ = _prepare(X, Y, train_idx, test_idx, seed)
    model = TruncatedRidgeCV(DEFAULT_ALPHAS if alphas is None else alphas, seed).fit(
        X_train, Y_train
    )
    width = max(X_train.shape[1], Y_train.shape[1])

    def pad(matrix):
        return np.pad(matrix, [(0, 0), (0, width - matrix.shape[1])])

    rotation, _ = orthogonal_procrustes(pad(X_train), pad(model.predict(X_train)))
    linear = pad(model.predict(X_test))
    orthogonal = pad(X_test) @ rotation
    return np.linalg.norm(linear - orthogonal, axis=1)


def gfrd(X, Y, **kwargs) -> float:
    """Global feature reconstruction distortion (Goscinski et al. 2021).

    ``GFRD = sqrt(mean_test ||x_i W - x_i Q||^2)`` where ``Q`` is the orthogonal (Procrustes)
    map closest to the linear reconstruction ``X W`` on the training set (zero-padded to a
    common width). doi:10.1088/2632-2153/abdaf7
    """
    errors = pointwise_gfrd(X, Y, **kwargs)
    return float(np.sqrt(np.mean(errors**2)))


def pointwise_lfre(
    X,
    Y,
    n_local_points: int = 100,
    *,
    train_idx=None,
    test_idx=None,
    seed: int = GFRE_SEED,
    alphas=None,
):
    """``||y_i - ytilde_i||`` per test sample with a local affine map fitted on neighbours.

    The ``n_local_points`` training samples nearest to ``x_i`` (standardised ``X``) are centred
    on their own means and a :class:`TruncatedRidgeCV` map is fitted on them.
    """
    X_train, X_test, Y_train, Y_test = _prepare(X, Y, train_idx, test_idx, seed)
    n_local_points = int(n_local_points)
    if not 2 <= n_local_points <= len(X_train):
        raise InputError(
            f"n_local_points must be between 2 and the {len(X_train)} training samples, got "
            f"{n_local_points}"
        )
    squared = (
        np.sum(X_test**2, axis=1)[:, None]
        + np.sum(X_train**2, axis=1)[None, :]
        - 2 * X_test @ X_train.T
    )
    alphas = DEFAULT_ALPHAS if alphas is None else alphas
    return _local_errors(X_train, Y_train, X_test, Y_test, squared, n_local_points, alphas, seed)


def _local_errors(X_train, Y_train, X_test, Y_test, squared, n_local_points, alphas, seed):
    errors = np.zeros(len(X_test))
    for i in range(len(X_test)):
        local = np.argsort(squared[i], kind="stable")[:n_local_points]
        x_mean = X_train[local].mean(axis=0)
        y_mean = Y_train[local].mean(axis=0)
        model = TruncatedRidgeCV(alphas, seed).fit(X_train[local] - x_mean, Y_train[local] - y_mean)
        estimate = y_mean + model.predict((X_test[i] - x_mean)[None, :])[0]
        errors[i] = np.linalg.norm(Y_test[i] - estimate)
    return errors


def lfre(X, Y, n_local_points: int = 100, **kwargs) -> float:
    """Local feature reconstruction error (Goscinski et al. 2021), ``sqrt(mean_i LFRE_i^2)``.

    doi:10.1088/2632-2153/abdaf7
    """
    errors = pointwise_lfre(X, Y, n_local_points, **kwargs)
    return float(np.sqrt(np.mean(errors**2)))


#: Gaussian-kernel exponents tried by :func:`kernel_reconstruction_error` (standardised data:
#: the mean squared distance between two samples is 2).
KERNEL_GAMMAS = np.array([0.1, 0.3, 1.0, 3.0, 10.0])
#: Kernel ridge regularisations tried by :func:`kernel_reconstruction_error`.
KERNEL_ALPHAS = np.logspace(-8, -1, 8)


def _squared_distances(A, B):
    return np.maximum(
        np.sum(A**2, axis=1)[:, None] + np.sum(B**2, axis=1)[None, :] - 2 * A @ B.T, 0.0
    )


def kernel_reconstruction_error(
    X,
    Y,
    *,
    train_idx=None,
    test_idx=None,
    seed: int = GFRE_SEED,
    gammas=None,
    alphas=None,
    n_folds: int = 3,
) -> float:
    """Non-linear analogue of the GFRE: Gaussian kernel ridge regression from ``X`` to ``Y``.

    Same standardisation, split and error as :func:`gfre`, but the map is
    ``y(x) = sum_j w_j exp(-gamma ||x - x_j||^2)`` (multi-output kernel ridge, scikit-learn's
    ``KernelRidge``) with ``gamma`` and the regularisation chosen by ``n_folds``-fold
    cross-validation on the training half. This is not one of the measures of Goscinski et al.
    (2021): it is added because the linear GFRE is limited by non-linear relations (a power
    spectrum determines a generic bispectrum, but not linearly); with a universal kernel the
    error on generic data keeps falling as data is added, while on data with degenerate pairs
    it cannot fall below :func:`degenerate_gfre_floor`.
    """
    from sklearn.kernel_ridge import KernelRidge

    X_train, X_test, Y_train, Y_test = _prepare(X, Y, train_idx, test_idx, seed)
    gammas = KERNEL_GAMMAS if gammas is None else np.asarray(gammas, dtype=np.float64)
    alphas = KERNEL_ALPHAS if alphas is None else np.asarray(alphas, dtype=np.float64)
    n_train = len(X_train)
    if n_train < 2 * n_folds:
        raise InputError(f"need at least {2 * n_folds} training samples, got {n_train}")
    labels = np.random.default_rng(seed).permutation(n_train) % n_folds
    distances = _squared_distances(X_train, X_train)
    errors = np.zeros((len(gammas), len(alphas)))
    for g, gamma in enumerate(gammas):
        kernel = np.exp(-gamma * distances)
        for fold in range(n_folds):
            train, valid = np.flatnonzero(labels != fold), np.flatnonzero(labels == fold)
            eigenvalues, Q = np.linalg.eigh(kernel[np.ix_(train, train)])
            eigenvalues = np.maximum(eigenvalues, 0.0)
            projected = kernel[np.ix_(valid, train)] @ Q
            coefficients = Q.T @ Y_train[train]
            for a, alpha in enumerate(alphas):
                prediction = projected @ (coefficients / (eigenvalues + alpha)[:, None])
                errors[g, a] += np.sum((Y_train[valid] - prediction) ** 2)
    g, a = np.unravel_index(int(np.argmin(errors)), errors.shape)
    model = KernelRidge(kernel="rbf", gamma=float(gammas[g]), alpha=float(alphas[a]))
    model.fit(X_train, Y_train)
    residual = Y_test - model.predict(X_test)
    return float(np.sqrt(np.mean(np.sum(residual**2, axis=1))))


def degenerate_gfre_floor(Y_plus, Y_minus) -> float:
    """Lowest GFRE any source can reach if it gives both members of every pair the same features.

    A source blind to the pairs must reconstruct ``y+`` and ``y-`` by the same vector; the best
    is their mean, so the per-sample squared error is at least ``||y+ - y-||^2 / 4``. With ``Y``
    standardised as in :func:`gfre` (total variance of all ``2 n_pairs`` rows)::

        floor = sqrt(mean_pairs ||y+ - y-||^2 / 4) / sqrt(total variance)

    (expected value over a random half split; the estimate on one split fluctuates around it).
    """
    Y_plus = _as_matrix(Y_plus, "Y_plus")
    Y_minus = _as_matrix(Y_minus, "Y_minus")
    if Y_plus.shape != Y_minus.shape:
        raise InputError(f"Y_plus {Y_plus.shape} and Y_minus {Y_minus.shape} differ in shape")
    both = np.vstack([Y_plus, Y_minus])
    variance = ((both - both.mean(axis=0)) ** 2).mean(axis=0).sum()
    if not variance > 0:
        raise InputError("Y has zero variance; nothing to reconstruct")
    squared = np.sum((Y_plus - Y_minus) ** 2, axis=1).mean() / 4
    return float(np.sqrt(squared / variance))


def reconstruction_table(features: dict, *, measure: str = "gfre", **kwargs) -> dict:
    """The measure between every ordered pair of feature sets.

    Parameters
    ----------
    features : dict name -> (n_samples, n_features) array
        The same samples in every entry.
    measure : "gfre", "gfrd" or "lfre"

    Returns
    -------
    dict ``{(source, target): value}`` for every ``source != target``.
    """
    functions = {"gfre": gfre, "gfrd": gfrd, "lfre": lfre}
    if measure not in functions:
        raise InputError(f"unknown measure {measure!r}; use one of {sorted(functions)}")
    names = list(features)
    return {
        (source, target): functions[measure](features[source], features[target], **kwargs)
        for source in names
        for target in names
        if source != target
    }

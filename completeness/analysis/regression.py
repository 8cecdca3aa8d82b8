"""Regression models of :mod:`completeness.analysis.learning`: kernel ridge (Gaussian kernel) or
linear ridge regression from scikit-learn on standardised features, hyperparameters chosen by
grouped k-fold cross-validation (the two members of a pair always fall in the same fold)."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import TransformedTargetRegressor
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from ..environments import InputError

__all__ = [
    "KERNEL_ALPHAS",
    "KERNEL_GAMMAS",
    "LINEAR_ALPHAS",
    "MODELS",
    "FeatureStandardiser",
    "as_vector",
    "fit_model",
]


def as_vector(array, name: str) -> np.ndarray:
    """``array`` flattened to float64; InputError (naming ``name``) for NaN or inf."""
    vector = np.asarray(array, dtype=np.float64).reshape(-1)
    if not np.isfinite(vector).all():
        raise InputError(f"{name} contains NaN or inf; check the model and the targets")
    return vector


#: The two regression models.
MODELS = ("krr", "ridge")
#: Ridge regularisations tried (targets are standardised, so these are relative to var(y)).
LINEAR_ALPHAS = np.logspace(-8, 2, 11)
#: Kernel ridge regularisations tried.
KERNEL_ALPHAS = np.logspace(-8, 0, 9)
#: Gaussian kernel widths tried, as ``gamma * n_features`` (standardised features).
KERNEL_GAMMAS = np.array([0.03, 0.1, 0.3, 1.0])


# --------------------------------------------------------------------------------------------
# models
# --------------------------------------------------------------------------------------------


class FeatureStandardiser(TransformerMixin, BaseEstimator):
    """Zero mean, unit variance per feature; features with no real variance are dropped.

    A feature whose standard deviation is below ``relative_tolerance`` times the largest one
    is round-off (e.g. a pseudoscalar that vanishes by symmetry): scaling it up would turn
    1e-16 noise into O(1) features that spuriously "separate" degenerate structures, so it is
    removed instead.
    """

    def __init__(self, relative_tolerance: float = 1e-8):
        self.relative_tolerance = relative_tolerance

    def fit(self, X, y=None):
        X = np.asarray(X, dtype=np.float64)
        self.mean_ = X.mean(axis=0)
        std = X.std(axis=0)
        self.keep_ = std > self.relative_tolerance * (std.max() if std.size else 0.0)
        if not self.keep_.any():
            raise InputError("every feature is constant on the training set; nothing to learn")
        self.scale_ = std[self.keep_]
        return self

    def transform(self, X):
        X = np.asarray(X, dtype=np.float64)
        return (X[:, self.keep_] - self.mean_[self.keep_]) / self.scale_


def _group_folds(groups: np.ndarray, n_folds: int, seed: int):
    unique = np.unique(groups)
    if len(unique) < n_folds:
        raise InputError(
            f"need at least {n_folds} groups (pairs) for {n_folds}-fold cross-validation, got "
            f"{len(unique)}; use more training data"
        )
    assignment = np.random.default_rng(seed).permutation(len(unique)) % n_folds
    fold_of = dict(zip(unique.tolist(), assignment.tolist(), strict=True))
    labels = np.array([fold_of[g] for g in groups.tolist()])
    return [(np.flatnonzero(labels != f), np.flatnonzero(labels == f)) for f in range(n_folds)]


def _cv_errors(kind, Z, t, folds, alphas, gammas):
    """Mean squared validation error for every hyperparameter (grid indexed [gamma, alpha]).

    One eigen/singular value decomposition per fold (and gamma) serves every alpha: the ridge
    solution is ``V diag(s / (s^2 + alpha)) U^T t``, the kernel one ``Q diag(1/(l + alpha))
    Q^T t``.
    """
    errors = np.zeros((len(gammas), len(alphas)))
    if kind == "krr":
        norms = np.sum(Z**2, axis=1)
        squared = np.maximum(norms[:, None] + norms[None, :] - 2 * Z @ Z.T, 0.0)
    for g, gamma in enumerate(gammas):
        kernel = np.exp(-gamma * squared) if kind == "krr" else None
        for train, valid in folds:
            if kind == "krr":
                eigenvalues, Q = np.linalg.eigh(kernel[np.ix_(train, train)])
                eigenvalues = np.maximum(eigenvalues, 0.0)
                projected = kernel[np.ix_(valid, train)] @ Q
                coefficients = Q.T @ t[train]
                for a, alpha in enumerate(alphas):
                    prediction = projected @ (coefficients / (eigenvalues + alpha))
                    errors[g, a] += np.sum((t[valid] - prediction) ** 2)
            else:
                x_mean, t_mean = Z[train].mean(axis=0), t[train].mean()
                U, s, Vt = np.linalg.svd(Z[train] - x_mean, full_matrices=False)
                projected = (Z[valid] - x_mean) @ Vt.T
                coefficients = U.T @ (t[train] - t_mean)
                for a, alpha in enumerate(alphas):
                    prediction = t_mean + projected @ (coefficients * s / (s**2 + alpha))
                    errors[g, a] += np.sum((t[valid] - prediction) ** 2)
    return errors / len(t)


def fit_model(
    X,
    y,
    kind: str = "krr",
    *,
    groups=None,
    n_folds: int = 3,
    seed: int = 0,
    alphas=None,
    gammas=None,
):
    """Fit kernel ridge (``kind="krr"``) or linear ridge (``"ridge"``) with CV hyperparameters.

    Features are standardised (:class:`FeatureStandardiser`) and the target is standardised;
    the regularisation ``alpha`` (and for kernel ridge the Gaussian kernel's
    ``gamma = gamma_relative / n_features``) are chosen by ``n_folds``-fold cross-validation in
    which all samples of one group (one degenerate pair) share a fold.

    Returns
    -------
    sklearn ``TransformedTargetRegressor`` wrapping ``Pipeline(FeatureStandardiser, model)``,
    with extra attributes ``best_params_`` (dict) and ``cv_rmse_`` (grid of validation RMSE
    in target units, indexed ``[gamma, alpha]``).
    """
    if kind not in MODELS:
        raise InputError(f"unknown model kind {kind!r}; use one of {list(MODELS)}")
    X = np.asarray(X, dtype=np.float64)
    y = as_vector(y, "y")
    if X.ndim != 2 or len(X) != len(y):
        raise InputError(
            f"X must be (n_samples, n_features) with one row per target, got {X.shape}"
        )
    if not np.isfinite(X).all():
        raise InputError("X contains NaN or inf; check the descriptor output")
    groups = np.arange(len(y)) if groups is None else np.asarray(groups).reshape(-1)
    if len(groups) != len(y):
        raise InputError(f"got {len(groups)} groups for {len(y)} samples; give one per sample")

    standardiser = FeatureStandardiser().fit(X)
    Z = standardiser.transform(X)
    target_scaler = StandardScaler().fit(y[:, None])
    t = target_scaler.transform(y[:, None])[:, 0]
    if kind == "krr":
        alphas = KERNEL_ALPHAS if alphas is None else np.asarray(alphas, dtype=np.float64)
        relative = KERNEL_GAMMAS if gammas is None else np.asarray(gammas, dtype=np.float64)
        gamma_values = relative / Z.shape[1]
    else:
        alphas = LINEAR_ALPHAS if alphas is None else np.asarray(alphas, dtype=np.float64)
        gamma_values = np.array([np.nan])
    folds = _group_folds(groups, n_folds, seed)
    errors = _cv_errors(kind, Z, t, folds, alphas, gamma_values)
    g, a = np.unravel_index(int(np.argmin(errors)), errors.shape)
    if kind == "krr":
        regressor = KernelRidge(kernel="rbf", alpha=float(alphas[a]), gamma=float(gamma_values[g]))
        best = {"alpha": float(alphas[a]), "gamma": float(gamma_values[g])}
    else:
        regressor = Ridge(alpha=float(alphas[a]))
        best = {"alpha": float(alphas[a])}
    model = TransformedTargetRegressor(
        regressor=Pipeline([("features", FeatureStandardiser()), ("model", regressor)]),
        transformer=StandardScaler(),
    )
    model.fit(X, y)
    model.best_params_ = best
    model.cv_rmse_ = np.sqrt(errors) * float(target_scaler.scale_[0])
    return model

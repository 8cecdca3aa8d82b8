"""Pooled features, hyperparameter tuning and learning curves of the representation benchmark.

Protocol (after Langer, Goeßmann & Rupp, npj Comput. Mater. 8, 41 (2022)):

1. The structures of a task are shuffled with the benchmark seed; the last 20 % are the test
   set, never seen during tuning or training. The rest is the training pool; a quarter of the
   pool is the validation set of the descriptor tuning.
2. Per-atom features are summed over the atoms of each structure (energies are extensive).
3. Tuning: every candidate of the descriptor's grid (:func:`candidate_grid`: the cutoff, and the
   density width where there is one) is fitted on the other three quarters of the pool with
   kernel ridge regression (Gaussian kernel, regularisation and kernel width chosen by 3-fold
   cross-validation inside the training data, :func:`completeness.analysis.learning.fit_model`)
   and scored by its validation RMSE; the lowest wins.
4. Learning curve: for training sizes on a log grid up to the whole pool and several seeds,
   nested training subsets are drawn (the prefixes of one random order of the pool per seed),
   kernel ridge is refitted (again with its own inner
   cross-validation) and scored on the test set. The slope is the least-squares exponent of
   test RMSE against training size (log-log).
5. Forces, where the descriptor has analytic gradients: a linear model in the summed features,
   ``E = w . X + b`` and ``F = -dX/dr . w``, fitted by ridge on energies and forces together
   (forces weighted by ``force_weight``), its regularisation chosen once on the validation
   split; test force RMSE on the same training subsets. (A kernel model of forces needs
   derivative kernels; the linear model is the part of the comparison every descriptor with
   gradients supports.)
"""

from __future__ import annotations

import itertools

import numpy as np

from ..learning import fit_model, log_training_sizes

__all__ = [
    "candidate_grid",
    "energy_learning_curve",
    "force_learning_curve",
    "pooled_features",
    "split_indices",
    "tune_descriptor",
]

_FORCE_ALPHAS = np.logspace(-8, 2, 11)


def split_indices(n_structures: int, seed: int) -> dict:
    """Test (last 20 %), pool (the rest), and the pool's tuning split (3/4 fit, 1/4 validation)."""
    order = np.random.default_rng([seed, 2022]).permutation(n_structures)
    n_test = max(4, n_structures // 5)
    test, pool = order[-n_test:], order[:-n_test]
    n_valid = max(4, len(pool) // 4)
    return {"test": test, "pool": pool, "fit": pool[:-n_valid], "valid": pool[-n_valid:]}


def candidate_grid(descriptor) -> list[dict]:
    """Hyperparameter candidates of the tuning: cutoff x density width, where they exist.

    Cutoffs 4, 5 and 6 Å (``cutoff``, or both of Chebyshev's ``radial_cutoff`` and
    ``angular_cutoff``); density widths 0.3 and 0.5 Å. A descriptor with neither parameter has
    one candidate: itself.
    """
    params = descriptor.get_params()
    axes = []
    if "cutoff" in params:
        axes.append([{"cutoff": c} for c in (4.0, 5.0, 6.0)])
    elif "radial_cutoff" in params and "angular_cutoff" in params:
        axes.append([{"radial_cutoff": c, "angular_cutoff": c} for c in (4.0, 5.0, 6.0)])
    if "density_width" in params:
        axes.append([{"density_width": w} for w in (0.3, 0.5)])
    return (
        [
            dict(itertools.chain.from_iterable(d.items() for d in combo))
            for combo in itertools.product(*axes)
        ]
        if axes
        else [{}]
    )


def pooled_features(descriptor, systems, *, gradients: bool = False, batch: int = 32):
    """Sum of the per-atom features of each structure, and optionally their position derivatives.

    Returns ``X`` of shape ``(n_structures, n_features)`` and, with ``gradients=True``, a list of
    ``(n_atoms_s, 3, n_features)`` arrays ``dX_s / dr``.
    """
    rows, derivatives = [], []
    for start in range(0, len(systems), batch):
        chunk = systems[start : start + batch]
        features = descriptor.compute(chunk, gradients=gradients)
        structure = np.asarray(features.samples)[:, 0]
        pooled = np.zeros((len(chunk), features.values.shape[1]))
        np.add.at(pooled, structure, features.values)
        rows.append(pooled)
        if gradients:
            index, grads = features.position_gradients(merge=True)
            per_structure = [np.zeros((len(a), 3, grads.shape[-1])) for a in chunk]
            for (sample, atom), g in zip(index.tolist(), grads, strict=True):
                per_structure[structure[sample]][atom] += g
            derivatives.extend(per_structure)
    X = np.vstack(rows)
    return (X, derivatives) if gradients else X


def _rmse(prediction, target) -> float:
    return float(np.sqrt(np.mean((np.asarray(prediction) - np.asarray(target)) ** 2)))


def tune_descriptor(descriptor, task, split: dict, *, seed: int = 0) -> dict:
    """The grid candidate with the lowest validation RMSE of energies (module docstring, step 3).

    Returns ``{"params": best, "validation_rmse": ..., "candidates": [{params, rmse}, ...]}``;
    ``descriptor`` is left with the best parameters set.
    """
    scores = []
    for params in candidate_grid(descriptor):
        descriptor.set_params(**params)
        X = pooled_features(descriptor, task.systems)
        model = fit_model(X[split["fit"]], task.energies[split["fit"]], "krr", seed=seed)
        rmse = _rmse(model.predict(X[split["valid"]]), task.energies[split["valid"]])
        scores.append({"params": params, "rmse": rmse})
    best = min(scores, key=lambda s: s["rmse"])
    descriptor.set_params(**best["params"])
    return {"params": best["params"], "validation_rmse": best["rmse"], "candidates": scores}


def _training_sizes(n_pool: int, smallest: int, n_sizes: int) -> np.ndarray:
    return log_training_sizes(min(smallest, n_pool), n_pool, n_sizes)


def _slope(sizes, errors) -> float | None:
    sizes, errors = np.asarray(sizes, float), np.asarray(errors, float)
    keep = errors > 0
    if keep.sum() < 2:
        return None
    return float(np.polyfit(np.log(sizes[keep]), np.log(errors[keep]), 1)[0])


def energy_learning_curve(
    X, energies, split: dict, *, seeds=(0, 1, 2), smallest: int = 20, n_sizes: int = 5
) -> dict:
    """Test RMSE of kernel ridge on energies against training size (module docstring, step 4).

    Returns sizes, per-seed RMSE (``[seed][size]``), mean, min, max, the log-log slope, the
    test-set standard deviation of the energies (the error of predicting the mean), and the
    per-structure absolute errors of the largest training size (first seed).
    """
    pool, test = split["pool"], split["test"]
    sizes = _training_sizes(len(pool), smallest, n_sizes)
    errors = np.zeros((len(seeds), len(sizes)))
    residuals = None
    for s, seed in enumerate(seeds):
        order = np.random.default_rng([seed, 7]).permutation(pool)
        for k, size in enumerate(sizes):
            train = order[: int(size)]
            model = fit_model(X[train], energies[train], "krr", seed=seed)
            prediction = model.predict(X[test])
            errors[s, k] = _rmse(prediction, energies[test])
            if s == 0 and k == len(sizes) - 1:
                residuals = np.abs(prediction - energies[test])
    mean = errors.mean(axis=0)
    return {
        "sizes": sizes.tolist(),
        "rmse": errors.tolist(),
        "rmse_mean": mean.tolist(),
        "rmse_min": errors.min(axis=0).tolist(),
        "rmse_max": errors.max(axis=0).tolist(),
        "slope": _slope(sizes, mean),
        "test_std": float(np.std(energies[test])),
        "test_abs_errors": {int(i): float(e) for i, e in zip(test, residuals, strict=True)},
    }


def _normal_equations(X, derivatives, energies, forces, index, force_weight: float):
    """``A^T A`` and ``A^T b`` of the joint fit, rows ``[1, X_s] w = E_s`` and
    ``-w_F dX_s/dr w = w_F F_s`` for the structures ``index`` (accumulated, never stacked)."""
    n = X.shape[1] + 1
    normal, right = np.zeros((n, n)), np.zeros(n)
    for s in index:
        row = np.concatenate([[1.0], X[s]])
        normal += np.outer(row, row)
        right += row * energies[s]
        d = -force_weight * derivatives[s].reshape(-1, X.shape[1])
        normal[1:, 1:] += d.T @ d
        right[1:] += d.T @ (force_weight * forces[s].reshape(-1))
    return normal, right


def _fit_linear(normal, right, alphas):
    """Ridge on unit-norm columns, mapped back to raw columns: one weight vector per alpha.

    One eigendecomposition of the scaled normal matrix serves every alpha; the offset column is
    regularised like the others (its unit-norm coefficient is the mean energy, which a penalty of
    ``alpha`` relative to ``n_structures`` barely shrinks).
    """
    diagonal = np.diag(normal)
    # columns that (nearly) vanish on the training structures carry no information there: they
    # get weight 0 instead of an arbitrarily large one (as FeatureStandardiser drops them)
    keep = diagonal > 1e-12 * diagonal.max()
    scale = np.sqrt(diagonal[keep])
    eigenvalues, vectors = np.linalg.eigh(normal[np.ix_(keep, keep)] / np.outer(scale, scale))
    projected = vectors.T @ (right[keep] / scale)
    eigenvalues = np.maximum(eigenvalues, 0.0)
    weights = []
    for a in np.atleast_1d(alphas):
        w = np.zeros(len(diagonal))
        w[keep] = vectors @ (projected / (eigenvalues + a)) / scale
        weights.append(w)
    return weights


def _force_rmse(weights, derivatives, forces, index) -> float:
    errors = [
        (-derivatives[s].reshape(-1, len(weights) - 1) @ weights[1:]) - forces[s].reshape(-1)
        for s in index
    ]
    return float(np.sqrt(np.mean(np.concatenate(errors) ** 2)))


def force_learning_curve(
    X,
    derivatives,
    task,
    split: dict,
    *,
    seeds=(0, 1, 2),
    smallest: int = 20,
    n_sizes: int = 5,
    force_weight: float = 1.0,
) -> dict:
    """Test force RMSE of the joint energy+force linear model (module docstring, step 5)."""
    energies, forces = task.energies, task.forces
    fit = _normal_equations(X, derivatives, energies, forces, split["fit"], force_weight)
    validation = [
        _force_rmse(weights, derivatives, forces, split["valid"])
        for weights in _fit_linear(*fit, _FORCE_ALPHAS)
    ]
    alpha = float(_FORCE_ALPHAS[int(np.nanargmin(validation))])
    pool, test = split["pool"], split["test"]
    sizes = _training_sizes(len(pool), smallest, n_sizes)
    errors = np.zeros((len(seeds), len(sizes)))
    for s, seed in enumerate(seeds):
        order = np.random.default_rng([seed, 7]).permutation(pool)
        normal, right, done = 0.0, 0.0, 0
        for k, size in enumerate(sizes):  # nested subsets: add the new structures only
            more = _normal_equations(
                X, derivatives, energies, forces, order[done:size], force_weight
            )
            normal, right, done = normal + more[0], right + more[1], int(size)
            weights = _fit_linear(normal, right, alpha)[0]
            errors[s, k] = _force_rmse(weights, derivatives, forces, test)
    mean = errors.mean(axis=0)
    all_test = np.concatenate([forces[s].reshape(-1) for s in test])
    return {
        "sizes": sizes.tolist(),
        "rmse": errors.tolist(),
        "rmse_mean": mean.tolist(),
        "slope": _slope(sizes, mean),
        "alpha": alpha,
        "test_std": float(np.std(all_test)),
    }

"""What degeneracy costs a model: regressions on degenerate pairs.

A model built on features that cannot tell the two members of a degenerate pair apart gives both
the same prediction, so the within-pair difference ``y+ - y-`` of any target is unlearnable
(docs/science.md §4; Nigam, Pozdnyakov, Huguenin-Dumittan, Ceriotti, APL Mach. Learn. 2, 016110
(2024), arXiv:2302.14770; Pozdnyakov et al., Phys. Rev. Lett. 125, 166001 (2020),
doi:10.1103/PhysRevLett.125.166001). This module measures it with real regressions:

* :func:`within_pair_relative_rmse`: for pairs ``(X+, X-)`` with targets ``(y+, y-)`` and
  predictions ``(p+, p-)``::

      RMSE_pair = sqrt(mean_pairs ((p+ - p-) - (y+ - y-))^2) / sqrt(mean_pairs (y+ - y-)^2)

  It is exactly 1 when ``p+ = p-`` for every pair (a blind descriptor), 0 for a perfect model,
  and it does not care how well the pair *average* is learned.
* :func:`degenerate_error_floor`: the lowest per-structure RMSE any model that predicts the same
  value for both members can reach on data made of pairs, ``sqrt(mean (y+ - y-)^2) / 2``
  (for one pair ``(p - y+)^2 + (p - y-)^2 >= (y+ - y-)^2 / 2``, reached at the pair mean). A
  blind descriptor's learning curve flattens on it; a resolving one falls through it.
* :func:`fit_model` (:mod:`completeness.analysis.regression`): kernel ridge (Gaussian
  kernel) or linear ridge regression from scikit-learn on standardised features,
  hyperparameters chosen by grouped k-fold cross-validation (the two members of a pair always
  fall in the same fold).
* :func:`pair_learning_curve`: test RMSE and within-pair relative RMSE on a log grid of training
  sizes, for several seeds (each seed a different train/test split by pairs).

The targets (:mod:`completeness.analysis.targets`) are classical functions of the geometry:
**no quantum-chemistry data is used**.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import numpy as np

from ..environments import InputError
from ..io import write_json
from .regression import (
    KERNEL_ALPHAS,
    KERNEL_GAMMAS,
    LINEAR_ALPHAS,
    MODELS,
    FeatureStandardiser,
    as_vector,
    fit_model,
)

__all__ = [
    "FAMILIES",
    "KERNEL_ALPHAS",
    "KERNEL_GAMMAS",
    "LINEAR_ALPHAS",
    "MODELS",
    "FeatureStandardiser",
    "LearningCurve",
    "PairDataset",
    "degenerate_error_floor",
    "family_pairs",
    "fit_model",
    "learning_curve",
    "log_training_sizes",
    "pair_dataset",
    "pair_features",
    "pair_learning_curve",
    "predict_pairs",
    "within_pair_relative_rmse",
]


# --------------------------------------------------------------------------------------------
# metrics
# --------------------------------------------------------------------------------------------


def within_pair_relative_rmse(pred_plus, pred_minus, y_plus, y_minus) -> float:
    """Relative RMSE of the predicted within-pair differences.

    ``sqrt(mean(((p+ - p-) - (y+ - y-))^2)) / sqrt(mean((y+ - y-)^2))`` over pairs: 1 for a
    model that cannot distinguish the members, 0 for a perfect one.
    """
    arrays = [
        as_vector(a, n)
        for a, n in (
            (pred_plus, "pred_plus"),
            (pred_minus, "pred_minus"),
            (y_plus, "y_plus"),
            (y_minus, "y_minus"),
        )
    ]
    if len({len(a) for a in arrays}) != 1 or len(arrays[0]) == 0:
        raise InputError(
            "pred_plus, pred_minus, y_plus, y_minus must have one equal, non-zero length"
        )
    p_plus, p_minus, t_plus, t_minus = arrays
    true = t_plus - t_minus
    scale = np.sqrt(np.mean(true**2))
    if not scale > 0:
        raise InputError(
            "the target is equal for both members of every pair, so the within-pair error is "
            "undefined; choose a target that depends on the body order the pairs differ at"
        )
    return float(np.sqrt(np.mean(((p_plus - p_minus) - true) ** 2)) / scale)


def degenerate_error_floor(y_plus, y_minus) -> float:
    """Lowest per-structure RMSE of any model with equal predictions for both pair members.

    ``sqrt(mean((y+ - y-)^2)) / 2``: for one pair, ``(p - y+)^2 + (p - y-)^2`` is smallest at the
    pair mean, where it equals ``(y+ - y-)^2 / 2``.
    """
    difference = as_vector(y_plus, "y_plus") - as_vector(y_minus, "y_minus")
    return float(np.sqrt(np.mean(difference**2)) / 2)


# --------------------------------------------------------------------------------------------
# data sets of pairs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PairDataset:
    """Features and targets of both members of ``n_pairs`` degenerate pairs.

    Attributes
    ----------
    features_plus, features_minus : (n_pairs, n_features) arrays
    y_plus, y_minus : (n_pairs,) arrays
    name, descriptor, target : str
    params : dict (provenance: family, sampling, seed, descriptor hypers)
    """

    features_plus: np.ndarray
    features_minus: np.ndarray
    y_plus: np.ndarray
    y_minus: np.ndarray
    name: str = ""
    descriptor: str = ""
    target: str = ""
    params: dict = field(default_factory=dict)

    def __post_init__(self):
        n = len(self.y_plus)
        shapes_ok = (
            self.features_plus.ndim == 2
            and self.features_plus.shape == self.features_minus.shape
            and len(self.features_plus) == n
            and len(self.y_minus) == n
        )
        if not shapes_ok:
            raise InputError(
                "PairDataset needs features_plus/minus of equal shape (n_pairs, n_features) and "
                f"y_plus/minus of length n_pairs; got {self.features_plus.shape}, "
                f"{self.features_minus.shape}, {len(self.y_plus)}, {len(self.y_minus)}"
            )

    @property
    def n_pairs(self) -> int:
        return len(self.y_plus)

    def feature_distance(self) -> np.ndarray:
        """Relative feature distance of each pair, ``||f+ - f-|| / max(||f+||, ||f-||)``."""
        difference = np.linalg.norm(self.features_plus - self.features_minus, axis=1)
        scale = np.maximum(
            np.linalg.norm(self.features_plus, axis=1), np.linalg.norm(self.features_minus, axis=1)
        )
        return difference / np.where(scale > 0, scale, 1.0)


def pair_features(descriptor, pairs, *, chunk_pairs: int = 250) -> tuple[np.ndarray, np.ndarray]:
    """Features of the centre (atom 0) of ``pair.plus`` and ``pair.minus`` for every pair.

    ``descriptor`` is anything with ``compute(systems, centers=[0]).values``. Features are
    computed ``chunk_pairs`` pairs at a time, and columns that are exactly zero in the first
    chunk are dropped (e.g. every channel of a species that is only ever the centre); they are
    checked to stay exactly zero in every later chunk (an error otherwise, never a silent
    drop). Returns two ``(n_pairs, n_kept_features)`` arrays.
    """
    pairs = list(pairs)
    if not pairs:
        raise InputError("no pairs given; generate some pairs first")
    chunk_pairs = max(1, int(chunk_pairs))
    plus, minus, keep = [], [], None
    for start in range(0, len(pairs), chunk_pairs):
        chunk = pairs[start : start + chunk_pairs]
        systems = [p.plus for p in chunk] + [p.minus for p in chunk]
        values = np.asarray(descriptor.compute(systems, centers=[0]).values, dtype=np.float64)
        if keep is None:
            keep = np.any(values != 0.0, axis=0)
        elif np.any(values[:, ~keep] != 0.0):
            raise InputError(
                "a feature that was exactly zero for the first pairs is non-zero later; call "
                "pair_features with chunk_pairs >= the number of pairs"
            )
        plus.append(values[: len(chunk), keep])
        minus.append(values[len(chunk) :, keep])
    return np.vstack(plus), np.vstack(minus)


#: Families of degenerate pairs usable as data sets (generators of :mod:`completeness.structures`).
FAMILIES = ("b8", "prl", "prl-equal-bond")


def family_pairs(family: str, n_pairs: int, seed: int = 0) -> list:
    """``n_pairs`` degenerate pairs of one family, from the catalog's generators.

    * ``"b8"``: the B8-style two-ring pairs with the published sampling (Nigam et al. 2024:
      seed 12345 and rejection rules of :mod:`completeness.structures.b8`; ``seed`` is ignored
      so that the data set is the published-sampling one). Equal up to signed 4-body.
    * ``"prl"``: the 7-parameter PRL family, pair ``i`` drawn with seed ``seed + i``
      (:func:`completeness.structures.prl.prl_family`). Equal up to 3-body.
    * ``"prl-equal-bond"``: its CH4-like version with all C-H bonds equal (1.09 Å).
    """
    from ..structures import b8, prl

    n_pairs = int(n_pairs)
    if n_pairs < 1:
        raise InputError(f"n_pairs must be >= 1, got {n_pairs}")
    if family == "b8":
        return b8.b8_pairs(n_pairs)
    if family == "prl":
        return [prl.prl_family(seed=seed + i) for i in range(n_pairs)]
    if family == "prl-equal-bond":
        return [prl.prl_equal_bond(seed=seed + i) for i in range(n_pairs)]
    raise InputError(f"unknown family {family!r}; use one of {list(FAMILIES)}")


def pair_dataset(pairs, descriptor, target: str, name: str = "") -> PairDataset:
    """Features (centre atom 0) and the target ``target`` for both members of every pair.

    ``target`` is a key of :data:`completeness.analysis.targets.TARGETS`.
    """
    from .targets import evaluate_target

    pairs = list(pairs)
    features_plus, features_minus = pair_features(descriptor, pairs)
    hypers = descriptor.get_params() if hasattr(descriptor, "get_params") else {}
    return PairDataset(
        features_plus=features_plus,
        features_minus=features_minus,
        y_plus=evaluate_target(target, [p.plus for p in pairs]),
        y_minus=evaluate_target(target, [p.minus for p in pairs]),
        name=name,
        descriptor=getattr(descriptor, "name", type(descriptor).__name__),
        target=target,
        params={"n_pairs": len(pairs), "hypers": hypers},
    )


def predict_pairs(model, dataset: PairDataset, index=None):
    """Predictions ``(p+, p-)`` of a fitted model for the pairs ``index`` (default all)."""
    index = np.arange(dataset.n_pairs) if index is None else np.asarray(index)
    return model.predict(dataset.features_plus[index]), model.predict(dataset.features_minus[index])


# --------------------------------------------------------------------------------------------
# learning curves
# --------------------------------------------------------------------------------------------


def log_training_sizes(smallest: int, largest: int, count: int = 6) -> np.ndarray:
    """``count`` integers spaced evenly in log between ``smallest`` and ``largest``."""
    if not 1 <= smallest <= largest:
        raise InputError(f"need 1 <= smallest <= largest, got {smallest}, {largest}")
    return np.unique(np.round(np.geomspace(smallest, largest, count)).astype(int))


@dataclass
class LearningCurve:
    """Errors against training-set size (in pairs; each pair contributes two structures).

    Arrays indexed ``[size, seed]``: ``test_rmse`` (per structure, target units),
    ``test_pair_rmse`` and ``train_pair_rmse`` (within-pair relative RMSE); ``floor`` is
    :func:`degenerate_error_floor` of the test pairs (mean over seeds).
    """

    train_pairs: np.ndarray
    seeds: np.ndarray
    test_rmse: np.ndarray
    train_rmse: np.ndarray
    test_pair_rmse: np.ndarray
    train_pair_rmse: np.ndarray
    floor: float
    target_std: float
    model: str
    dataset: str
    descriptor: str
    target: str
    best_params: list = field(default_factory=list)

    def to_dict(self) -> dict:
        out = asdict(self)
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in out.items()}

    def save(self, path) -> None:
        """Write the curve as JSON (atomically)."""
        write_json(path, self.to_dict())

    @classmethod
    def load(cls, path) -> LearningCurve:
        with open(path) as handle:
            data = json.load(handle)
        for key in ("train_pairs", "seeds", "test_rmse", "train_rmse", "test_pair_rmse"):
            data[key] = np.asarray(data[key])
        data["train_pair_rmse"] = np.asarray(data["train_pair_rmse"])
        return cls(**data)


def pair_learning_curve(
    dataset: PairDataset,
    *,
    model: str = "krr",
    train_pairs=None,
    seeds=(0, 1, 2),
    test_fraction: float = 0.2,
    n_folds: int = 3,
) -> LearningCurve:
    """Learning curve on a data set of pairs, with a split by pairs for each seed.

    For each seed the pairs are shuffled, ``test_fraction`` of them are held out, and models
    are trained on both members of the first ``n`` remaining pairs for each ``n`` in
    ``train_pairs`` (default: a log grid from 8 to all training pairs).
    """
    if not 0 < test_fraction < 1:
        raise InputError(f"test_fraction must be in (0, 1), got {test_fraction}")
    n_test = max(1, round(test_fraction * dataset.n_pairs))
    n_available = dataset.n_pairs - n_test
    if n_available < n_folds:
        raise InputError(f"only {n_available} training pairs; give a larger data set")
    if train_pairs is None:
        train_pairs = log_training_sizes(min(8, n_available), n_available, 6)
    train_pairs = np.asarray(train_pairs, dtype=int)
    if train_pairs.min() < 2 or train_pairs.max() > n_available:
        raise InputError(f"training sizes must be in 2..{n_available} pairs, got {train_pairs}")
    seeds = np.asarray(seeds, dtype=int)
    shape = (len(train_pairs), len(seeds))
    test_rmse, train_rmse = np.zeros(shape), np.zeros(shape)
    test_pair, train_pair = np.zeros(shape), np.zeros(shape)
    floors, best_params = [], []
    for s, seed in enumerate(seeds):
        order = np.random.default_rng(int(seed)).permutation(dataset.n_pairs)
        test, pool = order[:n_test], order[n_test:]
        floors.append(degenerate_error_floor(dataset.y_plus[test], dataset.y_minus[test]))
        for i, n in enumerate(train_pairs):
            train = pool[:n]
            X = np.vstack([dataset.features_plus[train], dataset.features_minus[train]])
            y = np.concatenate([dataset.y_plus[train], dataset.y_minus[train]])
            groups = np.concatenate([train, train])
            fitted = fit_model(X, y, model, groups=groups, n_folds=n_folds, seed=int(seed))
            best_params.append({"train_pairs": int(n), "seed": int(seed), **fitted.best_params_})
            for index, rmse, pair_rmse in (
                (test, test_rmse, test_pair),
                (train, train_rmse, train_pair),
            ):
                p_plus, p_minus = predict_pairs(fitted, dataset, index)
                residual = np.concatenate(
                    [p_plus - dataset.y_plus[index], p_minus - dataset.y_minus[index]]
                )
                rmse[i, s] = np.sqrt(np.mean(residual**2))
                pair_rmse[i, s] = within_pair_relative_rmse(
                    p_plus, p_minus, dataset.y_plus[index], dataset.y_minus[index]
                )
    return LearningCurve(
        train_pairs=train_pairs,
        seeds=seeds,
        test_rmse=test_rmse,
        train_rmse=train_rmse,
        test_pair_rmse=test_pair,
        train_pair_rmse=train_pair,
        floor=float(np.mean(floors)),
        target_std=float(np.std(np.concatenate([dataset.y_plus, dataset.y_minus]))),
        model=model,
        dataset=dataset.name,
        descriptor=dataset.descriptor,
        target=dataset.target,
        best_params=best_params,
    )


def learning_curve(
    X,
    y,
    *,
    model: str = "krr",
    train_sizes=None,
    seeds=(0, 1, 2),
    test_fraction: float = 0.2,
    n_folds: int = 3,
    name: str = "",
    descriptor: str = "",
    target: str = "",
    X_test=None,
    y_test=None,
) -> LearningCurve:
    """Learning curve on independent structures (no pairs): test RMSE against training size.

    Same protocol as :func:`pair_learning_curve` with one structure per group; the within-pair
    fields of the returned :class:`LearningCurve` are NaN and ``train_pairs`` counts
    structures. With ``X_test, y_test`` every model is tested on them (a transfer test, e.g.
    train on random structures and test along an insensitive manifold) and training subsets are
    drawn from all of ``X``.
    """
    X = np.asarray(X, dtype=np.float64)
    y = as_vector(y, "y")
    if X.ndim != 2 or len(X) != len(y):
        raise InputError(
            f"X must be (n_samples, n_features) with one row per target, got {X.shape}"
        )
    if not 0 < test_fraction < 1:
        raise InputError(f"test_fraction must be in (0, 1), got {test_fraction}")
    external = X_test is not None
    if external:
        X_test = np.asarray(X_test, dtype=np.float64)
        y_test = as_vector(y_test, "y_test")
        if X_test.ndim != 2 or X_test.shape[1] != X.shape[1] or len(X_test) != len(y_test):
            raise InputError(
                f"X_test must be (n_test, {X.shape[1]}) with one row per y_test value, got "
                f"{X_test.shape}"
            )
    n_test = 0 if external else max(1, round(test_fraction * len(y)))
    n_available = len(y) - n_test
    if train_sizes is None:
        train_sizes = log_training_sizes(min(16, n_available), n_available, 6)
    train_sizes = np.asarray(train_sizes, dtype=int)
    if train_sizes.min() < n_folds or train_sizes.max() > n_available:
        raise InputError(f"training sizes must be in {n_folds}..{n_available}, got {train_sizes}")
    seeds = np.asarray(seeds, dtype=int)
    shape = (len(train_sizes), len(seeds))
    test_rmse, train_rmse = np.zeros(shape), np.zeros(shape)
    best_params = []
    for s, seed in enumerate(seeds):
        order = np.random.default_rng(int(seed)).permutation(len(y))
        test, pool = order[:n_test], order[n_test:]
        features_test, targets_test = (X_test, y_test) if external else (X[test], y[test])
        for i, n in enumerate(train_sizes):
            train = pool[:n]
            fitted = fit_model(X[train], y[train], model, n_folds=n_folds, seed=int(seed))
            best_params.append({"train_size": int(n), "seed": int(seed), **fitted.best_params_})
            residual = fitted.predict(features_test) - targets_test
            test_rmse[i, s] = np.sqrt(np.mean(residual**2))
            train_rmse[i, s] = np.sqrt(np.mean((fitted.predict(X[train]) - y[train]) ** 2))
    nan = np.full(shape, np.nan)
    return LearningCurve(
        train_pairs=train_sizes,
        seeds=seeds,
        test_rmse=test_rmse,
        train_rmse=train_rmse,
        test_pair_rmse=nan,
        train_pair_rmse=nan.copy(),
        floor=float("nan"),
        target_std=float(np.std(y_test if external else y)),
        model=model,
        dataset=name,
        descriptor=descriptor,
        target=target,
        best_params=best_params,
    )

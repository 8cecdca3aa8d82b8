"""One row per structure: :class:`Pooling` sums or averages a descriptor's per-atom features.

A descriptor's :meth:`~completeness.descriptors.Descriptor.transform` gives one row per atom;
a target given per structure (an energy) needs one row per structure. ``Pooling`` is the
scikit-learn step between them::

    from sklearn.pipeline import make_pipeline
    from sklearn.linear_model import Ridge

    model = make_pipeline(Pooling(descriptor=PowerSpectrum(), pool="sum"), Ridge())
    model.fit(molecules, energies)          # molecules: list of ase.Atoms

``pool="sum"`` suits extensive targets (an energy is a sum of atomic contributions, so a linear
model on summed features is a sum of per-atom linear models); ``"mean"`` intensive ones.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone

from ..environments import InputError, check_systems
from .hypers import Choice, check_value

__all__ = ["Pooling"]

_POOL = Choice(("mean", "sum"))


class Pooling(TransformerMixin, BaseEstimator):
    """Per-structure features: the ``pool`` (``"mean"`` or ``"sum"``) over every atom of each
    structure of the features of ``descriptor`` (any :class:`Descriptor`).

    ``fit`` fits a clone of the descriptor (``descriptor_``: fixed species, see
    :meth:`Descriptor.fit`); ``transform`` returns ``(n_structures, n_features)``;
    ``get_feature_names_out`` names the columns ``"sum(<feature>)"``; ``set_output`` works as
    for any scikit-learn transformer.
    """

    def __init__(self, *, descriptor=None, pool="mean"):
        self.descriptor = descriptor
        self.pool = pool

    def _check(self) -> None:
        check_value(type(self).__name__, "pool", _POOL, self.pool)
        if self.descriptor is None or not hasattr(self.descriptor, "compute"):
            raise InputError(
                f"Pooling needs descriptor= a completeness Descriptor, got {self.descriptor!r}"
            )

    def fit(self, X, y=None):
        self._check()
        self.descriptor_ = clone(self.descriptor).fit(X)
        self.n_features_in_ = 1  # one column of structures
        return self

    def transform(self, X) -> np.ndarray:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "descriptor_")
        systems = check_systems(X)
        features = self.descriptor_.compute(systems)
        rows = features.samples[:, 0]
        out = np.zeros((len(systems), features.n_features))
        np.add.at(out, rows, features.values)
        if self.pool == "mean":
            out /= np.maximum(np.bincount(rows, minlength=len(systems)), 1)[:, None]
        return out

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "descriptor_")
        names = self.descriptor_.get_feature_names_out()
        return np.asarray([f"{self.pool}({name})" for name in names], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False  # a list of ase.Atoms
        tags.target_tags.required = False
        return tags

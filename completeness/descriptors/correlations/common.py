"""What the bispectrum and the density correlations share: the parity option and CG products."""

from __future__ import annotations

import numpy as np

from ...environments import InputError
from ..hypers import Boolean, declare
from ..spherical_expansion import ExpansionHypers


class CorrelationHypers(ExpansionHypers):
    """Expansion hyperparameters plus ``include_pseudoscalar`` and the parity it implies.

    A mixin, not a Descriptor subclass, so that it is not registered as a descriptor. The
    descriptor provides ``_parities(species)``: ``+1``/``-1`` per feature for sorted species.
    """

    hyper_constraints = declare(include_pseudoscalar=Boolean())

    @property
    def parity(self) -> str:  # type: ignore[override]
        """``"SO(3)"`` when pseudoscalar terms are included, else ``"O(3)"``."""
        return "SO(3)" if self.include_pseudoscalar is True else "O(3)"

    def feature_parity(self, species=None) -> np.ndarray:
        """``+1`` for each scalar (even) feature, ``-1`` for each pseudoscalar (odd) one."""
        self._check_hypers()
        if species is None:
            species = self.fixed_species()
        if species is None:
            raise InputError("feature_parity needs species=[...] (or the species hyperparameter)")
        return self._parities(np.unique(np.asarray(species)))


def partial(x: np.ndarray, y: np.ndarray, tensor: np.ndarray, outer=None) -> np.ndarray:
    """``out[s, i * n_y + j, q] = sum_{a b} tensor[a, b, q] x[s, i, a] y[s, j, b]``.

    One GEMM on the outer product (faster than batched small matmuls for these sizes); pass
    ``outer`` (from :func:`outer_product`) to reuse it across tensors.
    """
    n_samples, n_x, m_a = x.shape
    _, n_y, m_b = y.shape
    m_q = tensor.shape[2]
    if outer is None:
        outer = outer_product(x, y)
    out = outer @ np.ascontiguousarray(tensor).reshape(m_a * m_b, m_q)
    return out.reshape(n_samples, n_x * n_y, m_q)


def outer_product(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``outer[(s, i, j), (a, b)] = x[s, i, a] y[s, j, b]`` as a 2-D array."""
    outer = x[:, :, None, :, None] * y[:, None, :, None, :]  # (S, n_x, n_y, m_a, m_b)
    return outer.reshape(-1, x.shape[2] * y.shape[2])

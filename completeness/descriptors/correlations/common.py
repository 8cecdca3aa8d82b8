"""What the bispectrum and the density correlations share: the parity option, CG products and
the allocation of their large gradient arrays."""

from __future__ import annotations

import mmap

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


#: Arrays at least this large (bytes) come from :func:`output_zeros`' own mapping.
LARGE_OUTPUT_BYTES = 2**29


def output_zeros(shape) -> np.ndarray:
    """A zero-filled float64 array for a large output: numpy's below 512 MiB, ordinary (4 kB)
    pages from 512 MiB on.

    numpy asks the kernel for transparent huge pages on large arrays. Faulting in a fresh output
    costs far less CPU time on huge pages while the kernel has free 2 MB blocks at hand, but on
    a busy machine large ones turn erratic (compaction, blocks the host has not yet backed).
    Measured: the bispectrum with gradients at 4,000 environments (a 600 MB output) spent 130-430
    µs of system time per environment on huge pages against 70-100 µs on ordinary ones;
    ``python3 benchmarks/output_pages.py`` (allocate, write every page, free; round-robin, load
    average 3.6-5.7, median of 7): ordinary pages 430-575 ms per GB at every size from 32 MB to
    2 GB, huge pages 102-124 ms per GB from 32 to 768 MB but 357-708 ms per GB at 1 GB and 513
    at 2 GB. A private anonymous mapping is zero-filled and never huge-paged; the array owns it
    like any numpy array owns its memory. ``MAP_POPULATE`` (Linux) maps all its pages in one
    call instead of one fault per page: about 20 % less system time (bispectrum, 10,000
    environments).
    """
    n_bytes = 8 * int(np.prod(shape))
    if n_bytes < LARGE_OUTPUT_BYTES:
        return np.zeros(shape)
    buffer = mmap.mmap(-1, n_bytes, flags=mmap.MAP_PRIVATE | getattr(mmap, "MAP_POPULATE", 0))
    return np.frombuffer(buffer, dtype=np.float64).reshape(shape)

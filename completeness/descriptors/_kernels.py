r"""Compiled kernels (numba) for the hot loops of the spectra, with their numpy fallback.

numba is an optional dependency (``pip install 'completeness[fast]'``: numba and llvmlite take
about 200 MB, too heavy for the core). When it is importable the kernels below are compiled on
first use (and cached on disk) and used for batches of at least :data:`COMPILED_MIN_ENTRIES`
output entries; otherwise, or with ``COMPLETENESS_KERNELS=numpy``, the callers use their
pure-numpy code. Both paths compute the same sums in a different order: the tests hold them to
1e-14 of the largest value.

Power-spectrum pair gradients
    For pair :math:`p` (sample :math:`s`, species :math:`a_p`) and each feature
    :math:`f = (l, i \le j)` with channels :math:`i = (a, n)`, :math:`j = (b, n')`,

    .. math::

        \frac{\partial p_f}{\partial \mathbf r_p} = w_{ij} \big[
            \delta_{a a_p} (R_{nl} \mathbf v_{jl} + R'_{nl} \hat{\mathbf r}_p u_{jl})
          + \delta_{b a_p} (R_{n'l} \mathbf v_{il} + R'_{n'l} \hat{\mathbf r}_p u_{il}) \big],

    :math:`u_{jl} = \sum_m Y_{lm}\, c_{jlm} / \sqrt{2l+1}`,
    :math:`\mathbf v_{jl} = \sum_m \nabla Y_{lm}\, c_{jlm} / \sqrt{2l+1}`, :math:`w_{ij} = \sqrt 2`
    off the diagonal and 1 on it (see :mod:`completeness.descriptors.spectra`). The kernel
    (:mod:`completeness.descriptors._power_spectrum_kernel`, on eight-lane vectors) computes
    ``u`` and ``v`` of one pair at a time and writes the ``(3, n_features)`` row of that pair
    straight into the ``(n_pairs, 3, n_features)`` output; rows of features with no channel of
    the pair's species are left at zero (the output starts zeroed), so the work per pair grows
    linearly with the number of species, not quadratically. On request it also subtracts each
    pair's rows from its sample's centre gradient while they are in cache (saving a second
    pass over the whole output).

Radial functions times the cutoff
    :func:`radial_with_cutoff` evaluates the cubic Hermite spline of the radial integrals
    (:class:`~completeness.descriptors.radial_basis.RadialSpline`) and multiplies it by the
    cutoff function in one pass over the pairs: :math:`f_c R` and, with derivatives,
    :math:`f_c R' + f_c' R`, without the ``(pairs, 4, functions)`` gather of the numpy code.
"""

from __future__ import annotations

import contextlib
import contextvars
import os

import numpy as np

from .outputs import output_empty, output_zeros

__all__ = [
    "compiled_kernels_available",
    "power_spectrum_pair_gradients",
    "radial_with_cutoff",
    "repeated_calls",
    "use_compiled",
]

#: Set to ``numpy`` to use the pure-numpy code even when numba is installed.
KERNELS_VARIABLE = "COMPLETENESS_KERNELS"

#: Smallest batch (entries of a kernel's output, e.g. pairs x features) handed to a compiled
#: kernel. Importing numba and loading the cached kernels costs about a second once per
#: process; batches this large are bulk work (training sets, searches, benchmarks) where that is
#: small against the time saved (measured on the power spectrum: the gradient kernel saves ~40 ns
#: per pair-gradient entry, the radial kernel ~8 ns per radial value, 20 % of a values call),
#: and the many small calls of an audit or of manifold following never pay it.
COMPILED_MIN_ENTRIES = 2**19

_compiled: dict = {}
_expected_calls = contextvars.ContextVar("expected_calls", default=1)


@contextlib.contextmanager
def repeated_calls(n_calls: int):
    """Within this block every kernel call is expected to repeat ``n_calls`` times (the steps of
    manifold following, say): the one-time cost of loading the compiled kernels is weighed
    against the work of all of them, so that a long run of small calls uses compiled code too."""
    token = _expected_calls.set(max(1, int(n_calls)))
    try:
        yield
    finally:
        _expected_calls.reset(token)


def use_compiled(n_rows: int, n_columns: int) -> bool:
    """Whether a kernel output of ``n_rows`` (pairs) x ``n_columns`` goes to compiled code: when
    that output, times the calls expected to repeat it (:func:`repeated_calls`), reaches
    :data:`COMPILED_MIN_ENTRIES`."""
    work = n_rows * n_columns * _expected_calls.get()
    return work >= COMPILED_MIN_ENTRIES and compiled_kernels_available()


def compiled_kernels_available() -> bool:
    """True when numba is importable and ``COMPLETENESS_KERNELS`` does not ask for numpy."""
    if os.environ.get(KERNELS_VARIABLE, "").strip().lower() == "numpy":
        return False
    return _numba() is not None


def _numba():
    if "numba" not in _compiled:
        try:
            import numba
        except ImportError:  # the optional extra is not installed: numpy fallback
            numba = None
        _compiled["numba"] = numba
    return _compiled["numba"]


def _kernel(name, function):
    if name not in _compiled:
        _compiled[name] = _numba().njit(cache=True, nogil=True)(function)
    return _compiled[name]


def radial_with_cutoff(spline, distances, cutoff_values, cutoff_derivatives, derivatives):
    """``(f_c R, f_c R' + f_c' R or None)``, each ``(P, n_radial, max_angular + 1)``."""
    n_pairs = len(distances)
    shape = (n_pairs, spline.n_radial, spline.max_angular + 1)
    radial = np.empty(shape)
    dradial = np.empty(shape) if derivatives else np.empty((0, 1))
    _kernel("radial", _radial_with_cutoff_python)(
        np.ascontiguousarray(spline.coefficients),
        float(spline.spacing),
        int(spline.n_intervals),
        np.ascontiguousarray(distances, dtype=np.float64),
        np.ascontiguousarray(cutoff_values, dtype=np.float64),
        np.ascontiguousarray(cutoff_derivatives, dtype=np.float64),
        bool(derivatives),
        radial.reshape(n_pairs, -1),
        dradial.reshape(n_pairs, -1) if derivatives else dradial,
    )
    return radial, (dradial if derivatives else None)


def _radial_with_cutoff_python(
    coefficients, spacing, n_intervals, distances, fc, dfc, derivatives, radial, dradial
):
    n_functions = coefficients.shape[2]
    for p in range(distances.shape[0]):
        position = min(distances[p] / spacing, float(n_intervals))
        k = min(int(position), n_intervals - 1)
        t = position - k
        f = fc[p]
        df = dfc[p]
        for q in range(n_functions):
            c0 = coefficients[k, 0, q]
            c1 = coefficients[k, 1, q]
            c2 = coefficients[k, 2, q]
            c3 = coefficients[k, 3, q]
            value = ((c3 * t + c2) * t + c1) * t + c0
            radial[p, q] = value * f
            if derivatives:
                slope = ((c3 * (3.0 * t) + 2.0 * c2) * t + c1) * (1.0 / spacing)
                dradial[p, q] = slope * f + value * df


def power_spectrum_pair_gradients(
    channels, harmonics, harmonics_gradient, radial, dradial, directions, pair_sample,
    species_index, n_radial, max_angular, centres=False,
):  # fmt: skip
    """``(n_pairs, 3, (L+1) n_half)`` pair gradients of the power spectrum (compiled kernel);
    with ``centres``, also the centre gradients ``(n_samples, 3, (L+1) n_half)``, minus the sum
    of each sample's pair gradients (subtracted while each pair's rows are still in cache).

    Parameters
    ----------
    channels : (n_samples, n_species n_radial, (L+1)^2)
        Expansion coefficients ``c_{(a n) lm}`` of every sample.
    harmonics, harmonics_gradient : (P, (L+1)^2), (P, 3, (L+1)^2)
    radial, dradial : (P, n_radial, L+1)
        ``f_c R_{nl}`` and its derivative along the pair direction.
    directions : (P, 3)
    pair_sample, species_index : (P,) int
    """
    n_channels = channels.shape[1]
    n_features = (max_angular + 1) * n_channels * (n_channels + 1) // 2
    # with one species the kernel writes every entry (several: rows of other species stay zero);
    # fresh memory from numpy, on huge pages at every size (a 10 GB output of 4 species took
    # 5.5-6.3 s of CPU this way against 10.5-12.5 s on ordinary pages, idle machine)
    allocate = output_empty if n_channels == n_radial else output_zeros
    out = allocate((len(pair_sample), 3, n_features), fresh=np.zeros)
    centre_shape = (len(channels) if centres else 0, 3, n_features)
    centre = output_zeros(centre_shape, fresh=np.zeros)
    from ._power_spectrum_kernel import power_spectrum_pair_gradients_kernel

    power_spectrum_pair_gradients_kernel(
        np.ascontiguousarray(channels),
        np.ascontiguousarray(harmonics),
        np.ascontiguousarray(harmonics_gradient),
        np.ascontiguousarray(radial),
        np.ascontiguousarray(dradial),
        np.ascontiguousarray(directions),
        np.ascontiguousarray(pair_sample, dtype=np.int64),
        np.ascontiguousarray(species_index, dtype=np.int64),
        int(n_radial),
        int(max_angular),
        out,
        centre,
    )
    return (out, centre) if centres else out

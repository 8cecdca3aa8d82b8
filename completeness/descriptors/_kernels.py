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
    computes ``u`` and ``v`` of one pair at a time and writes the ``(3, n_features)`` row of
    that pair straight into the ``(n_pairs, 3, n_features)`` output; rows of features with no
    channel of the pair's species are left at zero (the output starts zeroed), so the work per
    pair grows linearly with the number of species, not quadratically.

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
    species_index, n_radial, max_angular,
):  # fmt: skip
    """``(n_pairs, 3, (L+1) n_half)`` pair gradients of the power spectrum (compiled kernel).

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
    n_half = n_channels * (n_channels + 1) // 2
    out = np.zeros((len(pair_sample), 3, (max_angular + 1) * n_half))
    inverse_root = 1.0 / np.sqrt(2.0 * np.arange(max_angular + 1) + 1.0)
    _kernel("power_spectrum", _power_spectrum_pair_gradients_python)(
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
        inverse_root,
        out,
    )
    return out


def _power_spectrum_pair_gradients_python(
    channels, harmonics, harmonics_gradient, radial, dradial, directions, pair_sample,
    species_index, n_radial, max_angular, inverse_root, out,
):  # fmt: skip
    n_pairs = pair_sample.shape[0]
    n_channels = channels.shape[1]
    n_half = n_channels * (n_channels + 1) // 2
    n_angular = max_angular + 1
    root2 = np.sqrt(2.0)
    u = np.empty((n_angular, n_channels))
    v = np.empty((3, n_angular, n_channels))
    for p in range(n_pairs):
        s = pair_sample[p]
        own_first = species_index[p] * n_radial  # the pair's own channels: own_first + n
        for l in range(n_angular):
            for j in range(n_channels):
                su = 0.0
                s0 = 0.0
                s1 = 0.0
                s2 = 0.0
                for lm in range(l * l, (l + 1) * (l + 1)):
                    c = channels[s, j, lm]
                    su += harmonics[p, lm] * c
                    s0 += harmonics_gradient[p, 0, lm] * c
                    s1 += harmonics_gradient[p, 1, lm] * c
                    s2 += harmonics_gradient[p, 2, lm] * c
                scale = inverse_root[l]
                u[l, j] = su * scale
                v[0, l, j] = s0 * scale
                v[1, l, j] = s1 * scale
                v[2, l, j] = s2 * scale
        d0 = directions[p, 0]
        d1 = directions[p, 1]
        d2 = directions[p, 2]
        for l in range(n_angular):
            base = l * n_half
            # features (i, j >= i) with i in the pair's species: row i of the upper triangle
            # (and, for j in the species too, the (j, i) term); then i < own channels <= j
            for n in range(n_radial):
                i = own_first + n
                r_i = radial[p, n, l]
                dr_i = dradial[p, n, l]
                row = base + i * n_channels - i * (i - 1) // 2  # feature (i, i)
                for j in range(i, n_channels):
                    weight = 1.0 if j == i else root2
                    g0 = r_i * v[0, l, j]
                    g1 = r_i * v[1, l, j]
                    g2 = r_i * v[2, l, j]
                    along = dr_i * u[l, j]
                    if j < own_first + n_radial:  # j in the pair's species: the (j, i) term
                        r_j = radial[p, j - own_first, l]
                        dr_j = dradial[p, j - own_first, l]
                        g0 += r_j * v[0, l, i]
                        g1 += r_j * v[1, l, i]
                        g2 += r_j * v[2, l, i]
                        along += dr_j * u[l, i]
                    f = row + j - i
                    out[p, 0, f] = weight * (g0 + d0 * along)
                    out[p, 1, f] = weight * (g1 + d1 * along)
                    out[p, 2, f] = weight * (g2 + d2 * along)
            # features (i, j) with i before the pair's species and j in it: only the (j) term
            for i in range(own_first):
                row = base + i * n_channels - i * (i - 1) // 2
                for n in range(n_radial):
                    j = own_first + n
                    r_j = radial[p, n, l]
                    dr_j = dradial[p, n, l]
                    along = dr_j * u[l, i]
                    f = row + j - i
                    out[p, 0, f] = root2 * (r_j * v[0, l, i] + d0 * along)
                    out[p, 1, f] = root2 * (r_j * v[1, l, i] + d1 * along)
                    out[p, 2, f] = root2 * (r_j * v[2, l, i] + d2 * along)

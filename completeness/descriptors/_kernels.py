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
    pair grows linearly with the number of species, not quadratically. On request it also
    subtracts each pair's rows from its sample's centre gradient while they are in cache
    (saving a second pass over the whole output).

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
    out = np.zeros((len(pair_sample), 3, n_features))
    centre = np.zeros((len(channels), 3, n_features) if centres else (0, 3, n_features))
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
        centre,
    )
    return (out, centre) if centres else out


def _power_spectrum_pair_gradients_python(
    channels, harmonics, harmonics_gradient, radial, dradial, directions, pair_sample,
    species_index, n_radial, max_angular, inverse_root, out, centre,
):  # fmt: skip
    # Every index is unsigned (np.uint64, and never mixed with signed integers, which numba
    # would promote to float): numba then skips the negative-index wrap-around it otherwise
    # adds to every array access, which costs more than the arithmetic here.
    zero, one, two, three = np.uint64(0), np.uint64(1), np.uint64(2), np.uint64(3)
    four, five = np.uint64(4), np.uint64(5)
    n_pairs = np.uint64(pair_sample.shape[0])
    n_channels = np.uint64(channels.shape[1])
    n_radial = np.uint64(n_radial)
    n_angular = np.uint64(max_angular + 1)
    n_half = n_channels * (n_channels + one) // two
    root2 = np.sqrt(2.0)
    # work[l]: rows u, v_x, v_y, v_z (every channel) and sqrt(2) R, sqrt(2) R' (the pair's own
    # channels; zero in the others)
    work = np.zeros((n_angular, np.uint64(6), n_channels))
    with_centre = centre.shape[0] > 0
    last_first = zero
    for p in range(n_pairs):
        s = np.uint64(pair_sample[p])
        own_first = np.uint64(species_index[p]) * n_radial
        own_end = own_first + n_radial
        if own_first != last_first:  # another species: clear the previous one's radial rows
            for l in range(n_angular):
                for n in range(n_radial):
                    work[l, four, last_first + n] = 0.0
                    work[l, five, last_first + n] = 0.0
            last_first = own_first
        for l in range(n_angular):
            for n in range(n_radial):
                work[l, four, own_first + n] = root2 * radial[p, n, l]
                work[l, five, own_first + n] = root2 * dradial[p, n, l]
            scale = inverse_root[l]
            for j in range(n_channels):
                su = s0 = s1 = s2 = 0.0
                for lm in range(l * l, (l + one) * (l + one)):
                    c = channels[s, j, lm]
                    su += harmonics[p, lm] * c
                    s0 += harmonics_gradient[p, zero, lm] * c
                    s1 += harmonics_gradient[p, one, lm] * c
                    s2 += harmonics_gradient[p, two, lm] * c
                work[l, zero, j] = su * scale
                work[l, one, j] = s0 * scale
                work[l, two, j] = s1 * scale
                work[l, three, j] = s2 * scale
        # feature (i, j >= i) of l: sqrt2 [R_i v_j + R_j v_i + r^ (R'_i u_j + R'_j u_i)], a
        # contiguous run j = i.. per row i; R is zero outside the pair's species, so the rows
        # after it stay zero (as allocated)
        for x in range(three):
            d = directions[p, x]
            row_out = out[p, x]
            for l in range(n_angular):
                u_l = work[l, zero]
                v_l = work[l, one + x]
                r_l = work[l, four]
                dr_l = work[l, five]
                base = l * n_half
                for i in range(own_end):
                    start = base + i * (n_channels + n_channels - one - i) // two  # (i, 0)
                    a, b, c, e = r_l[i], d * dr_l[i], v_l[i], d * u_l[i]
                    # rows before the species: R_i = R'_i = 0, nonzero only where R_j is
                    first, end = (i, n_channels) if i >= own_first else (own_first, own_end)
                    for j in range(first, end):
                        row_out[start + j] = a * v_l[j] + b * u_l[j] + c * r_l[j] + e * dr_l[j]
                    if i >= own_first:  # the diagonal has weight 1, not sqrt(2)
                        row_out[start + i] *= np.sqrt(0.5)
            if with_centre:  # minus the rows just written: the first `length` of each l block
                centre_row = centre[s, x]
                length = own_end * (n_channels + n_channels + one - own_end) // two
                runs = n_angular
                if length == n_half:  # every row of every block: one run
                    runs, length = one, n_angular * n_half
                for run in range(runs):
                    first = run * n_half
                    for f in range(first, first + length):
                        centre_row[f] -= row_out[f]

r"""The compiled (numba) kernel of the power-spectrum pair gradients (formula in
:mod:`completeness.descriptors._kernels`), on eight-lane vectors (:mod:`._lanes`).

Per pair, for every ``l``, a work block holds six rows over the channels (each padded with
:data:`~._lanes.LANES` zeros): :math:`u, v_x, v_y, v_z` (every channel) and :math:`R, R'` (the
pair's own channels, zero in the others). The projections are summed eight channels at a time
from the sample's coefficients, transposed to ``(lm, channel)`` and scaled by
:math:`1/\sqrt{2l+1}` once per sample. Each output row ``i`` of a feature block ``(x, l)`` is then
written eight entries at a time from its diagonal (or, for a row of another species, from the
pair's first channel), as

    :math:`w_{ij} (R_i v_j + R'_i d_x u_j + v_i R_j + d_x u_i R'_j)`,

with :math:`w = \sqrt 2` off the diagonal and 1 on it.

A vector store of eight entries may run past the end of its row. Rows are written in output
order (pairs, then ``x``, ``l``, ``i``), so what it covers there belongs to rows written later,
or to entries that stay zero; and every lane past the row's end is exactly zero: its column is
either padding (zero in all four rows) or a channel of another species in a row of another
species (:math:`R_i = R'_i = 0` and :math:`R_j = R'_j = 0`). Only the array's last entries are
stored one at a time. Entries of rows with no channel of the pair's species are never computed
(they keep the zeros the output starts with): the work per pair grows with the number of
species, not with its square. With one species every entry is written, so the output may start
with any values (a recycled array, :func:`~completeness.descriptors.outputs.output_empty`).

Indices are unsigned (``np.uint64``, never mixed with signed integers, which numba would promote
to float): numba then skips its negative-index wrap-around on every access.
"""

from __future__ import annotations

import numba
import numpy as np

from ._lanes import LANES, combine_lanes, project_lanes

jit = numba.njit(cache=True, nogil=True)
#: the kernel's parts, compiled into it (calls per pair and direction cost about 6 % of its time)
part = numba.njit(cache=True, nogil=True, inline="always")
_ZERO, _ONE, _TWO, _THREE = np.uint64(0), np.uint64(1), np.uint64(2), np.uint64(3)
_FOUR, _FIVE, _SIX, _LANES = np.uint64(4), np.uint64(5), np.uint64(6), np.uint64(LANES)


@jit
def power_spectrum_pair_gradients_kernel(
    channels, harmonics, harmonics_gradient, radial, dradial, directions, pair_sample,
    species_index, n_radial, max_angular, out, centre,
):  # fmt: skip
    """Fill ``out`` (P, 3, F), zero on entry, and subtract each pair's rows from ``centre``
    (S, 3, F) when it has samples (else ``centre`` is ``(0, 3, F)``)."""
    n_pairs = np.uint64(pair_sample.shape[0])
    n_channels = np.uint64(channels.shape[1])
    n_radial = np.uint64(n_radial)
    n_angular = np.uint64(max_angular + 1)
    padded = n_channels + _LANES
    # per l: rows u, v_x, v_y, v_z, R, R' (`padded` long each)
    work = np.zeros(n_angular * _SIX * padded)
    n_lm = np.uint64(channels.shape[2])
    columns = np.zeros(n_lm * padded)  # c_{j lm} / sqrt(2l+1) as (lm, j)
    flat = out.reshape(-1)
    harmonics_flat = harmonics.reshape(-1)
    gradient_flat = harmonics_gradient.reshape(-1)
    last_first = _ZERO
    last_sample = np.uint64(pair_sample[0]) + _ONE if n_pairs > _ZERO else _ZERO
    for p in range(n_pairs):
        s = np.uint64(pair_sample[p])
        if s != last_sample:
            _sample_columns(channels, s, n_angular, padded, columns)
            last_sample = s
        own_first = np.uint64(species_index[p]) * n_radial
        if own_first != last_first:  # another species: clear the previous one's R, R'
            _place_radial(work, last_first, n_radial, n_angular, padded, p, radial, dradial, True)
            last_first = own_first
        _place_radial(work, own_first, n_radial, n_angular, padded, p, radial, dradial, False)
        for l in range(n_angular):
            for j0 in range(_ZERO, n_channels, _LANES):
                project_lanes(
                    work, l * _SIX * padded + j0, padded, harmonics_flat, p * n_lm, gradient_flat,
                    p * _THREE * n_lm, n_lm, l * l, (l + _ONE) * (l + _ONE), columns, padded, j0,
                )  # fmt: skip
        own_end = own_first + n_radial
        for x in range(_THREE):
            _write_rows(
                flat, p, x, directions[p, x], work, n_channels, n_angular, own_first, own_end
            )
            if centre.shape[0] > 0:
                _subtract_rows(out[p, x], centre[s, x], n_channels, n_angular, own_end)


@part
def _sample_columns(channels, s, n_angular, padded, columns):
    """``columns[lm padded + j] = c_{s j lm} / sqrt(2l + 1)``."""
    for l in range(n_angular):
        scale = 1.0 / np.sqrt(2.0 * np.float64(l) + 1.0)
        for lm in range(l * l, (l + _ONE) * (l + _ONE)):
            for j in range(np.uint64(channels.shape[1])):
                columns[lm * padded + j] = channels[s, j, lm] * scale


@part
def _place_radial(work, own_first, n_radial, n_angular, padded, p, radial, dradial, clear):
    """Rows R, R' of every l: pair ``p``'s radial functions at its channels (or zeros)."""
    for n in range(n_radial):
        for l in range(n_angular):
            row = l * _SIX * padded + own_first + n
            work[row + _FOUR * padded] = 0.0 if clear else radial[p, n, l]
            work[row + _FIVE * padded] = 0.0 if clear else dradial[p, n, l]


@part
def _write_rows(flat, p, x, d, work, n_channels, n_angular, own_first, own_end):
    """Pair ``p``'s features of direction ``x``, row by row, eight entries at a time."""
    n_half = n_channels * (n_channels + _ONE) // _TWO
    padded = n_channels + _LANES
    total = np.uint64(flat.size)
    root2 = np.sqrt(2.0)
    for l in range(n_angular):
        u_l = l * _SIX * padded
        v_l = u_l + (_ONE + x) * padded
        r_l = u_l + _FOUR * padded
        dr_l = u_l + _FIVE * padded
        base = ((p * _THREE + x) * n_angular + l) * n_half
        for i in range(own_end):
            start = base + i * (n_channels + n_channels - _ONE - i) // _TWO  # (i, 0)
            a, b = work[r_l + i], d * work[dr_l + i]
            c, e = work[v_l + i], d * work[u_l + i]
            # rows of another species: only the pair's own columns are nonzero
            first = i if i >= own_first else own_first
            end = n_channels if i >= own_first else own_end
            for j0 in range(first, end, _LANES):
                position = start + j0
                count = _LANES if position + _LANES <= total else end - j0
                combine_lanes(
                    flat, position, count, i - j0, root2, work,
                    a, v_l + j0, b, u_l + j0, c, r_l + j0, e, dr_l + j0,
                )  # fmt: skip


@part
def _subtract_rows(row_out, centre_row, n_channels, n_angular, own_end):
    """``centre_row -= row_out`` over the rows just written: the first ``length`` entries of
    each l block."""
    n_half = n_channels * (n_channels + _ONE) // _TWO
    length = own_end * (n_channels + n_channels + _ONE - own_end) // _TWO
    runs = n_angular
    if length == n_half:  # every row of every block: one run
        runs, length = _ONE, n_angular * n_half
    for run in range(runs):
        first = run * n_half
        for f in range(first, first + length):
            centre_row[f] -= row_out[f]

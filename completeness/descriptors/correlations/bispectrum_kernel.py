r"""The compiled (numba) bispectrum kernel: values, pair gradients and centre gradients of a
batch in one pass over its samples, everything of one sample in cache.

Per sample it builds the grids of :mod:`~completeness.descriptors.correlations.
bispectrum_gradients` (``dB_f / dc_{t_j}`` over every channel pair) from the outer products of
the expansion and the nonzero Clebsch-Gordan coefficients (the plan's ``sparse_products``: each
nonzero adds one coefficient times one outer product over all channel pairs into one grid row),
the values from the grids of position 3, and then per pair projects the grids onto the pair's
:math:`Y_{lm}` and :math:`\nabla Y_{lm}` into a small buffer and walks the features block by
block in their output order, ``k1``, ``k2``, ``k3`` nested, so that the projection columns and
radial functions of a feature are found by arithmetic on the channel indices instead of through
per-feature index tables. Each pair's ``(3, n_features)`` row is written once; the centre row
(``-sum`` over the sample's pairs) is summed while those rows are still in cache.

A block is one row of the plan's ``block_table``: its ``l``'s, the ordering rules of its
channels (``l1 == l2``: ``k1 <= k2``, strict when ``l1 + l2 + l3`` is odd; likewise ``k2, k3``),
its first feature, and for each position ``j`` the projection column of its grid (the grid over
the two other channels, ``(a, b) -> base_j + a * n_channels + b``), with the sign of an aliased
grid in ``block_sign``. The channels of a position whose species is not the pair's get a zero
radial function, which zeroes their term exactly as the numpy path's species mask does.

Indices into the per-pair buffers are unsigned where numba cannot prove them non-negative (a
signed index costs a wrap-around test per access in the innermost loop).
"""

from __future__ import annotations

import numba
import numpy as np

#: Columns of the plan's ``block_table``.
L1, L2, L3, RULE12, RULE23, START, BASE1, BASE2, BASE3 = range(9)

jit = numba.njit(cache=True, nogil=True)


@jit
def bispectrum_batch(
    coefficients, products, harmonics, harmonics_gradient, radial, dradial, directions,
    species_index, pair_offsets, layout, values, pair_gradients, centre_gradients,
):  # fmt: skip
    """Fill ``values`` (S, F), ``pair_gradients`` (P, 3, F) and ``centre_gradients`` (S, 3, F).

    ``coefficients`` (S, n_channels, (L+1)^2); ``products`` the plan's ``sparse_products``;
    ``harmonics`` (P, (L+1)^2) and ``harmonics_gradient`` (P, 3, (L+1)^2); ``radial``,
    ``dradial`` (P, n_radial, L+1); ``pair_offsets`` (S+1,); ``layout`` is ``(group_offset,
    group_size, group_start, block_table, block_sign)`` of the plan. Every array C-contiguous,
    indices int64.
    """
    group_offset, group_size, group_start, table, sign = layout
    n_samples, n_channels, _ = coefficients.shape
    n_radial, n_angular = radial.shape[1], radial.shape[2]
    top = n_angular - 1
    grids = np.empty(group_offset[top] + (2 * top + 1) * group_size[top])
    outer = np.empty((2 * top + 1) ** 2 * n_channels * n_channels)
    projections = np.empty((4, group_start[top] + group_size[top]))
    own = np.empty((n_angular, n_channels))  # f_c R of the pair's channels, zero elsewhere
    down = np.empty((n_angular, n_channels))  # its derivative
    for s in range(n_samples):
        _grids(coefficients[s], products, outer, grids)
        _values(grids, layout, coefficients[s], values[s])
        for p in range(pair_offsets[s], pair_offsets[s + 1]):
            _project(grids, group_offset, group_size, group_start, harmonics[p],
                     harmonics_gradient[p], projections)  # fmt: skip
            first = species_index[p] * n_radial
            for l in range(n_angular):
                for k in range(n_channels):
                    n = k - first
                    inside = 0 <= n < n_radial
                    own[l, k] = radial[p, n, l] if inside else 0.0
                    down[l, k] = dradial[p, n, l] if inside else 0.0
            _assemble_pair(projections, own, down, directions[p], table, sign, n_channels,
                           pair_gradients[p])  # fmt: skip
        _centre(pair_gradients[pair_offsets[s] : pair_offsets[s + 1]], centre_gradients[s])


@jit
def _grids(coefficients, products, outer, grids):
    """Every grid of one sample: per pair of orders ``(la, lb)`` the outer products
    ``c_{a, la ma} c_{b, lb mb}`` over all channel pairs, then one multiply-add of a grid row
    per nonzero CG coefficient."""
    table, rows, destinations, coefficient = products
    n_channels = coefficients.shape[0]
    n_pairs = n_channels * n_channels
    grids[:] = 0.0
    for t in range(table.shape[0]):
        la, lb = table[t, 0], table[t, 1]
        row = 0
        for ma in range(la * la, (la + 1) * (la + 1)):
            for mb in range(lb * lb, (lb + 1) * (lb + 1)):
                o = outer[row * n_pairs : (row + 1) * n_pairs]
                for a in range(n_channels):
                    x = coefficients[a, ma]
                    for b in range(n_channels):
                        o[a * n_channels + b] = x * coefficients[b, mb]
                row += 1
        for e in range(table[t, 2], table[t, 3]):
            o = outer[rows[e] * n_pairs : (rows[e] + 1) * n_pairs]
            d = grids[destinations[e] : destinations[e] + n_pairs]
            v = coefficient[e]
            for ab in range(n_pairs):
                d[ab] += v * o[ab]


@jit
def _values(grids, layout, coefficients, out):
    """``B_f = sign_3 sum_m G^3_f[m] c_{k3 m}`` of one sample (the grid of position 3)."""
    group_offset, group_size, group_start, table, sign = layout
    n_channels = coefficients.shape[0]
    for b in range(table.shape[0]):
        l3 = table[b, L3]
        rule12, rule23, f = table[b, RULE12], table[b, RULE23], table[b, START]
        size = group_size[l3]
        origin = group_offset[l3] + table[b, BASE3] - group_start[l3]
        for k1 in range(n_channels):
            k2_first = 0 if rule12 == 0 else k1 + rule12 - 1
            for k2 in range(k2_first, n_channels):
                column = origin + k1 * n_channels + k2
                k3_first = 0 if rule23 == 0 else k2 + rule23 - 1
                for k3 in range(k3_first, n_channels):
                    total = 0.0
                    for m in range(2 * l3 + 1):
                        total += grids[column + m * size] * coefficients[k3, l3 * l3 + m]
                    out[f] = sign[b, 2] * total
                    f += 1


@jit
def _project(grids, group_offset, group_size, group_start, y, dy, projections):
    """``projections[0 | 1 + x, column] = sum_m (Y | d_x Y)_{l m} G_l[m, column]``."""
    for l in range(group_size.shape[0]):
        size = group_size[l]
        start = group_start[l]
        p0 = projections[0, start : start + size]
        p1 = projections[1, start : start + size]
        p2 = projections[2, start : start + size]
        p3 = projections[3, start : start + size]
        p0[:] = 0.0
        p1[:] = 0.0
        p2[:] = 0.0
        p3[:] = 0.0
        for m in range(2 * l + 1):
            lm = l * l + m
            y0, y1, y2, y3 = y[lm], dy[0, lm], dy[1, lm], dy[2, lm]
            g = grids[group_offset[l] + m * size : group_offset[l] + (m + 1) * size]
            for c in range(size):
                p0[c] += y0 * g[c]
                p1[c] += y1 * g[c]
                p2[c] += y2 * g[c]
                p3[c] += y3 * g[c]


@jit
def _assemble_pair(projections, own, down, direction, table, sign, n_channels, out):
    """The ``(3, F)`` gradient row of one pair (module docstring)."""
    d0, d1, d2 = direction[0], direction[1], direction[2]
    p0, p1, p2, p3 = projections[0], projections[1], projections[2], projections[3]
    out0, out1, out2 = out[0], out[1], out[2]
    u = np.uint64
    for b in range(table.shape[0]):
        l1, l2, l3 = table[b, L1], table[b, L2], table[b, L3]
        rule12, rule23, f = table[b, RULE12], table[b, RULE23], u(table[b, START])
        base1, base2, base3 = u(table[b, BASE1]), u(table[b, BASE2]), u(table[b, BASE3])
        s1, s2, s3 = sign[b, 0], sign[b, 1], sign[b, 2]
        own3, down3 = own[l3], down[l3]
        for k1 in range(n_channels):
            r1, dr1 = own[l1, k1] * s1, down[l1, k1] * s1
            k2_first = 0 if rule12 == 0 else k1 + rule12 - 1
            for k2 in range(k2_first, n_channels):
                r2, dr2 = own[l2, k2] * s2, down[l2, k2] * s2
                c3 = base3 + u(k1 * n_channels + k2)
                q0, q1, q2, q3 = p0[c3] * s3, p1[c3] * s3, p2[c3] * s3, p3[c3] * s3
                c1 = base1 + u(k2 * n_channels)
                c2 = base2 + u(k1 * n_channels)
                k3_first = 0 if rule23 == 0 else k2 + rule23 - 1
                for k3 in range(k3_first, n_channels):
                    k = u(k3)
                    along = dr1 * p0[c1 + k] + dr2 * p0[c2 + k] + down3[k] * q0
                    g0 = r1 * p1[c1 + k] + r2 * p1[c2 + k] + own3[k] * q1
                    g1 = r1 * p2[c1 + k] + r2 * p2[c2 + k] + own3[k] * q2
                    g2 = r1 * p3[c1 + k] + r2 * p3[c2 + k] + own3[k] * q3
                    out0[f] = g0 + d0 * along
                    out1[f] = g1 + d1 * along
                    out2[f] = g2 + d2 * along
                    f += u(1)


@jit
def _centre(rows, centre):
    """``centre = -sum`` of one sample's pair rows."""
    centre[:] = 0.0
    for q in range(rows.shape[0]):
        for x in range(3):
            cx = centre[x]
            rx = rows[q, x]
            for f in range(cx.shape[0]):
                cx[f] -= rx[f]

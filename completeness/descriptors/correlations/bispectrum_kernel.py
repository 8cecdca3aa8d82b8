r"""The compiled (numba) bispectrum kernel: values, pair gradients and centre gradients of a
chunk of samples in one pass over its pairs.

It takes the grids of :mod:`~completeness.descriptors.correlations.bispectrum_gradients`
(``dB_f / dc_{t_j}`` over every channel pair, per sample) and, per pair, projects them onto the
pair's :math:`Y_{lm}` and :math:`\nabla Y_{lm}` into a small buffer that stays in the first-level
cache (the numpy path materialises these projections for every pair of a chunk), then walks the
features block by block in their output order, ``k1``, ``k2``, ``k3`` nested, so that the
projection columns and radial functions of a feature are found by arithmetic on the channel
indices instead of through per-feature index tables. Each pair's ``(3, n_features)`` row is
written once into the output and added into its centre's row (``-sum`` over the pairs of the
sample), so the output is never read back.

A block is described by one row of the plan's ``block_table``: its ``l``'s, the ordering
rules of its channels (``l1 == l2``: ``k1 <= k2``, strict when ``l1 + l2 + l3`` is odd;
likewise ``k2, k3``), its first feature, and for each position ``j`` the projection column of
its grid (the grid over the two other channels, ``(a, b) -> base_j + a * n_channels + b``) with
the sign of an aliased grid. The channels of a position whose species is not the pair's get a
zero radial function, which zeroes their term exactly as the numpy path's species mask does.
"""

from __future__ import annotations

import numba
import numpy as np

#: Columns of the block table (:attr:`~completeness.descriptors.correlations.
#: bispectrum_gradients.GradientPlan.block_table`).
L1, L2, L3, RULE12, RULE23, START, BASE1, BASE2, BASE3 = range(9)

jit = numba.njit(cache=True, nogil=True)


@jit
def bispectrum_chunk(
    grids, group_offset, group_size, group_start, coefficients, harmonics, harmonics_gradient,
    radial, dradial, directions, species_index, pair_offsets, table, sign, n_radial, values,
    pair_gradients, centre_gradients,
):  # fmt: skip
    """Fill ``values`` (S, F), ``pair_gradients`` (P, 3, F) and ``centre_gradients`` (S, 3, F)
    of a chunk of S samples.

    ``grids`` (S, columns) holds, per ``l``, the ``(2l+1, group_size[l])`` grids from column
    ``group_offset[l]``; ``coefficients`` (S, n_channels, (L+1)^2); ``harmonics`` (P, (L+1)^2)
    and ``harmonics_gradient`` (P, 3, (L+1)^2); ``radial``, ``dradial`` (P, n_radial, L+1);
    ``pair_offsets`` (S+1,) the pairs of each sample within the chunk. Every argument is
    C-contiguous (int64 indices).
    """
    n_samples = grids.shape[0]
    n_channels = coefficients.shape[1]
    n_angular = radial.shape[2]
    n_columns = 0
    for l in range(n_angular):
        n_columns += group_size[l]
    projections = np.empty((4, n_columns))
    own = np.empty((n_angular, n_channels))  # f_c R of the pair's channels, zero elsewhere
    down = np.empty((n_angular, n_channels))  # its derivative
    for s in range(n_samples):
        _values(grids[s], group_offset, group_size, group_start, coefficients[s], table, sign,
                values[s])  # fmt: skip
        centre = centre_gradients[s]
        centre[:] = 0.0
        for p in range(pair_offsets[s], pair_offsets[s + 1]):
            _project(grids[s], group_offset, group_size, group_start, harmonics[p],
                     harmonics_gradient[p], projections)  # fmt: skip
            first = species_index[p] * n_radial
            for l in range(n_angular):
                for k in range(n_channels):
                    n = k - first
                    inside = 0 <= n < n_radial
                    own[l, k] = radial[p, n, l] if inside else 0.0
                    down[l, k] = dradial[p, n, l] if inside else 0.0
            _assemble_pair(projections, own, down, directions[p], table, sign, n_channels,
                           pair_gradients[p], centre)  # fmt: skip


@jit
def _values(grids, group_offset, group_size, group_start, coefficients, table, sign, out):
    """``B_f = sign_3 sum_m G^3_f[m] c_{k3 m}`` of one sample (the grid of position 3)."""
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
        for c in range(start, start + size):
            projections[0, c] = 0.0
            projections[1, c] = 0.0
            projections[2, c] = 0.0
            projections[3, c] = 0.0
        for m in range(2 * l + 1):
            lm = l * l + m
            y0, y1, y2, y3 = y[lm], dy[0, lm], dy[1, lm], dy[2, lm]
            row = group_offset[l] + m * size - start
            for c in range(start, start + size):
                g = grids[row + c]
                projections[0, c] += y0 * g
                projections[1, c] += y1 * g
                projections[2, c] += y2 * g
                projections[3, c] += y3 * g


@jit
def _assemble_pair(projections, own, down, direction, table, sign, n_channels, out, centre):
    """The ``(3, F)`` gradient row of one pair (module docstring), added into ``centre``."""
    d0, d1, d2 = direction[0], direction[1], direction[2]
    for b in range(table.shape[0]):
        l1, l2, l3 = table[b, L1], table[b, L2], table[b, L3]
        rule12, rule23, f = table[b, RULE12], table[b, RULE23], table[b, START]
        base1, base2, base3 = table[b, BASE1], table[b, BASE2], table[b, BASE3]
        s1, s2, s3 = sign[b, 0], sign[b, 1], sign[b, 2]
        for k1 in range(n_channels):
            r1 = own[l1, k1] * s1
            dr1 = down[l1, k1] * s1
            k2_first = 0 if rule12 == 0 else k1 + rule12 - 1
            for k2 in range(k2_first, n_channels):
                r2 = own[l2, k2] * s2
                dr2 = down[l2, k2] * s2
                c3 = base3 + k1 * n_channels + k2
                q0 = projections[0, c3] * s3
                q1 = projections[1, c3] * s3
                q2 = projections[2, c3] * s3
                q3 = projections[3, c3] * s3
                c1 = base1 + k2 * n_channels
                c2 = base2 + k1 * n_channels
                k3_first = 0 if rule23 == 0 else k2 + rule23 - 1
                for k3 in range(k3_first, n_channels):
                    r3 = own[l3, k3]
                    dr3 = down[l3, k3]
                    along = dr1 * projections[0, c1 + k3] + dr2 * projections[0, c2 + k3] + dr3 * q0
                    g0 = r1 * projections[1, c1 + k3] + r2 * projections[1, c2 + k3] + r3 * q1
                    g1 = r1 * projections[2, c1 + k3] + r2 * projections[2, c2 + k3] + r3 * q2
                    g2 = r1 * projections[3, c1 + k3] + r2 * projections[3, c2 + k3] + r3 * q3
                    g0 += d0 * along
                    g1 += d1 * along
                    g2 += d2 * along
                    out[0, f] = g0
                    out[1, f] = g1
                    out[2, f] = g2
                    centre[0, f] -= g0
                    centre[1, f] -= g1
                    centre[2, f] -= g2
                    f += 1

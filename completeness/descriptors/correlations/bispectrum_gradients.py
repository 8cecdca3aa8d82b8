r"""Bispectrum values and pair gradients through the partial contractions of each position.

For a feature :math:`f = (t_1, t_2, t_3)` of the block :math:`(l_1, l_2, l_3)`, the derivative
with respect to the expansion at position :math:`j` is a Clebsch-Gordan contraction of the two
other channels, e.g. :math:`G^3_f[m_3] = \partial B_f / \partial c_{t_3 m_3}
= \sum_{m_1 m_2} C_{m_1 m_2 m_3} c_{t_1 m_1} c_{t_2 m_2}`: a function of the *pair of other
channels* only, computed once per block and position on the grid of all channel pairs (a
"grid"). With :math:`\partial c^a_{nlm} / \partial \mathbf r_p = \delta_{a a_p} [R'_{nl}
\hat{\mathbf r}_p Y_{lm} + R_{nl} \nabla Y_{lm}]` (pair :math:`p`, neighbour species
:math:`a_p`),

.. math::

    \frac{\partial B_f}{\partial \mathbf r_p} = \sum_{j=1}^{3} \delta_{a_j a_p}
        \big[R'_{n_j l_j}(r_p)\, \hat{\mathbf r}_p\, U^j_f(p) + R_{n_j l_j}(r_p)\,
        \mathbf V^j_f(p)\big],\qquad
    U^j_f = \sum_m G^j_f[m]\, Y_{l_j m}(\hat{\mathbf r}_p),\quad
    \mathbf V^j_f = \sum_m G^j_f[m]\, \nabla Y_{l_j m}(\mathbf r_p).

:math:`U` and :math:`\mathbf V` are projected once per grid column (all grids of one
:math:`l` side by side: one batched GEMM per :math:`l`, the pairs of a sample against that
sample's grids), not once per feature, and never through a per-pair ``(channel, m)`` tensor;
what is left is a few multiply-adds per output entry. For large batches a compiled kernel
(numba, the ``fast`` extra; :mod:`~completeness.descriptors.correlations.bispectrum_kernel`)
does the projections pair by pair in cache, the assembly, the values and the centre rows in one
pass; otherwise numpy does them in chunks. The two agree to round-off (tested). Two positions
with equal :math:`l` share one grid up to a sign (the exchange symmetry of the CG tensor), so
that grid is computed and projected once.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .._kernels import use_compiled
from ..clebsch_gordan import real_clebsch_gordan
from ..outputs import output_zeros
from ..spherical_expansion import pad_segments, segment_padding, unpad_segments
from .blocks import bispectrum_blocks
from .common import outer_product

#: Entries of the projected grids (pairs x 4 x grid columns) per chunk of samples: the
#: temporaries of a chunk stay in cache.
CHUNK_ENTRIES = 2**19


@dataclass(frozen=True)
class GradientPlan:
    """Index tables of the bispectrum gradients for one (max_angular, channels, parity).

    ``products`` lists, per pair of orders ``(la, lb)``, the CG tensors of every grid over the
    channel pairs of ``(la, lb)`` side by side (one GEMM computes them all) and where each grid
    goes: ``(l_j, column, offset, width)``, columns ``column .. column + n_channels**2`` of the
    order-``l_j`` projections from columns ``offset .. offset + width`` of the GEMM.
    ``value_grids[b]`` is ``(la, lb, offset, width, sign)``: the grid ``dB/dc_{t3}`` of block
    ``b`` (a grid of an earlier position times ``sign`` when two l's are equal).
    ``block_table`` and ``block_sign`` describe the same per block for the compiled kernel
    (:mod:`~completeness.descriptors.correlations.bispectrum_kernel`), and ``sparse_products``
    the products as ``(table, rows, destinations, coefficients)``: per pair of orders ``(la,
    lb, first, end)``, and per nonzero of its CG tensors the row ``ma * (2 lb + 1) + mb`` of the
    outer product, the grid column in a sample's grids (groups of ``(2 l + 1, group_size[l])``
    from ``group_offset[l]``) and the coefficient.
    ``column``, ``radial_column``, ``channel_species`` and ``sign`` are ``(3, n_features)``:
    per feature and position, the projection column, the column ``n * (L + 1) + l`` of the
    radial tables, the species index of the channel and the sign of an aliased grid.
    """

    blocks: tuple
    n_features: int
    products: tuple
    value_grids: tuple
    group_start: tuple  # first projection column of each l
    group_size: tuple  # projection columns of each l
    group_offset: tuple  # first column of each l's grids (2l+1 rows) in a sample's grids
    block_table: np.ndarray  # per block, the compiled kernel's description (bispectrum_kernel)
    block_sign: np.ndarray  # per block and position, the sign of its grid
    sparse_products: tuple  # the products' nonzero CG coefficients (the compiled kernel's)
    column: np.ndarray
    radial_column: np.ndarray
    channel_species: np.ndarray
    sign: np.ndarray


def _orientations(ls):
    """Per position: the l's of the two other channels and the CG tensor contracting them."""
    l1, l2, l3 = ls
    tensor = real_clebsch_gordan(l1, l2, l3)
    return (
        (l2, l3, tensor.transpose(1, 2, 0)),
        (l1, l3, tensor.transpose(0, 2, 1)),
        (l1, l2, tensor),
    )


@functools.lru_cache(maxsize=32)
def gradient_plan(max_angular: int, n_radial: int, n_channels: int, include_odd: bool):
    """The :class:`GradientPlan` (cached)."""
    blocks = bispectrum_blocks(max_angular, n_channels, include_odd)
    group_size = [0] * (max_angular + 1)
    grids, tables = [], []
    for block in blocks:
        oriented = _orientations(block.ls)
        entries = []
        for j, (la, lb, tensor) in enumerate(oriented):
            alias = None
            for i in range(j):  # equal l: the grid is +-1 times an earlier one
                if block.ls[i] != block.ls[j] or entries[i][3] is not None:
                    continue
                for sign in (1.0, -1.0):
                    if np.allclose(tensor, sign * oriented[i][2], rtol=0, atol=1e-14):
                        alias = (i, sign)
                if alias is not None:
                    break
            l_j = block.ls[j]
            if alias is None:
                column = group_size[l_j]
                group_size[l_j] += n_channels**2
                entries.append((la, lb, np.ascontiguousarray(tensor), None, l_j, column))
            else:
                entries.append((la, lb, None, alias, l_j, entries[alias[0]][5]))
        grids.append(entries)
        tables.append(_block_tables(block, entries, n_radial, n_channels, max_angular))
    products, value_grids = _products(grids)
    group_start = tuple(int(x) for x in np.cumsum([0, *group_size[:-1]]))
    column, radial_column, channel_species, sign = (
        np.concatenate([t[i] for t in tables], axis=1) for i in range(4)
    )
    for l in range(max_angular + 1):  # columns of each l-group -> columns of the projections
        column[radial_column % (max_angular + 1) == l] += group_start[l]
    group_offset = np.cumsum([0] + [(2 * l + 1) * size for l, size in enumerate(group_size)])
    group_offset = tuple(int(x) for x in group_offset[:-1])
    return GradientPlan(
        blocks,
        int(column.shape[1]),
        products,
        value_grids,
        group_start,
        tuple(group_size),
        group_offset,
        *_block_table(blocks, grids, group_start),
        _sparse_products(products, group_offset, group_size),
        np.ascontiguousarray(column),
        np.ascontiguousarray(radial_column),
        np.ascontiguousarray(channel_species),
        np.ascontiguousarray(sign),
    )


def _products(grids):
    """``(products, value_grids)`` of :class:`GradientPlan` from each block's grid entries."""
    stacks: dict = {}  # (la, lb) -> [tensors, destinations, width so far]
    placed = []  # per block and position: (la, lb, offset, width) of its computed grid
    for entries in grids:
        where = []
        for la, lb, tensor, alias, l_j, column in entries:
            if alias is not None:
                where.append(where[alias[0]])
                continue
            stack = stacks.setdefault((la, lb), [[], [], 0])
            width = tensor.shape[2]
            stack[0].append(tensor.reshape(-1, width))
            stack[1].append((l_j, column, stack[2], width))
            where.append((la, lb, stack[2], width))
            stack[2] += width
        placed.append(where)
    products = tuple(
        (la, lb, np.ascontiguousarray(np.concatenate(tensors, axis=1)), tuple(destinations))
        for (la, lb), (tensors, destinations, _) in stacks.items()
    )
    value_grids = []
    for entries, where in zip(grids, placed, strict=True):
        alias = entries[2][3]
        value_grids.append((*where[2], 1.0 if alias is None else alias[1]))
    return products, tuple(value_grids)


def _block_table(blocks, grids, group_start):
    """``(block_table (n_blocks, 9) int64, block_sign (n_blocks, 3))`` of the compiled kernel:
    per block its l's, the ordering rules of its channels (0 none, 1 ``<=``, 2 ``<``, for
    ``k1, k2`` and ``k2, k3``), its first feature and the projection column of each position's
    grid over the two other channels; the sign of each position's grid."""
    table = np.zeros((len(blocks), 9), dtype=np.int64)
    sign = np.ones((len(blocks), 3))
    for b, (block, entries) in enumerate(zip(blocks, grids, strict=True)):
        l1, l2, l3 = block.ls
        rule = 2 if block.odd else 1
        bases = [group_start[l] + entry[5] for l, entry in zip(block.ls, entries, strict=True)]
        table[b] = (
            l1,
            l2,
            l3,
            rule if l1 == l2 else 0,
            rule if l2 == l3 else 0,
            block.start,
            *bases,
        )
        sign[b] = [1.0 if entry[3] is None else entry[3][1] for entry in entries]
    table.flags.writeable = False
    sign.flags.writeable = False
    return table, sign


def _sparse_products(products, group_offset, group_size):
    """The plan's ``sparse_products`` (read-only arrays; see :class:`GradientPlan`)."""
    table, rows, destinations, coefficients = [], [], [], []
    for la, lb, matrix, grids in products:
        first = len(rows)
        for l_j, column, offset, width in grids:
            for q in range(width):
                nonzero = np.flatnonzero(matrix[:, offset + q])
                rows.extend(nonzero)
                destinations.extend(
                    [group_offset[l_j] + q * group_size[l_j] + column] * nonzero.size
                )
                coefficients.extend(matrix[nonzero, offset + q])
        table.append((la, lb, first, len(rows)))
    arrays = (
        np.array(table, dtype=np.int64).reshape(-1, 4),
        np.array(rows, dtype=np.int64),
        np.array(destinations, dtype=np.int64),
        np.array(coefficients, dtype=np.float64),
    )
    for array in arrays:
        array.flags.writeable = False
    return arrays


def _block_tables(block, entries, n_radial, n_channels, max_angular):
    """``(column within its l-group, radial column, species, sign)``, each (3, block size)."""
    k = block.channels
    others = ((k[1], k[2]), (k[0], k[2]), (k[0], k[1]))
    column = np.stack([entries[j][5] + a * n_channels + b for j, (a, b) in enumerate(others)])
    radial_column = np.stack(
        [(k[j] % n_radial) * (max_angular + 1) + block.ls[j] for j in range(3)]
    )
    species = np.stack([k[j] // n_radial for j in range(3)])
    sign = np.array([[1.0 if e[3] is None else e[3][1]] for e in entries]) * np.ones(block.size)
    return column.astype(np.int64), radial_column.astype(np.int64), species, sign


def bispectrum_with_gradients(plan, dense, terms, species_index, neighbourhoods, n_radial):
    """``(values (S, F), pair gradients (P, 3, F), centre gradients (S, 3, F) or None)``.

    ``dense`` is the expansion ``(S, n_channels, (L+1)^2)``, ``terms`` its pair terms. The
    compiled kernel also sums the centre gradients; the numpy path leaves them to the caller.
    """
    n_samples = neighbourhoods.n_samples
    offsets = neighbourhoods.pair_offsets
    values = np.empty((n_samples, plan.n_features))
    pair_gradients = output_zeros((neighbourhoods.n_pairs, 3, plan.n_features))
    if use_compiled(neighbourhoods.n_pairs, plan.n_features):
        centre_gradients = np.empty((n_samples, 3, plan.n_features))
        outputs = (values, pair_gradients, centre_gradients)
        _compiled(plan, dense, terms, species_index, offsets, outputs)
        return outputs
    width = int(np.diff(offsets).max()) if n_samples else 0
    chunk = max(1, CHUNK_ENTRIES // (4 * sum(plan.group_size) * max(width, 1)))
    for first in range(0, n_samples, chunk):
        samples = slice(first, min(first + chunk, n_samples))
        pairs = slice(int(offsets[samples.start]), int(offsets[samples.stop]))
        groups = _grids(plan, dense[samples], values[samples])
        if pairs.stop == pairs.start:
            continue
        projections = _project(
            groups,
            np.concatenate([terms.harmonics[pairs, None, :], terms.harmonics_gradient[pairs]], 1),
            neighbourhoods.pair_sample[pairs] - first,
            plan,
        )
        pair_gradients[pairs] = _assemble(
            projections,
            terms.radial[pairs].reshape(pairs.stop - pairs.start, -1),
            terms.radial_derivative[pairs].reshape(pairs.stop - pairs.start, -1),
            terms.directions[pairs],
            species_index[pairs],
            plan,
        )
    return values, pair_gradients, None


def _compiled(plan, dense, terms, species_index, offsets, outputs):
    """The whole batch through :func:`~completeness.descriptors.correlations.bispectrum_kernel.
    bispectrum_batch` into ``outputs`` (values, pair and centre gradients)."""
    from .bispectrum_kernel import bispectrum_batch

    def indices(x):
        return np.ascontiguousarray(x, dtype=np.int64)

    layout = (
        indices(plan.group_offset),
        indices(plan.group_size),
        indices(plan.group_start),
        plan.block_table,
        plan.block_sign,
    )
    bispectrum_batch(
        np.ascontiguousarray(dense),
        plan.sparse_products,
        np.ascontiguousarray(terms.harmonics),
        np.ascontiguousarray(terms.harmonics_gradient),
        np.ascontiguousarray(terms.radial),
        np.ascontiguousarray(terms.radial_derivative),
        np.ascontiguousarray(terms.directions),
        indices(species_index),
        indices(offsets),
        layout,
        *outputs,
    )


def _grids(plan, dense, values) -> list:
    """The grids of a chunk, side by side per l (``(S, 2l+1, columns)``); fills ``values``."""
    n_samples, n_channels, _ = dense.shape
    n_pairs = n_channels**2
    per_l = [dense[..., l * l : (l + 1) ** 2] for l in range(len(plan.group_size))]
    groups = [np.empty((n_samples, 2 * l + 1, size)) for l, size in enumerate(plan.group_size)]
    results = {}
    for la, lb, matrix, destinations in plan.products:
        result = outer_product(per_l[la], per_l[lb]) @ matrix
        result = result.reshape(n_samples, n_pairs, -1)
        for l_j, column, offset, width in destinations:
            grid = result[:, :, offset : offset + width]
            groups[l_j][:, :, column : column + n_pairs] = grid.transpose(0, 2, 1)
        results[la, lb] = result
    for block, (la, lb, offset, width, sign) in zip(plan.blocks, plan.value_grids, strict=True):
        # B_f = sum_m (dB/dc_{t3})_m c_{t3 m}
        k1, k2, k3 = block.channels
        grid = np.take(results[la, lb][:, :, offset : offset + width], k1 * n_channels + k2, 1)
        block_values = np.einsum("sfq,sfq->sf", grid, np.take(per_l[block.ls[2]], k3, axis=1))
        values[:, block.start : block.start + block.size] = sign * block_values
    return groups


def _project(groups, harmonics, sample, plan) -> np.ndarray:
    """``(P, 4, columns)``: each grid column against ``Y`` and ``grad Y`` of every pair."""
    n_samples = groups[0].shape[0]
    n_pairs = len(sample)
    width, position = segment_padding(sample, n_samples)
    padded = pad_segments(harmonics, sample, position, n_samples, width)  # (S, W, 4, lm)
    projections = np.empty((n_samples, width * 4, sum(plan.group_size)))
    for l, (start, size) in enumerate(zip(plan.group_start, plan.group_size, strict=True)):
        if size:
            y = padded[..., l * l : (l + 1) ** 2].reshape(n_samples, width * 4, 2 * l + 1)
            projections[:, :, start : start + size] = np.matmul(y, groups[l])
    projections = projections.reshape(n_samples, width, 4, -1)
    return unpad_segments(projections, sample, position, n_pairs)


def _assemble(projections, radial, dradial, directions, species_index, plan) -> np.ndarray:
    """``(P, 3, F)`` pair gradients from the projections (numpy)."""
    n_pairs = len(projections)
    along = np.zeros((n_pairs, plan.n_features))
    gradient = np.zeros((n_pairs, 3, plan.n_features))
    several_species = bool(plan.channel_species.any())
    for j in range(3):
        r = radial[:, plan.radial_column[j]] * plan.sign[j]
        dr = dradial[:, plan.radial_column[j]] * plan.sign[j]
        if several_species:
            own = plan.channel_species[j][None, :] == species_index[:, None]
            r *= own
            dr *= own
        w = projections[:, :, plan.column[j]]
        along += dr * w[:, 0]
        gradient += r[:, None, :] * w[:, 1:]
    gradient += directions[:, :, None] * along[:, None, :]
    return gradient

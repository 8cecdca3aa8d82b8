r"""nu = 4 density correlations (and their gradients) as products of two coupled pairs.

A nu = 4 feature of :class:`~completeness.descriptors.correlations.DensityCorrelations` with
channels :math:`t_1 \le t_2 \le t_3 \le t_4` and intermediate order :math:`\lambda_2`
(:math:`\lambda_3 = l_4`) is

.. math::

    D = \sum_{m_4} \big((c_{t_1} \otimes c_{t_2})_{\lambda_2} \otimes c_{t_3}\big)_{l_4 m_4}
        c_{t_4 m_4}
      = \sum_{\mu} A^{\lambda_2}_{t_1 t_2, \mu}\, B^{\lambda_2}_{t_3 t_4, \mu},

.. math::

    A^{\lambda}_{t t', \mu} = \sum_{m m'} C^{l l' \to \lambda}_{m m' \mu}\, c_{t m}\, c_{t' m'},
    \qquad
    B^{\lambda}_{t t', \mu} = \sum_{m m'} C^{\lambda l \to l'}_{\mu m m'}\, c_{t m}\, c_{t' m'}

(the same sum, regrouped). Both pair tensors come from one outer product
:math:`c_{t} \otimes c_{t'}` per pair of orders :math:`l \le l'` against the CG tensors of every
:math:`\lambda`, for all channel pairs at once; each feature is then a dot product of length
:math:`2\lambda_2 + 1`, and its pair gradient is

.. math::

    \frac{\partial D}{\partial \mathbf r_p} = \sum_\mu
        \frac{\partial A_\mu}{\partial \mathbf r_p} B_\mu + A_\mu \frac{\partial B_\mu}{\partial
        \mathbf r_p},

with the gradients of the pair tensors from those of the expansion (product rule, one GEMM).
No intermediate of order 3 is ever formed. The coupling path of every feature (its channels and
:math:`\lambda_2`) is read once per hyperparameters from the feature names of the reference
coupling (:mod:`~completeness.descriptors.correlations.density`), so the features and their
order are those of the general code, which the tests compare against. Features with a channel
of a species that has no neighbour in the batch are identically zero and only placed.

For large batches (:func:`completeness.descriptors._kernels.use_compiled`) two numba kernels
build the product rule's outer products in one pass and do the dot products, writing values,
pair gradients and centre gradients straight into their outputs (the centre rows are summed
from each sample's pair rows while they are in cache); otherwise numpy does both. At the B8
settings (C + 7 H, 111,394 features; the 7,831 with hydrogen channels only are computed) most
of the remaining time is the dense output itself: 21 MB of ``(pairs, 3, features)`` and centre
rows per environment to fault in and scatter into (measured by ``python3
benchmarks/throughput.py --sections nu4``; the page cost by ``benchmarks/output_pages.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import _kernels
from ..clebsch_gordan import real_clebsch_gordan
from ..outputs import output_zeros

_SEPARATORS = str.maketrans(dict.fromkeys("(),[]anl", " "))


@dataclass(frozen=True)
class Paths:
    """Coupling paths of the nu = 4 features (output order): ``(F,)`` arrays."""

    species: np.ndarray  # (F, 4) species index of each channel
    radial: np.ndarray  # (F, 4)
    angular: np.ndarray  # (F, 4)
    lam: np.ndarray  # (F,) lambda_2


def parse_paths(names) -> Paths:
    """The coupling path of each nu = 4 feature name ``(a,n,l)[l1](a,n,l)[lam2](...)[l4](...)``:
    its 15 integers in order (the punctuation and letters read as separators)."""
    text = " ".join(names).translate(_SEPARATORS)
    numbers = np.fromstring(text, dtype=np.int64, sep=" ").reshape(len(names), 15)
    channels = numbers[:, [0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14]].reshape(-1, 4, 3)
    return Paths(channels[..., 0], channels[..., 1], channels[..., 2], numbers[:, 7])


@dataclass(frozen=True)
class Plan:
    """What a batch with a given set of present species computes.

    ``blocks``: per pair of orders ``(l, l')`` with ``l <= l'``, the channel pairs ``(k, k')``
    it couples (all of them, or ``k <= k'`` when ``l == l'``: sorted channels), its stacked CG
    matrix ``(M M', width)`` (the ``A^lambda`` then the ``B^lambda`` that some feature uses) and
    its start in the flat array of pair tensors, laid out ``[channel pair, width]``.
    """

    n_channels: int
    blocks: tuple  # ((l, l', (k, k'), matrix, start), ...)
    size: int  # flat pair tensors per sample
    offset_a: np.ndarray  # (F,) start of A^{lam2}_{t1 t2} in the flat array
    offset_b: np.ndarray  # (F,) start of B^{lam2}_{t3 t4}
    width: np.ndarray  # (F,) 2 lam2 + 1
    columns: np.ndarray  # (F,) output column of each computed feature

    @property
    def work(self) -> int:
        """Multiply-adds per sample (values) or per pair direction (gradients)."""
        return int(self.width.sum())


def make_plan(paths: Paths, present, n_radial: int) -> Plan:
    """The plan for the features whose four channels all belong to ``present`` species."""
    position = np.full(int(paths.species.max(initial=0)) + 1, -1, dtype=np.int64)
    position[np.asarray(present, dtype=np.int64)] = np.arange(len(present))
    reduced = position[paths.species]  # (F, 4), -1 for an absent species
    computed = np.flatnonzero((reduced >= 0).all(axis=1))
    k = reduced[computed] * n_radial + paths.radial[computed]
    ls = paths.angular[computed]
    lam = paths.lam[computed]
    n_channels = len(present) * n_radial
    n_angular = int(paths.angular.max(initial=0)) + 1
    # used[which, l, l', lambda]: some feature uses A (which 0: channels 1, 2) or B (which 1:
    # channels 3, 4) of these orders; begin[...]: where its (first channel pair) row starts
    used = np.zeros((2, n_angular, n_angular, 2 * n_angular), dtype=bool)
    used[0, ls[:, 0], ls[:, 1], lam] = True
    used[1, ls[:, 2], ls[:, 3], lam] = True
    begin = np.zeros(used.shape, dtype=np.int64)
    width = np.zeros((n_angular, n_angular), dtype=np.int64)  # of a channel pair's row
    row = np.zeros((n_angular, n_angular, n_channels, n_channels), dtype=np.int64)
    blocks, start = [], 0
    for l, lp in zip(*np.nonzero(used.any(axis=(0, 3))), strict=True):
        l, lp = int(l), int(lp)
        tensors, names = [], []
        for which, q in zip(*np.nonzero(used[:, l, lp]), strict=True):
            cg = real_clebsch_gordan(l, lp, q) if which == 0 else real_clebsch_gordan(q, l, lp)
            tensors.append(cg if which == 0 else cg.transpose(1, 2, 0))
            names.append((which, l, lp, q))
        matrix = np.concatenate([t.reshape(-1, t.shape[2]) for t in tensors], axis=1)
        widths = [t.shape[2] for t in tensors]
        for name, first in zip(names, np.cumsum([0, *widths[:-1]]), strict=True):
            begin[name] = start + first
        width[l, lp] = matrix.shape[1]
        first, second = np.indices((n_channels, n_channels)).reshape(2, -1)
        if l == lp:  # sorted channels: k <= k'
            first, second = first[first <= second], second[first <= second]
        row[l, lp, first, second] = np.arange(len(first))
        blocks.append((l, lp, (first, second), np.ascontiguousarray(matrix), start))
        start += len(first) * matrix.shape[1]

    def offsets(which, one, two):
        l, lp = ls[:, one], ls[:, two]
        return begin[which, l, lp, lam] + row[l, lp, k[:, one], k[:, two]] * width[l, lp]

    return Plan(
        n_channels=n_channels,
        blocks=tuple(blocks),
        size=start,
        offset_a=offsets(0, 0, 1),
        offset_b=offsets(1, 2, 3),
        width=2 * lam + 1,
        columns=computed,
    )


def pair_tensors(plan: Plan, c, dc, pair_offsets, compiled: bool = False):
    """Flat pair tensors ``(S, size)`` and, with ``dc``, their pair gradients transposed,
    ``(size, 3 P)`` (column ``3 p + x``): one GEMM of each block's CG matrix against the outer
    products (for the gradients, the product rule's two outer products, built in one pass by a
    compiled kernel when ``compiled``).

    ``c``: per l ``(S, n_channels, 2l+1)``; ``dc``: per l ``(P, 3, n_channels, 2l+1)`` or None.
    """
    n_samples = c[0].shape[0]
    n_pairs = int(pair_offsets[-1])
    z = np.empty((n_samples, plan.size))
    dz = None if dc is None else np.empty((plan.size, 3 * n_pairs))
    if dc is not None:  # (k, m, p, x) layouts: the GEMM then yields the (.., 3 P) rows
        pair_sample = np.repeat(np.arange(n_samples), np.diff(pair_offsets))
        ct = [np.ascontiguousarray(x[pair_sample].transpose(1, 2, 0)) for x in c]  # (n, M, P)
        dct = [np.ascontiguousarray(x.transpose(2, 3, 0, 1)) for x in dc]  # (n, M, P, 3)
    for l, lp, (first, second), matrix, start in plan.blocks:
        stop = start + len(first) * matrix.shape[1]
        outer = c[l][:, first, :, None] * c[lp][:, second, None, :]  # (S, R, M, M')
        z[:, start:stop] = (outer.reshape(-1, matrix.shape[0]) @ matrix).reshape(n_samples, -1)
        if dc is None:
            continue
        if compiled:
            outer = np.empty((len(first), matrix.shape[0], 3 * n_pairs))
            _kernels._kernel("nu4_outer", _outer_python)(
                dct[l].reshape(*dct[l].shape[:2], -1), ct[lp], ct[l],
                dct[lp].reshape(*dct[lp].shape[:2], -1), first, second, outer,
            )  # fmt: skip
        else:
            outer = dct[l][first][:, :, None] * ct[lp][second][:, None, :, :, None]
            outer += ct[l][first][:, :, None, :, None] * dct[lp][second][:, None]  # (R,M,M',P,3)
        product = matrix.T @ outer.reshape(len(first), matrix.shape[0], 3 * n_pairs)
        dz[start:stop] = product.reshape(-1, 3 * n_pairs)
    return z, dz


def _outer_python(dc_first, c_second, c_first, dc_second, first, second, out):
    """``out[r, m M' + m', 3 p + x] = dc_first[k_r, m, 3 p + x] c_second[k'_r, m', p]
    + c_first[k_r, m, p] dc_second[k'_r, m', 3 p + x]`` (the product rule's outer products)."""
    n_second = dc_second.shape[1]
    for r in range(first.shape[0]):
        k = first[r]
        kp = second[r]
        for m in range(dc_first.shape[1]):
            for mp in range(n_second):
                row = out[r, m * n_second + mp]
                for q in range(dc_first.shape[2]):
                    p = q // 3
                    row[q] = (
                        dc_first[k, m, q] * c_second[kp, mp, p]
                        + c_first[k, m, p] * dc_second[kp, mp, q]
                    )


def contract(plan: Plan, z, dz, pair_offsets, values, gradients, centre, compiled: bool):
    """Write the features into ``values[:, plan.columns]`` and, with ``dz``, their pair gradients
    into ``gradients[:, :, plan.columns]`` and the centre gradients (minus the sum over each
    sample's pairs) into ``centre[:, :, plan.columns]`` (all three already zero elsewhere)."""
    with_gradients = dz is not None
    if compiled:
        _kernels._kernel("nu4_contract", _contract_python)(
            z, dz if with_gradients else np.empty((0, 0)), pair_offsets, plan.offset_a,
            plan.offset_b, plan.width, plan.columns, with_gradients, values,
            gradients if with_gradients else np.empty((0, 3, 0)),
            centre if with_gradients else np.empty((0, 3, 0)),
        )  # fmt: skip
        return
    pair_sample = np.repeat(np.arange(len(pair_offsets) - 1), np.diff(pair_offsets))
    for width in np.unique(plan.width):
        rows = np.flatnonzero(plan.width == width)
        index_a = plan.offset_a[rows, None] + np.arange(width)
        index_b = plan.offset_b[rows, None] + np.arange(width)
        a, b = z[:, index_a], z[:, index_b]  # (S, F_w, M)
        columns = plan.columns[rows]
        values[:, columns] = np.einsum("sfm,sfm->sf", a, b)
        if not with_gradients:
            continue
        step = max(1, 2**22 // max(1, index_a.size * 3))
        for first in range(0, len(pair_sample), step):
            pairs = slice(first, first + step)
            q = slice(3 * first, 3 * (first + len(pair_sample[pairs])))
            samples = pair_sample[pairs]
            g = np.einsum("fmpx,pfm->pxf", _pairs_view(dz[index_a, q]), b[samples])
            g += np.einsum("pfm,fmpx->pxf", a[samples], _pairs_view(dz[index_b, q]))
            gradients[pairs, :, columns] = g
        if with_gradients:
            adder = np.zeros((len(pair_offsets) - 1, len(pair_sample)))
            adder[pair_sample, np.arange(len(pair_sample))] = -1.0
            centre[:, :, columns] = np.einsum("sp,pxf->sxf", adder, gradients[:, :, columns])


def _pairs_view(rows):
    """``(..., 3 P)`` as ``(..., P, 3)``."""
    return rows.reshape((*rows.shape[:-1], -1, 3))


def _contract_python(z, dz, pair_offsets, offset_a, offset_b, width, columns, with_gradients,
                     values, gradients, centre):  # fmt: skip
    n_features = columns.shape[0]
    most = 0
    for s in range(z.shape[0]):
        most = max(most, pair_offsets[s + 1] - pair_offsets[s])
    # one sample's gradients, (features, 3 pairs): then written row by row into the output
    buffer = np.empty((n_features, 3 * most if with_gradients else 0))
    for s in range(z.shape[0]):
        first = 3 * pair_offsets[s]
        n_rows = 3 * pair_offsets[s + 1] - first if with_gradients else 0
        for f in range(n_features):
            a = offset_a[f]
            b = offset_b[f]
            value = 0.0
            total = buffer[f, :n_rows]
            total[:] = 0.0
            for m in range(width[f]):
                am = z[s, a + m]
                bm = z[s, b + m]
                value += am * bm
                row_a = dz[a + m, first : first + n_rows]
                row_b = dz[b + m, first : first + n_rows]
                for q in range(n_rows):
                    total[q] += row_a[q] * bm + am * row_b[q]
            values[s, columns[f]] = value
        for q in range(n_rows):
            p = (first + q) // 3
            x = (first + q) % 3
            for f in range(n_features):
                gradients[p, x, columns[f]] = buffer[f, q]
        if with_gradients:
            for x in range(3):
                for f in range(n_features):
                    total = 0.0
                    for q in range(x, n_rows, 3):
                        total += buffer[f, q]
                    centre[s, x, columns[f]] = -total


def compute(plan: Plan, c, dc, pair_offsets, n_features: int):
    """``(values (S, F), pair gradients (P, 3, F), centre gradients (S, 3, F))`` (both None
    without ``dc``), in chunks of samples that bound the memory of the pair tensors' gradients.
    """
    n_samples = c[0].shape[0]
    n_pairs = int(pair_offsets[-1])
    values = np.zeros((n_samples, n_features))
    gradients = centre = None
    if dc is not None:
        gradients = output_zeros((n_pairs, 3, n_features))
        centre = output_zeros((n_samples, 3, n_features))
    budget = max(1, 2**22 // (3 * plan.size))  # pairs per chunk
    # entries counted as multiply-adds (pair directions x summed widths): the compiled path saves
    # ~300 ns per (pair, computed feature) at the B8 settings, about 8 times what the power
    # spectrum's kernel saves per entry of its output, for which the threshold was set
    compiled = _kernels.use_compiled(3 * n_pairs if dc is not None else n_samples, plan.work)
    first = 0
    while first < n_samples:
        last = first + 1
        while last < n_samples and pair_offsets[last + 1] - pair_offsets[first] <= budget:
            last += 1
        pairs = slice(pair_offsets[first], pair_offsets[last])
        local_offsets = np.ascontiguousarray(pair_offsets[first : last + 1] - pair_offsets[first])
        z, dz = pair_tensors(
            plan,
            [x[first:last] for x in c],
            None if dc is None else [x[pairs] for x in dc],
            local_offsets,
            compiled,
        )
        contract(
            plan, z, dz, local_offsets, values[first:last],
            None if dc is None else gradients[pairs], None if dc is None else centre[first:last],
            compiled,
        )  # fmt: skip
        first = last
    return values, gradients, centre

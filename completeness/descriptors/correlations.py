r"""Bispectrum (nu = 3) and general nu-point density correlations by iterated CG coupling.

Both are rotational invariants of the spherical expansion :math:`c^a_{nlm}` of
:mod:`completeness.descriptors.spherical_expansion` (real harmonics in sphericart's convention),
coupled with the real Clebsch-Gordan tensors :math:`C^{l_1 l_2 \to l_3}_{m_1 m_2 m_3}` of
:mod:`completeness.descriptors.clebsch_gordan`.

Channels
    A channel is ``t = (l, a, n)`` (angular order, species index, radial index); channels are
    ordered lexicographically on ``(l, a, n)``. Inside a fixed ``l`` the channel index is
    ``k = a * n_radial + n``.

Bispectrum (nu = 3, body order 4; Bartók, Payne, Kondor, Csányi, PRL 104, 136403 (2010),
doi:10.1103/PhysRevLett.104.136403; SNAP-style real form: Willatt, Musil, Ceriotti, JCP 150,
154110 (2019), doi:10.1063/1.5090481)
    .. math::

        B_{t_1 t_2 t_3} = \sum_{m_1 m_2 m_3} C^{l_1 l_2 \to l_3}_{m_1 m_2 m_3}\,
            c_{t_1 m_1}\, c_{t_2 m_2}\, c_{t_3 m_3},
        \qquad t_1 \le t_2 \le t_3,\quad l_3 \le l_1 + l_2 .

    Selection rule: the invariant of :math:`V_{l_1} \otimes V_{l_2} \otimes V_{l_3}` is unique
    up to a factor, and exchanging two factors multiplies it by :math:`\pm 1`
    (:math:`(-1)^{l_1+l_2+l_3}`), so one sorted representative per multiset of channels is
    complete and free of duplicates. When :math:`l_1 + l_2 + l_3` is odd, a multiset with a
    repeated channel gives an identically zero invariant and is dropped. Even
    :math:`l_1+l_2+l_3` terms are O(3) invariants (default); odd ones are pseudoscalars
    (``include_pseudoscalar=True``): they flip sign under a mirror, and the descriptor's
    ``parity`` becomes ``"SO(3)"``, with :meth:`Bispectrum.feature_parity` giving ``+1``/``-1``.

Density correlations (any nu >= 1, body order nu + 1; Nigam, Pozdnyakov, Ceriotti, JCP 153,
121101 (2020), doi:10.1063/5.0021116 (NICE); Drautz, PRB 99, 014104 (2019),
doi:10.1103/PhysRevB.99.014104 (ACE))
    .. math::

        A^{(1)}_{\lambda_1 = l_1} = c_{t_1},\quad
        A^{(k)}_{\lambda_k} = \big(A^{(k-1)}_{\lambda_{k-1}} \otimes c_{t_k}\big)_{\lambda_k},
        \quad
        D_{t_1 \ldots t_\nu;\,\lambda_2 \ldots \lambda_{\nu-2}}
            = \sum_m A^{(\nu-1)}_{\lambda_{\nu-1} m}\, c_{t_\nu m},\ \lambda_{\nu-1} = l_\nu .

    Selection: sorted channels :math:`t_1 \le \dots \le t_\nu`; every intermediate
    :math:`\lambda_k` allowed by the triangle rule and able to reach the final contraction
    (:math:`\lambda_k \le (\nu - k)\,` ``max_angular``), optionally capped by
    ``max_intermediate_angular`` (None: no cap, so for each sorted channel tuple the
    intermediates span every invariant of :math:`\otimes_k V_{l_k}`, i.e. the selection is
    complete for polynomials of degree nu in the expansion coefficients). Dropped because
    identically zero: :math:`t_1 = t_2` with odd :math:`\lambda_2`, and
    :math:`t_{\nu-1} = t_\nu` with odd :math:`\lambda_{\nu-2}` (:math:`\nu \ge 3`). Linear
    relations between the remaining features are not removed (completeness before
    minimality). nu = 1 is the radial spectrum :math:`c_{a n 0 0}`, nu = 2 the unnormalised power
    spectrum :math:`\sum_m c_{t_1 m} c_{t_2 m}`, nu = 3 the bispectrum above (the same features
    and values, ordered by intermediate order instead of by l-triple). Parity of a feature:
    :math:`(-1)^{l_1 + \dots + l_\nu}`. Feature names spell the coupling path, e.g.
    ``(a6,n0,l1)[1](a6,n1,l2)[3](a6,n0,l3)``: channels ``(species, n, l)`` and, in brackets,
    the order of the intermediate result.

Gradients are analytic. The bispectrum uses the product rule,
:math:`\partial B_f / \partial \mathbf r_p = \sum_{k l m} (\partial B_f / \partial c_{klm})
(\partial c_{klm} / \partial \mathbf r_p)`, with the pair derivatives of the expansion,
:math:`\partial c_{nlm} / \partial \mathbf r = R'_{nl}(r)\, Y_{lm}(\hat r)\, \hat r
+ R_{nl}(r)\, \nabla Y_{lm}`, built straight from the radial and harmonic tables, and the
block-sparse Jacobian :math:`\partial B / \partial c` (three CG partial contractions per
feature), as one GEMM per sample and l-triple. DensityCorrelations uses the forward-mode chain
rule through every coupling step: exact for every nu (tested against finite differences up to
nu = 4), with memory ``n_pairs * 3 * n_intermediate * (2 lambda + 1)`` doubles, so for nu = 4
it is meant for scans of small batches, not for bulk training sets.

Both are vectorised over samples (the bispectrum in chunks of samples that keep temporaries
small). Their many small GEMMs run best on one BLAS thread: the process-wide thread policy of
:mod:`completeness.threads` (applied by the command line and the worker processes) sees to it.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import numpy as np

from ..environments import InputError, Neighbourhoods
from .base import Descriptor
from .clebsch_gordan import real_clebsch_gordan
from .hypers import Boolean, Integer, declare
from .spherical_expansion import ExpansionHypers

__all__ = ["Bispectrum", "DensityCorrelations"]

_MAX_CORRELATION_ORDER = 6
_STRUCTURE_CACHE: dict = {}


class _CorrelationMixin(ExpansionHypers):
    """Shared hyperparameter handling (expansion hypers + parity option).

    A mixin, not a Descriptor subclass, so that it is not registered as a descriptor.
    """

    hyper_constraints = declare(include_pseudoscalar=Boolean())

    @property
    def parity(self) -> str:  # type: ignore[override]
        """``"SO(3)"`` when pseudoscalar terms are included, else ``"O(3)"``."""
        return "SO(3)" if self.include_pseudoscalar is True else "O(3)"


# ------------------------------------------------------------------------------------------------
# bispectrum
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Block:  # Jacobian tables (window_start, jacobian_*, same_partial) set by the plan
    """Features of one sorted l-triple: channel indices ``k1, k2, k3`` (each (F,))."""

    ls: tuple[int, int, int]
    odd: bool
    channels: tuple[np.ndarray, np.ndarray, np.ndarray]
    start: int

    @property
    def size(self) -> int:
        return len(self.channels[0])


def _bispectrum_blocks(max_angular: int, n_channels: int, include_odd: bool) -> list[_Block]:
    blocks, start = [], 0
    grid = np.indices((n_channels,) * 3).reshape(3, -1)
    for l1 in range(max_angular + 1):
        for l2 in range(l1, max_angular + 1):
            for l3 in range(l2, min(l1 + l2, max_angular) + 1):
                odd = (l1 + l2 + l3) % 2 == 1
                if odd and not include_odd:
                    continue
                k1, k2, k3 = grid
                keep = np.ones(k1.shape, dtype=bool)
                if l1 == l2:
                    keep &= (k1 < k2) if odd else (k1 <= k2)
                if l2 == l3:
                    keep &= (k2 < k3) if odd else (k2 <= k3)
                if not keep.any():
                    continue
                block = _Block((l1, l2, l3), odd, (k1[keep], k2[keep], k3[keep]), start)
                blocks.append(block)
                start += block.size
    return blocks


def _partial(x: np.ndarray, y: np.ndarray, tensor: np.ndarray, outer=None) -> np.ndarray:
    """``out[s, i * n_y + j, q] = sum_{a b} tensor[a, b, q] x[s, i, a] y[s, j, b]``.

    One GEMM on the outer product (faster than batched small matmuls for these sizes); pass
    ``outer`` (from :func:`_outer`) to reuse it across tensors.
    """
    n_samples, n_x, m_a = x.shape
    _, n_y, m_b = y.shape
    m_q = tensor.shape[2]
    if outer is None:
        outer = _outer(x, y)
    out = outer @ np.ascontiguousarray(tensor).reshape(m_a * m_b, m_q)
    return out.reshape(n_samples, n_x * n_y, m_q)


def _outer(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``outer[(s, i, j), (a, b)] = x[s, i, a] y[s, j, b]`` as a 2-D array."""
    outer = x[:, :, None, :, None] * y[:, None, :, None, :]  # (S, n_x, n_y, m_a, m_b)
    return outer.reshape(-1, x.shape[2] * y.shape[2])


class Bispectrum(_CorrelationMixin, Descriptor):
    """Bispectrum ``B_{t1 t2 t3}`` (nu = 3, body order 4); see the module docstring.

    Parameters
    ----------
    cutoff : float
        Cutoff radius in Å.
    n_radial : int
        Number of radial functions.
    max_angular : int
        Largest angular channel ``l`` of the expansion (and of every ``l1 <= l2 <= l3``).
    density_width : float
        Width (Å) of the Gaussian atomic density (``radial_basis="gto"``).
    radial_basis : {"gto", "spherical_bessel"}
    cutoff_width : float
        Width (Å) of the shifted-cosine switching region ending at ``cutoff``.
    species : None or list of int
        Species channels; None uses the species present in each ``compute`` call.
    include_pseudoscalar : bool
        Also return the odd ``l1 + l2 + l3`` terms (mirror-odd); ``parity`` becomes "SO(3)".
    """

    body_order = 4

    def __init__(
        self,
        *,
        cutoff=5.0,
        n_radial=4,
        max_angular=4,
        density_width=0.3,
        radial_basis="gto",
        cutoff_width=0.5,
        species=None,
        include_pseudoscalar=False,
    ):
        self.cutoff = cutoff
        self.n_radial = n_radial
        self.max_angular = max_angular
        self.density_width = density_width
        self.radial_basis = radial_basis
        self.cutoff_width = cutoff_width
        self.species = species
        self.include_pseudoscalar = include_pseudoscalar

    def _blocks(self, n_species: int) -> list[_Block]:
        return _bispectrum_blocks(
            int(self.max_angular), n_species * int(self.n_radial), bool(self.include_pseudoscalar)
        )

    def _feature_names(self, species):
        n_radial = int(self.n_radial)
        names = []
        for block in self._blocks(len(species)):
            for ks in zip(*block.channels, strict=True):
                names.append(
                    "".join(
                        f"(a{species[k // n_radial]},n{k % n_radial},l{l})"
                        for k, l in zip(ks, block.ls, strict=True)
                    )
                )
        return tuple(names)

    def feature_parity(self, species=None) -> np.ndarray:
        """``+1`` for each scalar (even) feature, ``-1`` for each pseudoscalar (odd) one."""
        self._check_hypers()
        if species is None:
            species = self.fixed_species()
        if species is None:
            raise InputError("feature_parity needs species=[...] (or the species hyperparameter)")
        blocks = self._blocks(len(np.unique(np.asarray(species))))
        return np.concatenate([np.full(b.size, -1 if b.odd else 1, dtype=np.int64) for b in blocks])

    def _compute(self, neighbourhoods: Neighbourhoods, species, gradients: bool):
        n_samples = neighbourhoods.n_samples
        n_species, n_radial = len(species), int(self.n_radial)
        max_angular = int(self.max_angular)
        plan = _bispectrum_plan(max_angular, n_species, n_radial, self.include_pseudoscalar is True)
        n_channels = n_species * n_radial
        if gradients:
            # the pair terms (R, dR/dr, Y, grad Y) go straight into the column layout of the
            # Jacobian GEMMs (_pair_derivatives), without the expansion's per-l pair gradients
            dense, species_index, terms, _ = self._expansion().dense(
                neighbourhoods, species, gradients=True
            )
            coefficients = [
                dense[..., l * l : (l + 1) ** 2].reshape(n_samples, n_channels, 2 * l + 1)
                for l in range(max_angular + 1)
            ]
        else:
            expansion = self._expansion().compute(neighbourhoods, species, gradients=False)
            coefficients = expansion.coefficients
        per_l = [
            np.ascontiguousarray(c).reshape(n_samples, n_channels, 2 * l + 1)
            for l, c in enumerate(coefficients)
        ]
        values = np.zeros((n_samples, plan.n_features))  # chunks without pairs: c = 0, B = 0
        if not gradients:
            for block in plan.blocks:
                l1, l2, l3 = block.ls
                k1, k2, k3 = block.channels
                p12 = _partial(per_l[l1], per_l[l2], real_clebsch_gordan(l1, l2, l3))
                values[:, block.start : block.start + block.size] = np.einsum(
                    "sfq,sfq->sf", p12[:, k1 * n_channels + k2], per_l[l3][:, k3]
                )
            return values, None

        # d B_f / d r_p = sum_{(a n l m)} dc^a_{nlm}/dr_p  dB_f/dc^a_{nlm}: per sample one GEMM
        # (3 n_pairs_s, n_species n_radial (L+1)^2) @ (.., n_features) written straight into
        # the pair-gradient rows of that sample
        n_pairs = neighbourhoods.n_pairs
        pair_gradients = np.empty((n_pairs, 3, plan.n_features))
        if n_pairs == 0:
            return np.zeros((n_samples, plan.n_features)), pair_gradients
        dc = _pair_derivatives(plan, terms, species_index)  # (P, 3, n_columns)
        offsets = neighbourhoods.pair_offsets
        counts = np.diff(offsets)
        max_pairs = int(counts.max())
        uniform = bool(np.all(counts == max_pairs))
        chunk = max(1, 2**21 // (3 * max_pairs * plan.n_features))
        for first in range(0, n_samples, chunk):
            samples = slice(first, min(first + chunk, n_samples))
            pairs = slice(offsets[samples.start], offsets[samples.stop])
            if pairs.stop == pairs.start:
                continue
            n_chunk = samples.stop - samples.start
            if uniform:
                dc_chunk = dc[pairs].reshape(n_chunk, 3 * max_pairs, -1)
                target = pair_gradients[pairs].reshape(n_chunk, 3 * max_pairs, -1)
            else:
                local = neighbourhoods.pair_sample[pairs] - first
                slot = np.arange(pairs.start, pairs.stop) - offsets[local + first]
                dc_chunk = np.zeros((n_chunk, max_pairs, 3, dc.shape[2]))
                dc_chunk[local, slot] = dc[pairs]
                dc_chunk = dc_chunk.reshape(n_chunk, 3 * max_pairs, -1)
                target = np.empty((n_chunk, 3 * max_pairs, plan.n_features))
            values[samples] = _bispectrum_gradient_chunk(
                plan, [c[samples] for c in per_l], dc_chunk, target
            )
            if not uniform:
                target = target.reshape(n_chunk, max_pairs, 3, -1)
                pair_gradients[pairs] = target[local, slot]
        return values, pair_gradients


def _bispectrum_gradient_chunk(plan, per_l, dc, target) -> np.ndarray:
    """Write ``d B_f / d r_p`` of a chunk of samples into ``target`` (S, 3 max_pairs, F).

    Returns the values ``B_f`` (S, F) of the chunk (from the ``dB/dc_{t_3}`` partials).

    Per block of features (one sorted l-triple, contiguous columns) and per sample one GEMM:
    ``dc[:, window of the block]`` (3 max_pairs, rows) ``@ J_b`` (rows, F_b), with
    ``J_b[(l k m), f] = d B_f / d c_{k l m}`` (the block-sparse Jacobian of the features with
    respect to the expansion; ~45 % of the dense product for max_angular 4). The window is a
    contiguous column range of ``dc`` holding exactly the l's of the block (see
    :func:`_window_sequence`), so the GEMM reads ``dc`` in place.
    """
    n_samples, n_channels, _ = per_l[0].shape
    values = np.empty((n_samples, plan.n_features))
    outers: dict = {}  # outer products of (c_la, c_lb), shared by the blocks of the chunk
    for block in plan.blocks:
        l1, l2, l3 = block.ls
        tensor = real_clebsch_gordan(l1, l2, l3)
        parts = (
            ((l2, l3), tensor.transpose(1, 2, 0)),
            ((l1, l3), tensor.transpose(0, 2, 1)),
            ((l1, l2), tensor),
        )
        # the Jacobian is a gather from [0, grid_0, grid_1, grid_2] (np.take is fast); entries
        # that two positions share (t1 == t2, say) get the second one added after
        source = [np.zeros((n_samples, 1))]
        grids = [None, None, None]
        for position, ((la, lb), t) in enumerate(parts):
            same = block.same_partial[position]
            if same is None:
                if (la, lb) not in outers:
                    outers[la, lb] = _outer(per_l[la], per_l[lb])
                grids[position] = _partial(per_l[la], per_l[lb], t, outers[la, lb])
            else:  # equal l's: this grid is +-1 times an earlier one (CG exchange symmetry)
                earlier, sign = same
                grids[position] = grids[earlier] if sign > 0 else -grids[earlier]
            if position in block.grid_segments:
                source.append(grids[position].reshape(n_samples, -1))
        # B = sum_m (dB/dc_{t3})_m c_{t3 m}
        k1, k2, k3 = block.channels
        values[:, block.start : block.start + block.size] = np.einsum(
            "sfq,sfq->sf",
            np.take(grids[2], k1 * n_channels + k2, axis=1),
            np.take(per_l[l3], k3, axis=1),
        )
        source = np.concatenate(source, axis=1)
        jacobian = np.take(source, block.jacobian_gather, axis=1)
        for repeat_target, repeat_source in block.jacobian_repeat:
            jacobian[:, repeat_target] += source[:, repeat_source]
        np.matmul(
            dc[:, :, block.window_start : block.window_start + block.jacobian_rows],
            jacobian.reshape(n_samples, block.jacobian_rows, block.size),
            out=target[:, :, block.start : block.start + block.size],
        )
    return values


@dataclass(frozen=True)
class _Plan:
    """Index tables of the bispectrum for one (max_angular, n_species, n_radial, parity)."""

    blocks: list
    n_features: int
    column_source: np.ndarray  # (n_columns,) l-major column of each column of dc
    plain_species: np.ndarray  # per l-major column (l, a, n, m): species index a
    plain_radial: np.ndarray  # per l-major column: n * (L + 1) + l, column of the radial table
    plain_lm: np.ndarray  # per l-major column: l^2 + l + m, column of the harmonics


_PLANS: dict = {}


def _bispectrum_plan(max_angular, n_species, n_radial, include_odd) -> _Plan:
    key = (max_angular, n_species, n_radial, include_odd)
    if key in _PLANS:
        return _PLANS[key]
    n_channels = n_species * n_radial
    blocks = _bispectrum_blocks(max_angular, n_channels, include_odd)
    n_features = sum(b.size for b in blocks)
    sequence, windows = _window_sequence(tuple(sorted(set(b.ls))) for b in blocks)
    segment_start = np.concatenate(
        [[0], np.cumsum([n_channels * (2 * l + 1) for l in sequence])]
    ).astype(np.int64)
    for block in blocks:
        # block Jacobian rows: the (l, k, m) of every distinct l of the block, in the order of
        # the block's window of dc columns
        window = windows[tuple(sorted(set(block.ls)))]
        l_offset, width = {}, 0
        for l in sequence[window : window + len(set(block.ls))]:
            l_offset[l] = width
            width += n_channels * (2 * l + 1)
        object.__setattr__(block, "window_start", int(segment_start[window]))
        index = []
        for k in range(3):
            l_k = block.ls[k]
            row = (
                l_offset[l_k]
                + block.channels[k][:, None] * (2 * l_k + 1)
                + np.arange(2 * l_k + 1)[None, :]
            )
            column = np.arange(block.size)[:, None]
            index.append((row * block.size + column).reshape(-1))  # unique within one k
        object.__setattr__(block, "jacobian_index", tuple(index))
        # dB/dc_{t_k} over the full channel grid is the same function for two positions with
        # equal l, up to the sign of the CG tensor under exchange of those two indices
        tensor = real_clebsch_gordan(*block.ls)
        oriented = (tensor.transpose(1, 2, 0), tensor.transpose(0, 2, 1), tensor)
        same = [None, None, None]
        for k in (1, 2):
            for j in range(k):
                if block.ls[j] != block.ls[k] or same[j] is not None:
                    continue
                for sign in (1.0, -1.0):
                    if np.allclose(oriented[k], sign * oriented[j], rtol=0, atol=1e-14):
                        same[k] = (j, sign)
                if same[k] is not None:
                    break
        object.__setattr__(block, "same_partial", tuple(same))
        # the Jacobian is a gather from [0, grid_0, grid_1, grid_2] (each grid flattened over
        # (pair of other channels, m); a grid equal to an earlier one is not stored twice)
        segment, new_segments, start = [], [], 1
        for k in range(3):
            if same[k] is not None and same[k][1] > 0:
                segment.append(segment[same[k][0]])
            else:
                segment.append(start)
                new_segments.append(k)
                start += n_channels**2 * (2 * block.ls[k] + 1)
        object.__setattr__(block, "grid_segments", tuple(new_segments))
        gather = np.zeros(width * block.size, dtype=np.int64)
        repeat_target, repeat_source = [], []
        for k in range(3):
            others = [block.channels[i] for i in range(3) if i != k]
            grid_row = others[0] * n_channels + others[1]
            m_k = 2 * block.ls[k] + 1
            sources = segment[k] + (grid_row[:, None] * m_k + np.arange(m_k)).reshape(-1)
            fresh = gather[index[k]] == 0
            gather[index[k][fresh]] = sources[fresh]
            repeat_target.append(index[k][~fresh])
            repeat_source.append(sources[~fresh])
        object.__setattr__(block, "jacobian_gather", gather)
        # per position (unique targets within each, so a fancy += adds every contribution)
        object.__setattr__(
            block,
            "jacobian_repeat",
            tuple((t, r) for t, r in zip(repeat_target, repeat_source, strict=True) if t.size),
        )
        object.__setattr__(block, "jacobian_rows", width)
    # columns of dc: segment by segment of `sequence`, (species, radial, m) inside a segment;
    # they are gathered from the l-major layout without repeats (column_source)
    plain_start = np.concatenate(
        [[0], np.cumsum([n_channels * (2 * l + 1) for l in range(max_angular + 1)])]
    )
    column_source = np.concatenate(
        [plain_start[l] + np.arange(n_channels * (2 * l + 1)) for l in sequence]
    ).astype(np.int64)
    plain_l = np.concatenate([np.full(n_channels * (2 * l + 1), l) for l in range(max_angular + 1)])
    plain_channel = np.concatenate(
        [np.repeat(np.arange(n_channels), 2 * l + 1) for l in range(max_angular + 1)]
    ).astype(np.int64)
    plain_m = np.concatenate(
        [np.tile(np.arange(2 * l + 1), n_channels) for l in range(max_angular + 1)]
    )
    plan = _Plan(
        blocks,
        n_features,
        column_source=column_source,
        plain_species=plain_channel // n_radial,
        plain_radial=(plain_channel % n_radial) * (max_angular + 1) + plain_l,
        plain_lm=plain_l * plain_l + plain_m,
    )
    _PLANS[key] = plan
    return plan


def _window_sequence(sets) -> tuple[list, dict]:
    """A short sequence of l's in which every set of ``sets`` is a contiguous window.

    Returns ``(sequence, {set: start of its window})``. Greedy: the largest sets first, each
    appended with the largest overlap with the end of the sequence. Laying the expansion
    derivatives out segment by segment in this order makes the columns of every block's GEMM a
    contiguous slice: one gather into the sequence (for max_angular 4, 264 columns instead of
    100) instead of one gather per block (~600 columns in all).
    """
    sets = list(sets)
    sequence: list = []

    def find(target):
        size = len(target)
        for start in range(len(sequence) - size + 1):
            if set(sequence[start : start + size]) == set(target):
                return start
        return None

    for target in sorted(set(sets), key=lambda t: (-len(t), t)):
        if find(target) is not None:
            continue
        best, best_overlap = target, 0
        for order in itertools.permutations(target):
            for overlap in range(min(len(order), len(sequence)), 0, -1):
                if overlap > best_overlap and list(order[:overlap]) == sequence[-overlap:]:
                    best, best_overlap = order, overlap
                    break
        sequence.extend(best[best_overlap:])
    return sequence, {target: find(target) for target in set(sets)}


def _pair_derivatives(plan: _Plan, terms, species_index) -> np.ndarray:
    """``dc[p, x, column] = d c^{a}_{n l m} / d r_p[x]`` in the column layout of ``plan``.

    ``d/dr [R_nl(r) Y_lm(r^)] = R'_nl(r) r^ Y_lm + R_nl(r) grad Y_lm``; zero unless the
    column's species ``a`` is the pair's species. Computed once per (l, species, n, m) in the
    l-major layout, then gathered into the window sequence (which repeats some l's).
    """
    n_pairs = len(species_index)
    radial = terms.radial.reshape(n_pairs, -1)
    dradial = terms.radial_derivative.reshape(n_pairs, -1)
    one_species = not np.any(plan.plain_species)
    own = plan.plain_species == 0
    column_radial, column_lm = plan.plain_radial[own], plan.plain_lm[own]
    scalar = np.take(dradial, column_radial, axis=1)
    scalar *= np.take(terms.harmonics, column_lm, axis=1)
    own_dc = np.take(terms.harmonics_gradient, column_lm, axis=2)
    own_dc *= np.take(radial, column_radial, axis=1)[:, None, :]
    own_dc += terms.directions[:, :, None] * scalar[:, None, :]
    if one_species:
        plain = own_dc
    else:  # the pair's own species' columns; each pair's in the same order as species 0's
        plain = np.zeros((n_pairs, 3, len(plan.plain_species)))
        rows, cols = np.nonzero(plan.plain_species[None, :] == species_index[:, None])
        plain[rows, :, cols] = own_dc.transpose(0, 2, 1).reshape(-1, 3)
    return np.take(plain, plan.column_source, axis=2)


# ------------------------------------------------------------------------------------------------
# general nu
# ------------------------------------------------------------------------------------------------


@dataclass
class _Level:
    """Intermediate equivariants of one order ``lam``: rows with their channel history."""

    lam: int
    values: np.ndarray  # (S, R, 2 lam + 1)
    gradients: np.ndarray | None  # (P, 3, R, 2 lam + 1)
    last_l: np.ndarray  # (R,) l of the last coupled channel
    last_k: np.ndarray  # (R,) channel index of the last coupled channel
    previous_lam: np.ndarray  # (R,) intermediate order before the last coupling (-1 if none)
    l_sum: np.ndarray  # (R,) sum of channel l's (parity)
    history: list  # (R,) names


class DensityCorrelations(_CorrelationMixin, Descriptor):
    """nu-point density correlations by iterated Clebsch-Gordan coupling; see the module doc.

    Parameters
    ----------
    correlation_order : int
        nu >= 1 (body order nu + 1). Tested up to 4.
    cutoff, n_radial, max_angular, density_width, radial_basis, cutoff_width, species
        As for :class:`Bispectrum`.
    include_pseudoscalar : bool
        Also return the odd-parity (mirror-odd) invariants; ``parity`` becomes "SO(3)".
    max_intermediate_angular : None or int
        Cap on the intermediate orders ``lambda_k``; None (default) keeps every order that can
        reach the final invariant, which makes the selection complete.
    """

    hyper_constraints = declare(
        correlation_order=Integer(1, _MAX_CORRELATION_ORDER),
        max_intermediate_angular=Integer(0, optional=True),
    )

    def __init__(
        self,
        *,
        correlation_order=3,
        cutoff=5.0,
        n_radial=4,
        max_angular=4,
        density_width=0.3,
        radial_basis="gto",
        cutoff_width=0.5,
        species=None,
        include_pseudoscalar=False,
        max_intermediate_angular=None,
    ):
        self.correlation_order = correlation_order
        self.cutoff = cutoff
        self.n_radial = n_radial
        self.max_angular = max_angular
        self.density_width = density_width
        self.radial_basis = radial_basis
        self.cutoff_width = cutoff_width
        self.species = species
        self.include_pseudoscalar = include_pseudoscalar
        self.max_intermediate_angular = max_intermediate_angular

    @property
    def body_order(self) -> int:  # type: ignore[override]
        """nu + 1."""
        return int(self.correlation_order) + 1

    # -- the structure of the features (values computed on demand) ----------------------------

    def _run(
        self,
        coefficients,
        pair_gradients,
        pair_sample,
        species_index,
        species,
        n_radial,
        names=True,
    ):
        """Iterate the couplings; return (values, gradients, names or None, parities)."""
        nu = int(self.correlation_order)
        max_angular = int(self.max_angular)
        cap = self.max_intermediate_angular
        cap = nu * max_angular if cap is None else int(cap)
        n_samples = coefficients[0].shape[0]
        n_species = len(species)
        n_channels = n_species * n_radial
        with_gradients = pair_gradients is not None
        channel_name = [f"a{species[k // n_radial]},n{k % n_radial}" for k in range(n_channels)]
        c = [x.reshape(n_samples, n_channels, 2 * l + 1) for l, x in enumerate(coefficients)]
        dc = None
        if with_gradients:
            n_pairs = len(pair_sample)
            dc = []
            for l, g in enumerate(pair_gradients):
                full = np.zeros((n_pairs, 3, n_species, n_radial, 2 * l + 1))
                full[np.arange(n_pairs), :, species_index] = (
                    g  # advanced indices first: (P, 3, n, m)
                )
                dc.append(full.reshape(n_pairs, 3, n_channels, 2 * l + 1))

        # level 1
        levels = []
        for l in range(max_angular + 1):
            ks = np.arange(n_channels)
            levels.append(
                _Level(
                    lam=l,
                    values=c[l],
                    gradients=dc[l] if with_gradients else None,
                    last_l=np.full(n_channels, l),
                    last_k=ks,
                    previous_lam=np.full(n_channels, -1),
                    l_sum=np.full(n_channels, l),
                    history=[f"({channel_name[k]},l{l})" for k in ks] if names else None,
                )
            )
        if nu == 1:
            level = levels[0]
            return (
                level.values[:, :, 0],
                (level.gradients[..., 0] if with_gradients else None),
                level.history,
                np.ones(n_channels, dtype=np.int64),
            )

        # intermediate levels 2 .. nu-1
        for k in range(2, nu):
            reach = (nu - k) * max_angular
            new: dict[int, list] = {}
            for level in levels:
                for l in range(int(level.last_l.min()), max_angular + 1):
                    pairs = _sorted_pairs(level, l, n_channels)
                    if pairs is None:
                        continue
                    rows, ks = pairs
                    for lam in range(abs(level.lam - l), min(level.lam + l, cap, reach) + 1):
                        if k == 2:  # t1 == t2 with odd lambda_2 vanishes identically
                            same = (level.last_k[rows] == ks) & (level.last_l[rows] == l)
                            keep = ~same if lam % 2 else np.ones(len(rows), dtype=bool)
                            r, q = rows[keep], ks[keep]
                        else:
                            r, q = rows, ks
                        if len(r) == 0:
                            continue
                        new.setdefault(lam, []).append(
                            _couple_rows(
                                level,
                                r,
                                q,
                                c[l],
                                dc[l] if dc else None,
                                l,
                                lam,
                                pair_sample,
                                channel_name,
                            )
                        )
            levels = [_merge(lam, parts) for lam, parts in sorted(new.items())]

        # final contraction with the last channel: lambda_{nu-1} = l_nu
        values, gradients, feature_names, parities = [], [], [], []
        include_odd = self.include_pseudoscalar is True
        for level in levels:
            l = level.lam
            if l > max_angular:
                continue
            pairs = _sorted_pairs(level, l, n_channels)
            if pairs is None:
                continue
            rows, ks = pairs
            odd = (level.l_sum[rows] + l) % 2 == 1
            keep = ~odd | include_odd
            if nu >= 3:  # t_{nu-1} == t_nu with odd lambda_{nu-2} vanishes identically
                same = (level.last_k[rows] == ks) & (level.last_l[rows] == l)
                keep &= ~(same & (level.previous_lam[rows] % 2 == 1))
            rows, ks, odd = rows[keep], ks[keep], odd[keep]
            if len(rows) == 0:
                continue
            values.append(np.einsum("srm,srm->sr", level.values[:, rows], c[l][:, ks]))
            if with_gradients:
                g = np.einsum(
                    "pxrm,prm->pxr", level.gradients[:, :, rows], c[l][pair_sample][:, ks]
                )
                g += np.einsum("prm,pxrm->pxr", level.values[pair_sample][:, rows], dc[l][:, :, ks])
                gradients.append(g)
            if level.history is not None:
                feature_names.extend(
                    f"{level.history[r]}[{l}]({channel_name[q]},l{l})"
                    for r, q in zip(rows, ks, strict=True)
                )
            parities.append(np.where(odd, -1, 1))
        if not values:
            raise InputError(
                "no invariant survives the selection; raise max_angular or max_intermediate_angular"
            )
        out_values = np.concatenate(values, axis=1)
        out_gradients = np.concatenate(gradients, axis=2) if with_gradients else None
        return (
            out_values,
            out_gradients,
            feature_names if names else None,
            np.concatenate(parities),
        )

    def _structure(self, species):
        """(names, parities, keep mask) of the selection, cached per hyperparameters.

        The couplings are evaluated once at seeded random expansion coefficients (4 samples of
        standard normal numbers): an invariant that is identically zero as a polynomial of the
        coefficients (a symmetry cancellation that the rules in the module doc do not catch,
        e.g. ``(c_0 (x) c_t)_l (x) c_t`` coupled to odd order) evaluates to round-off there,
        every other one to O(1). Those are dropped (``keep`` is False).
        """
        n_radial = int(self.n_radial)
        max_angular = int(self.max_angular)
        key = (
            int(self.correlation_order),
            n_radial,
            max_angular,
            len(species),
            self.include_pseudoscalar is True,
            self.max_intermediate_angular,
        )
        if key not in _STRUCTURE_CACHE:
            rng = np.random.default_rng(12345)
            coefficients = [
                rng.normal(size=(4, len(species), n_radial, 2 * l + 1))
                for l in range(max_angular + 1)
            ]
            values, _, names, parities = self._run(
                coefficients,
                None,
                np.zeros(0, dtype=np.int64),
                np.zeros(0, dtype=np.int64),
                np.arange(len(species)),
                n_radial,
            )
            size = np.abs(values).max(axis=0)
            keep = size > 1e-9 * size.max()
            _STRUCTURE_CACHE[key] = (names, parities, keep)
        named_key = (*key, tuple(int(z) for z in species))
        if named_key in _STRUCTURE_CACHE:
            return _STRUCTURE_CACHE[named_key]
        names, parities, keep = _STRUCTURE_CACHE[key]
        # names were built with species indices: substitute the atomic numbers
        lookup = {f"a{i},": f"a{z}," for i, z in enumerate(species)}
        pattern = re.compile(r"a(\d+),")
        names = [
            pattern.sub(lambda m: lookup[m.group(0)], name)
            for name, k in zip(names, keep, strict=True)
            if k
        ]
        _STRUCTURE_CACHE[named_key] = (names, parities[keep], keep)
        return _STRUCTURE_CACHE[named_key]

    def _feature_names(self, species):
        return tuple(self._structure(species)[0])

    def feature_parity(self, species=None) -> np.ndarray:
        """``+1`` for each scalar (even) feature, ``-1`` for each pseudoscalar (odd) one."""
        self._check_hypers()
        if species is None:
            species = self.fixed_species()
        if species is None:
            raise InputError("feature_parity needs species=[...] (or the species hyperparameter)")
        return self._structure(np.unique(np.asarray(species)))[1]

    def _compute(self, neighbourhoods: Neighbourhoods, species, gradients: bool):
        expansion = self._expansion().compute(neighbourhoods, species, gradients=gradients)
        keep = self._structure(species)[2]
        n_samples = neighbourhoods.n_samples
        offsets = neighbourhoods.pair_offsets
        values = np.empty((n_samples, int(keep.sum())))
        pair_gradients = (
            np.empty((neighbourhoods.n_pairs, 3, values.shape[1])) if gradients else None
        )
        # chunks of samples bound the memory of the intermediate (and forward-mode) arrays
        budget = 2**24 // max(1, keep.size)
        first = 0
        while first < n_samples:
            last = first + 1
            while (
                last < n_samples
                and (last - first) * 8 <= budget
                and (not gradients or (offsets[last + 1] - offsets[first]) * 3 <= budget)
            ):
                last += 1
            pairs = slice(offsets[first], offsets[last])
            chunk_values, chunk_gradients, _, _ = self._run(
                [c[first:last] for c in expansion.coefficients],
                [g[pairs] for g in expansion.pair_gradients] if gradients else None,
                neighbourhoods.pair_sample[pairs] - first,
                expansion.pair_species_index[pairs],
                species,
                int(self.n_radial),
                names=False,
            )
            values[first:last] = chunk_values[:, keep]
            if gradients:
                pair_gradients[pairs] = chunk_gradients[:, :, keep]
            first = last
        return values, pair_gradients


def _sorted_pairs(level: _Level, l: int, n_channels: int):
    """(rows, channel indices) with the new channel ``(l, k) >= `` each row's last channel."""
    rows = np.repeat(np.arange(len(level.last_l)), n_channels)
    ks = np.tile(np.arange(n_channels), len(level.last_l))
    keep = (level.last_l[rows] < l) | ((level.last_l[rows] == l) & (level.last_k[rows] <= ks))
    if not keep.any():
        return None
    return rows[keep], ks[keep]


def _couple_rows(level, rows, ks, c_l, dc_l, l, lam, pair_sample, channel_name):
    tensor = real_clebsch_gordan(level.lam, l, lam)
    a = level.values[:, rows]  # (S, R, M1)
    b = c_l[:, ks]  # (S, R, M2)
    values = _couple_gemm(a, b, tensor)
    gradients = None
    if dc_l is not None:
        # d(A (x) c) = dA (x) c + A (x) dc, both through one GEMM with the CG tensor
        da = level.gradients[:, :, rows]
        db = dc_l[:, :, ks]
        outer = da[..., :, None] * b[pair_sample][:, None, :, None, :]
        outer += a[pair_sample][:, None, :, :, None] * db[..., None, :]
        m_a, m_b, m_q = tensor.shape
        gradients = (outer.reshape(-1, m_a * m_b) @ tensor.reshape(m_a * m_b, m_q)).reshape(
            (*da.shape[:3], m_q)
        )
    return _Level(
        lam=lam,
        values=values,
        gradients=gradients,
        last_l=np.full(len(rows), l),
        last_k=ks,
        previous_lam=np.full(len(rows), level.lam),
        l_sum=level.l_sum[rows] + l,
        history=(
            None
            if level.history is None
            else [
                f"{level.history[r]}[{level.lam}]({channel_name[q]},l{l})"
                for r, q in zip(rows, ks, strict=True)
            ]
        ),
    )


def _couple_gemm(a: np.ndarray, b: np.ndarray, tensor: np.ndarray) -> np.ndarray:
    """``out[..., q] = sum_{a b} tensor[a, b, q] a[..., a] b[..., b]`` as one GEMM."""
    m_a, m_b, m_q = tensor.shape
    outer = a[..., :, None] * b[..., None, :]
    out = outer.reshape(-1, m_a * m_b) @ tensor.reshape(m_a * m_b, m_q)
    return out.reshape((*a.shape[:-1], m_q))


def _merge(lam: int, parts: list[_Level]) -> _Level:
    return _Level(
        lam=lam,
        values=np.concatenate([p.values for p in parts], axis=1),
        gradients=(
            None
            if parts[0].gradients is None
            else np.concatenate([p.gradients for p in parts], axis=2)
        ),
        last_l=np.concatenate([p.last_l for p in parts]),
        last_k=np.concatenate([p.last_k for p in parts]),
        previous_lam=np.concatenate([p.previous_lam for p in parts]),
        l_sum=np.concatenate([p.l_sum for p in parts]),
        history=None if parts[0].history is None else [h for p in parts for h in p.history],
    )

"""One coupling step of the density correlations: intermediate equivariants and their
forward-mode gradients (see :mod:`completeness.descriptors.correlations`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..clebsch_gordan import real_clebsch_gordan


@dataclass
class Level:
    """Intermediate equivariants of one order ``lam``: rows with their channel history."""

    lam: int
    values: np.ndarray  # (S, R, 2 lam + 1)
    gradients: np.ndarray | None  # (P, 3, R, 2 lam + 1)
    last_l: np.ndarray  # (R,) l of the last coupled channel
    last_k: np.ndarray  # (R,) channel index of the last coupled channel
    previous_lam: np.ndarray  # (R,) intermediate order before the last coupling (-1 if none)
    l_sum: np.ndarray  # (R,) sum of channel l's (parity)
    history: list  # (R,) names


def sorted_pairs(level: Level, l: int, n_channels: int):
    """(rows, channel indices) with the new channel ``(l, k) >= `` each row's last channel."""
    rows = np.repeat(np.arange(len(level.last_l)), n_channels)
    ks = np.tile(np.arange(n_channels), len(level.last_l))
    keep = (level.last_l[rows] < l) | ((level.last_l[rows] == l) & (level.last_k[rows] <= ks))
    if not keep.any():
        return None
    return rows[keep], ks[keep]


def couple_rows(level, rows, ks, c_l, dc_l, l, lams, pair_sample, channel_name, drop_odd=None):
    """Couple ``level``'s ``rows`` with the channels ``ks`` of order ``l`` to every order in
    ``lams``: one :class:`Level` per order (an order without rows is left out).

    One outer product (and, with gradients, one forward-mode outer product
    ``d(A (x) c) = dA (x) c + A (x) dc``) serves every order: a single GEMM against the CG
    tensors of all orders side by side. ``drop_odd`` (R,) marks rows left out of odd orders.
    """
    tensors = [real_clebsch_gordan(level.lam, l, lam) for lam in lams]
    m_a, m_b = tensors[0].shape[:2]
    stacked = np.concatenate([t.reshape(m_a * m_b, -1) for t in tensors], axis=1)
    bounds = np.cumsum([0] + [t.shape[2] for t in tensors])
    a = level.values[:, rows]  # (S, R, M1)
    b = c_l[:, ks]  # (S, R, M2)
    values = couple_gemm(a, b, stacked)
    gradients = None
    if dc_l is not None:
        da = level.gradients[:, :, rows]
        outer = da[..., :, None] * b[pair_sample][:, None, :, None, :]
        outer += a[pair_sample][:, None, :, :, None] * dc_l[:, :, ks][..., None, :]
        gradients = (outer.reshape(-1, m_a * m_b) @ stacked).reshape(
            (*da.shape[:3], stacked.shape[1])
        )
    levels = []
    for lam, first, last in zip(lams, bounds[:-1], bounds[1:], strict=True):
        select = slice(None) if drop_odd is None or lam % 2 == 0 else ~drop_odd
        r, q = rows[select], ks[select]
        if len(r) == 0:
            continue
        history = None
        if level.history is not None:
            history = [
                f"{level.history[i]}[{level.lam}]({channel_name[k]},l{l})"
                for i, k in zip(r, q, strict=True)
            ]
        levels.append(
            Level(
                lam=lam,
                values=values[:, select, first:last],
                gradients=None if gradients is None else gradients[:, :, select, first:last],
                last_l=np.full(len(r), l),
                last_k=q,
                previous_lam=np.full(len(r), level.lam),
                l_sum=level.l_sum[r] + l,
                history=history,
            )
        )
    return levels


def couple_gemm(a: np.ndarray, b: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``out[..., q] = sum_{a b} matrix[(a, b), q] a[..., a] b[..., b]`` as one GEMM."""
    outer = a[..., :, None] * b[..., None, :]
    out = outer.reshape(-1, a.shape[-1] * b.shape[-1]) @ matrix
    return out.reshape((*a.shape[:-1], matrix.shape[1]))


def merge(lam: int, parts: list[Level]) -> Level:
    return Level(
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

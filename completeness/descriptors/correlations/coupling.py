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


def couple_rows(level, rows, ks, c_l, dc_l, l, lam, pair_sample, channel_name):
    tensor = real_clebsch_gordan(level.lam, l, lam)
    a = level.values[:, rows]  # (S, R, M1)
    b = c_l[:, ks]  # (S, R, M2)
    values = couple_gemm(a, b, tensor)
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
    return Level(
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


def couple_gemm(a: np.ndarray, b: np.ndarray, tensor: np.ndarray) -> np.ndarray:
    """``out[..., q] = sum_{a b} tensor[a, b, q] a[..., a] b[..., b]`` as one GEMM."""
    m_a, m_b, m_q = tensor.shape
    outer = a[..., :, None] * b[..., None, :]
    out = outer.reshape(-1, m_a * m_b) @ tensor.reshape(m_a * m_b, m_q)
    return out.reshape((*a.shape[:-1], m_q))


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

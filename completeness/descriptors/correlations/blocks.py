"""The features of the bispectrum: one block per sorted l-triple (selection rule in
:mod:`completeness.descriptors.correlations`)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Block:
    """Features of one sorted l-triple: channel indices ``k1, k2, k3`` (each (F,))."""

    ls: tuple[int, int, int]
    odd: bool
    channels: tuple[np.ndarray, np.ndarray, np.ndarray]
    start: int

    @property
    def size(self) -> int:
        return len(self.channels[0])


@functools.lru_cache(maxsize=32)
def bispectrum_blocks(max_angular: int, n_channels: int, include_odd: bool) -> tuple:
    """The blocks of features, in output order (read-only channel arrays; cached)."""
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
                channels = (k1[keep], k2[keep], k3[keep])
                for array in channels:
                    array.flags.writeable = False
                block = Block((l1, l2, l3), odd, channels, start)
                blocks.append(block)
                start += block.size
    return tuple(blocks)

"""Structure builders shared by the descriptor tests (symmetry functions, Chebyshev, MBTR)."""

import ase
import numpy as np
import pytest

from completeness.testing import random_cluster, relative_difference  # noqa: F401 (shared)

SPECIES = [1, 6, 8]


def scaled_pair(plus_neighbours, minus_neighbours, max_distance):
    """Two carbon environments (centre at the origin) scaled so the farthest neighbour of the
    first is at ``max_distance``."""
    plus_neighbours, minus_neighbours = np.array(plus_neighbours), np.array(minus_neighbours)
    scale = max_distance / np.linalg.norm(plus_neighbours, axis=1).max()

    def make(neighbours):
        positions = np.vstack([[0, 0, 0], neighbours]) * scale
        return ase.Atoms(numbers=[6] * (len(neighbours) + 1), positions=positions)

    return make(plus_neighbours), make(minus_neighbours)


def centre_distance(descriptor, plus, minus):
    """Relative distance between the centre features of two structures."""
    a = descriptor.compute(plus, centers=[0]).values[0]
    b = descriptor.compute(minus, centers=[0]).values[0]
    return relative_difference(a, b)


def choose_kernels(monkeypatch, compiled: bool) -> None:
    """Send every batch, however small, to the compiled kernels (the test is skipped without
    numba, the 'fast' extra), or every batch to the numpy code."""
    from completeness.descriptors import _kernels

    if compiled:
        pytest.importorskip("numba", reason="the compiled kernels need the 'fast' extra")
        monkeypatch.setattr(_kernels, "COMPILED_MIN_ENTRIES", 0)
        monkeypatch.delenv(_kernels.KERNELS_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(_kernels.KERNELS_VARIABLE, "numpy")

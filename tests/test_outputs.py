"""Large outputs: recycled once dropped, never while anything refers to them."""

from __future__ import annotations

import ase
import numpy as np
import pytest

from completeness.descriptors import Bispectrum, PowerSpectrum, _kernels, outputs
from completeness.environments import InputError

SHAPE = (700, 3, 252)  # 4.2 MB: above MIN_RECYCLED_BYTES


def address(array) -> int:
    return array.__array_interface__["data"][0]


@pytest.fixture(autouse=True)
def empty_recycler(monkeypatch):
    monkeypatch.delenv(outputs.RECYCLE_VARIABLE, raising=False)
    outputs.release_recycled_memory()
    yield
    outputs.release_recycled_memory()


def test_a_dropped_output_is_reused_zeroed():
    first = outputs.output_zeros(SHAPE)
    first.fill(7.0)
    where = address(first)
    del first
    second = outputs.output_zeros(SHAPE)
    assert address(second) == where
    assert second.shape == SHAPE and not second.any()


def test_an_output_in_use_is_never_handed_out_again():
    first = outputs.output_zeros(SHAPE)
    view = first[3]  # a view keeps the memory in use after the array itself is gone
    del first
    second = outputs.output_empty(SHAPE)
    assert not np.shares_memory(second, view)
    assert outputs.recycled_bytes() == 2 * 8 * np.prod(SHAPE)


def test_empty_keeps_the_old_values_for_callers_that_overwrite_everything():
    first = outputs.output_empty(SHAPE)
    first.fill(3.0)
    del first
    assert (outputs.output_empty(SHAPE) == 3.0).all()


def test_the_budget_bounds_what_is_kept(monkeypatch):
    monkeypatch.setenv(outputs.RECYCLE_VARIABLE, "5")  # room for one 4.2 MB output
    first = outputs.output_zeros(SHAPE)
    second = outputs.output_zeros(SHAPE)  # in use together with the first: not kept
    assert outputs.recycled_bytes() == first.nbytes
    del first, second
    monkeypatch.setenv(outputs.RECYCLE_VARIABLE, "0")
    assert outputs.output_zeros(SHAPE) is not None
    assert outputs.release_recycled_memory() == 8 * np.prod(SHAPE)
    assert outputs.recycled_bytes() == 0


def test_a_malformed_budget_names_the_variable(monkeypatch):
    monkeypatch.setenv(outputs.RECYCLE_VARIABLE, "lots")
    with pytest.raises(InputError, match=outputs.RECYCLE_VARIABLE):
        outputs.output_zeros(SHAPE)


@pytest.mark.parametrize(
    ("descriptor", "kernels"),
    [
        (PowerSpectrum(cutoff=4.0, n_radial=8, max_angular=6), "compiled"),
        (Bispectrum(cutoff=4.0, n_radial=3, max_angular=3), "numpy"),
    ],
)
def test_repeated_gradient_calls_reuse_memory_and_agree(monkeypatch, descriptor, kernels):
    if kernels == "compiled":
        pytest.importorskip("numba")
        monkeypatch.setattr(_kernels, "COMPILED_MIN_ENTRIES", 0)
    else:
        monkeypatch.setenv(_kernels.KERNELS_VARIABLE, "numpy")
    rng = np.random.default_rng(0)
    systems = [ase.Atoms("C13", positions=rng.uniform(-2.0, 2.0, size=(13, 3))) for _ in range(40)]
    first = descriptor.compute(systems, gradients=True)
    kept = outputs.recycled_bytes()
    assert kept >= first.pair_gradients.nbytes >= outputs.MIN_RECYCLED_BYTES
    reference = first.pair_gradients.copy()
    where = address(first.pair_gradients)
    first.pair_gradients[:] = np.nan  # whatever the user left in it
    del first
    second = descriptor.compute(systems, gradients=True)
    assert address(second.pair_gradients) == where and outputs.recycled_bytes() == kept
    np.testing.assert_array_equal(second.pair_gradients, reference)

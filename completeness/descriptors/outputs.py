"""Where the large gradient arrays of the descriptors come from: fresh memory from the operating
system, or the memory of an earlier output that its user has dropped (recycled).

Fresh memory is not free: the kernel hands it out zero-filled, one page at a time on first
write. Measured here (``python3 benchmarks/output_pages.py``): 100-125 ms per GB on numpy's
(transparent huge) pages, 430-575 ms per GB on ordinary 4 kB pages. The power spectrum's
pair gradients of 1,000 environments (a 73 MB array) take 20 ms of CPU in fresh memory and 13-14
ms in recycled memory (``python3 benchmarks/throughput.py --sections hardware``).

So large outputs are kept for reuse once nothing refers to them any more, the way PyTorch's
caching allocator keeps device memory: an array whose user (and every view of it) is gone is
handed to the next request of the same size instead of new pages. It is zeroed again unless
the caller writes every entry (:func:`output_empty`). How much memory the process may keep this
way is bounded by ``COMPLETENESS_RECYCLE_MB`` (default :data:`DEFAULT_RECYCLE_MB`; ``0`` turns
recycling off); :func:`release_recycled_memory` returns whatever is kept but unused.

Only arrays of at least :data:`MIN_RECYCLED_BYTES` are kept (smaller ones are cheap to allocate).
Whether a kept array is still in use is read from its reference count (every numpy view of it
refers to it, and so does anything that wraps its memory: ``torch.from_numpy``, memoryviews).
"""

from __future__ import annotations

import mmap
import os
import sys
import threading

import numpy as np

from ..environments import InputError

__all__ = [
    "DEFAULT_RECYCLE_MB",
    "LARGE_OUTPUT_BYTES",
    "MIN_RECYCLED_BYTES",
    "RECYCLE_VARIABLE",
    "output_empty",
    "output_zeros",
    "recycled_bytes",
    "release_recycled_memory",
]

#: Environment variable: MiB of dropped outputs the process may keep for reuse (0: none).
RECYCLE_VARIABLE = "COMPLETENESS_RECYCLE_MB"

#: Default of :data:`RECYCLE_VARIABLE`.
DEFAULT_RECYCLE_MB = 512

#: Smallest array kept for reuse.
MIN_RECYCLED_BYTES = 2**22

#: Arrays at least this large (bytes) come from their own mapping on ordinary pages.
LARGE_OUTPUT_BYTES = 2**29


def output_zeros(shape, fresh=None) -> np.ndarray:
    """A zero-filled float64 array for a large output: a recycled one when an array of that size
    has been dropped, else fresh memory from ``fresh(shape)`` (default :func:`fresh_zeros`)."""
    return _RECYCLER.take(shape, True, fresh or fresh_zeros)


def output_empty(shape, fresh=None) -> np.ndarray:
    """Like :func:`output_zeros`, but a recycled array keeps its old values: for a caller that
    writes every entry."""
    return _RECYCLER.take(shape, False, fresh or fresh_zeros)


def release_recycled_memory() -> int:
    """Give the memory of every kept, unused output back; returns how many bytes."""
    return _RECYCLER.release()


def recycled_bytes() -> int:
    """Bytes of outputs kept for reuse (in use or not)."""
    return _RECYCLER.kept_bytes()


def fresh_zeros(shape) -> np.ndarray:
    """A zero-filled float64 array of fresh memory: numpy's below 512 MiB, ordinary (4 kB) pages
    from 512 MiB on.

    numpy asks the kernel for transparent huge pages on large arrays. Faulting in a fresh output
    costs far less CPU time on huge pages while the kernel has free 2 MB blocks at hand, but on
    a busy machine large ones turn erratic (compaction, blocks the host has not yet backed).
    Measured: the bispectrum with gradients at 4,000 environments (a 600 MB output) spent 130-430
    µs of system time per environment on huge pages against 70-100 µs on ordinary ones;
    ``python3 benchmarks/output_pages.py`` (allocate, write every page, free; round-robin, load
    average 3.6-5.7, median of 7): ordinary pages 430-575 ms per GB at every size from 32 MB to
    2 GB, huge pages 102-124 ms per GB from 32 to 768 MB but 357-708 ms per GB at 1 GB and 513
    at 2 GB. A private anonymous mapping is zero-filled and never huge-paged; the array owns it
    like any numpy array owns its memory. ``MAP_POPULATE`` (Linux) maps all its pages in one
    call instead of one fault per page: about 20 % less system time (bispectrum, 10,000
    environments).
    """
    n_bytes = 8 * int(np.prod(shape))
    if n_bytes < LARGE_OUTPUT_BYTES:
        return np.zeros(shape)
    buffer = mmap.mmap(-1, n_bytes, flags=mmap.MAP_PRIVATE | getattr(mmap, "MAP_POPULATE", 0))
    return np.frombuffer(buffer, dtype=np.float64).reshape(shape)


def _budget_bytes() -> int:
    text = os.environ.get(RECYCLE_VARIABLE, "").strip()
    if not text:
        return DEFAULT_RECYCLE_MB * 2**20
    try:
        megabytes = float(text)
    except ValueError:
        megabytes = -1.0
    if not megabytes >= 0:
        raise InputError(
            f"{RECYCLE_VARIABLE}={text!r} is not a number of MiB; set it to 0 (no recycling) or "
            f"to the MiB of dropped outputs to keep (default {DEFAULT_RECYCLE_MB})"
        )
    return int(megabytes * 2**20)


class _Recycler:
    """The kept arrays (flat float64, each owning its memory), oldest first."""

    def __init__(self):
        self._lock = threading.Lock()
        self._arrays: list[np.ndarray] = []
        self._unused_count = self._reference_count_when_unused()

    def take(self, shape, zeroed: bool, fresh) -> np.ndarray:
        size = int(np.prod(shape))
        n_bytes = 8 * size
        budget = _budget_bytes()
        if n_bytes < MIN_RECYCLED_BYTES or n_bytes > budget:
            return fresh(shape)
        with self._lock:
            for index in range(len(self._arrays)):
                if self._arrays[index].size == size and self._unused(index):
                    array = self._arrays[index].reshape(shape)  # refers to the kept array
                    if zeroed:
                        array.fill(0.0)
                    return array
            kept = fresh((size,))
            self._make_room(n_bytes, budget)
            if self.kept_bytes() + n_bytes <= budget:
                self._arrays.append(kept)
            return kept.reshape(shape)

    def release(self) -> int:
        with self._lock:
            return self._make_room(sys.maxsize, 0)

    def kept_bytes(self) -> int:
        return sum(array.nbytes for array in self._arrays)

    def _make_room(self, n_bytes: int, budget: int) -> int:
        """Drop unused arrays, oldest first, until ``n_bytes`` more fit in ``budget``."""
        freed = 0
        index = 0
        while index < len(self._arrays) and self.kept_bytes() + n_bytes > budget:
            if self._unused(index):
                freed += self._arrays.pop(index).nbytes
            else:
                index += 1
        return freed

    def _unused(self, index: int) -> bool:
        return sys.getrefcount(self._arrays[index]) == self._unused_count

    def _reference_count_when_unused(self) -> int:
        """What :meth:`_unused` reads for an array that only this list refers to (measured,
        since the interpreter's own references differ between versions)."""
        self._arrays.append(np.empty(0))
        try:
            return sys.getrefcount(self._arrays[0])
        finally:
            self._arrays.clear()


_RECYCLER = _Recycler()

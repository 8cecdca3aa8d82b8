"""Real spherical harmonics through sphericart, single-threaded for small inputs.

sphericart parallelises over points with OpenMP. For the few dozen neighbour vectors of one
environment the parallel region costs far more than the work, and after it the idle OpenMP
threads spin: with two threads one power-spectrum environment of manifold following cost 6.7 ms
of CPU instead of 1.0 ms (measured on 2 cores with ``benchmarks/throughput.py --sections ch4
--threads default``). So inputs of fewer than :data:`THREADED_POINTS` points run on one OpenMP
thread, whatever the process's thread policy (:mod:`completeness.threads`); larger inputs use
the thread count in force. The switch sets the OpenMP thread count of the calling thread in
each runtime sphericart may be bound to (its own, and one in the process's global scope such
as PyTorch's) and restores it after the call; OpenMP keeps that count per calling thread, so
other threads are unaffected.
"""

from __future__ import annotations

import functools
import sys

import numpy as np

__all__ = ["THREADED_POINTS", "spherical_harmonics"]

#: Inputs with at least this many points run sphericart with the OpenMP thread count in force
#: (about 2 ms of single-threaded work at max_angular 6, where the spinning threads cost < 10 %).
THREADED_POINTS = 4096


@functools.lru_cache(maxsize=32)
def _calculator(max_angular: int):
    import sphericart

    return sphericart.SphericalHarmonics(max_angular)


@functools.cache
def _sphericart_library():
    """sphericart's shared library (ctypes), or None when its file is not where the wheels put
    it."""
    import ctypes
    import glob
    import os

    import sphericart

    _calculator(0)  # loads the library: the look-up below returns the same handle
    folder = os.path.join(os.path.dirname(sphericart.__file__), "lib")
    paths = sorted(glob.glob(os.path.join(folder, "libsphericart.*")))
    return ctypes.CDLL(paths[0]) if paths else None


def _openmp_runtimes() -> list:
    """``(omp_get_max_threads, omp_set_num_threads)`` of every OpenMP runtime sphericart may be
    bound to: the one it was linked with, and the one in the process's global scope (PyTorch
    puts its own there; whichever was there first serves sphericart's parallel regions). Until
    the global scope has one, it is looked at again whenever Python modules were imported since
    the last look (a library that brings a runtime is loaded by an import)."""
    runtimes = _RUNTIMES["runtimes"]
    if runtimes is None:  # the linked runtime: looked up once
        runtimes = _RUNTIMES["runtimes"] = []
        _add_runtime(runtimes, _sphericart_library())
    if not _RUNTIMES["settled"] and _RUNTIMES["modules"] != len(sys.modules):
        _RUNTIMES["modules"] = len(sys.modules)
        _RUNTIMES["settled"] = _add_runtime(runtimes, _process_scope())
    return runtimes


_RUNTIMES: dict = {"runtimes": None, "settled": False, "modules": -1}


def _add_runtime(runtimes: list, library) -> bool:
    """Append ``library``'s OpenMP runtime to ``runtimes`` unless it is there already; False
    when ``library`` has none."""
    import ctypes

    try:
        get, set_ = library.omp_get_max_threads, library.omp_set_num_threads
    except AttributeError:  # no OpenMP there (or no library file)
        return False
    address = ctypes.cast(set_, ctypes.c_void_p).value
    if all(address != ctypes.cast(known, ctypes.c_void_p).value for _, known in runtimes):
        get.restype, set_.argtypes = ctypes.c_int, [ctypes.c_int]
        runtimes.append((get, set_))
    return True


@functools.cache
def _process_scope():
    import ctypes

    return ctypes.CDLL(None)


def spherical_harmonics(vectors: np.ndarray, max_angular: int, gradients: bool = False):
    """``Y (n, (max_angular + 1)^2)`` of the vectors ``(n, 3)`` (need not be unit length), and
    with ``gradients`` also ``dY/dr (n, 3, (max_angular + 1)^2)`` as a tuple (sphericart's
    order ``m = -l..l`` within each ``l``)."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float64)
    if len(vectors) == 0:
        y = np.zeros((0, (max_angular + 1) ** 2))
        return (y, np.zeros((0, 3, y.shape[1]))) if gradients else y
    calculator = _calculator(max_angular)
    compute = calculator.compute_with_gradients if gradients else calculator.compute
    if len(vectors) >= THREADED_POINTS:
        return compute(vectors)
    runtimes = _openmp_runtimes()
    threads = [get() for get, _ in runtimes]
    if all(count == 1 for count in threads):  # the usual policy: nothing to switch
        return compute(vectors)
    for _, set_ in runtimes:
        set_(1)
    try:
        return compute(vectors)
    finally:
        for (_, set_), count in zip(runtimes, threads, strict=True):
            set_(count)

"""Real spherical harmonics through sphericart, single-threaded for small inputs.

sphericart parallelises over points with OpenMP. For the few dozen neighbour vectors of one
environment the parallel region costs far more than the work, and after it the idle OpenMP
threads spin: with two threads one power-spectrum environment of manifold following cost 6.7 ms
of CPU instead of 1.0 ms (measured on 2 cores with ``benchmarks/throughput.py --sections ch4
--threads default``). So inputs of fewer than :data:`THREADED_POINTS` points run on one OpenMP
thread, whatever the process's thread policy (:mod:`completeness.threads`); larger inputs use
the thread count in force. The switch sets the OpenMP thread count of the calling thread for
the OpenMP runtime sphericart is bound to and restores it after the call (OpenMP keeps that
count per calling thread, so other threads and libraries are unaffected).
"""

from __future__ import annotations

import functools

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
def _openmp_of_sphericart():
    """``(omp_get_max_threads, omp_set_num_threads)`` of the OpenMP runtime sphericart's library
    is bound to (looked up through that library, so the right runtime even when another package
    loaded one of the same name first), or None (no library file found, or built without
    OpenMP)."""
    import ctypes
    import glob
    import os

    import sphericart

    _calculator(0)  # loads sphericart's library: the lookup below finds it already bound
    folder = os.path.join(os.path.dirname(sphericart.__file__), "lib")
    for path in sorted(glob.glob(os.path.join(folder, "libsphericart.*"))):
        library = ctypes.CDLL(path)
        try:
            get, set_ = library.omp_get_max_threads, library.omp_set_num_threads
        except AttributeError:
            return None
        get.restype, set_.argtypes = ctypes.c_int, [ctypes.c_int]
        return get, set_
    return None


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
    openmp = _openmp_of_sphericart() if len(vectors) < THREADED_POINTS else None
    threads = openmp[0]() if openmp is not None else 1
    if threads == 1:
        return compute(vectors)
    openmp[1](1)
    try:
        return compute(vectors)
    finally:
        openmp[1](threads)

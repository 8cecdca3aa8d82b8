"""Real spherical harmonics through sphericart, on one thread unless threads are asked for.

sphericart parallelises over points with OpenMP. For the few dozen neighbour vectors of one
environment the parallel region costs far more than the work, and after it the idle OpenMP
threads spin: with two threads one power-spectrum environment of manifold following cost 6.7 ms
of CPU instead of 1.0 ms (measured on 2 cores with ``benchmarks/throughput.py --sections ch4
--threads default``). Large batches do not gain either: at 10,000 environments (120,000 points)
two threads took the values call from 150 to 170 ms of CPU and saved under 2 % of its wall
time. So sphericart runs on one OpenMP thread, except for inputs of at least
:data:`THREADED_POINTS` points when the process's thread policy asks for more than one thread
(:func:`completeness.threads.decide_threads`: ``apply_thread_policy(N)``, ``--threads N``,
``COMPLETENESS_THREADS=N``), which then run with the count in force; with the libraries' own
defaults (``COMPLETENESS_THREADS=default``) the package's harmonics stay on one thread. The
switch sets the OpenMP thread count of the calling thread in
each runtime sphericart may be bound to (its own, and one in the process's global scope such
as PyTorch's) and restores it after the call; OpenMP keeps that count per calling thread, so
other threads are unaffected.
"""

from __future__ import annotations

import functools
import sys

import numpy as np

from ..threads import decide_threads

__all__ = ["THREADED_POINTS", "spherical_harmonics"]

#: Inputs with at least this many points run sphericart with the OpenMP thread count in force
#: when the thread policy asks for several threads (about 2 ms of single-threaded work at
#: max_angular 6, where the spinning threads cost < 10 %).
THREADED_POINTS = 4096


@functools.lru_cache(maxsize=32)
def _calculator(max_angular: int):
    """An object with sphericart's ``compute`` and ``compute_with_gradients`` for float64
    ``(n, 3)`` C-contiguous arrays: :class:`_DirectHarmonics` on sphericart's C API, or
    sphericart's own Python class when its shared library is not where the wheels put it."""
    import sphericart

    library = _sphericart_library()
    if library is None:
        return sphericart.SphericalHarmonics(max_angular)
    return _DirectHarmonics(library, max_angular)


class _DirectHarmonics:
    """sphericart's C API (``sphericart.h``: ``sphericart_spherical_harmonics_new``,
    ``..._compute_array``, ``..._compute_array_with_gradients``), the functions its Python
    ``compute`` calls, given the arrays' addresses. The Python class checks the array type and
    builds two ctypes pointer objects on every call: two thirds of the time of a call on the
    dozen points of one environment. Same functions, same numbers (tested)."""

    def __init__(self, library, max_angular: int):
        import ctypes
        import weakref

        size, address = ctypes.c_size_t, ctypes.c_void_p
        new = library.sphericart_spherical_harmonics_new
        new.restype, new.argtypes = address, [size]
        delete = library.sphericart_spherical_harmonics_delete
        delete.restype, delete.argtypes = None, [address]
        self._values = library.sphericart_spherical_harmonics_compute_array
        self._values.restype = None
        self._values.argtypes = [address, address, size, address, size]
        self._gradients = library.sphericart_spherical_harmonics_compute_array_with_gradients
        self._gradients.restype = None
        self._gradients.argtypes = [address, address, size, address, size, address, size]
        self._n_lm = (max_angular + 1) ** 2
        self._handle = new(max_angular)
        if not self._handle:
            raise MemoryError(f"sphericart could not create a calculator for l_max={max_angular}")
        weakref.finalize(self, delete, self._handle)

    def compute(self, xyz: np.ndarray) -> np.ndarray:
        y = np.empty((len(xyz), self._n_lm))
        self._values(self._handle, xyz.ctypes.data, xyz.size, y.ctypes.data, y.size)
        return y

    def compute_with_gradients(self, xyz: np.ndarray):
        y = np.empty((len(xyz), self._n_lm))
        dy = np.empty((len(xyz), 3, self._n_lm))
        self._gradients(
            self._handle, xyz.ctypes.data, xyz.size, y.ctypes.data, y.size, dy.ctypes.data, dy.size
        )
        return y, dy


@functools.cache
def _sphericart_library():
    """sphericart's shared library (ctypes), or None when its file is not where the wheels put
    it."""
    import ctypes
    import glob
    import os

    import sphericart

    sphericart.SphericalHarmonics(0)  # loads the library: the look-up below returns its handle
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
    if vectors.ndim != 2 or vectors.shape[1] != 3:
        raise ValueError(f"vectors must have shape (n, 3), got {vectors.shape}")
    if len(vectors) == 0:
        y = np.zeros((0, (max_angular + 1) ** 2))
        return (y, np.zeros((0, 3, y.shape[1]))) if gradients else y
    calculator = _calculator(max_angular)
    compute = calculator.compute_with_gradients if gradients else calculator.compute
    if len(vectors) >= THREADED_POINTS and (decide_threads() or 1) > 1:
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

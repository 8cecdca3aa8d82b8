"""One process-wide thread policy for the native libraries (BLAS, OpenMP, rayon).

The package's work is many small kernels (GEMMs of a few hundred rows, spherical harmonics of a
dozen neighbours): threads inside one such kernel cost more than they save, and on a shared
machine idle threads spinning in OpenBLAS or OpenMP oversubscribe the cores (measured here: one
power-spectrum environment costs 290 µs of CPU in sphericart with two OpenMP threads and 44 µs
with one). Parallelism comes from worker processes instead (:mod:`completeness.parallel`).

So every entry point decides the thread count once, at start-up, with :func:`apply_thread_policy`:
the command line (before any sub-command runs) and every worker process of
:func:`completeness.parallel.parallel_map` (with the count decided by the driver). Nothing enters
a thread-limiting context per call.

The count is, in order of precedence:

1. the ``threads`` argument (the command line's ``--threads N``);
2. the environment variable ``COMPLETENESS_THREADS`` (a positive integer, or ``default`` to
   leave every library at its own default);
3. one thread.

Applying it sets ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS`` and
``RAYON_NUM_THREADS`` (read when a library is first loaded, and inherited by child processes)
and limits the thread pools already loaded through threadpoolctl. Library users who call the
descriptors from their own scripts get the same behaviour with one call::

    from completeness.threads import apply_thread_policy
    apply_thread_policy()  # or apply_thread_policy(4)

Long runs of small kernels started from a user's own script (manifold following: thousands of
SVDs of a few hundred rows) run inside :func:`thread_policy_for_run`, which applies the decided
count to the loaded thread pools for the run only, when the process has not applied a policy
itself (measured: a 1,000-step CH4 following costs 4.2 s of CPU with two OpenBLAS threads and
0.87 s with one).

Each descriptor call of such a script runs inside :func:`blas_threads_for_call`, which holds the
loaded BLAS pools at the decided count for the call (set and restored on the pools, about
20 µs, so a call on one small environment without gradients, under 32 pairs, skips it; nothing
when a policy was applied): with OpenBLAS at two threads, nu = 4 at the B8
settings ran at 171 environments per CPU second against 365 with one, and the spherical
expansion of 1,000 environments took 10.0 ms of CPU against 5.7.

This module imports nothing from the package but :mod:`completeness.errors`.
"""

from __future__ import annotations

import contextlib
import os
import sys

from .errors import InputError

__all__ = [
    "ENVIRONMENT_VARIABLE",
    "ThreadPolicyError",
    "apply_thread_policy",
    "blas_threads_for_call",
    "decide_threads",
    "thread_policy_for_run",
    "worker_setting",
]

#: Environment variable overriding the default of one thread per process.
ENVIRONMENT_VARIABLE = "COMPLETENESS_THREADS"

#: Variables read by OpenMP, OpenBLAS, MKL and rayon (featomic) when they are first loaded.
_LIBRARY_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "RAYON_NUM_THREADS",
)

_DEFAULT = "default"
_applied: list = []  # the count applied in this process (at most one entry)
_original_environment: dict = {}  # the library variables before the policy limited them
_limiter = None  # keeps threadpoolctl's limits alive for the life of the process


class ThreadPolicyError(InputError):
    """A bad thread count: the message names the value and the accepted forms."""


def decide_threads(threads=None) -> int | None:
    """The thread count of this process: ``threads``, else ``$COMPLETENESS_THREADS``, else 1.

    Returns None for ``"default"`` (leave every library at its own default).
    """
    source = "threads"
    if threads is None:
        threads = os.environ.get(ENVIRONMENT_VARIABLE)
        source = ENVIRONMENT_VARIABLE
    if threads is None:
        return 1
    given, count = threads, threads
    if isinstance(threads, str):
        text = threads.strip().lower()
        if text == _DEFAULT:
            return None
        count = int(text) if text.isdigit() else threads
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ThreadPolicyError(
            f"{source} must be a positive integer or {_DEFAULT!r}, got {given!r}; "
            f"e.g. {ENVIRONMENT_VARIABLE}=2"
        )
    return count


def apply_thread_policy(threads=None) -> int | None:
    """Decide the thread count (:func:`decide_threads`) and apply it to this process.

    Idempotent: a later call with the same decision only exports the environment variables
    again; a different count replaces the first (the command line's ``--threads`` after an
    earlier default, say). Returns the count (None for the libraries' defaults).
    """
    global _limiter
    count = decide_threads(threads)
    if not (_applied and _applied[0] == count):
        if _limiter is not None:  # a second, different decision replaces the first
            _limiter.restore_original_limits()
            _limiter = None
        else:  # not limiting now: the environment to give back on "default"
            _original_environment.update(
                {name: os.environ.get(name) for name in _LIBRARY_VARIABLES}
            )
        if count is not None:
            from threadpoolctl import threadpool_limits

            _limiter = threadpool_limits(limits=count)
        _applied[:] = [count]
    if count is None:
        for name, value in _original_environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    else:
        for name in _LIBRARY_VARIABLES:
            os.environ[name] = str(count)
    # worker processes (and libraries loaded later) inherit the decision
    os.environ[ENVIRONMENT_VARIABLE] = _DEFAULT if count is None else str(count)
    return count


def worker_setting():
    """The decision of this process in the form a worker process passes back to
    :func:`apply_thread_policy` (so workers follow the driver, whatever their environment)."""
    count = decide_threads()
    return _DEFAULT if count is None else count


@contextlib.contextmanager
def thread_policy_for_run():
    """The decided thread count (:func:`decide_threads`) on the loaded thread pools for the
    duration of the block, when this process has not applied a policy (an applied one, the
    command line's say, already holds and is left alone; so is ``COMPLETENESS_THREADS=default``).
    One threadpoolctl entry per run, not per call."""
    count = None if _applied else decide_threads()
    if count is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=count):
        yield


_blas_pools: dict = {"modules": -1, "pools": []}


def _loaded_blas_pools() -> list:
    """threadpoolctl's controllers of the loaded BLAS libraries, looked up again whenever Python
    modules were imported since the last look (a library that brings BLAS comes with an
    import)."""
    if _blas_pools["modules"] != len(sys.modules):
        from threadpoolctl import ThreadpoolController

        _blas_pools["pools"] = ThreadpoolController().select(user_api="blas").lib_controllers
        _blas_pools["modules"] = len(sys.modules)
    return _blas_pools["pools"]


@contextlib.contextmanager
def blas_threads_for_call():
    """The decided thread count (:func:`decide_threads`) on the loaded BLAS pools for one
    descriptor call, when this process has not applied a policy; the pools get their counts
    back afterwards. (BLAS thread counts are process-wide: descriptor calls running in several
    Python threads at once may see each other's setting, which changes speed, never results.)"""
    count = None if _applied else decide_threads()
    if count is None:
        yield
        return
    pools, saved = [], []
    for pool in _loaded_blas_pools():
        threads = pool.num_threads
        if threads > count:
            pool.set_num_threads(count)
            pools.append(pool)
            saved.append(threads)
    try:
        yield
    finally:
        for pool, threads in zip(pools, saved, strict=True):
            pool.set_num_threads(threads)

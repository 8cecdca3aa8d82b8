"""One map over independent tasks: serially, on local processes, or on dask.distributed.

:func:`parallel_map` calls ``function(task, rng)`` for every task and returns the results in task
order. Each task gets its own random generator, the ``i``-th child of
``np.random.SeedSequence(seed).spawn(len(tasks))`` (NumPy's recommended way to seed parallel
streams: https://numpy.org/doc/stable/reference/random/parallel.html), so the results do not
depend on the backend, on the number of workers or on the order in which tasks finish.

Backends
--------
``"serial"``
    A plain loop in this process.
``"processes"``
    joblib's loky process pool (``n_workers`` processes, default: every core).
``"dask"``
    dask.distributed: ``scheduler="tcp://host:port"`` connects to a running cluster (started
    with ``dask scheduler`` / ``dask worker``); ``scheduler=None`` starts a ``LocalCluster`` of
    ``n_workers`` single-threaded worker processes and closes it afterwards. An existing
    ``distributed.Client`` may also be passed as ``scheduler``.

Checkpoints
-----------
With ``checkpoint=DIRECTORY``, each result is written as soon as it arrives, atomically (a
temporary file renamed into place), as ``task-000123.pkl``, next to a ``manifest.json`` holding
a SHA-256 hash of the pickled ``(tasks, seed)`` and the function's name. Calling again with the
same tasks, seed, function and directory loads the finished results and computes only the others:
an interrupted scan resumes where it stopped. A directory holding results of other tasks is
refused (never silently mixed or overwritten). One map at a time owns a checkpoint directory: it
holds an exclusive lock on ``DIRECTORY/.lock`` (``flock``, released by the kernel when the
process ends, however it ends) from before the manifest is checked until the map returns, and
the manifest is created exclusively (never overwritten); a second map on the same directory is
refused while the first runs.

Stopping
--------
While a map runs on the ``"processes"`` or ``"dask"`` backend, SIGTERM is turned into
:class:`Interrupted` (a ``KeyboardInterrupt``, as SIGINT already is) in the main thread, so the
map unwinds: loky workers are killed, a LocalCluster is closed, finished results stay in the
checkpoint, and the previous signal handlers are restored afterwards.

Errors
------
An exception in a task stops the map with :class:`TaskFailed`, whose one-line message names the
task index and the original error (results finished before it are kept in the checkpoint).
Bad arguments raise :class:`ParallelInputError` (a ``ValueError``).

Worker processes follow the driver's thread policy (:mod:`completeness.threads`: one thread per
process unless ``COMPLETENESS_THREADS`` says otherwise), applied once in each worker.

joblib and dask are imported only when their backend is used (``pip install
completeness[parallel]``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import signal
import threading
import traceback
import warnings
from collections.abc import Callable, Iterable

import numpy as np

from .errors import CompletenessError, InputError, first_line
from .io import write_bytes
from .threads import apply_thread_policy, worker_setting

__all__ = ["BACKENDS", "Interrupted", "ParallelInputError", "TaskFailed", "parallel_map"]

#: Accepted values of ``backend``.
BACKENDS = ("serial", "processes", "dask")

_MANIFEST = "manifest.json"
_LOCK = ".lock"


class ParallelInputError(InputError):
    """Bad arguments to :func:`parallel_map`: the message names the problem and the fix."""


class TaskFailed(CompletenessError, RuntimeError):
    """A task raised. ``str()`` is one line (task index, error type, message); the worker's
    formatted traceback is in :attr:`worker_traceback`."""

    def __init__(self, message: str, worker_traceback: str = ""):
        super().__init__(message, worker_traceback)
        self.message = message
        self.worker_traceback = worker_traceback

    def __str__(self) -> str:
        return self.message


class Interrupted(KeyboardInterrupt):
    """The map was stopped by a signal (SIGINT or SIGTERM); ``signal`` is its number."""

    def __init__(self, signal_number: int):
        super().__init__(f"stopped by {signal.Signals(signal_number).name}")
        self.signal = signal_number


# --------------------------------------------------------------------------------------------
# the call in the worker
# --------------------------------------------------------------------------------------------


def _run_task(function, task, seed_sequence, index: int, n_tasks: int):
    """``(index, function(task, rng))``; any exception becomes a picklable TaskFailed."""
    rng = np.random.default_rng(seed_sequence)
    try:
        return index, function(task, rng)
    except Exception as error:  # re-raised in the caller with the task index
        first = first_line(error, default="")
        raise TaskFailed(
            f"task {index} of {n_tasks} failed: {type(error).__name__}: {first}",
            traceback.format_exc(),
        ) from None


def _run_chunk(function, chunk, threads=1):
    """Run several tasks in one worker call (``chunk`` = [(task, seed_sequence, index, n)]).

    ``threads`` is the driver's thread policy (:mod:`completeness.threads`), applied once per
    worker process (later calls find it applied and return at once).
    """
    apply_thread_policy(threads)
    return [_run_task(function, *item) for item in chunk]


# --------------------------------------------------------------------------------------------
# checkpoints
# --------------------------------------------------------------------------------------------


def _function_name(function) -> str:
    module = getattr(function, "__module__", None) or ""
    name = getattr(function, "__qualname__", None) or type(function).__qualname__
    return f"{module}.{name}"


def _tasks_hash(tasks: list, seed) -> str:
    try:
        payload = pickle.dumps((tasks, seed), protocol=4)
    except Exception as error:  # unpicklable tasks cannot be checkpointed: say so
        raise ParallelInputError(
            f"tasks cannot be pickled ({type(error).__name__}: {error}); checkpoints need "
            "picklable tasks (plain numbers, strings, dicts, tuples)"
        ) from None
    return hashlib.sha256(payload).hexdigest()


def _lock_directory(directory: str) -> int:
    """An exclusive, non-blocking ``flock`` on ``directory/.lock``; refuse if another map has it."""
    import fcntl

    descriptor = os.open(os.path.join(directory, _LOCK), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        raise ParallelInputError(
            f"checkpoint directory {directory!r} is in use by another running map; wait for it "
            "to finish or use another directory"
        ) from None
    return descriptor


def _create_exclusively(path: str, data: bytes) -> bool:
    """Write ``path`` completely, unless it exists: False then (a hard link never replaces)."""
    temporary = f"{path}.{os.getpid()}.new"
    write_bytes(temporary, data, sync=True)
    try:
        os.link(temporary, path)
    except FileExistsError:
        return False
    finally:
        os.remove(temporary)
    return True


class _Checkpoint:
    """Results of one map on disk: ``manifest.json`` + ``task-%06d.pkl`` per finished task.

    Holds the directory's lock from construction until :meth:`close`.
    """

    def __init__(self, directory: str, tasks: list, seed, function):
        self.directory = os.fspath(directory)
        if os.path.exists(self.directory) and not os.path.isdir(self.directory):
            raise ParallelInputError(
                f"checkpoint {self.directory!r} exists and is not a directory; give a directory"
            )
        os.makedirs(self.directory, exist_ok=True)
        self._lock = _lock_directory(self.directory)
        try:
            self._check_manifest(tasks, seed, function)
        except BaseException:
            self.close()
            raise

    def _check_manifest(self, tasks, seed, function) -> None:
        manifest = {
            "tasks_sha256": _tasks_hash(tasks, seed),
            "n_tasks": len(tasks),
            "function": _function_name(function),
        }
        path = os.path.join(self.directory, _MANIFEST)
        text = (json.dumps(manifest, indent=1) + "\n").encode()
        if not _create_exclusively(path, text):
            with open(path) as stream:
                existing = json.load(stream)
            if existing != manifest:
                raise ParallelInputError(
                    f"checkpoint directory {self.directory!r} holds results of other tasks "
                    f"({existing.get('n_tasks')} tasks of {existing.get('function')}); use a new "
                    "directory or delete this one"
                )

    def close(self) -> None:
        if self._lock is not None:
            os.close(self._lock)  # closing the descriptor releases the flock
            self._lock = None

    def path(self, index: int) -> str:
        return os.path.join(self.directory, f"task-{index:06d}.pkl")

    def load(self, n_tasks: int) -> dict:
        done = {}
        for index in range(n_tasks):
            path = self.path(index)
            if os.path.exists(path):
                with open(path, "rb") as stream:
                    done[index] = pickle.load(stream)
        return done

    def save(self, index: int, result) -> None:
        write_bytes(
            self.path(index), pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL), sync=True
        )


# --------------------------------------------------------------------------------------------
# backends (each yields (index, result) as results arrive)
# --------------------------------------------------------------------------------------------


def _serial(function, items):
    for item in items:
        yield _run_task(function, *item)


def _chunks(items: list, n_workers: int) -> list[list]:
    """About four chunks per worker: few enough to amortise the call, enough to balance."""
    size = max(1, -(-len(items) // (4 * n_workers)))
    return [items[k : k + size] for k in range(0, len(items), size)]


def _processes(function, items, n_workers: int):
    import joblib

    chunks = _chunks(items, n_workers)
    parallel = joblib.Parallel(
        n_jobs=min(n_workers, len(chunks)), backend="loky", return_as="generator_unordered"
    )
    threads = worker_setting()
    outputs = parallel(joblib.delayed(_run_chunk)(function, chunk, threads) for chunk in chunks)
    try:
        for results in outputs:
            yield from results
    finally:
        # closing joblib's generator early makes it kill the loky workers (no orphan survives an
        # error, a signal or an abandoned map); its "tasks cancelled" warning says nothing new
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outputs.close()


def _dask(function, items, n_workers: int, scheduler):
    from distributed import Client, LocalCluster, as_completed

    cluster = client = None
    own_client = True
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        )
        client = Client(cluster)
    elif isinstance(scheduler, Client):
        client, own_client = scheduler, False
    else:
        client = Client(scheduler)
    try:
        n_slots = max(1, sum(client.nthreads().values()))
        chunks = _chunks(items, n_slots)
        futures = client.map(
            _run_chunk,
            [function] * len(chunks),
            chunks,
            [worker_setting()] * len(chunks),
            pure=False,
        )
        try:
            for future in as_completed(futures):
                yield from future.result()
        finally:
            client.cancel(futures)
    finally:
        if own_client:
            client.close()
        if cluster is not None:
            cluster.close()


@contextlib.contextmanager
def _signals_interrupt():
    """In the main thread, SIGTERM (and SIGINT) raise :class:`Interrupted` while the block runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signal_number, _frame):
        raise Interrupted(signal_number)

    previous = {number: signal.signal(number, interrupt) for number in _STOP_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


# --------------------------------------------------------------------------------------------
# the map
# --------------------------------------------------------------------------------------------


def _check_arguments(function, backend, n_workers, scheduler) -> int:
    if not callable(function):
        raise ParallelInputError(
            f"function must be callable as function(task, rng), got {type(function).__name__}"
        )
    if backend not in BACKENDS:
        raise ParallelInputError(
            f"unknown backend {backend!r}; use one of {', '.join(repr(b) for b in BACKENDS)}"
        )
    if scheduler is not None and backend != "dask":
        raise ParallelInputError(
            f"a scheduler was given with backend={backend!r}; use backend='dask' to connect to it"
        )
    if scheduler is not None and not isinstance(scheduler, str):
        from distributed import Client

        if not isinstance(scheduler, Client):
            raise ParallelInputError(
                f"scheduler must be an address like 'tcp://host:8786' or a distributed.Client, "
                f"got {type(scheduler).__name__}"
            )
    if n_workers is None:
        return os.cpu_count() or 1
    if isinstance(n_workers, bool) or not isinstance(n_workers, (int, np.integer)):
        raise ParallelInputError(f"n_workers must be a positive integer, got {n_workers!r}")
    if n_workers < 1:
        raise ParallelInputError(f"n_workers must be at least 1, got {n_workers}")
    return int(n_workers)


def parallel_map(
    function: Callable,
    tasks: Iterable,
    *,
    seed: int = 0,
    backend: str = "serial",
    n_workers: int | None = None,
    scheduler=None,
    checkpoint: str | os.PathLike | None = None,
    progress: bool | None = None,
) -> list:
    """``[function(task, rng_i) for i, task in enumerate(tasks)]`` on the chosen backend.

    Parameters
    ----------
    function : callable ``(task, rng) -> result``
        Must be picklable (a module-level function or a ``functools.partial`` of one) for the
        ``"processes"`` and ``"dask"`` backends; results must be picklable too.
    tasks : iterable
        Consumed into a list; each element is passed to ``function`` as is.
    seed : int
        Root of the task seeds: task ``i`` gets
        ``np.random.default_rng(np.random.SeedSequence(seed).spawn(n)[i])``.
    backend : {"serial", "processes", "dask"}
    n_workers : int, optional
        Processes (``"processes"``) or LocalCluster workers (``"dask"`` without a scheduler);
        default ``os.cpu_count()``. Ignored with a running dask scheduler.
    scheduler : str or distributed.Client, optional
        ``"tcp://host:port"`` of a running dask scheduler (``backend="dask"`` only).
    checkpoint : path, optional
        Directory where results are written as they arrive; rerunning resumes (module docstring).
    progress : bool, optional
        A progress bar (:func:`completeness.progress.progress_bar`); shown unless ``False``.

    Returns
    -------
    list
        Results in task order, identical for every backend.

    Raises
    ------
    ParallelInputError
        Bad arguments (unknown backend, non-positive n_workers, checkpoint of other tasks, ...).
    TaskFailed
        A task raised; the message starts with ``task <index> of <n> failed``.
    """
    n_workers = _check_arguments(function, backend, n_workers, scheduler)
    tasks = list(tasks)
    store = _Checkpoint(checkpoint, tasks, seed, function) if checkpoint is not None else None
    try:
        return _map(function, tasks, seed, backend, n_workers, scheduler, store, progress)
    finally:
        if store is not None:
            store.close()


def _map(function, tasks, seed, backend, n_workers, scheduler, store, progress) -> list:
    n_tasks = len(tasks)
    results = store.load(n_tasks) if store is not None else {}
    seeds = np.random.SeedSequence(seed).spawn(n_tasks)
    pending = [(tasks[i], seeds[i], i, n_tasks) for i in range(n_tasks) if i not in results]

    from .progress import progress_bar

    bar = progress_bar(
        total=n_tasks,
        initial=len(results),
        desc=f"{backend} map",
        unit="task",
        enabled=progress is not False,
    )
    kept = f" in {store.directory!r}: rerun to resume" if store is not None else ""
    try:
        if pending:
            serial = backend == "serial" or (backend == "processes" and n_workers == 1)
            with contextlib.nullcontext() if serial else _signals_interrupt():
                if serial:
                    stream = _serial(function, pending)
                elif backend == "processes":
                    stream = _processes(function, pending, n_workers)
                else:
                    stream = _dask(function, pending, n_workers, scheduler)
                try:
                    for index, result in stream:
                        if store is not None:
                            store.save(index, result)
                        results[index] = result
                        bar.update(1)
                finally:
                    stream.close()  # stops the workers now, not when the generator is collected
    except TaskFailed as failure:
        if store is not None:
            failure.message += f" ({len(results)} finished results are kept{kept})"
        raise failure from failure.__cause__
    except KeyboardInterrupt as stop:
        if store is not None:
            stop.args = (
                f"{stop.args[0] if stop.args else 'interrupted'}; {len(results)} "
                f"finished results are kept{kept}",
            )
        raise
    finally:
        bar.close()
    return [results[i] for i in range(n_tasks)]

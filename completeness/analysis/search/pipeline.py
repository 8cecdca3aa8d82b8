"""The search itself: streamed features, candidate pairs, bounds, alignments, ranking."""

from __future__ import annotations

import contextlib
import os
import tempfile
import time

import numpy as np

from ... import parallel
from ...environments import InputError, check_cutoff, check_systems
from .alignment import align_environments
from .environments import EnvironmentSet, RadialFingerprints
from .neighbours import INDEXES, candidate_pairs, feature_distances
from .result import EPS, SearchResult

__all__ = ["read_systems", "search"]


def search(
    systems,
    descriptor,
    *,
    cutoff: float | None = None,
    k: int = 5,
    n_components: int | None = 16,
    index: str = "auto",
    seed: int = 0,
    max_alignments: int | None = 2000,
    min_structural: float = 0.05,
    n_thorough: int = 20,
    allow_reflection: bool | None = None,
    batch_size: int = 5000,
    backend: str = "serial",
    n_workers: int | None = None,
    scheduler=None,
    progress: bool | None = None,
) -> SearchResult:
    """Pairs of environments of ``systems`` that ``descriptor`` nearly confuses (package docstring).

    Size: the documentation of its sixteen parameters; the body is one line per stage.

    Parameters
    ----------
    systems : ase.Atoms or list of ase.Atoms
        Every atom of every structure is a centre.
    descriptor : Descriptor, object with ``compute``, or callable
        A package Descriptor with ``species=None`` gets the species of the whole data set, so
        that every batch has the same columns.
    cutoff : float, optional
        Structural cutoff in Å (and the descriptor's ``cutoff`` when it has one); default: the
        descriptor's ``cutoff``.
    k : int
        Nearest neighbours in feature space per environment.
    n_components : int or None
        The nearest-neighbour query runs on the projection of the features on this many leading
        principal components (PCA fitted on at most 20,000 environments drawn with ``seed``);
        None: the full feature space. On 51,200 jittered fcc Cu environments (power spectrum, 105
        features) the exact query on 16 components found the exact nearest neighbour for every
        one of 5,000 queries and 92 % of the exact 5 nearest, 7 times faster than the query in
        the full space. Feature distances of the candidates are always computed in the full
        space.
    index : {"auto", "exact", "hnsw"}
        The nearest-neighbour index (:mod:`completeness.analysis.search.neighbours`): exact,
        approximate (faiss; ``pip install completeness[search]``), or chosen by the number of
        environments.
    seed : int
        Seed of the PCA sample.
    max_alignments : int or None
        Most candidates given the full alignment (None: all).
    min_structural : float
        Pairs closer than this (Å) are not reported as false negatives (thermal noise, numerical
        duplicates).
    n_thorough : int
        The best-scoring pairs (after the screening alignments) re-aligned with every start
        refined (the reported distances).
    allow_reflection : bool, optional
        Whether mirror images count as the same structure; default: True unless the descriptor
        declares ``parity = "SO(3)"``.
    batch_size : int
        Environments per feature batch (one parallel task each). Batches are computed a few per
        worker at a time and appended to a temporary file (read back as a memory map): the
        driver holds those batches, the radial fingerprints and the index, not the features.
    backend, n_workers, scheduler, progress
        Passed to :func:`completeness.parallel.parallel_map` (feature batches, neighbour queries
        and alignments).
    """
    systems = check_systems(systems)
    _check_counts(k, max_alignments, batch_size, index)
    descriptor, user, cutoff = _prepare_descriptor(descriptor, cutoff, systems)
    if allow_reflection is None:
        allow_reflection = user.parity != "SO(3)"
    sizes = np.array([len(atoms) for atoms in systems])
    timings = {}
    with (
        _parallel_session(backend, n_workers, scheduler) as scheduler,
        tempfile.TemporaryDirectory(prefix="completeness-search-") as spool,
    ):
        options = dict(backend=backend, n_workers=n_workers, scheduler=scheduler, progress=progress)
        with _timed(timings, "neighbours"):
            fingerprints = _fingerprints(systems, sizes, cutoff, batch_size)
        with _timed(timings, "features"):
            features = _stream(systems, sizes, descriptor, batch_size, options, spool)
        with _timed(timings, "nearest neighbours"):
            centre_species = np.concatenate([atoms.numbers for atoms in systems])
            neighbours = dict(n_components=n_components, seed=seed, index=index)
            pairs = candidate_pairs(features, centre_species, k, **neighbours, **options)
            feature_distance = feature_distances(features, pairs[:, 0], pairs[:, 1])
            del features
        with _timed(timings, "bounds"):
            bound = fingerprints.bound(pairs[:, 0], pairs[:, 1])
        with _timed(timings, "alignments"):
            chosen = _choose(feature_distance, bound, max_alignments)
            environments = _environments_of(systems, sizes, cutoff, pairs[chosen])
            structural = np.full(len(pairs), np.nan)
            structural[chosen] = _align(
                environments, pairs[chosen], cutoff, allow_reflection, options
            )
    # the pairs that will be reported get the thorough alignment (every start refined), so a
    # screening alignment stuck in a local minimum cannot make a pair look like a false negative
    with _timed(timings, "thorough alignments"):
        top = _top(structural, feature_distance, min_structural, n_thorough)
        thorough = _align(environments, pairs[top], cutoff, allow_reflection, None)
        structural[top] = np.minimum(structural[top], thorough)
    samples = np.column_stack(
        [np.repeat(np.arange(len(sizes)), sizes), np.concatenate([np.arange(n) for n in sizes])]
    )
    return SearchResult(
        user.name,
        cutoff,
        int(k),
        samples,
        pairs[:, 0],
        pairs[:, 1],
        feature_distance,
        bound,
        structural,
        float(min_structural),
        timings,
    )


@contextlib.contextmanager
def _timed(timings: dict, stage: str):
    start = time.perf_counter()
    yield
    timings[stage] = time.perf_counter() - start


def _top(structural, feature_distance, min_structural, n_thorough) -> np.ndarray:
    """The ``n_thorough`` aligned pairs with ``D >= min_structural`` and the largest scores."""
    score = structural / np.maximum(feature_distance, EPS)
    eligible = np.flatnonzero(np.isfinite(structural) & (structural >= min_structural))
    return eligible[np.argsort(-score[eligible], kind="stable")][:n_thorough]


def _check_counts(k, max_alignments, batch_size, index) -> None:
    def integer(value) -> bool:
        return not isinstance(value, bool) and isinstance(value, (int, np.integer))

    if not integer(k) or k < 1:
        raise InputError(f"k must be a positive integer (neighbours in feature space), got {k!r}")
    if max_alignments is not None and (not integer(max_alignments) or max_alignments < 0):
        raise InputError(
            f"max_alignments must be a non-negative integer or None, got {max_alignments!r}"
        )
    if not integer(batch_size) or batch_size < 1:
        raise InputError(
            f"batch_size must be a positive integer (environments), got {batch_size!r}"
        )
    if index not in INDEXES:
        raise InputError(f"index must be one of {', '.join(INDEXES)}, got {index!r}")


@contextlib.contextmanager
def _parallel_session(backend, n_workers, scheduler):
    """One dask LocalCluster for every map of the search (``backend="dask"`` without a
    scheduler), instead of one per map; otherwise ``scheduler`` as it is."""
    if backend != "dask" or scheduler is not None:
        yield scheduler
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        yield scheduler  # parallel_map names the missing extra
        return
    n_workers = n_workers or os.cpu_count() or 1
    with (
        LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def _fingerprints(systems, sizes, cutoff, batch_size) -> RadialFingerprints:
    """Radial fingerprints of every environment, from neighbour lists built batch by batch (in
    this process, before any feature: bad structures fail here with their own message)."""
    kinds = np.unique(np.concatenate([atoms.numbers for atoms in systems]))
    return RadialFingerprints.concatenate(
        [
            EnvironmentSet.from_systems(systems[part], cutoff).radial_fingerprints(kinds)
            for part in _batches(sizes, batch_size)
        ]
    )


def _stream(systems, sizes, descriptor, batch_size, options, directory) -> np.ndarray:
    """Features of every environment, computed a few batches per worker at a time (one progress
    bar over batches) and appended to a file in ``directory``: a read-only float64 memory map
    (the features stay out of this process's memory until rows are read)."""
    from ...progress import progress_bar

    parts = _batches(sizes, batch_size)
    n_slots = options["n_workers"] or os.cpu_count() or 1
    per_wave = 1 if options["backend"] == "serial" else 4 * n_slots
    path, width = os.path.join(directory, "features.float64"), None
    enabled = options["progress"] is not False
    with (
        progress_bar(total=len(parts), desc="features", unit="batch", enabled=enabled) as bar,
        open(path, "wb") as spool,
    ):
        for wave in range(0, len(parts), per_wave):
            batch = parts[wave : wave + per_wave]
            tasks = [(descriptor, systems[part]) for part in batch]
            try:
                results = parallel.parallel_map(
                    _feature_batch, tasks, **{**options, "progress": False}
                )
            except parallel.ParallelInputError as error:
                raise InputError(str(error)) from None
            for values, part in zip(results, batch, strict=True):
                expected = int(sizes[part].sum())
                if values.ndim != 2 or values.shape[0] != expected:
                    raise InputError(
                        f"the descriptor returned {values.shape[0]} rows for {expected} "
                        "environments; it must return one row per atom"
                    )
                if width is not None and values.shape[1] != width:
                    raise InputError(
                        f"the descriptor returned {values.shape[1]} features for a batch and "
                        f"{width} for the ones before; it must return a fixed number"
                    )
                width = values.shape[1]
                spool.write(np.ascontiguousarray(values, dtype=np.float64).tobytes())
            bar.update(len(batch))
    shape = (int(sizes.sum()), width)
    if not shape[0] * shape[1]:  # an empty file cannot be mapped
        return np.zeros(shape)
    return np.memmap(path, dtype=np.float64, mode="r", shape=shape)


def _feature_batch(task, rng):
    """Features of one batch of systems (a parallel_map task)."""
    del rng
    descriptor, systems = task
    from ...descriptors.user import as_descriptor

    return np.asarray(as_descriptor(descriptor).compute(systems).values, dtype=np.float64)


def _environments_of(systems, sizes, cutoff, pairs) -> dict:
    """``{sample: (vectors, species)}`` of the environments of the given pairs (neighbour lists
    built for those centres only; samples number every atom of every system in order)."""
    needed = np.unique(pairs)
    if not len(needed):
        return {}
    starts = np.concatenate([[0], np.cumsum(sizes)])
    owner = np.searchsorted(starts, needed, side="right") - 1
    structures = np.unique(owner)
    centres = [(needed[owner == s] - starts[s]).tolist() for s in structures]
    subset = EnvironmentSet.from_systems([systems[s] for s in structures], cutoff, centres)
    rows = starts[structures[subset.samples[:, 0]]] + subset.samples[:, 1]
    return {int(sample): subset.environment(row) for row, sample in enumerate(rows)}


def _align(environments, pairs, cutoff, allow_reflection, options) -> np.ndarray:
    """Structural distances of ``pairs`` (rows of sample indices): screening alignments through
    parallel_map, or with ``options=None`` thorough ones (every start refined) in this process."""
    members = [(*environments[a], *environments[b]) for a, b in pairs]
    if options is None:
        return _align_batch((members, cutoff, allow_reflection, None), None)
    n_slots = options["n_workers"] or os.cpu_count() or 1
    per_task = max(1, -(-len(pairs) // (8 * n_slots)))
    tasks = [
        (members[s : s + per_task], cutoff, allow_reflection, 8)
        for s in range(0, len(pairs), per_task)
    ]
    return np.concatenate(parallel.parallel_map(_align_batch, tasks, **options)) if tasks else []


def _align_batch(task, rng):
    """Structural distances of one batch of candidate pairs (a parallel_map task)."""
    del rng
    pairs, cutoff, allow_reflection, n_refine = task
    return np.array(
        [
            align_environments(*pair, cutoff, allow_reflection=allow_reflection, n_refine=n_refine)[
                0
            ]
            for pair in pairs
        ]
    ).reshape(-1)


def _batches(sizes: np.ndarray, per_batch: int) -> list[slice]:
    """Consecutive slices of systems holding about ``per_batch`` environments each."""
    bounds, total, start = [], 0, 0
    for index, size in enumerate(sizes):
        total += int(size)
        if total >= per_batch:
            bounds.append(slice(start, index + 1))
            start, total = index + 1, 0
    if start < len(sizes):
        bounds.append(slice(start, len(sizes)))
    return bounds


def _prepare_descriptor(descriptor, cutoff, systems):
    """``(descriptor, as_descriptor(descriptor), cutoff)``: a package Descriptor is copied with a
    fixed species list (so that every batch has the same feature columns) and with ``cutoff`` if
    given; the cutoff defaults to the descriptor's own."""
    from sklearn.base import clone

    from ...descriptors.base import Descriptor
    from ...descriptors.user import as_descriptor

    if cutoff is None:
        cutoff = getattr(descriptor, "cutoff", None)
        if cutoff is None:
            raise InputError(
                f"{type(descriptor).__name__} has no cutoff attribute; pass cutoff=... (Å) for "
                "the structural comparison"
            )
    cutoff = check_cutoff(cutoff)
    if isinstance(descriptor, Descriptor):
        params = descriptor.get_params()
        updates = {}
        if "species" in params and params["species"] is None:
            fitted = descriptor.fixed_species()  # learned by fit: never re-inferred
            species = np.unique(np.concatenate([atoms.numbers for atoms in systems]))
            updates["species"] = [int(s) for s in (species if fitted is None else fitted)]
        if "cutoff" in params:
            updates["cutoff"] = cutoff
        descriptor = clone(descriptor).set_params(**updates)
    return descriptor, as_descriptor(descriptor), cutoff


def _choose(feature_distance, bound, max_alignments) -> np.ndarray:
    """Candidates to align: all, or half by largest bound/d and half by smallest d."""
    n = len(feature_distance)
    if max_alignments is None or max_alignments >= n:
        return np.arange(n)
    half = max_alignments // 2
    by_bound = np.argsort(-bound / np.maximum(feature_distance, EPS), kind="stable")[:half]
    by_distance = np.argsort(feature_distance, kind="stable")
    chosen = list(dict.fromkeys(by_bound.tolist()))
    taken = set(chosen)
    for p in by_distance.tolist():
        if len(chosen) >= max_alignments:
            break
        if p not in taken:
            chosen.append(p)
            taken.add(p)
    return np.sort(np.asarray(chosen, dtype=np.int64))


def read_systems(path) -> list:
    """Every frame of a structure file (ase.io), or InputError naming the file."""
    from ...environments import read_structures

    return read_structures(path, what="data file")

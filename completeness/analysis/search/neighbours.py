"""Candidate pairs: the ``k`` nearest neighbours in feature space of every environment.

Environments are compared only with environments of the same centre species, in a *query space*:
the features themselves, or (default) their projection on the ``n_components`` leading principal
components, fitted on at most 20,000 environments drawn with ``seed``. A projection never
increases a distance, so pairs that are close in feature space stay close; the candidates'
feature distances are then computed in the full space.

Two indexes answer the query:

``"exact"``
    scikit-learn's ``NearestNeighbors`` (a k-d tree in up to 16 dimensions, brute force above):
    the exact neighbours in the query space. Its cost grows faster than ``N log N`` with the
    number of environments ``N`` (a k-d tree in 16 dimensions visits many leaves).
``"hnsw"``
    An approximate index, a hierarchical navigable small-world graph (Malkov & Yashunin, IEEE
    TPAMI 42, 824 (2020), doi:10.1109/TPAMI.2018.2889473) as implemented by faiss (``pip install
    completeness[search]``), over the projection on at least 32 components in single precision.
    It returns ``RERANK`` times more neighbours than asked for, which are re-ranked by their exact
    distance in the full feature space (double precision), and the nearest are kept. The recall
    against the exact nearest neighbours in the full feature space is measured by
    ``benchmarks/search_scaling.py --million`` (1,000,000 environments).
``"auto"``
    ``"exact"`` for up to :data:`APPROXIMATE_FROM` environments of a centre species, ``"hnsw"``
    above (where the k-d tree stops scaling), or ``"exact"`` with a warning when faiss is not
    installed.

With the ``"processes"`` or ``"dask"`` backend, the query points are sent to the workers in
blocks with the fitted index (above :data:`PARALLEL_QUERY_POINTS` points): each point's
neighbours do not depend on the block, so the result equals the serial one.
"""

from __future__ import annotations

import mmap
import os
import warnings

import numpy as np

from ... import parallel
from ...errors import InputError

__all__ = [
    "APPROXIMATE_FROM",
    "INDEXES",
    "PARALLEL_QUERY_POINTS",
    "RERANK",
    "approximate_block",
    "candidate_pairs",
    "exact_block",
    "feature_distances",
    "nearest_neighbours",
    "query_in_blocks",
    "query_space",
    "release_pages",
    "resolve_index",
]

#: Accepted values of ``index``.
INDEXES = ("auto", "exact", "hnsw")
#: ``index="auto"`` uses the approximate index above this many environments of a centre species.
APPROXIMATE_FROM = 200_000
#: The approximate index fetches this many times the neighbours asked for, for re-ranking.
RERANK = 2
#: Fewest principal components of the approximate index's query space.
APPROXIMATE_COMPONENTS = 32
#: HNSW graph: links per node, and the candidate list lengths while building and querying
#: (faiss's ``M``, ``efConstruction``, ``efSearch``).
HNSW_LINKS = 16
HNSW_BUILD_DEPTH = 40
HNSW_QUERY_DEPTH = 32
#: Below this many query points the query stays in the driver: shipping the fitted index to the
#: workers costs more than the query.
PARALLEL_QUERY_POINTS = 20_000

# k-d trees beat brute force only in a few dimensions (scikit-learn's own rule uses 15)
_TREE_DIMENSIONS = 16
# principal components are fitted on at most this many environments
_PCA_SAMPLE = 20_000
# rows per block of blocked computations (bounded temporaries)
_BLOCK = 100_000


def query_space(
    features, members, n_components: int | None, seed: int, dtype=np.float64
) -> np.ndarray:
    """The rows ``members`` of ``features`` in the query space: themselves, or their projection
    on the ``n_components`` leading principal components (PCA fitted on a seeded sample of at
    most 20,000 rows; the projection computed in blocks of rows), stored as ``dtype``."""
    n_samples, n_features = len(members), features.shape[1]
    if n_components is None or n_features <= n_components or n_samples <= 2 * n_components:
        return np.asarray(features[members], dtype=dtype)
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(seed)
    sample = members
    if n_samples > _PCA_SAMPLE:
        sample = members[rng.choice(n_samples, _PCA_SAMPLE, replace=False)]
    pca = PCA(n_components=n_components, random_state=seed).fit(features[sample])
    out = np.empty((n_samples, n_components), dtype=dtype)
    for start in range(0, n_samples, _BLOCK):
        out[start : start + _BLOCK] = pca.transform(features[members[start : start + _BLOCK]])
    return out


def release_pages(features) -> None:
    """Drop the pages of a memory-mapped ``features`` (``np.memmap``, read-only) from this
    process's resident memory; reading them again faults them in from the file or the page
    cache. Other arrays are left alone."""
    if isinstance(getattr(features, "base", None), mmap.mmap):
        features.base.madvise(mmap.MADV_DONTNEED)


def feature_distances(features, first, second) -> np.ndarray:
    """``||f_i - f_j|| / max(||f_i||, ||f_j||)`` for index arrays of pairs (0 for two zero
    vectors), in blocks of pairs."""
    from .result import EPS

    distances = np.empty(len(first))
    for start in range(0, len(first), _BLOCK):
        a, b = features[first[start : start + _BLOCK]], features[second[start : start + _BLOCK]]
        difference = np.linalg.norm(a - b, axis=1)
        scale = np.maximum(np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1))
        distances[start : start + _BLOCK] = np.where(
            scale > 0, difference / np.maximum(scale, EPS), 0.0
        )
    return distances


def resolve_index(index: str, n_points: int) -> str:
    """The index used for ``n_points`` environments of one centre species (module docstring)."""
    if index not in INDEXES:
        raise InputError(f"index must be one of {', '.join(INDEXES)}, got {index!r}")
    if index == "hnsw":
        _faiss()
        return index
    if index == "auto" and n_points > APPROXIMATE_FROM:
        try:
            _faiss()
        except InputError as error:
            warnings.warn(f"{error}; using the exact index", stacklevel=3)
            return "exact"
        return "hnsw"
    return "exact"


def _faiss():
    try:
        import faiss
    except ImportError:
        raise InputError(
            "the approximate nearest-neighbour index needs faiss: pip install "
            "'completeness[search]' (or pass index='exact')"
        ) from None
    return faiss


def candidate_pairs(features, centre_species, k: int, **options) -> np.ndarray:
    """Unordered pairs ``(i < j)`` of rows of ``features``, (m, 2) sorted: ``j`` among the ``k``
    nearest neighbours of ``i`` or ``i`` among those of ``j``, both with the same centre
    species. ``options`` are those of :func:`nearest_neighbours`."""
    keys = []
    n = len(features)
    for kind in np.unique(centre_species):
        members = np.flatnonzero(centre_species == kind)
        if len(members) < 2:
            continue
        nearest = nearest_neighbours(features, members, min(k + 1, len(members)), **options)
        rows = np.repeat(np.arange(len(members)), nearest.shape[1])
        cols = nearest.reshape(-1)
        keep = (rows != cols) & (cols >= 0)
        a, b = members[rows[keep]], members[cols[keep]]
        keys.append(np.unique(np.minimum(a, b) * n + np.maximum(a, b)))
    keys = np.unique(np.concatenate(keys)) if keys else np.zeros(0, dtype=np.int64)
    return np.column_stack([keys // max(n, 1), keys % max(n, 1)]).astype(np.int64)


def nearest_neighbours(
    features,
    members,
    n_neighbours: int,
    *,
    n_components: int | None = 16,
    seed: int = 0,
    index: str = "auto",
    backend: str = "serial",
    n_workers: int | None = None,
    scheduler=None,
    progress: bool | None = None,
) -> np.ndarray:
    """The ``n_neighbours`` nearest rows of ``features[members]`` to each of them (the row itself
    included), as (len(members), n_neighbours) positions in ``members``; -1 where the
    approximate index found fewer."""
    parallel_options = dict(
        backend=backend, n_workers=n_workers, scheduler=scheduler, progress=progress
    )
    if resolve_index(index, len(members)) == "exact":
        points = query_space(features, members, n_components, seed)
        return _exact_neighbours(points, n_neighbours, parallel_options)
    components = n_components and max(n_components, APPROXIMATE_COMPONENTS)
    points = query_space(features, members, components, seed, dtype=np.float32)
    release_pages(features)  # while the index is built and queried
    nearest = _approximate_neighbours(points, n_neighbours, parallel_options)
    return _rerank(features, members, nearest, n_neighbours)


def _exact_neighbours(points, n_neighbours, parallel_options) -> np.ndarray:
    from sklearn.neighbors import NearestNeighbors

    model = NearestNeighbors(
        n_neighbors=n_neighbours,
        algorithm="kd_tree" if points.shape[1] <= _TREE_DIMENSIONS else "brute",
    ).fit(points)
    return query_in_blocks(exact_block, model, points, parallel_options)


def exact_block(task, rng):
    """Indices of the nearest neighbours of one block of query points (a parallel_map task)."""
    del rng
    model, points = task
    return model.kneighbors(points, return_distance=False)


def _approximate_neighbours(points, n_neighbours, parallel_options) -> np.ndarray:
    faiss = _faiss()
    points = np.ascontiguousarray(points, dtype=np.float32)
    graph = faiss.IndexHNSWFlat(points.shape[1], HNSW_LINKS)
    graph.hnsw.efConstruction = HNSW_BUILD_DEPTH
    graph.add(points)
    blob = faiss.serialize_index(graph)
    del graph  # the workers get the serialised copy
    fetched = min(RERANK * n_neighbours, len(points))
    return query_in_blocks(approximate_block, (blob, fetched), points, parallel_options)


def approximate_block(task, rng):
    """Approximate nearest neighbours of one block of query points (a parallel_map task)."""
    del rng
    (blob, n_neighbours), points = task
    import faiss

    graph = faiss.deserialize_index(blob)
    graph.hnsw.efSearch = max(HNSW_QUERY_DEPTH, n_neighbours)
    return graph.search(points, n_neighbours)[1]


def _rerank(features, members, nearest, n_neighbours) -> np.ndarray:
    """The ``n_neighbours`` of each row of ``nearest`` (indices into ``members``; -1 where the
    index found fewer) closest in the full feature space, nearest first."""
    out = np.empty((len(nearest), n_neighbours), dtype=np.int64)
    for start in range(0, len(nearest), _BLOCK // 10):
        block = nearest[start : start + _BLOCK // 10]
        query = np.asarray(features[members[start : start + len(block)]])
        found = np.asarray(features[members[np.maximum(block, 0)]])
        squared = np.sum((found - query[:, None, :]) ** 2, axis=2)
        squared[block < 0] = np.inf
        order = np.argsort(squared, axis=1, kind="stable")[:, :n_neighbours]
        chosen = np.take_along_axis(block, order, axis=1)
        out[start : start + len(block)] = np.where(
            np.take_along_axis(squared, order, axis=1) < np.inf, chosen, -1
        )
    return out


def query_in_blocks(function, model, points, parallel_options) -> np.ndarray:
    """``function((model, points), None)`` in blocks of points through ``parallel_map``: one block
    per worker slot, or one call serially or below :data:`PARALLEL_QUERY_POINTS` points."""
    backend, n_workers = parallel_options["backend"], parallel_options["n_workers"]
    n_slots = n_workers or os.cpu_count() or 1
    if backend == "serial" or n_slots == 1 or len(points) < PARALLEL_QUERY_POINTS:
        return function((model, points), None)
    blocks = np.array_split(np.arange(len(points)), n_slots)
    try:
        parts = parallel.parallel_map(
            function, [(model, points[block]) for block in blocks if len(block)], **parallel_options
        )
    except parallel.ParallelInputError as error:
        raise InputError(str(error)) from None
    return np.vstack(parts)

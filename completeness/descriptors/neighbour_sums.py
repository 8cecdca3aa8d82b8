"""Sums over neighbour pairs and triplets: the machinery of the explicit 2- and 3-body
descriptors (symmetry functions, Chebyshev, local MBTR).

A 2-body term belongs to one neighbour pair ``(i, j)`` of a :class:`Neighbourhoods` batch, a
3-body term to two pairs ``(i, j)``, ``(i, k)`` of one sample (a triplet). Terms are summed into
samples (values) and their derivatives into pairs (``pair_gradients``, ``d f / d r_ij``):

* :func:`scatter_rows` sums per-term rows with one sparse matrix product;
* :func:`channel_values` / :func:`radial_pair_gradients`: 2-body terms, one species channel
  of ``n`` columns per neighbour species;
* :func:`triplet_chunks` walks the triplets of a batch in chunks of bounded memory
  (:func:`sample_chunks`, :func:`pair_triplets`, built with numpy, no Python loop over
  environments), and :meth:`TripletChunk.pair_gradients` sums triplet gradients into pairs
  using that they lie in the plane of the two pair vectors (:func:`triplet_pair_gradients`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse

from ..environments import Neighbourhoods

__all__ = [
    "MAX_TRIPLETS_PER_CHUNK",
    "TripletChunk",
    "channel_values",
    "pair_triplets",
    "radial_pair_gradients",
    "sample_chunks",
    "scatter_rows",
    "triplet_chunks",
    "triplet_pair_gradients",
    "unordered_channel",
]

#: Triplets (neighbour pairs) processed at once; bounds the memory of per-triplet arrays
#: (~ 100 MB for the descriptors here). Tests lower it to exercise the chunking.
MAX_TRIPLETS_PER_CHUNK = 200_000


def scatter_rows(rows: np.ndarray, n_rows: int, data: np.ndarray) -> np.ndarray:
    """``out[r] = sum of data[t] over t with rows[t] == r`` (a sparse matrix product).

    ``data`` has shape ``(n_terms, ...)``; the result has shape ``(n_rows, ...)``.
    """
    n_terms = len(rows)
    trailing = data.shape[1:]
    if n_terms == 0:
        return np.zeros((n_rows, *trailing))
    matrix = scipy.sparse.csr_matrix(
        (np.ones(n_terms), (rows, np.arange(n_terms))), shape=(n_rows, n_terms)
    )
    return np.asarray(matrix @ data.reshape(n_terms, -1)).reshape(n_rows, *trailing)


# --------------------------------------------------------------------------------------------
# 2-body terms, one channel per neighbour species
# --------------------------------------------------------------------------------------------


def channel_values(
    neighbourhoods: Neighbourhoods, channel: np.ndarray, n_channels: int, terms: np.ndarray
) -> np.ndarray:
    """Pair terms ``(n_pairs, n)`` summed into ``(n_samples, n_channels * n)``: the terms of
    pair ``p`` go to the ``n`` columns of its channel ``channel[p]``."""
    n_samples = neighbourhoods.n_samples
    rows = neighbourhoods.pair_sample * n_channels + channel
    return scatter_rows(rows, n_samples * n_channels, terms).reshape(n_samples, -1)


def radial_pair_gradients(
    neighbourhoods: Neighbourhoods, channel: np.ndarray, n_channels: int, derivative: np.ndarray
) -> np.ndarray:
    """``(n_pairs, 3, n_channels * n)`` gradients of radial pair terms whose derivatives with
    respect to the distance are ``derivative`` ``(n_pairs, n)``: ``unit vector x derivative``
    in the columns of the pair's channel."""
    n_pairs, n = derivative.shape
    unit = neighbourhoods.pair_vectors / neighbourhoods.pair_distances[:, None]
    out = np.zeros((n_pairs, 3, n_channels * n))
    columns = channel[:, None] * n + np.arange(n)
    out[np.arange(n_pairs)[:, None, None], np.arange(3)[None, :, None], columns[:, None, :]] = (
        unit[:, :, None] * derivative[:, None, :]
    )
    return out


def unordered_channel(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """The index of the unordered species pair ``{first, second}`` (species indices) in the
    order ``(0,0), (1,0), (1,1), (2,0), ...``."""
    high, low = np.maximum(first, second), np.minimum(first, second)
    return high * (high + 1) // 2 + low


# --------------------------------------------------------------------------------------------
# 3-body terms: triplets of a sample
# --------------------------------------------------------------------------------------------


def pair_triplets(pair_offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every unordered pair ``(p, q)``, ``p < q``, of pairs belonging to the same sample.

    Parameters
    ----------
    pair_offsets : (n_samples + 1,) int array
        The pairs of sample ``s`` are ``pair_offsets[s]:pair_offsets[s + 1]``.

    Returns
    -------
    first, second : (n_triplets,) int arrays of global pair indices, ``first < second``, sorted
        by ``first`` (hence by sample).
    """
    pair_offsets = np.asarray(pair_offsets, dtype=np.int64)
    counts = np.diff(pair_offsets)
    n_pairs = int(pair_offsets[-1]) if pair_offsets.size else 0
    if n_pairs == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    sample = np.repeat(np.arange(len(counts)), counts)
    local = np.arange(n_pairs) - pair_offsets[sample]
    partners = counts[sample] - 1 - local  # how many later pairs each pair is matched with
    first = np.repeat(np.arange(n_pairs), partners)
    starts = np.cumsum(partners) - partners
    second = first + 1 + (np.arange(len(first)) - np.repeat(starts, partners))
    return first, second


def sample_chunks(pair_offsets: np.ndarray, max_triplets: int) -> list[tuple[int, int]]:
    """Split samples into contiguous ranges holding at most ~``max_triplets`` neighbour pairs.

    Bounds the memory of per-triplet gradient arrays; a single sample larger than the limit gets
    a range of its own.
    """
    counts = np.diff(np.asarray(pair_offsets, dtype=np.int64))
    n_samples = len(counts)
    if n_samples == 0:
        return []
    cost = np.cumsum(counts * (counts - 1) // 2 + counts)
    chunks = []
    start = 0
    while start < n_samples:
        base = cost[start - 1] if start > 0 else 0
        stop = int(np.searchsorted(cost, base + max_triplets, side="right"))
        stop = min(max(stop, start + 1), n_samples)
        chunks.append((start, stop))
        start = stop
    return chunks


@dataclass
class TripletChunk:
    """The triplets of samples ``s0:s1`` (whose pairs are ``p0:p1``).

    ``first``, ``second``: each triplet's two pairs, counted from ``p0``; ``a``, ``b``: their
    vectors ``r_ij``, ``r_ik``; ``ra``, ``rb``: their lengths; ``sample``: each triplet's sample,
    counted from ``s0``; ``row_vectors``: the vectors of the pairs ``p0:p1``.
    """

    s0: int
    s1: int
    p0: int
    p1: int
    first: np.ndarray
    second: np.ndarray
    a: np.ndarray
    b: np.ndarray
    ra: np.ndarray
    rb: np.ndarray
    sample: np.ndarray
    row_vectors: np.ndarray

    def channel_values(self, rows: np.ndarray, n_channels: int, terms: np.ndarray) -> np.ndarray:
        """Terms ``(T, n)`` summed into ``(s1 - s0, n_channels * n)``; ``rows`` is ``sample *
        n_channels + channel`` of each term."""
        summed = scatter_rows(rows, (self.s1 - self.s0) * n_channels, terms)
        return summed.reshape(self.s1 - self.s0, -1)

    def pair_gradients(
        self, rows_first, rows_second, n_channels: int, coefficients, a=None, b=None
    ):
        """``(p1 - p0, 3, n_channels * n)``: :func:`triplet_pair_gradients` of terms whose rows
        are ``pair * n_channels + channel`` (pairs counted from ``p0``), laid out channel by
        channel. ``a``, ``b``: the terms' pair vectors (default: the chunk's)."""
        n_pairs = self.p1 - self.p0
        summed = triplet_pair_gradients(
            self.a if a is None else a,
            self.b if b is None else b,
            rows_first,
            rows_second,
            np.repeat(self.row_vectors, n_channels, axis=0),
            coefficients,
        )
        summed = summed.reshape(n_pairs, n_channels, 3, -1)
        return summed.transpose(0, 2, 1, 3).reshape(n_pairs, 3, -1)


def triplet_chunks(neighbourhoods: Neighbourhoods, max_triplets: int | None = None):
    """Yield a :class:`TripletChunk` for each range of :func:`sample_chunks` that holds
    triplets (``max_triplets``: default :data:`MAX_TRIPLETS_PER_CHUNK`)."""
    if max_triplets is None:
        max_triplets = MAX_TRIPLETS_PER_CHUNK
    offsets = neighbourhoods.pair_offsets
    for s0, s1 in sample_chunks(offsets, max_triplets):
        p0, p1 = offsets[s0], offsets[s1]
        first, second = pair_triplets(offsets[s0 : s1 + 1] - p0)
        if len(first) == 0:
            continue
        vectors, distances = neighbourhoods.pair_vectors, neighbourhoods.pair_distances
        pairs = (first + p0, second + p0)
        yield TripletChunk(
            *(s0, s1, p0, p1, first, second),
            *(vectors[pairs[0]], vectors[pairs[1]], distances[pairs[0]], distances[pairs[1]]),
            sample=neighbourhoods.pair_sample[pairs[0]] - s0,
            row_vectors=vectors[p0:p1],
        )


def triplet_pair_gradients(
    vectors_first: np.ndarray,
    vectors_second: np.ndarray,
    rows_first: np.ndarray,
    rows_second: np.ndarray,
    row_vectors: np.ndarray,
    coefficients: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> np.ndarray:
    """Sum triplet-term gradients into per-pair rows without (n_terms, 3, F) temporaries.

    Every 3-body term ``F_t(a, b)`` of two pair vectors ``a`` (the term's first pair) and ``b``
    (its second) has gradients in the plane of ``a`` and ``b``::

        dF_t/da = C_a[t] a + D_a[t] b,        dF_t/db = C_b[t] b + D_b[t] a

    so the derivative with respect to pair ``p`` is ``r_p (sum of C over the terms of p) +
    sum of (partner vector) D``. The first sum is a plain scatter of ``(n_terms, F)`` arrays
    multiplied by the row's own vector; the second is one sparse product whose entries are the
    partner's coordinates.

    Parameters
    ----------
    vectors_first, vectors_second : (T, 3) arrays ``a`` and ``b`` of every term
    rows_first, rows_second : (T,) int arrays, the output row of the term's first / second pair
    row_vectors : (n_rows, 3) array, the pair vector of each output row
    coefficients : ``(C_a, D_a, C_b, D_b)``, each (T, F)

    Returns
    -------
    (n_rows, 3, F) array
    """
    c_a, d_a, c_b, d_b = coefficients
    n_rows, n_terms = len(row_vectors), len(rows_first)
    own = scatter_rows(
        np.concatenate([rows_first, rows_second]), n_rows, np.concatenate([c_a, c_b])
    )
    out = row_vectors[:, :, None] * own[:, None, :]
    if n_terms == 0:
        return out
    axis = np.arange(3)
    rows = np.concatenate(
        [(rows_first[:, None] * 3 + axis).ravel(), (rows_second[:, None] * 3 + axis).ravel()]
    )
    columns = np.concatenate([np.repeat(np.arange(n_terms), 3), np.repeat(np.arange(n_terms), 3)])
    columns[3 * n_terms :] += n_terms
    partners = np.concatenate([vectors_second.ravel(), vectors_first.ravel()])
    matrix = scipy.sparse.csr_matrix((partners, (rows, columns)), shape=(3 * n_rows, 2 * n_terms))
    cross = np.asarray(matrix @ np.concatenate([d_a, d_b]))
    return out + cross.reshape(n_rows, 3, -1)

"""The :class:`Features` a descriptor returns: values, and position gradients in sparse form.

A descriptor's :meth:`~completeness.descriptors.Descriptor._compute` returns the derivative of each
sample's features with respect to each of its pair vectors ``r_ij = r_j - r_i``. They become
derivatives with respect to atom positions (``d/dr_j = d/dr_ij``, ``d/dr_i = -sum_j d/dr_ij``,
:func:`centre_gradients_from_pairs`), so translation invariance of gradients holds by construction.
:class:`Features` keeps them in sparse form (one row per pair plus one per centre); the dense
``(n_samples, n_atoms, 3, n_features)`` array is built only when :attr:`Features.gradients` is
first read.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .. import __version__
from ..environments import InputError, Neighbourhoods

__all__ = ["Features", "centre_gradients_from_pairs"]


@dataclass(frozen=True, eq=False, init=False)
class Features:
    """The output of :meth:`~completeness.descriptors.Descriptor.compute`.

    Attributes
    ----------
    values : (n_samples, n_features) float array
    samples : (n_samples, 2) int array
        ``(system index, centre atom index)`` of each row.
    feature_names : tuple of str
    descriptor : str
        Class name of the descriptor that computed these features.
    hypers : dict
        The descriptor's hyperparameters.
    version : str
        Version of ``completeness`` that computed them.
    pair_gradients : (n_pairs, 3, n_features) float array or None
        ``pair_gradients[p, x, f] = d f / d r_ij[x]`` for pair ``p = (i, j)``: the derivative
        of feature ``f`` of sample ``pair_sample[p]`` (centre ``i``) with respect to the pair
        vector ``r_ij = r_j - r_i``; by translation invariance this is also ``d f / d r_j`` (the
        neighbour's own position, through this pair).
    pair_sample : (n_pairs,) int array or None
        The sample (row of ``values``) of each pair; non-decreasing.
    pair_neighbour : (n_pairs,) int array or None
        Index of the neighbour atom ``j`` of each pair within its own system. In a periodic
        system several pairs of one sample can point to the same atom (periodic images), and a
        pair can point to the centre itself (an image of the centre).
    centre_gradients : (n_samples, 3, n_features) float array or None
        ``d f_s / d r_{i(s)}`` through the centre's own position, ``i(s) = samples[s, 1]``:
        ``-sum_{p in s} pair_gradients[p]`` (computed eagerly).
    n_atoms : (n_systems,) int array or None
        Number of atoms of each system (sizes the dense ``gradients``).

    Every gradient attribute is None when gradients were not requested.

    Notes
    -----
    The sparse position gradient (:meth:`position_gradients`, comparable to featomic's
    ``"positions"`` gradient blocks with rows ``(sample, system, atom)``) is the fundamental
    output: ``n_samples + n_pairs`` rows of ``(3, n_features)``. The dense array
    :attr:`gradients` ``(n_samples, max(n_atoms), 3, n_features)``, of which most rows are zero
    for large systems, is built from it on first access and then cached.

    ``Features(values, gradients, samples, ...)`` with a dense ``gradients`` array (as produced
    by wrappers of other libraries) is also accepted; :meth:`position_gradients` then lists the
    non-zero rows of that array.
    """

    values: np.ndarray
    samples: np.ndarray
    feature_names: tuple[str, ...]
    descriptor: str
    hypers: dict
    version: str
    pair_gradients: np.ndarray | None
    pair_sample: np.ndarray | None
    pair_neighbour: np.ndarray | None
    centre_gradients: np.ndarray | None
    n_atoms: np.ndarray | None

    def __init__(
        self,
        values,
        gradients=None,
        samples=None,
        feature_names=(),
        descriptor="",
        hypers=None,
        version=__version__,
        *,
        pair_gradients=None,
        pair_sample=None,
        pair_neighbour=None,
        centre_gradients=None,
        n_atoms=None,
    ):
        values = np.asarray(values)
        sparse_parts = (pair_gradients, pair_sample, pair_neighbour, centre_gradients)
        given = [part is not None for part in sparse_parts]
        if any(given) and not all(given):
            raise InputError(
                "Features needs all of pair_gradients, pair_sample, pair_neighbour and "
                "centre_gradients, or none of them"
            )
        if all(given) and gradients is not None:
            raise InputError(
                "Features got both dense `gradients` and sparse pair_gradients; give one of them"
            )
        if all(given):
            n_pairs = len(pair_sample)
            n_samples, n_features = values.shape
            if (
                pair_gradients.shape != (n_pairs, 3, n_features)
                or centre_gradients.shape != (n_samples, 3, n_features)
                or len(pair_neighbour) != n_pairs
            ):
                raise InputError(
                    f"inconsistent sparse gradients: pair_gradients {pair_gradients.shape}, "
                    f"centre_gradients {centre_gradients.shape}, {n_pairs} pair samples, "
                    f"{len(pair_neighbour)} pair neighbours for values {values.shape}; expected "
                    "(n_pairs, 3, n_features) and (n_samples, 3, n_features)"
                )
            if n_atoms is None:
                raise InputError("Features with pair_gradients needs n_atoms (atoms per system)")
        fields = {
            "values": values,
            "samples": samples,
            "feature_names": tuple(feature_names),
            "descriptor": descriptor,
            "hypers": {} if hypers is None else hypers,
            "version": version,
            "pair_gradients": pair_gradients,
            "pair_sample": pair_sample,
            "pair_neighbour": pair_neighbour,
            "centre_gradients": centre_gradients,
            "n_atoms": None if n_atoms is None else np.asarray(n_atoms),
        }
        for name, value in fields.items():
            object.__setattr__(self, name, value)
        if gradients is not None:  # dense input: it is the cached value of the property
            self.__dict__["gradients"] = gradients

    @property
    def n_samples(self) -> int:
        return self.values.shape[0]

    @property
    def n_features(self) -> int:
        return self.values.shape[1]

    @cached_property
    def gradients(self) -> np.ndarray | None:
        """Dense position gradients ``(n_samples, n_atoms, 3, n_features)``, or None.

        ``gradients[s, a, x, f]`` is the derivative of feature ``f`` of sample ``s`` with respect
        to coordinate ``x`` of atom ``a`` of the sample's own system. When systems of different
        sizes are computed together, ``n_atoms`` is the largest size and the rows beyond a
        system's own atom count are zero. Built from the sparse form on first access (then
        cached): ``8 * n_samples * n_atoms * 3 * n_features`` bytes, which for every atom of a
        large periodic cell as a centre is quadratic in its size; prefer
        :meth:`position_gradients` there.
        """
        if self.pair_gradients is None:
            return None
        return _dense_gradients(
            self.n_samples,
            int(self.n_atoms.max()) if self.n_atoms.size else 0,
            self.samples[:, 1] if self.n_samples else np.zeros(0, dtype=np.int64),
            self.pair_sample,
            self.pair_neighbour,
            self.pair_gradients,
            self.centre_gradients,
        )

    def position_gradients(self, *, merge: bool = False):
        """Sparse position gradients in coordinate (COO) form, or None without gradients.

        Returns
        -------
        rows : (n_rows, 2) int array
            ``(sample, atom)``: the row of ``values`` and the index of the atom within that
            sample's system.
        gradients : (n_rows, 3, n_features) float array
            ``d f_sample / d r_atom``.

        With ``merge=False`` the rows are, sample by sample, the centre's own row
        (:attr:`centre_gradients`) followed by one row per pair (:attr:`pair_gradients`); rows
        with the same ``(sample, atom)`` (periodic images, including images of the centre)
        add up. With ``merge=True`` those are summed: one row per distinct ``(sample, atom)``,
        sorted, as in featomic's gradient blocks. Atoms outside a sample's neighbourhood have no
        row (their gradient is zero).
        """
        if self.pair_gradients is None:
            dense = self.__dict__.get("gradients")
            if dense is None:
                return None
            sample, atom = np.nonzero(np.any(dense != 0, axis=(2, 3)))
            return np.column_stack([sample, atom]).astype(np.int64), dense[sample, atom]
        n_samples, n_pairs = self.n_samples, len(self.pair_sample)
        # sample s: centre row at offsets[s] + s, then its pairs
        pair_rows = np.arange(n_pairs) + self.pair_sample + 1
        centre_rows = np.searchsorted(self.pair_sample, np.arange(n_samples)) + np.arange(n_samples)
        rows = np.empty((n_samples + n_pairs, 2), dtype=np.int64)
        rows[centre_rows, 0] = np.arange(n_samples)
        rows[centre_rows, 1] = self.samples[:, 1]
        rows[pair_rows, 0] = self.pair_sample
        rows[pair_rows, 1] = self.pair_neighbour
        gradients = np.empty((n_samples + n_pairs, 3, self.n_features))
        gradients[centre_rows] = self.centre_gradients
        gradients[pair_rows] = self.pair_gradients
        if not merge:
            return rows, gradients
        from scipy import sparse

        width = int(rows[:, 1].max()) + 1 if len(rows) else 1
        keys = rows[:, 0] * width + rows[:, 1]
        unique, inverse = np.unique(keys, return_inverse=True)
        merged_rows = np.column_stack([unique // width, unique % width])
        if len(unique) == len(keys):
            order = np.argsort(keys)
            return merged_rows, gradients[order]
        adder = sparse.csr_matrix(
            (np.ones(len(keys)), (inverse, np.arange(len(keys)))), shape=(len(unique), len(keys))
        )
        merged = adder @ gradients.reshape(len(keys), -1)
        return merged_rows, np.asarray(merged).reshape(len(unique), 3, self.n_features)


def centre_gradients_from_pairs(neighbourhoods: Neighbourhoods, pair_gradients) -> np.ndarray:
    """``d f_s / d r_i = -sum_{j} d f_s / d r_ij`` for the centre ``i`` of every sample ``s``.

    Pairs are grouped by sample: when every sample has the same number of pairs this is a
    reshape-sum (several times faster than the general sparse-matrix product).
    """
    n_samples, n_pairs = neighbourhoods.n_samples, neighbourhoods.n_pairs
    n_features = pair_gradients.shape[-1]
    if n_pairs == 0 or n_samples == 0:
        return np.zeros((n_samples, 3, n_features))
    flat = np.ascontiguousarray(pair_gradients).reshape(n_pairs, 3 * n_features)
    counts = np.diff(neighbourhoods.pair_offsets)
    if np.all(counts == counts[0]):
        sums = flat.reshape(n_samples, int(counts[0]), -1).sum(axis=1)
    else:
        from scipy import sparse

        adder = sparse.csr_matrix(
            (np.ones(n_pairs), np.arange(n_pairs), neighbourhoods.pair_offsets),
            shape=(n_samples, n_pairs),
        )
        sums = np.asarray(adder @ flat)
    return np.negative(sums, out=sums).reshape(n_samples, 3, n_features)


def _dense_gradients(
    n_samples, max_atoms, centre, pair_sample, pair_neighbour, pair_gradients, centre_gradients
) -> np.ndarray:
    """Scatter the sparse gradients to the dense layout of :attr:`Features.gradients`.

    Neighbour ``j`` of sample ``s`` gets ``+d/dr_ij`` and the centre its own row (periodic
    images of one atom add up). When no (sample, neighbour) repeats (finite systems) the
    neighbour part is a plain indexed copy; otherwise a sparse matrix product. Both are much
    faster than ``np.add.at``.
    """
    from scipy import sparse

    n_features = pair_gradients.shape[-1]
    n_pairs = len(pair_sample)
    out = np.zeros((n_samples, max_atoms, 3, n_features))
    if n_samples == 0:
        return out
    flat_out = out.reshape(n_samples * max_atoms, 3 * n_features)
    if n_pairs:
        flat_gradients = np.ascontiguousarray(pair_gradients).reshape(n_pairs, 3 * n_features)
        target = pair_sample * max_atoms + pair_neighbour
        if np.unique(target).size == n_pairs:
            flat_out[target] = flat_gradients
        else:
            scatter = sparse.csr_matrix(
                (np.ones(n_pairs), (target, np.arange(n_pairs))),
                shape=(n_samples * max_atoms, n_pairs),
            )
            flat_out += scatter @ flat_gradients
    flat_out[np.arange(n_samples) * max_atoms + centre] += centre_gradients.reshape(n_samples, -1)
    return out

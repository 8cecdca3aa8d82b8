"""Environments as flat arrays of neighbour vectors, and their radial fingerprints.

The fingerprint of an environment lists, per neighbour species, the sorted neighbour radii
padded with the cutoff. Rotations keep radii and ``|R a - b| >= ||a| - |b||``, so the distance
between two fingerprints bounds the structural distance from below (:mod:`.alignment`)::

    D >= L = sqrt((1/n) sum_s sum_k (r^A_(s,k) - r^B_(s,k))^2)

(sorting is the optimal 1-D matching; ``n`` is the number of slots, the larger count of each
species summed). A fingerprint takes a few numbers per environment, so a data set streamed in
chunks keeps the fingerprints of every environment and not their neighbour lists.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...environments import build_neighbourhoods

__all__ = ["EnvironmentSet", "RadialFingerprints", "radial_bound"]


@dataclass(frozen=True)
class EnvironmentSet:
    """Neighbour vectors of many environments (flattened pairs, as in Neighbourhoods).

    ``offsets[s]:offsets[s + 1]`` are the neighbours of environment ``s``.
    """

    samples: np.ndarray  # (n, 2): structure index, centre atom index
    centre_species: np.ndarray  # (n,)
    offsets: np.ndarray  # (n + 1,)
    vectors: np.ndarray  # (n_pairs, 3)
    species: np.ndarray  # (n_pairs,)
    cutoff: float

    @classmethod
    def from_systems(cls, systems, cutoff: float, centers=None) -> EnvironmentSet:
        """Every atom of ``systems`` as a centre, or the centres ``centers`` (as in
        :func:`completeness.environments.build_neighbourhoods`)."""
        neighbourhoods = build_neighbourhoods(systems, cutoff, centers)
        return cls(
            samples=np.asarray(neighbourhoods.samples),
            centre_species=np.asarray(neighbourhoods.centre_species),
            offsets=np.asarray(neighbourhoods.pair_offsets),
            vectors=np.asarray(neighbourhoods.pair_vectors),
            species=np.asarray(neighbourhoods.pair_species),
            cutoff=float(cutoff),
        )

    def __len__(self) -> int:
        return len(self.samples)

    def environment(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """``(vectors, species)`` of one environment."""
        part = slice(self.offsets[index], self.offsets[index + 1])
        return self.vectors[part], self.species[part]

    def radial_fingerprints(self, kinds=None) -> RadialFingerprints:
        """The fingerprints of every environment, with columns for the species ``kinds``
        (default: the neighbour species present)."""
        n = len(self)
        kinds = np.unique(self.species) if kinds is None else np.asarray(kinds)
        sample = np.repeat(np.arange(n), np.diff(self.offsets))
        radii = np.linalg.norm(self.vectors, axis=1)
        counts = np.zeros((n, len(kinds)), dtype=np.int64)
        blocks = []
        for column, kind in enumerate(kinds):
            mask = self.species == kind
            owner, r = sample[mask], radii[mask]
            per_env = np.bincount(owner, minlength=n)
            counts[:, column] = per_env
            block = np.full((n, int(per_env.max()) if n else 0), self.cutoff)
            order = np.lexsort((r, owner))
            owner, r = owner[order], r[order]
            start = np.concatenate([[0], np.cumsum(per_env)])[owner]
            block[owner, np.arange(len(owner)) - start] = r
            blocks.append(block)
        return RadialFingerprints(blocks, counts, self.cutoff)


@dataclass(frozen=True)
class RadialFingerprints:
    """Sorted radii per neighbour species (``blocks[s]``: (n, width_s), padded with the cutoff)
    and neighbour counts (n, n_species) of many environments."""

    blocks: list
    counts: np.ndarray
    cutoff: float

    @classmethod
    def concatenate(cls, parts: list[RadialFingerprints]) -> RadialFingerprints:
        """The fingerprints of consecutive chunks as one set (same species columns in each)."""
        blocks = []
        for column in range(parts[0].counts.shape[1]):
            width = max(part.blocks[column].shape[1] for part in parts)
            padded = [
                np.pad(
                    part.blocks[column],
                    ((0, 0), (0, width - part.blocks[column].shape[1])),
                    constant_values=part.cutoff,
                )
                for part in parts
            ]
            blocks.append(np.concatenate(padded))
        return cls(blocks, np.concatenate([part.counts for part in parts]), parts[0].cutoff)

    def bound(self, first, second, block: int = 100_000) -> np.ndarray:
        """The radial lower bound ``L`` (Å) for index arrays of pairs (in blocks of pairs)."""
        first, second = np.asarray(first), np.asarray(second)
        squared = np.empty(len(first))
        for start in range(0, len(first), block):
            a, b = first[start : start + block], second[start : start + block]
            parts = [values[a] - values[b] for values in self.blocks]
            difference = np.hstack(parts) if parts else np.zeros((len(a), 0))
            squared[start : start + block] = np.einsum("pk,pk->p", difference, difference)
        slots = np.maximum(self.counts[first], self.counts[second]).sum(axis=1)
        return np.sqrt(squared / np.maximum(slots, 1))


def radial_bound(environments: EnvironmentSet, first, second) -> np.ndarray:
    """The radial lower bound ``L`` (Å) of the structural distance for index arrays of pairs."""
    return environments.radial_fingerprints().bound(first, second)

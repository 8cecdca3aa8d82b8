"""What :func:`~completeness.analysis.search.search` returns: candidate pairs and their scores."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["EPS", "SearchResult"]

#: Floor of a feature distance in a score ``D / d`` (an exactly degenerate pair has ``d = 0``).
EPS = 1e-300


@dataclass(frozen=True)
class SearchResult:
    """Candidates of :func:`search` (arrays aligned on candidate pairs, sorted by score).

    ``first``, ``second`` index :attr:`samples` (structure index, centre index);
    ``structural`` is NaN for candidates that were not aligned (only the lower bound ``bound``
    is known for them).
    """

    descriptor: str
    cutoff: float
    k: int
    samples: np.ndarray
    first: np.ndarray
    second: np.ndarray
    feature_distance: np.ndarray
    bound: np.ndarray
    structural: np.ndarray
    min_structural: float
    timings: dict = field(default_factory=dict)

    @property
    def n_environments(self) -> int:
        return len(self.samples)

    @property
    def n_candidates(self) -> int:
        return len(self.first)

    @property
    def aligned(self) -> np.ndarray:
        return np.isfinite(self.structural)

    @property
    def score(self) -> np.ndarray:
        """``D / d`` (Å per unit relative feature distance; NaN where not aligned)."""
        return self.structural / np.maximum(self.feature_distance, EPS)

    @property
    def typical_score(self) -> float:
        """Median score over the aligned candidates with ``D >= min_structural``."""
        mask = self.aligned & (self.structural >= self.min_structural)
        return float(np.median(self.score[mask])) if mask.any() else math.nan

    def false_negatives(self, n: int = 10) -> list[dict]:
        """The ``n`` aligned pairs with ``D >= min_structural`` and the largest scores."""
        mask = self.aligned & (self.structural >= self.min_structural)
        index = np.flatnonzero(mask)
        index = index[np.argsort(-self.score[index], kind="stable")]
        typical = self.typical_score
        rows, seen = [], set()
        for p in index:
            if len(rows) == n:
                break
            i, j = int(self.first[p]), int(self.second[p])
            # symmetry-equivalent centres of the same two structures give the same numbers:
            # report such a pair once
            key = (
                int(self.samples[i, 0]),
                int(self.samples[j, 0]),
                f"{self.feature_distance[p]:.6e}",
                f"{self.structural[p]:.6e}",
            )
            if key in seen:
                continue
            seen.add(key)
            rows.append(
                {
                    "first_structure": int(self.samples[i, 0]),
                    "first_centre": int(self.samples[i, 1]),
                    "second_structure": int(self.samples[j, 0]),
                    "second_centre": int(self.samples[j, 1]),
                    "feature_distance": float(self.feature_distance[p]),
                    "structural_distance": float(self.structural[p]),
                    "radial_bound": float(self.bound[p]),
                    "score": float(self.score[p]),
                    "times_typical": float(self.score[p] / typical) if typical else math.nan,
                }
            )
        return rows

    def text(self, n: int = 10) -> str:
        lines = [
            f"{self.descriptor}: {self.n_environments} environments, {self.n_candidates} "
            f"candidate pairs (k = {self.k} nearest in feature space), "
            f"{int(self.aligned.sum())} aligned (cutoff {self.cutoff:g} Å)",
            f"typical score (median D/d over aligned pairs with D >= {self.min_structural:g} Å): "
            f"{self.typical_score:.3g} Å",
            "rank  structure:centre  structure:centre  feature d   D [Å]   bound [Å]   D/d [Å]"
            "   x typical",
        ]
        for rank, row in enumerate(self.false_negatives(n), start=1):
            lines.append(
                f"{rank:4d}  {row['first_structure']:>9d}:{row['first_centre']:<6d} "
                f"{row['second_structure']:>9d}:{row['second_centre']:<6d} "
                f"{row['feature_distance']:9.2e} {row['structural_distance']:7.3f} "
                f"{row['radial_bound']:10.3f} {row['score']:9.3g} {row['times_typical']:10.3g}"
            )
        if len(lines) == 3:
            lines.append(f"   (no aligned pair with D >= {self.min_structural:g} Å)")
        lines.append("timings [s]: " + ", ".join(f"{k} {v:.2f}" for k, v in self.timings.items()))
        return "\n".join(lines) + "\n"

    def to_dict(self, n: int = 50) -> dict:
        return {
            "descriptor": self.descriptor,
            "cutoff": self.cutoff,
            "k": self.k,
            "n_environments": self.n_environments,
            "n_candidates": self.n_candidates,
            "n_aligned": int(self.aligned.sum()),
            "min_structural": self.min_structural,
            "typical_score": self.typical_score,
            "false_negatives": self.false_negatives(n),
            "timings": dict(self.timings),
        }

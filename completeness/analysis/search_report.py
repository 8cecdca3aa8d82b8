"""What a person reads of a :func:`~completeness.analysis.search.search`: named hits, plainly.

:func:`hits` turns the highest-scoring candidate pairs into records that name both
environments (the structure's ``info["name"]``, else ``file:frame``), the elements of the two
centres, the structural distance ``D`` (Å, RMSD after optimal alignment), the feature distance
``d`` and how far the score ``D/d`` sits above the typical one. :func:`stands_out` says whether
any hit is an outlier at all, with a rule stated once:

    a hit *stands out* when ``log10(score)`` exceeds the median of ``log10(score)`` over every
    aligned candidate by more than ``OUTLIER_SIGMAS`` = 3 robust standard deviations
    (``1.4826 x`` the median absolute deviation, the usual consistent estimator for a normal
    distribution).

When nothing stands out the text says so in one sentence rather than presenting the least typical
of typical pairs as findings. :func:`write_hits` exports both environments of every hit as
extxyz frames (centre at the origin, atom 0), with the hit's numbers in ``info``.
"""

from __future__ import annotations

import math
import os

import numpy as np

__all__ = [
    "OUTLIER_SIGMAS",
    "hits",
    "hits_text",
    "hits_writer",
    "stands_out",
    "structure_names",
    "write_hits",
]

OUTLIER_SIGMAS = 3.0
_MAD_TO_SIGMA = 1.4826


def structure_names(systems, path: str | None = None) -> list[str]:
    """``info["name"]`` of each structure, else ``file:frame`` (or ``frame N`` without a file)."""
    base = os.path.basename(path) if path else None
    names = []
    for index, atoms in enumerate(systems):
        name = atoms.info.get("name")
        if name is None:
            name = f"{base}:{index}" if base else f"frame {index}"
        names.append(str(name))
    return names


def _outlier_threshold(result) -> float:
    """The log10 score above which a candidate stands out (module docstring); NaN when fewer
    than three aligned candidates give no spread to measure."""
    mask = result.aligned & (result.structural >= result.min_structural)
    scores = np.log10(np.maximum(result.score[mask], 1e-300))
    if scores.size < 3:
        return math.nan
    median = float(np.median(scores))
    spread = _MAD_TO_SIGMA * float(np.median(np.abs(scores - median)))
    return median + OUTLIER_SIGMAS * spread


def hits(result, systems, path: str | None = None, n: int = 10) -> list[dict]:
    """The ``n`` best false-negative candidates with names, centre elements and an outlier flag."""
    names = structure_names(systems, path)
    threshold = _outlier_threshold(result)
    rows = []
    for row in result.false_negatives(n):
        first, second = row["first_structure"], row["second_structure"]
        record = {
            "first": names[first],
            "first_element": systems[first].get_chemical_symbols()[row["first_centre"]],
            "second": names[second],
            "second_element": systems[second].get_chemical_symbols()[row["second_centre"]],
            **row,
        }
        record["stands_out"] = bool(
            math.isfinite(threshold) and math.log10(max(row["score"], 1e-300)) > threshold
        )
        rows.append(record)
    return rows


def stands_out(records: list[dict]) -> bool:
    """Whether any hit stands out (see the module docstring)."""
    return any(record["stands_out"] for record in records)


def hits_text(result, systems, path: str | None = None, n: int = 10) -> str:
    """The search's summary and its hits as a table, or one sentence when nothing stands out."""
    records = hits(result, systems, path, n)
    lines = [
        f"{result.descriptor}: {result.n_environments} environments in {len(systems)} "
        f"structure(s), {result.n_candidates} candidate pairs (k = {result.k} nearest in feature "
        f"space), {int(result.aligned.sum())} aligned (cutoff {result.cutoff:g} Å); typical "
        f"score D/d {result.typical_score:.3g} Å",
    ]
    if not records:
        lines.append(
            f"no aligned pair is at least {result.min_structural:g} Å apart: nothing to report"
        )
    elif not stands_out(records):
        lines.append(
            "nothing stands out: every pair's score D/d is within "
            f"{OUTLIER_SIGMAS:g} robust standard deviations of the typical one (the closest "
            "pairs in feature space are as far apart structurally as the descriptor's typical "
            "pairs); the best-scoring ones are listed for reference"
        )
    else:
        count = sum(r["stands_out"] for r in records)
        lines.append(
            f"{count} pair(s) stand out (!): close in feature space, structurally far apart "
            f"(score more than {OUTLIER_SIGMAS:g} robust standard deviations above typical)"
        )
    if records:
        width = max(len(f"{r[k]}:{r[k + '_centre']}") for r in records for k in ("first", "second"))
        width = max(width, len("structure:centre"))
        lines.append(
            f"rank  {'structure:centre':<{width}} el  {'structure:centre':<{width}} el  "
            "feature d    D [Å]   D/d [Å]  x typical"
        )
        for rank, r in enumerate(records, start=1):
            first = f"{r['first']}:{r['first_centre']}"
            second = f"{r['second']}:{r['second_centre']}"
            lines.append(
                f"{rank:4d}{'!' if r['stands_out'] else ' '} {first:<{width}} "
                f"{r['first_element']:<3} {second:<{width}} {r['second_element']:<3} "
                f"{r['feature_distance']:9.2e} {r['structural_distance']:8.3f} "
                f"{r['score']:9.3g} {r['times_typical']:10.3g}"
            )
    return "\n".join(lines) + "\n"


def hit_environments(result, systems, records: list[dict]) -> list:
    """Both environments of every hit as ``ase.Atoms`` (centre at the origin, atom 0)."""
    from ..environments import environment

    frames = []
    for rank, record in enumerate(records, start=1):
        for side in ("first", "second"):
            atoms = environment(
                systems[record[f"{side}_structure"]], record[f"{side}_centre"], result.cutoff
            ).to_atoms()
            atoms.info.update(
                rank=rank,
                member=side,
                structure=record[side],
                centre=record[f"{side}_centre"],
                element=record[f"{side}_element"],
                feature_distance=record["feature_distance"],
                structural_distance=record["structural_distance"],
                times_typical=record["times_typical"],
                stands_out=record["stands_out"],
            )
            frames.append(atoms)
    return frames


def hits_writer(result, systems, records: list[dict]):
    """A ``write(path)`` of both environments of every hit as extxyz frames (for
    :func:`completeness.io.write_together`)."""
    import ase.io

    frames = hit_environments(result, systems, records)
    return lambda path: ase.io.write(path, frames, format="extxyz")


def write_hits(out, result, systems, records: list[dict]) -> None:
    """Write both environments of every hit to ``out`` (extxyz, atomically)."""
    from ..io import write_atomically

    write_atomically(out, hits_writer(result, systems, records))

"""The committed results of the analyses, recomputed here (the cheap parts) and compared.

``analyses/resolution/results/resolution.csv`` holds every verdict of the power spectrum over its
basis grid and the catalog. The grid points of the analysis's quick mode are recomputed with the
same config, on the pairs the file holds, and compared row by row: the same verdicts, and
feature distances within 1e-6 relative (distances below 1e-9, i.e. at round-off, only have to
stay there). A change of the descriptors, of the catalog's pairs or of the verdict rule that
makes the committed file stale fails here: rerun ``python3 analyses/resolution/run.py``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from completeness.analysis import study

ROOT = Path(__file__).resolve().parents[1]
RESOLUTION = ROOT / "analyses" / "resolution"
QUICK_GRID = {"n_radial": [1, 4], "max_angular": [0, 4], "density_width": [0.2, 1.0]}
KEY = ("n_radial", "max_angular", "density_width", "pair")


def _key(row) -> tuple:
    return (int(row["n_radial"]), int(row["max_angular"]), float(row["density_width"]), row["pair"])


def test_resolution_results_recomputed_in_quick_mode():
    with open(RESOLUTION / "results" / "resolution.csv", newline="") as stream:
        committed = {_key(row): row for row in csv.DictReader(stream)}
    pairs = tuple(dict.fromkeys(key[-1] for key in committed))  # (pairs added since: not in it)
    config = study.load_config(RESOLUTION / "config.toml")
    config = study.StudyConfig(**{**config.__dict__, "grid": QUICK_GRID, "pairs": pairs})
    fresh = {_key(row): row for row in study.run_study(config, backend="serial").rows}
    assert len(fresh) == 8 * len(pairs) >= 8 * 20 and set(fresh) <= set(committed)
    stale = []
    for key, row in fresh.items():
        old = committed[key]
        new_distance, old_distance = float(row["distance"]), float(old["distance"])
        same_distance = (
            max(new_distance, old_distance) <= 1e-9
            if min(new_distance, old_distance) <= 1e-9
            else np.isclose(new_distance, old_distance, rtol=1e-6, atol=0.0)
        )
        if row["verdict"] != old["verdict"] or not same_distance:
            stale.append(
                f"{key}: {old['verdict']} {old_distance:.3e} -> {row['verdict']} {new_distance:.3e}"
            )
    assert not stale, f"{len(stale)} committed rows are stale, e.g. {stale[:3]}"

"""The committed results of the analyses, recomputed here (the cheap parts) and compared.

``analyses/resolution/results/resolution.csv`` holds every verdict of the power spectrum over its
basis grid and the catalog. The grid points of the analysis's quick mode are recomputed with the
same config, on the pairs the file holds, and compared row by row: the same verdicts, and
feature distances within 1e-6 relative (distances below 1e-9, i.e. at round-off, only have to
stay there). A change of the descriptors, of the catalog's pairs or of the verdict rule that
makes the committed file stale fails here: rerun ``python3 analyses/resolution/run.py``.
Likewise ``analyses/sensitivity/results/fold.json`` (the cheap part of the sensitivity study).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

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


def _load_script(path: Path):
    """An analysis script as a module (its functions, without running its main)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"analysis_{path.parent.name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sensitivity_fold_results_recomputed():
    """``analyses/sensitivity/results/fold.json`` (two Jacobians and a delta table of the PRL
    family's fold point): recomputed by the script's own function and compared."""
    import json

    folder = ROOT / "analyses" / "sensitivity"
    script = _load_script(folder / "run.py")
    config = json.loads((folder / "config.json").read_text())["fold"]
    fresh = script.fold(config)
    committed = json.loads((folder / "results" / "fold.json").read_text())
    assert fresh["descriptor"] == committed["descriptor"] and fresh["scale"] == committed["scale"]
    for label in ("fold", "away"):
        new, old = fresh[label], committed[label]
        assert new["n_insensitive_1e-8"] == old["n_insensitive_1e-8"], label
        # singular values above round-off agree to 1e-6 relative; those at round-off stay there
        s_new, s_old = np.asarray(new["singular_values"]), np.asarray(old["singular_values"])
        scale = s_old[0]
        np.testing.assert_allclose(
            s_new[s_old > 1e-10 * scale], s_old[s_old > 1e-10 * scale], rtol=1e-6
        )
        assert np.all(s_new[s_old <= 1e-10 * scale] <= 1e-10 * scale)
        for key in ("exponent_fold_direction", "exponent_generic_direction"):
            assert new[key]["exponent"] == pytest.approx(old[key]["exponent"], abs=1e-3), key
    for new, old in zip(fresh["delta_table"], committed["delta_table"], strict=True):
        assert new["delta"] == old["delta"]
        for key in ("distance_from_fold", "plus_minus_distance"):
            assert new[key] == pytest.approx(old[key], rel=1e-6, abs=1e-14), (key, new["delta"])

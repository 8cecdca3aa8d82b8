"""completeness.analysis.study and `completeness scan`: config-driven hyperparameter studies."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from completeness import structures
from completeness.analysis import study
from completeness.analysis.distance import verdicts
from completeness.cli import main
from completeness.descriptors import PowerSpectrum
from completeness.environments import InputError

PAIRS = ["joshi2023-two-body", "pozdnyakov2020-fig1b", "dojo-kchain-3"]


def small_config(**changes) -> study.StudyConfig:
    data = {
        "descriptor": "PowerSpectrum",
        "pairs": PAIRS,
        "fixed": {"cutoff": 5.0, "density_width": 0.5},
        "grid": {"n_radial": [2, 3], "max_angular": [0, 2]},
        "seed": 1,
        **changes,
    }
    return study.config_from_dict(data)


def test_grid_points_last_key_fastest_with_fixed_values():
    points = study.grid_points(small_config())
    assert points == [
        {"cutoff": 5.0, "density_width": 0.5, "n_radial": 2, "max_angular": 0},
        {"cutoff": 5.0, "density_width": 0.5, "n_radial": 2, "max_angular": 2},
        {"cutoff": 5.0, "density_width": 0.5, "n_radial": 3, "max_angular": 0},
        {"cutoff": 5.0, "density_width": 0.5, "n_radial": 3, "max_angular": 2},
    ]


def test_rows_are_the_verdicts_of_each_grid_point_and_backends_agree():
    config = small_config()
    serial = study.run_study(config, backend="serial")
    processes = study.run_study(config, backend="processes", n_workers=2)
    assert serial.rows == processes.rows
    assert len(serial.rows) == 4 * len(PAIRS)
    # the study is a map of distance.verdicts over the grid: compare one grid point directly
    pairs = [structures.load(name) for name in PAIRS]
    direct = verdicts(
        PowerSpectrum(cutoff=5.0, density_width=0.5, n_radial=3, max_angular=2), pairs, seed=1
    )
    rows = [r for r in serial.rows if r["n_radial"] == 3 and r["max_angular"] == 2]
    assert [r["distance"] for r in rows] == [v.distance for v in direct]
    assert [r["verdict"] for r in rows] == [v.verdict for v in direct]


def test_max_angular_zero_is_a_two_body_descriptor():
    # with l = 0 only, the power spectrum is the radial spectrum: the pair with equal 2-body
    # signatures (claim) is degenerate, with l = 2 it is resolved
    result = study.run_study(small_config(pairs=["joshi2023-two-body"]))
    by_l = {r["max_angular"]: r["verdict"] for r in result.rows if r["n_radial"] == 2}
    assert by_l == {0: "degenerate", 2: "resolved"}
    summary = {(r["n_radial"], r["max_angular"]): r for r in result.summary()}
    assert summary[(2, 0)]["n_resolvable_resolved"] == 0
    assert summary[(2, 2)]["n_resolvable_resolved"] == 1


def test_checkpoint_resume_gives_the_same_rows(tmp_path):
    config = small_config(pairs=PAIRS[:1])
    first = study.run_study(config, checkpoint=str(tmp_path / "ck"))
    assert len(list((tmp_path / "ck").glob("task-*.pkl"))) == 4
    (tmp_path / "ck" / "task-000002.pkl").unlink()
    again = study.run_study(config, checkpoint=str(tmp_path / "ck"))
    assert again.rows == first.rows


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"colour": 1}, "unknown study config key"),
        ({"grid": {"n_radial": []}}, "must be a non-empty list"),
        ({"backend": "threads"}, "unknown backend"),
        ({"fixed": {"n_radial": 2}}, "appear in both"),
        ({"pairs": "some"}, "'pairs' must be"),
    ],
)
def test_bad_config(changes, message):
    with pytest.raises(InputError, match=message):
        small_config(**changes)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"grid": {"n_radials": [2]}}, r"has no hyperparameter\(s\) \['n_radials'\]"),
        ({"pairs": ["no-such-pair"]}, "unknown catalog pair"),
        ({"descriptor": "NoSuchDescriptor"}, "unknown descriptor"),
        ({"grid": {"n_radial": [0]}}, "grid point"),
    ],
)
def test_bad_study_fails_before_running(changes, message):
    with pytest.raises(InputError, match=message):
        study.run_study(small_config(**changes))


def test_cli_scan_end_to_end(tmp_path, capsys):
    (tmp_path / "results").mkdir()
    config = tmp_path / "study.toml"
    config.write_text(
        'descriptor = "PowerSpectrum"\n'
        'pairs = ["joshi2023-two-body", "dojo-kchain-3"]\n'
        "[fixed]\ncutoff = 5.0\n"
        "[grid]\nn_radial = [2, 4]\nmax_angular = [0, 2]\ndensity_width = [0.3, 0.6]\n"
        '[output]\ntable = "results/t.csv"\nfigure = "results/f.png"\n'
    )
    assert main(["scan", str(config)]) == 0
    assert "wrote" in capsys.readouterr().out
    with open(tmp_path / "results" / "t.csv") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 8 * 2
    assert set(rows[0]) >= {"n_radial", "max_angular", "density_width", "margin", "verdict"}
    assert np.isfinite(float(rows[-1]["distance"]))
    assert (tmp_path / "results" / "f.png").stat().st_size > 10_000
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"descriptor": "PowerSpectrum", "grid": {"nradial": [1]}}))
    assert main(["scan", str(bad)]) == 2
    assert "has no hyperparameter" in capsys.readouterr().err

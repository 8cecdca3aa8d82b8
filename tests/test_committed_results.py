"""The committed results of the analyses, recomputed here and compared within stated tolerances.

Fast suite (the cheap parts): resolution's quick grid, the sensitivity fold, the learning curves
of the PRL study at their three smallest training sizes, the first two layers of the networks'
verdict table, the discovery run of the radial spectrum and the PRL reference table. Slow suite
(``-m slow``): every learning curve, the GFRE tables and the CH4 study; the whole networks table
and its report cards; the power-spectrum discovery run. Numbers agree within 1e-6 relative; a
number at round-off (below 1e-12, or 1e-9 for the resolution's distances) only has to stay at
round-off, and quantities that are a ratio of round-off values (the margin of a degenerate
verdict, the gap of a family's singular values) are compared by what they decide. A failure names
the command that rewrites the stale file.

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
import json
from pathlib import Path

import numpy as np
import pytest

from completeness.analysis import learning, study
from completeness.io import json_safe

ROOT = Path(__file__).resolve().parents[1]
RESOLUTION = ROOT / "analyses" / "resolution"
LEARNING = ROOT / "analyses" / "learning"
NETWORKS = ROOT / "analyses" / "networks"
DISCOVERY = ROOT / "analyses" / "discovery"
QUICK_GRID = {"n_radial": [1, 4], "max_angular": [0, 4], "density_width": [0.2, 1.0]}
KEY = ("n_radial", "max_angular", "density_width", "pair")


def _close(new, old, *, rtol: float = 1e-6, roundoff: float = 1e-12) -> bool:
    """Within ``rtol`` relative; where either is at round-off (``|x| <= roundoff``), both are."""
    new, old = float(new), float(old)
    if min(abs(new), abs(old)) <= roundoff:
        return max(abs(new), abs(old)) <= roundoff
    return bool(np.isclose(new, old, rtol=rtol, atol=0.0, equal_nan=True))


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _differences(
    fresh, committed, path: str = "", *, skip=frozenset(), roundoff: float = 1e-12
) -> list[str]:
    """Where two JSON trees differ: numbers by :func:`_close`, everything else exactly; keys in
    ``skip`` (round-off ratios, wall times, texts quoting round-off numbers) are not compared."""
    more = {"skip": skip, "roundoff": roundoff}
    if isinstance(committed, dict) and isinstance(fresh, dict):
        if set(fresh) - skip != set(committed) - skip:
            return [f"{path}: keys {sorted(set(fresh) ^ set(committed))} differ"]
        return [
            line
            for key in committed
            if key not in skip
            for line in _differences(fresh[key], committed[key], f"{path}/{key}", **more)
        ]
    if isinstance(committed, list) and isinstance(fresh, list):
        if len(fresh) != len(committed):
            return [f"{path}: {len(committed)} entries -> {len(fresh)}"]
        return [
            line
            for index, (new, old) in enumerate(zip(fresh, committed, strict=True))
            for line in _differences(new, old, f"{path}[{index}]", **more)
        ]
    if _number(committed) and _number(fresh):
        same = _close(fresh, committed, roundoff=roundoff)
    else:
        same = fresh == committed
    return [] if same else [f"{path}: {committed!r} -> {fresh!r}"]


def _as_json(value):
    """``value`` as it reads back from a results file (tuples as lists, numpy as Python)."""
    return json.loads(json.dumps(json_safe(value)))


def _assert_current(differences: list[str], what: str, command: str) -> None:
    assert not differences, (
        f"{len(differences)} numbers of {what} are stale (rerun `{command}`), e.g. "
        f"{differences[:3]}"
    )


def _load_script(path: Path):
    """An analysis script as a module (its functions, without running its main)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"analysis_{path.parent.name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _key(row) -> tuple:
    return (int(row["n_radial"]), int(row["max_angular"]), float(row["density_width"]), row["pair"])


def test_resolution_results_recomputed_in_quick_mode():
    with open(RESOLUTION / "results" / "resolution.csv", newline="") as stream:
        committed = {_key(row): row for row in csv.DictReader(stream)}
    pairs = tuple(dict.fromkeys(key[-1] for key in committed))  # (pairs added since: not in it)
    config = study.load_config(RESOLUTION / "config.toml")
    config = study.StudyConfig(**{**config.__dict__, "grid": QUICK_GRID, "pairs": pairs})
    fresh = {_key(row): row for row in study.run_study(config, backend="serial").rows}
    assert len(fresh) == 8 * len(pairs) >= 8 * 27 and set(fresh) <= set(committed)
    stale = []
    for key, row in fresh.items():
        old = committed[key]
        new_distance, old_distance = float(row["distance"]), float(old["distance"])
        same_distance = _close(new_distance, old_distance, roundoff=1e-9)
        if row["verdict"] != old["verdict"] or not same_distance:
            stale.append(
                f"{key}: {old['verdict']} {old_distance:.3e} -> {row['verdict']} {new_distance:.3e}"
            )
    _assert_current(stale, "resolution.csv", "python3 analyses/resolution/run.py")


def test_sensitivity_fold_results_recomputed():
    """``analyses/sensitivity/results/fold.json`` (two Jacobians and a delta table of the PRL
    family's fold point): recomputed by the script's own function and compared."""
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


# ---- learning ---------------------------------------------------------------------------------

LEARNING_COMMAND = "python3 analyses/learning/run.py"
#: errors below a millionth of the targets' spread (~1 in target units; the within-pair errors are
#: relative) are at the conditioning of a fit that interpolates: they only have to stay there
LEARNING_ROUNDOFF = 1e-6


def _learning_config() -> dict:
    return json.loads((LEARNING / "config.json").read_text())


def _committed(folder: Path, name: str):
    return json.loads((folder / "results" / name).read_text())


@pytest.mark.parametrize("role", ["blind", "resolving"])
def test_learning_curves_recomputed_at_their_smallest_sizes(role):
    """``curve_prl_<role>_ridge.json``: the PRL data set (4000 pairs, the power spectrum blind to
    it, the bispectrum resolving it) rebuilt, ridge fitted at the three smallest training sizes
    for every seed; errors, chosen regularisation, floor and target spread compared."""
    script, config = _load_script(LEARNING / "run.py"), _learning_config()
    prl = config["studies"][0]
    committed = _committed(LEARNING, f"curve_{prl['name']}_{role}_ridge.json")
    n_pairs, n_test = prl["n_pairs"], round(config["test_fraction"] * prl["n_pairs"])
    sizes = learning.log_training_sizes(
        min(config["smallest_train_pairs"], n_pairs - n_test), n_pairs - n_test, config["n_sizes"]
    )
    assert committed["train_pairs"] == sizes.tolist(), f"stale: rerun `{LEARNING_COMMAND}`"
    descriptor = script.make_descriptor(prl[role]["descriptor"], prl[role]["hypers"])
    pairs = learning.family_pairs(prl["family"], n_pairs)
    dataset = learning.pair_dataset(pairs, descriptor, prl["target"], name=prl["name"])
    curve = learning.pair_learning_curve(
        dataset,
        model="ridge",
        train_pairs=sizes[:3],
        seeds=config["seeds"],
        test_fraction=config["test_fraction"],
    )
    fresh = _as_json(curve.to_dict())
    for key in ("train_pairs", "test_rmse", "train_rmse", "test_pair_rmse", "train_pair_rmse"):
        committed[key] = committed[key][:3]
    committed["best_params"] = [
        params for params in committed["best_params"] if params["train_pairs"] in sizes[:3]
    ]
    stale = _differences(fresh, committed, roundoff=LEARNING_ROUNDOFF)
    _assert_current(stale, committed["descriptor"], LEARNING_COMMAND)


@pytest.mark.slow
def test_learning_study_recomputed(tmp_path):
    """Every learning curve (PRL and B8, ridge and KRR, every size and seed), the summary, the
    GFRE tables and the CH4 study, recomputed by the script's own functions (~10 min)."""
    script, config = _load_script(LEARNING / "run.py"), _learning_config()
    rows = [script.run_study(spec, config, tmp_path, False) for spec in config["studies"]]
    fresh = {
        "summary.json": [row for study_rows in rows for row in study_rows],
        "gfre.json": script.run_gfre(config, tmp_path, False),
        "ch4.json": script.run_ch4(config, tmp_path, False),
    }
    stale = []
    for name, result in fresh.items():
        committed = _committed(LEARNING, name)
        stale += _differences(_as_json(result), committed, name, roundoff=LEARNING_ROUNDOFF)
    curves = sorted(tmp_path.glob("curve_*.json"))
    assert len(curves) == len(list((LEARNING / "results").glob("curve_*.json"))) == 16
    for path in curves:
        committed = _committed(LEARNING, path.name)
        stale += _differences(
            json.loads(path.read_text()), committed, path.name, roundoff=LEARNING_ROUNDOFF
        )
    _assert_current(stale, "analyses/learning/results", LEARNING_COMMAND)


# ---- networks ---------------------------------------------------------------------------------

NETWORKS_COMMAND = "python3 analyses/networks/run.py"


def _layer_differences(fresh_rows: list, committed_rows: list) -> list[str]:
    """Verdicts exactly; margins (rounded to 0.01 by the script) of resolved seeds within 0.01
    decades; a degenerate seed's margin is a ratio of round-off values and is not compared."""
    stale = []
    for new, old in zip(fresh_rows, committed_rows, strict=True):
        label = f"{old['pair']} T={old['n_layers']}"
        fields = ("n_layers", "pair", "verdict", "seeds", "seed_verdicts", "body_order")
        if any(new[field] != old[field] for field in fields):
            stale.append(f"{label}: {old['seed_verdicts']} -> {new['seed_verdicts']}")
            continue
        margins = zip(old["seed_verdicts"], new["seed_margins"], old["seed_margins"], strict=True)
        for verdict, a, b in margins:
            if verdict == "resolved" and abs(a - b) > 0.0101:
                stale.append(f"{label}: margin {b} -> {a}")
    return stale


def _network_config() -> dict:
    config = json.loads((NETWORKS / "config.json").read_text())
    assert _committed(NETWORKS, "layers.json")["config"] == config, NETWORKS_COMMAND
    return config


def test_network_layer_table_recomputed_for_two_layers():
    """``layers.json`` at 1 and 2 layers: every architecture, seed and pair."""
    script, config = _load_script(NETWORKS / "run.py"), _network_config()
    fresh = script.layer_table({**config, "max_layers": 2})["architectures"]
    stale = []
    for key, rows in _committed(NETWORKS, "layers.json")["architectures"].items():
        stale += _layer_differences(fresh[key], [row for row in rows if row["n_layers"] <= 2])
    _assert_current(stale, "layers.json", NETWORKS_COMMAND)


#: what a report card measures at round-off (invariance errors, the cutoff jump, the gradient
#: error): compared by order of magnitude (within a factor 10), not to 1e-6
ROUNDOFF_MEASURES = {"invariance", "continuity"}


def _card_differences(fresh: dict, committed: dict, name: str) -> list[str]:
    stale = _differences(fresh, committed, name, skip={"sections", "verdicts"})
    stale += _differences(
        {k: v for k, v in fresh["sections"].items() if k not in ROUNDOFF_MEASURES},
        {k: v for k, v in committed["sections"].items() if k not in ROUNDOFF_MEASURES},
        f"{name}/sections",
    )
    for section in ROUNDOFF_MEASURES:
        new, old = fresh["sections"][section], committed["sections"][section]
        for key, value in old.items():
            if _number(value) and value > 0 and new[key] > 0:
                if abs(np.log10(new[key] / value)) > 1:
                    stale.append(f"{name}/{section}/{key}: {value:.2e} -> {new[key]:.2e}")
            elif new[key] != value:
                stale.append(f"{name}/{section}/{key}: {value!r} -> {new[key]!r}")
    for new, old in zip(fresh["verdicts"], committed["verdicts"], strict=True):
        skip = {"reading"} | ({"margin"} if old["verdict"] == "degenerate" else set())
        stale += _differences(new, old, f"{name}/{old['pair']}", skip=skip)
    return stale


@pytest.mark.slow
def test_networks_study_recomputed():
    """The whole verdict-vs-layers table and the four report cards (cards.json)."""
    script, config = _load_script(NETWORKS / "run.py"), _network_config()
    fresh = script.layer_table(config)["architectures"]
    stale = []
    for key, rows in _committed(NETWORKS, "layers.json")["architectures"].items():
        stale += _layer_differences(fresh[key], rows)
    _, records, _ = script.cards(config)
    committed = _committed(NETWORKS, "cards.json")
    assert list(records) == list(committed)
    for name, card in _as_json(records).items():
        stale += _card_differences(card, committed[name], name)
    _assert_current(stale, "analyses/networks/results", NETWORKS_COMMAND)


# ---- discovery --------------------------------------------------------------------------------

DISCOVERY_COMMAND = "python3 analyses/discovery/run.py"
#: not compared: wall times; margins and claims of pairs at the noise floor (a ratio of
#: round-off values, and texts quoting them); the singular-value gap (checked to stay > 6 decades)
DISCOVERY_SKIP = frozenset(
    {"seconds", "restart_seconds", "margin", "best_margin", "claim", "gap", "gap_decades"}
)


def _discovery_differences(fresh: dict, committed: dict, name: str) -> list[str]:
    stale = _differences(fresh, committed, name, skip=DISCOVERY_SKIP)
    for new, old in zip(fresh["candidates"], committed["candidates"], strict=True):
        if old["status"] != "degenerate" and not _close(new["margin"], old["margin"]):
            stale.append(f"{name} {old['restart']}: margin {old['margin']} -> {new['margin']}")
    for new, old in zip(fresh["pairs"], committed["pairs"], strict=True):
        if old["family"]["gap"] > 6 and not new["family"]["gap"] > 6:
            stale.append(f"{name} {old['name']}: family gap {new['family']['gap']:.1f} decades")
    return stale


def _discovery_run(name: str, tmp_path) -> list[str]:
    """One run of ``config.json`` recomputed (serial backend: identical to the processes one)
    and compared with its ``discovery.json`` and its row of ``summary.json``."""
    script = _load_script(DISCOVERY / "run.py")
    config = json.loads((DISCOVERY / "config.json").read_text())
    (spec,) = [run for run in config["runs"] if run["name"] == name]
    summary = script.run_one(spec, {**config, "backend": "serial"}, tmp_path)
    fresh = json.loads((tmp_path / name / "discovery.json").read_text())
    stale = _discovery_differences(fresh, _committed(DISCOVERY, f"{name}/discovery.json"), name)
    committed = _committed(DISCOVERY, "summary.json")[name]
    skip = DISCOVERY_SKIP | {"pairs", "name"}
    stale += _differences(_as_json(summary), committed, f"summary {name}", skip=skip)
    for new, old in zip(summary["pairs"], committed["pairs"], strict=True):
        stale += _differences(_as_json(new), old, f"summary {old['name']}", skip=DISCOVERY_SKIP)
    return stale


def test_discovery_radial_spectrum_run_recomputed(tmp_path):
    stale = _discovery_run("radial-spectrum-n4", tmp_path)
    _assert_current(stale, "analyses/discovery/results", DISCOVERY_COMMAND)


@pytest.mark.slow
def test_discovery_power_spectrum_run_recomputed(tmp_path):
    """32 restarts and the larger basis's verdict on every pair found (~1 min)."""
    stale = _discovery_run("power-spectrum-n4", tmp_path)
    _assert_current(stale, "analyses/discovery/results", DISCOVERY_COMMAND)


def test_discovery_reference_table_recomputed():
    """``reference.json``: the family dimension at catalog PRL pairs (7, and 4 with equal bonds)."""
    script = _load_script(DISCOVERY / "run.py")
    fresh = _as_json(script.prl_reference(json.loads((DISCOVERY / "config.json").read_text())))
    committed = _committed(DISCOVERY, "reference.json")
    stale = _differences(fresh, committed, "reference", skip={"gap_decades"})
    stale += [f"gap {row['gap_decades']}" for row in fresh["rows"] if not row["gap_decades"] > 6]
    _assert_current(stale, "reference.json", DISCOVERY_COMMAND)

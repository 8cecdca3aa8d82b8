"""The representation benchmark: tasks, pooled features, curves, correlations."""

import math

import numpy as np
import pytest
from ase.calculators.emt import EMT

from completeness.analysis.benchmark import (
    config_from_dict,
    correlations,
    make_task,
    markdown,
    run_benchmark,
)
from completeness.analysis.benchmark.curves import (
    candidate_grid,
    energy_learning_curve,
    force_learning_curve,
    pooled_features,
    split_indices,
)
from completeness.descriptors import PowerSpectrum, RadialSpectrum
from completeness.environments import InputError


@pytest.fixture(scope="module")
def molecules():
    return make_task("molecules", 40, seed=3)


def test_tasks_are_deterministic_and_labelled_by_emt(molecules):
    again = make_task("molecules", 40, seed=3)
    assert np.array_equal(molecules.energies, again.energies)
    assert {z for atoms in molecules.systems for z in atoms.numbers} <= {1, 6, 7, 8}
    atoms = molecules.systems[5].copy()
    atoms.calc = EMT()
    assert atoms.get_potential_energy() == pytest.approx(molecules.energies[5], abs=1e-12)
    assert np.allclose(atoms.get_forces(), molecules.forces[5], atol=1e-12)


def test_alloy_task_is_periodic_and_force_balanced():
    task = make_task("alloy", 20, seed=1)
    assert all(atoms.pbc.all() for atoms in task.systems)
    assert set(task.species) <= {29, 47, 79}
    assert sorted(set(task.n_atoms.tolist())) <= [16, 32]
    # periodic EMT forces sum to zero: a check that labels belong to the structures
    assert max(np.abs(f.sum(axis=0)).max() for f in task.forces) < 1e-10


def test_pooled_features_sum_atoms_and_their_gradients(molecules):
    ps = RadialSpectrum(cutoff=4.0, n_radial=4, density_width=0.4, species=molecules.species)
    systems = molecules.systems[:3]
    X, derivatives = pooled_features(ps, systems, gradients=True, batch=2)
    for s, atoms in enumerate(systems):
        assert np.allclose(X[s], ps.compute(atoms).values.sum(axis=0), rtol=1e-13, atol=1e-14)
        # central differences of the pooled features
        atoms = atoms.copy()
        step = 1e-5
        atoms.positions[1, 2] += step
        up = ps.compute(atoms).values.sum(axis=0)
        atoms.positions[1, 2] -= 2 * step
        down = ps.compute(atoms).values.sum(axis=0)
        numeric = (up - down) / (2 * step)
        assert np.allclose(derivatives[s][1, 2], numeric, rtol=1e-6, atol=1e-8)


def test_force_curve_recovers_an_exactly_linear_model(molecules):
    rs = RadialSpectrum(cutoff=4.0, n_radial=4, density_width=0.4, species=molecules.species)
    X, derivatives = pooled_features(rs, molecules.systems, gradients=True)
    w = np.random.default_rng(0).normal(size=X.shape[1])
    energies = X @ w + 1.5
    forces = [-(d.reshape(-1, len(w)) @ w).reshape(-1, 3) for d in derivatives]
    linear = type(molecules)(
        name="linear", systems=molecules.systems, energies=energies, forces=forces, description=""
    )
    split = split_indices(len(energies), 0)
    curve = force_learning_curve(X, derivatives, linear, split, seeds=(0,), n_sizes=3)
    assert curve["rmse_mean"][-1] < 1e-6 * np.std(np.concatenate(forces))
    # and a target the features cannot express is not learned to round-off
    shuffled = type(molecules)(
        name="shuffled",
        systems=molecules.systems,
        energies=energies,
        forces=[np.random.default_rng(1).normal(size=f.shape) for f in forces],
        description="",
    )
    noisy = force_learning_curve(X, derivatives, shuffled, split, seeds=(0,), n_sizes=3)
    assert noisy["rmse_mean"][-1] > 0.3


def test_energy_curve_learns_a_smooth_target_better_than_the_mean(molecules):
    ps = PowerSpectrum(
        cutoff=4.0, n_radial=4, max_angular=3, density_width=0.4, species=molecules.species
    )
    X = pooled_features(ps, molecules.systems)
    split = split_indices(len(X), 0)
    curve = energy_learning_curve(X, molecules.energies, split, seeds=(0, 1), smallest=8, n_sizes=3)
    assert len(curve["sizes"]) == 3 and curve["sizes"][-1] == len(split["pool"])
    assert curve["rmse_mean"][-1] < curve["test_std"]
    assert all(
        lo <= m <= hi
        for lo, m, hi in zip(curve["rmse_min"], curve["rmse_mean"], curve["rmse_max"], strict=True)
    )
    assert set(curve["test_abs_errors"]) == set(split["test"].tolist())


def test_split_is_a_partition():
    split = split_indices(50, 4)
    assert sorted(np.concatenate([split["test"], split["pool"]]).tolist()) == list(range(50))
    assert sorted(np.concatenate([split["fit"], split["valid"]]).tolist()) == sorted(
        split["pool"].tolist()
    )


def test_candidate_grid_covers_cutoff_and_width():
    grid = candidate_grid(PowerSpectrum(cutoff=5.0, n_radial=2, max_angular=1))
    assert len(grid) == 6 and {g["cutoff"] for g in grid} == {4.0, 5.0, 6.0}
    assert {g["density_width"] for g in grid} == {0.3, 0.5}


def test_correlations_of_a_monotone_relation():
    records = [
        {
            "task": "t",
            "measures": {
                "resolved": k,
                "fold_exponent": 2.0,
                "smallest_relative_singular_value": 10.0**-k,
                "sensitive_mode_fraction": 0.5,
                "noise_floor": 1e-15,
            },
            "energy": {"rmse_mean": [1.0, 1.0 / (k + 1)], "test_std": 1.0, "slope": -0.1 * k},
        }
        for k in range(6)
    ]
    result = correlations(records)
    assert result["t/resolved/relative_error"]["rho"] == pytest.approx(-1.0)
    assert result["t/smallest_relative_singular_value/relative_error"]["rho"] == pytest.approx(1.0)
    assert result["t/resolved/relative_error"]["n"] == 6
    assert math.isnan(result["t/fold_exponent/slope"]["rho"])  # a constant measure says nothing


def test_config_rejects_unknown_keys_and_tasks():
    with pytest.raises(InputError, match="unknown benchmark config keys"):
        config_from_dict({"taks": ["alloy"]})
    with pytest.raises(InputError, match="unknown or no benchmark tasks"):
        config_from_dict({"tasks": ["qm9"]})
    with pytest.raises(InputError, match="unknown benchmark descriptors"):
        run_benchmark(config_from_dict({"descriptors": ["soap-xl"], "tasks": ["molecules"]}))


def test_quick_benchmark_end_to_end():
    config = config_from_dict(
        {
            "tasks": ["molecules"],
            "n_structures": 30,
            "descriptors": ["radial-spectrum", "acsf-g2-g4"],
            "seeds": [0],
            "n_sizes": 2,
            "smallest": 8,
            "tune": False,
            "audit": False,
        }
    )
    result = run_benchmark(config, progress=False)
    assert [r["descriptor"] for r in result["records"]] == ["radial-spectrum", "acsf-g2-g4"]
    for record in result["records"]:
        assert record["energy"]["rmse_mean"][-1] > 0
        assert "rmse_mean" in record["forces"]
        assert record["search"]["false_negatives"] >= 0
    text = markdown(result)
    assert "| molecules | radial-spectrum |" in text


def test_cli_benchmark_writes_its_outputs(tmp_path, capsys):
    from completeness.cli import main

    config = tmp_path / "bench.json"
    config.write_text(
        '{"tasks": ["molecules"], "n_structures": 24, "descriptors": ["radial-spectrum"], '
        '"seeds": [0], "n_sizes": 2, "smallest": 6, "tune": false, "audit": false, '
        '"search": false}'
    )
    out = tmp_path / "out"
    assert main(["benchmark", str(config), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "benchmark.json",
        "learning_curves.png",
        "summary.md",
    ]
    assert "| molecules | radial-spectrum |" in capsys.readouterr().out
    # a bad config is one line and exit 2, and writes nothing
    config.write_text('{"tasks": ["qm9"]}')
    assert main(["benchmark", str(config), "--out", str(tmp_path / "none")]) == 2
    assert "unknown or no benchmark tasks" in capsys.readouterr().err
    assert not (tmp_path / "none").exists()

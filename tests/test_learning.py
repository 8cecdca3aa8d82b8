"""Learning on degenerate pairs: metrics, models, learning curves, targets, real descriptors."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from completeness.analysis.learning import (
    FeatureStandardiser,
    LearningCurve,
    PairDataset,
    degenerate_error_floor,
    family_pairs,
    fit_model,
    pair_dataset,
    pair_learning_curve,
    within_pair_relative_rmse,
)
from completeness.analysis.targets import (
    TARGETS,
    evaluate_target,
    squared_volume_sum,
    torsion_energy,
    triangle_normal_target,
)
from completeness.environments import Environment, InputError
from completeness.structures.pair import make_atoms

# --------------------------------------------------------------------------------------------
# metrics
# --------------------------------------------------------------------------------------------


def test_within_pair_rmse_hand_values():
    y_plus, y_minus = np.array([2.0, 0.0]), np.array([1.0, 1.0])  # differences +1, -1
    # a blind model: equal predictions, whatever they are
    assert within_pair_relative_rmse([5.0, -3.0], [5.0, -3.0], y_plus, y_minus) == 1.0
    # a perfect model, even with a constant offset
    assert within_pair_relative_rmse(y_plus + 7, y_minus + 7, y_plus, y_minus) == 0.0
    # predicted differences +0.5, -0.5: errors -0.5, +0.5, rms 0.5, over rms 1
    assert within_pair_relative_rmse([0.5, 0.0], [0.0, 0.5], y_plus, y_minus) == 0.5


def test_within_pair_rmse_rejects_equal_targets():
    with pytest.raises(InputError, match="equal for both members"):
        within_pair_relative_rmse([1.0], [1.0], [2.0], [2.0])
    with pytest.raises(InputError, match="equal, non-zero length"):
        within_pair_relative_rmse([1.0], [1.0, 2.0], [2.0], [1.0])


def test_error_floor_is_the_best_blind_model():
    y_plus, y_minus = np.array([1.0, 3.0]), np.array([0.0, 0.0])
    assert degenerate_error_floor(y_plus, y_minus) == pytest.approx(np.sqrt(5.0) / 2)
    # brute force: the per-structure RMSE of any "same prediction for both members" model is at
    # least the floor; the pair means reach it
    rng = np.random.default_rng(0)
    y_plus, y_minus = rng.normal(size=50), rng.normal(size=50)
    floor = degenerate_error_floor(y_plus, y_minus)

    def rmse(p):
        return np.sqrt(np.mean(np.concatenate([(p - y_plus) ** 2, (p - y_minus) ** 2])))

    assert rmse((y_plus + y_minus) / 2) == pytest.approx(floor)
    for _ in range(100):
        assert rmse(rng.normal(size=50)) >= floor


# --------------------------------------------------------------------------------------------
# models
# --------------------------------------------------------------------------------------------


def test_standardiser_drops_round_off_features():
    rng = np.random.default_rng(1)
    X = np.column_stack([rng.normal(size=40), 3 + 1e-17 * rng.normal(size=40), rng.normal(size=40)])
    standardiser = FeatureStandardiser().fit(X)
    assert standardiser.keep_.tolist() == [True, False, True]
    Z = standardiser.transform(X)
    assert np.allclose(Z.mean(axis=0), 0) and np.allclose(Z.std(axis=0), 1)


@pytest.mark.parametrize("kind", ["ridge", "krr"])
def test_models_learn_smooth_functions(kind):
    rng = np.random.default_rng(2)
    X = rng.uniform(-1, 1, size=(200, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 3.0 if kind == "ridge" else np.sin(2 * X[:, 0]) * X[:, 1]
    model = fit_model(X[:150], y[:150], kind)
    error = np.sqrt(np.mean((model.predict(X[150:]) - y[150:]) ** 2))
    assert error < 0.05 * np.std(y)
    assert "alpha" in model.best_params_
    assert model.cv_rmse_.ndim == 2


def test_fit_model_bad_input():
    X = np.zeros((6, 2))
    with pytest.raises(InputError, match="unknown model kind"):
        fit_model(X, np.arange(6.0), "svm")
    with pytest.raises(InputError, match="one per sample"):
        fit_model(X + np.arange(6)[:, None], np.arange(6.0), "ridge", groups=[0, 1])
    with pytest.raises(InputError, match="constant"):
        fit_model(X, np.arange(6.0), "ridge")


def _synthetic(n_pairs=150, seed=3):
    rng = np.random.default_rng(seed)
    u = rng.uniform(-1, 1, (n_pairs, 3))
    v = rng.uniform(0.2, 1, (n_pairs, 1))
    common = np.sin(u[:, 0]) + u[:, 1] * u[:, 2]
    y_plus = common + 0.5 * v[:, 0] * u[:, 0] + 0.3 * v[:, 0]
    y_minus = common - 0.5 * v[:, 0] * u[:, 0] - 0.3 * v[:, 0]
    blind = PairDataset(np.hstack([u, v**2]), np.hstack([u, v**2]), y_plus, y_minus)
    resolving = PairDataset(np.hstack([u, v]), np.hstack([u, -v]), y_plus, y_minus)
    return blind, resolving


def test_learning_curve_blind_versus_resolving(tmp_path):
    blind, resolving = _synthetic()
    sizes = [10, 40, 120]
    curve_blind = pair_learning_curve(blind, model="krr", train_pairs=sizes, seeds=(0, 1))
    curve_res = pair_learning_curve(resolving, model="krr", train_pairs=sizes, seeds=(0, 1))
    assert curve_blind.test_pair_rmse.shape == (3, 2)
    np.testing.assert_allclose(curve_blind.test_pair_rmse, 1.0, atol=1e-9)
    np.testing.assert_allclose(curve_blind.train_pair_rmse, 1.0, atol=1e-9)
    # the blind model cannot go below the floor (up to the finite test set)
    assert curve_blind.test_rmse.min() > 0.9 * curve_blind.floor
    assert curve_res.test_pair_rmse[-1].max() < 0.1
    assert curve_res.test_rmse[-1].max() < 0.5 * curve_res.floor
    path = tmp_path / "curve.json"
    curve_res.save(path)
    loaded = LearningCurve.load(path)
    np.testing.assert_array_equal(loaded.test_rmse, curve_res.test_rmse)
    assert loaded.train_pairs.tolist() == sizes


def test_learning_curve_bad_sizes():
    blind, _ = _synthetic(20)
    with pytest.raises(InputError, match="training sizes"):
        pair_learning_curve(blind, train_pairs=[5, 100])
    with pytest.raises(InputError, match="test_fraction"):
        pair_learning_curve(blind, test_fraction=1.5)


def test_pair_dataset_shapes():
    with pytest.raises(InputError, match="equal shape"):
        PairDataset(np.zeros((3, 2)), np.zeros((3, 3)), np.zeros(3), np.zeros(3))


# --------------------------------------------------------------------------------------------
# targets
# --------------------------------------------------------------------------------------------


def _cluster(vectors):
    return make_atoms("C" + "H" * len(vectors), np.vstack([np.zeros(3), vectors]))


def test_targets_hand_values():
    # regular tetrahedron: face normals have n_a . n_b = -1/3, six pairs -> 6/9
    tetrahedron = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=float)
    assert triangle_normal_target(_cluster(tetrahedron)) == pytest.approx(2 / 3)
    # one tetrahedron (0, e1, 2 e2, 3 e3): V = 6 / 6
    axes = np.diag([1.0, 2.0, 3.0])
    assert squared_volume_sum(_cluster(axes)) == pytest.approx(1.0)
    # neighbour-only tetrahedron of the regular one: edge 2 sqrt 2, V = a^3 / (6 sqrt 2) = 8/3
    assert squared_volume_sum(_cluster(tetrahedron), include_centre=False) == pytest.approx(
        (8 / 3) ** 2
    )
    # orthonormal neighbours: every dihedral is pi/2, per chain V1/2 + V2 + V3/2 = 0.125, 6 chains
    assert torsion_energy(_cluster(np.eye(3))) == pytest.approx(0.75)
    assert torsion_energy(Environment.from_vectors(np.eye(3)), barriers=(2.0,)) == pytest.approx(
        6.0
    )


def test_triangle_target_matches_the_sensitivity_module():
    # Parsaeifard-Goedecker start point (docs/science.md §3), compared with an independent
    # implementation of the same CH4 target
    from completeness.analysis.sensitivity import ch4_four_body_target

    hydrogens = np.array(
        [
            (-0.417, 0, 1.007),
            (0.764, -0.555, -0.545),
            (0.764, 0.555, 0.545),
            (-0.706, 0.826, 0.086),
        ]
    )
    assert triangle_normal_target(_cluster(hydrogens)) == pytest.approx(
        ch4_four_body_target(hydrogens), rel=1e-12
    )


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_targets_invariant(name):
    rng = np.random.default_rng(4)
    vectors = rng.normal(size=(6, 3)) * 1.5
    reference = evaluate_target(name, _cluster(vectors))[0]
    rotation = Rotation.random(random_state=5).as_matrix()
    for transformed in (vectors @ rotation.T, vectors[rng.permutation(6)], vectors * [1, 1, -1]):
        assert evaluate_target(name, _cluster(transformed))[0] == pytest.approx(
            reference, rel=1e-10
        )


def test_target_body_orders_on_catalog_pairs():
    # B8 pairs agree at every 4-body term, so 4-body targets agree and 5-body ones need not;
    # PRL pairs agree only up to 3-body
    b8_pairs = family_pairs("b8", 5)
    prl_pairs = family_pairs("prl", 5)

    def difference(name, pairs):
        plus = evaluate_target(name, [p.plus for p in pairs])
        minus = evaluate_target(name, [p.minus for p in pairs])
        return np.abs(plus - minus).max() / np.abs(plus).max()

    for four_body in ("squared_volumes", "torsion"):
        assert difference(four_body, b8_pairs) < 1e-12
        assert difference(four_body, prl_pairs) > 1e-3
    for five_body in ("squared_volumes_neighbours", "triangle_normals"):
        assert difference(five_body, b8_pairs) > 1e-3


def test_target_errors():
    with pytest.raises(InputError, match="unknown target"):
        evaluate_target("energy", _cluster(np.eye(3)))
    with pytest.raises(InputError, match="at least 4 neighbours"):
        triangle_normal_target(_cluster(np.eye(3)))
    with pytest.raises(InputError, match="collinear"):
        triangle_normal_target(_cluster(np.array([[1, 0, 0], [2, 0, 0], [3, 0, 0], [0, 1, 0.0]])))
    with pytest.raises(InputError, match="unknown family"):
        family_pairs("nope", 3)


# --------------------------------------------------------------------------------------------
# real descriptors on catalog pairs
# --------------------------------------------------------------------------------------------


def _pair_rmse(dataset, n_train):
    curve = pair_learning_curve(dataset, model="ridge", train_pairs=[n_train], seeds=(0,))
    return float(curve.test_pair_rmse[0, 0]), float(curve.train_pair_rmse[0, 0])


def test_prl_pairs_power_spectrum_blind_bispectrum_not():
    from completeness.descriptors.correlations import Bispectrum
    from completeness.descriptors.spectra import PowerSpectrum

    pairs = family_pairs("prl", 150)
    power = pair_dataset(pairs, PowerSpectrum(cutoff=6.0, n_radial=4, max_angular=3), "torsion")
    test, train = _pair_rmse(power, 120)
    assert test == pytest.approx(1.0, abs=0.01) and train == pytest.approx(1.0, abs=0.01)
    bispectrum = pair_dataset(
        pairs, Bispectrum(cutoff=6.0, n_radial=4, max_angular=3), "squared_volumes"
    )
    test, _ = _pair_rmse(bispectrum, 120)
    assert test < 0.8


def test_b8_pairs_bispectrum_blind():
    from completeness.descriptors.correlations import Bispectrum

    pairs = family_pairs("b8", 100)
    dataset = pair_dataset(
        pairs,
        Bispectrum(cutoff=4.0, n_radial=4, max_angular=3, include_pseudoscalar=True),
        "squared_volumes_neighbours",
    )
    test, train = _pair_rmse(dataset, 80)
    assert test == pytest.approx(1.0, abs=0.01) and train == pytest.approx(1.0, abs=0.01)


@pytest.mark.slow
def test_b8_pairs_five_body_resolves():
    from completeness.descriptors.correlations import DensityCorrelations

    pairs = family_pairs("b8", 300)
    descriptor = DensityCorrelations(correlation_order=4, cutoff=4.0, n_radial=3, max_angular=3)
    dataset = pair_dataset(pairs, descriptor, "squared_volumes_neighbours")
    test, _ = _pair_rmse(dataset, 240)
    assert test < 0.1


def test_cli_learn(tmp_path, capsys):
    import json

    from completeness.cli import main

    out = tmp_path / "learn.json"
    status = main(
        [
            "learn",
            "--family",
            "prl",
            "--n-pairs",
            "40",
            "--seeds",
            "0",
            "--n-radial",
            "3",
            "--max-angular",
            "2",
            "--gfre",
            "--json",
            str(out),
        ]
    )
    assert status == 0
    printed = capsys.readouterr().out
    assert "PowerSpectrum (body order 3)" in printed and "PowerSpectrum -> Bispectrum" in printed
    data = json.loads(out.read_text())
    power = data["results"][0]
    assert power["descriptor"] == "PowerSpectrum"
    np.testing.assert_allclose(power["curve"]["test_pair_rmse"], 1.0, atol=0.01)
    assert main(["learn", "--descriptor", "NoSuchDescriptor", "--n-pairs", "5"]) == 2


def test_learning_curve_without_pairs_and_transfer():
    from completeness.analysis.learning import learning_curve

    rng = np.random.default_rng(6)
    X = rng.uniform(-1, 1, size=(120, 2))
    y = X[:, 0] + 2 * X[:, 1]
    curve = learning_curve(X, y, model="ridge", train_sizes=[10, 90], seeds=(0,))
    assert curve.test_rmse.shape == (2, 1) and np.isnan(curve.test_pair_rmse).all()
    assert curve.test_rmse[-1, 0] < 1e-3
    # transfer: a model of the first feature only cannot predict a set where only the second
    # varies; the test RMSE equals the std of the test targets (prediction ~ constant)
    X_test = np.column_stack([np.zeros(50), np.linspace(-1, 1, 50)])
    curve = learning_curve(
        X[:, :1],
        X[:, 0],
        model="ridge",
        train_sizes=[100],
        seeds=(0,),
        X_test=X_test[:, :1],
        y_test=X_test[:, 1],
    )
    assert curve.test_rmse[0, 0] == pytest.approx(np.std(X_test[:, 1]), rel=0.05)
    with pytest.raises(InputError, match="X_test"):
        learning_curve(X, y, X_test=np.zeros((3, 5)), y_test=np.zeros(3))

"""scikit-learn conventions on ``ase.Atoms`` input: fit, feature names, set_output, pooling,
pickling (dask), and the subset of ``check_estimator`` that applies to structures.

``check_estimator`` feeds numeric tables; a descriptor's input is a list of ``ase.Atoms``, so the
checks split in three groups:

* RUN as they are (they never pass data): listed in ``SKLEARN_CHECKS`` below.
* RUN on ``ase.Atoms`` (the same intent, structures instead of a table):
  ``check_estimators_fit_returns_self``, ``check_fit_idempotent``,
  ``check_dont_overwrite_parameters`` / ``check_dict_unchanged`` (fit changes no
  hyperparameter, transform changes nothing), ``check_estimators_pickle``,
  ``check_fit_check_is_fitted``, ``check_transformer_general`` (fit_transform equals
  fit + transform), ``check_n_features_in`` (``n_features_in_ = 1``: one column of structures),
  ``check_transformer_get_feature_names_out`` and ``check_set_output_transform_pandas``.
* EXCLUDED, because their whole subject is numeric tables, which are not structures (a
  descriptor refuses them with a one-line InputError naming ase.Atoms): dtype and
  contiguity (``check_estimators_dtypes``, ``check_dtype_object``, ``check_complex_data``,
  ``check_f_contiguous_array_estimator``, ``check_transformer_preserve_dtypes``), NaN/inf and
  empty tables (``check_estimators_nan_inf``, ``check_estimators_empty_data_messages``),
  table shapes (``check_fit2d_*``, ``check_fit1d``, ``check_n_features_in_after_fitting``,
  ``check_dataframe_column_names_consistency``), sparse, array-API, memmap and polars input,
  sample weights (a descriptor takes none) and every classifier/regressor/clusterer check (a
  descriptor is a transformer).
"""

import pickle

import numpy as np
import pytest
from ase.build import molecule
from ase.calculators.emt import EMT
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.utils import estimator_checks
from sklearn.utils.validation import check_is_fitted

from completeness.descriptors import Pooling, PowerSpectrum, wrappers
from completeness.descriptors.defaults import builtin_descriptors
from completeness.descriptors.wrappers import peer_descriptors
from completeness.environments import InputError
from completeness.testing import assert_invariant

ESTIMATORS = {
    **builtin_descriptors(),
    **peer_descriptors(),
    "pooling": Pooling(descriptor=PowerSpectrum(n_radial=3, max_angular=2), pool="sum"),
}
SKLEARN_CHECKS = [
    "check_get_params_invariance",
    "check_set_params",
    "check_no_attributes_set_in_init",
    "check_estimator_cloneable",
    "check_estimator_repr",
    "check_do_not_raise_errors_in_init_or_set_params",
    "check_parameters_default_constructible",
    "check_mixin_order",
    "check_valid_tag_types",
    "check_estimator_tags_renamed",
]
# fitted and transformed on molecules: the wrappers of quippy start a process per call
ATOMS_ESTIMATORS = [k for k in ESTIMATORS if not k.startswith(("quippy", "dscribe:MBTR"))]
ATOMS_ESTIMATORS.remove("dscribe:LMBTR")  # fails with ase >= 3.27 (a finding of the wrapper)

MOLECULES = ["CH4", "H2O", "NH3", "C2H6", "CH3OH", "C2H4", "HCN", "CH3CN"]


def molecules(n_copies=1, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for name in MOLECULES:
        for _ in range(n_copies):
            atoms = molecule(name)
            atoms.positions += rng.normal(scale=0.05, size=atoms.positions.shape)
            out.append(atoms)
    return out


@pytest.mark.parametrize("check", SKLEARN_CHECKS)
@pytest.mark.parametrize("key", list(ESTIMATORS))
def test_sklearn_checks_that_pass_no_data(key, check):
    estimator = ESTIMATORS[key]
    getattr(estimator_checks, check)(type(estimator).__name__, clone(estimator))


@pytest.mark.parametrize("key", ATOMS_ESTIMATORS)
def test_estimator_checks_on_atoms(key):
    library = key.partition(":")[0] if ":" in key else None
    if library is not None and not wrappers.library_available(library):
        pytest.skip(f"{library} is not installed (an extra)")
    estimator = clone(ESTIMATORS[key])
    systems = molecules()
    params = estimator.get_params()
    with pytest.raises(NotFittedError):  # species not fixed yet: a one-line InputError too
        estimator.transform(systems)
    assert estimator.fit(systems) is estimator  # fit returns self
    check_is_fitted(estimator)
    assert estimator.get_params() == params  # fit changes no hyperparameter
    assert estimator.n_features_in_ == 1
    first = estimator.transform(systems)
    assert estimator.get_params() == params
    np.testing.assert_array_equal(clone(estimator).fit(systems).transform(systems), first)
    np.testing.assert_array_equal(estimator.fit(systems).transform(systems), first)  # idempotent
    np.testing.assert_array_equal(clone(estimator).fit_transform(systems), first)
    names = estimator.get_feature_names_out()
    assert names.dtype == object and len(names) == first.shape[1] == len(set(names))
    again = pickle.loads(pickle.dumps(estimator))
    np.testing.assert_array_equal(again.transform(systems), first)


def test_fit_fixes_species_and_transform_refuses_others():
    descriptor = PowerSpectrum(n_radial=3, max_angular=2).fit(molecules()[:2])  # H, C, O
    assert descriptor.species_.tolist() == [1, 6, 8]
    with pytest.raises(InputError, match="N \\(Z=7\\) is not a species"):
        descriptor.transform([molecule("NH3")])
    with_species = PowerSpectrum(n_radial=3, max_angular=2, species=[1, 6, 7, 8])
    check_is_fitted(with_species)  # fixed species: nothing to learn
    assert len(with_species.get_feature_names_out()) == with_species.n_features()


def test_set_output_pandas_names_the_columns():
    pytest.importorskip("pandas")
    systems = molecules()
    descriptor = PowerSpectrum(n_radial=3, max_angular=2).fit(systems)
    frame = descriptor.set_output(transform="pandas").transform(systems)
    assert list(frame.columns) == list(descriptor.get_feature_names_out())
    assert frame.shape == (sum(len(a) for a in systems), descriptor.n_features())
    pooled = Pooling(descriptor=PowerSpectrum(n_radial=3, max_angular=2), pool="mean")
    frame = pooled.set_output(transform="pandas").fit_transform(systems)
    assert frame.shape[0] == len(systems) and frame.columns[0].startswith("mean(")


def test_pooling_sums_and_averages_per_structure():
    systems = molecules()[:3]
    descriptor = PowerSpectrum(n_radial=3, max_angular=2, species=[1, 6, 7, 8])
    per_atom = descriptor.transform(systems)
    sizes = [len(a) for a in systems]
    starts = np.concatenate([[0], np.cumsum(sizes)])
    summed = Pooling(descriptor=descriptor, pool="sum").fit_transform(systems)
    mean = Pooling(descriptor=descriptor, pool="mean").fit_transform(systems)
    for k in range(len(systems)):
        block = per_atom[starts[k] : starts[k + 1]]
        np.testing.assert_allclose(summed[k], block.sum(axis=0), rtol=1e-13)
        np.testing.assert_allclose(mean[k], block.mean(axis=0), rtol=1e-13)
    with pytest.raises(InputError, match="pool must be one of 'mean', 'sum'"):
        Pooling(descriptor=descriptor, pool="max").fit(systems)


def test_pipeline_descriptor_pooling_ridge_fits_per_structure_energies():
    """EMT energies of rattled ase-built molecules: a sum of atomic energies, so a linear model
    on summed power-spectrum features fits them; judged on copies not seen in fitting."""

    def energies(systems):
        out = []
        for atoms in systems:
            atoms = atoms.copy()
            atoms.calc = EMT()
            out.append(atoms.get_potential_energy())
        return np.array(out)

    train, test = molecules(n_copies=6, seed=1), molecules(n_copies=2, seed=2)
    model = make_pipeline(
        Pooling(descriptor=PowerSpectrum(cutoff=4.0, n_radial=4, max_angular=3), pool="sum"),
        Ridge(alpha=1e-8),
    )
    model.fit(train, energies(train))
    truth = energies(test)
    error = np.sqrt(np.mean((model.predict(test) - truth) ** 2))
    assert error < 0.1 * truth.std()  # an RMSE well below the spread of the energies


def _compute_values(descriptor, atoms):
    return descriptor.compute(atoms).values


def test_pickled_featomic_wrapper_computes_identical_features_in_a_dask_worker():
    pytest.importorskip("featomic")
    distributed = pytest.importorskip("distributed")
    from completeness.descriptors.wrappers import load_peer

    wrapper = load_peer("featomic:SoapPowerSpectrum", species=[1, 6, 7, 8])
    atoms = molecule("CH3CN")
    local = wrapper.compute(atoms).values  # builds (and caches) the native calculator
    copy = pickle.loads(pickle.dumps(wrapper))
    np.testing.assert_array_equal(copy.compute(atoms).values, local)
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        remote = client.submit(_compute_values, copy, atoms).result()
    np.testing.assert_array_equal(remote, local)


def test_assert_invariant_takes_a_plain_callable():
    def sorted_distances(positions, numbers):
        return np.sort(np.linalg.norm(positions[1:] - positions[0], axis=1))

    def first_neighbour_x(positions, numbers):  # not rotation invariant
        return positions[1:2, 0] - positions[0, 0]

    atoms = molecule("CH3OH")
    assert max(assert_invariant(sorted_distances, atoms).values()) < 1e-12
    with pytest.raises(AssertionError, match="rotation"):
        assert_invariant(first_neighbour_x, atoms)

"""The descriptor contract, checked once for every built-in descriptor and every wrapper.

Each descriptor's own test file keeps only its formulas; what every descriptor promises is
tested here: keyword-only hyperparameters with a declared constraint each, ``get_params`` /
``set_params``, ``clone``, the JSON round trip, bad hyperparameters failing at ``compute`` with a
one-line :class:`InputError` naming the valid range, invariance (rotation, permutation,
translation; reflection as ``parity`` declares) and analytic gradients against central
differences where the descriptor has gradients.
"""

import inspect
import json

import numpy as np
import pytest
from conftest import contract_descriptors
from sklearn.base import clone

from completeness.descriptors import from_json, registered_descriptors
from completeness.descriptors.wrappers import PEERS, PeerDescriptor
from completeness.environments import InputError
from completeness.testing import assert_gradients, assert_invariant

DESCRIPTORS = contract_descriptors()
# quippy starts a child process per call (~1 s each): one quippy wrapper in the fast suite
SLOW = {"quippy:power_so3", "quippy:bispectrum_so3", "quippy:bispectrum_so4"}
# dscribe's MBTR and LMBTR fail with ase >= 3.27 (documented finding of the wrappers)
BROKEN_UPSTREAM = {"dscribe:MBTR", "dscribe:LMBTR"}
# relative tolerances: round-off of each implementation (splines, Fortran, float64 sums)
INVARIANCE_RTOL = {"quippy": 1e-8, "featomic": 1e-9, "dscribe": 1e-9}
# dscribe's ACSF derivatives are its own central differences
GRADIENT_RTOL = {"dscribe:ACSF": 1e-5, "quippy": 1e-5}


def _params(ids, extra_skip=()):
    out = []
    for key in ids:
        marks = [pytest.mark.slow] if key in SLOW else []
        out.append(pytest.param(key, marks=marks, id=key))
    return out


ALL = _params(DESCRIPTORS)
WORKING = _params([k for k in DESCRIPTORS if k not in BROKEN_UPSTREAM])


def _tolerance(table, key, default):
    return table.get(key, table.get(key.partition(":")[0], default))


def _skip_missing_library(descriptor):
    if isinstance(descriptor, PeerDescriptor):
        from completeness.descriptors.wrappers import library_available

        if not library_available(descriptor.library):
            pytest.skip(f"{descriptor.library} is not installed")


def test_every_descriptor_class_is_in_the_contract():
    """Every registered class (built-in or wrapper) has an instance in the parametrisation."""
    covered = {type(d) for d in DESCRIPTORS.values()}
    assert set(PEERS.values()) <= covered
    missing = {
        name
        for name, cls in registered_descriptors().items()
        if cls.__module__.startswith("completeness.descriptors") and cls not in covered
    }
    assert not missing


@pytest.mark.parametrize("key", ALL)
def test_hyperparameters_are_keyword_only_and_each_has_a_constraint(key):
    descriptor = DESCRIPTORS[key]
    signature = inspect.signature(type(descriptor).__init__)
    parameters = [p for p in signature.parameters.values() if p.name != "self"]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters)
    assert sorted(p.name for p in parameters) == sorted(descriptor.get_params())
    assert set(descriptor.get_params()) <= set(type(descriptor).constraints())


@pytest.mark.parametrize("key", ALL)
def test_get_set_params_and_clone(key):
    descriptor = DESCRIPTORS[key]
    params = descriptor.get_params()
    copy = clone(descriptor)
    assert copy is not descriptor and copy.get_params() == params
    copy.set_params(species=[1, 6, 8])
    assert copy.get_params()["species"] == [1, 6, 8]
    assert descriptor.get_params() == params  # the original is untouched


@pytest.mark.parametrize("key", WORKING)
def test_json_round_trip_computes_identical_features(key, cluster):
    descriptor = DESCRIPTORS[key]
    _skip_missing_library(descriptor)
    again = from_json(descriptor.to_json())
    assert type(again) is type(descriptor)
    assert json.loads(again.to_json()) == json.loads(descriptor.to_json())
    both = [d.compute(cluster, centers=[0, 1]) for d in (descriptor, again, clone(descriptor))]
    assert both[0].values.shape[0] == 2 and both[0].values.shape[1] > 0
    np.testing.assert_array_equal(both[1].values, both[0].values)
    np.testing.assert_array_equal(both[2].values, both[0].values)
    assert both[1].feature_names == both[0].feature_names


@pytest.mark.parametrize("key", ALL)
def test_bad_hyperparameters_fail_at_compute_with_the_valid_range(key, cluster):
    descriptor = DESCRIPTORS[key]
    constraints = type(descriptor).constraints()
    checked = 0
    for name in descriptor.get_params():
        constraint = constraints[name]
        for bad in constraint.invalid_examples():
            broken = clone(descriptor).set_params(**{name: bad})  # __init__ stores only
            with pytest.raises(InputError) as error:
                broken.compute(cluster, centers=[0])
            message = str(error.value)
            assert "\n" not in message
            assert f"{name} must be {constraint.describe()}" in message, message
            checked += 1
    assert checked >= len(descriptor.get_params())


@pytest.mark.parametrize("key", WORKING)
def test_invariance(key, cluster):
    descriptor = DESCRIPTORS[key]
    _skip_missing_library(descriptor)
    rtol = _tolerance(INVARIANCE_RTOL, key, 1e-10)
    worst = assert_invariant(descriptor, cluster, n_trials=2, rtol=rtol)
    assert {"rotation", "permutation", "translation"} <= set(worst)
    if descriptor.parity == "O(3)" or hasattr(descriptor, "feature_parity"):
        assert "reflection" in worst


def _has_gradients(descriptor) -> bool:
    if isinstance(descriptor, PeerDescriptor):
        return descriptor.provides_gradients
    return getattr(descriptor, "has_gradients", True)


@pytest.mark.parametrize("key", [p for p in WORKING if _has_gradients(DESCRIPTORS[p.values[0]])])
def test_gradients_match_finite_differences(key, cluster):
    descriptor = DESCRIPTORS[key]
    _skip_missing_library(descriptor)
    rtol = _tolerance(GRADIENT_RTOL, key, 1e-6)
    assert_gradients(descriptor, cluster, centers=[0, 2], rtol=rtol)


@pytest.mark.parametrize(
    "key", [p for p in WORKING if not _has_gradients(DESCRIPTORS[p.values[0]])]
)
def test_descriptors_without_gradients_say_so(key, cluster):
    descriptor = DESCRIPTORS[key]
    _skip_missing_library(descriptor)
    with pytest.raises((InputError, NotImplementedError)):
        descriptor.compute(cluster, centers=[0], gradients=True)

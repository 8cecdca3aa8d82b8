"""Species channels are fixed, never re-inferred (rule in completeness.descriptors.base)."""

import ase
import numpy as np
import pytest
from ase.build import molecule
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from completeness.descriptors import PowerSpectrum
from completeness.descriptors.defaults import builtin_descriptors
from completeness.environments import InputError

BUILTIN = builtin_descriptors()


@pytest.mark.parametrize("key", list(BUILTIN))
def test_fitted_descriptor_refuses_an_unseen_species_by_name(key):
    descriptor = clone(BUILTIN[key]).fit([molecule("CH4"), molecule("C2H6")])
    assert descriptor.species_.tolist() == [1, 6]
    with pytest.raises(InputError) as error:
        descriptor.compute([molecule("H2O")])
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith("O (Z=8) is not a species")
    assert "species=[1, 6, 8]" in message  # the fix


def test_pipeline_fitted_on_hydrocarbons_refuses_water():
    pipeline = make_pipeline(
        PowerSpectrum(cutoff=4.0, n_radial=3, max_angular=2, density_width=0.5), StandardScaler()
    )
    pipeline.fit([molecule("CH4"), molecule("C2H6")])
    with pytest.raises(InputError, match=r"^O \(Z=8\) is not a species of this PowerSpectrum"):
        pipeline.transform([molecule("H2O")])


def test_fitted_columns_keep_their_meaning_on_a_subset_of_species():
    descriptor = PowerSpectrum(cutoff=4.0, n_radial=3, max_angular=2, density_width=0.5)
    descriptor.fit([molecule("CH3OH")])
    hydrogen_only = ase.Atoms("H2", positions=[[0, 0, 0], [0.74, 0, 0]])
    fitted = descriptor.transform([hydrogen_only])
    explicit = clone(descriptor).set_params(species=[1, 6, 8]).transform([hydrogen_only])
    assert fitted.shape == (2, descriptor.n_features())
    np.testing.assert_array_equal(fitted, explicit)


def test_unfitted_transform_needs_fixed_species_and_explicit_species_is_kept():
    descriptor = PowerSpectrum(cutoff=4.0, n_radial=3, max_angular=2, density_width=0.5)
    with pytest.raises(InputError, match="must be fitted before transform"):
        descriptor.transform([molecule("H2O")])
    explicit = clone(descriptor).set_params(species=[1, 8]).fit([molecule("H2O")])
    assert explicit.species_.tolist() == [1, 8]
    with pytest.raises(InputError, match=r"^C \(Z=6\) .*which has species=\[1, 8\]"):
        explicit.fit([molecule("CH4")])

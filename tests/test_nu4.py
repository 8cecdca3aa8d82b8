"""nu = 4 density correlations through products of coupled pairs, against the general coupling."""

import ase
import numpy as np
import pytest
from descriptor_helpers import choose_kernels

from completeness.descriptors import DensityCorrelations
from completeness.descriptors.features import centre_gradients_from_pairs
from completeness.environments import build_neighbourhoods
from completeness.testing import random_cluster

SMALL = dict(cutoff=3.5, n_radial=2, max_angular=3, density_width=0.4)


def _systems():
    """Uneven neighbour counts, a lone neighbour, a centre without neighbours, and fluorine as a
    channel that no neighbour has."""
    systems = [random_cluster(seed, n, 2.6, (1, 6, 8)) for seed, n in ((50, 6), (51, 1), (52, 8))]
    systems.append(ase.Atoms("O", positions=[[0.0, 0.0, 0.0]]))
    return systems


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize(
    "options",
    [
        dict(include_pseudoscalar=True),
        dict(include_pseudoscalar=False, max_intermediate_angular=2),
    ],
)
def test_nu4_equals_the_general_coupling(monkeypatch, compiled, options):
    choose_kernels(monkeypatch, compiled)
    descriptor = DensityCorrelations(correlation_order=4, **SMALL, species=[1, 6, 8, 9], **options)
    systems = _systems()
    features = descriptor.compute(systems, centers=[0], gradients=True)
    neighbourhoods = build_neighbourhoods(systems, descriptor.cutoff, [0])
    species = np.array([1, 6, 8, 9])
    values, pair_gradients = descriptor._compute_coupled(neighbourhoods, species, True)
    centre = centre_gradients_from_pairs(neighbourhoods, pair_gradients)
    scale = np.abs(pair_gradients).max()
    assert np.abs(features.values - values).max() <= 1e-13 * np.abs(values).max()
    assert np.abs(features.pair_gradients - pair_gradients).max() <= 1e-13 * scale
    assert np.abs(features.centre_gradients - centre).max() <= 1e-13 * scale
    fluorine = np.array(["a9," in name for name in features.feature_names])
    assert fluorine.any() and not features.pair_gradients[:, :, fluorine].any()
    # values alone take the same path without the gradients
    alone = descriptor.compute(systems, centers=[0]).values
    assert np.abs(alone - values).max() <= 1e-13 * np.abs(values).max()

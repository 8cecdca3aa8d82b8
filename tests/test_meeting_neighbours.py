"""Two neighbours meeting: which built-in descriptors are continuous there, and which inherit a
direction-dependent limit from their published definitions (LMBTR's k = 3 angles at a
neighbour, the tensor-product network's edge harmonics). The report card's side of it is in
tests/test_report.py."""

import ase
import numpy as np
import pytest

from completeness.analysis.distance import feature_distance
from completeness.descriptors.defaults import builtin_descriptors
from completeness.testing import random_environment

GAPS = (1e-2, 1e-3, 1e-4, 1e-5)
#: Documented in their docstrings: the limit depends on the direction of approach.
DIRECTION_DEPENDENT = ("lmbtr-k3", "tensor-product-net")
CONTINUOUS = [key for key in builtin_descriptors() if key not in DIRECTION_DEPENDENT]


def _meeting(key):
    """For each gap, the relative distance between the features of one neighbour approached by
    another from two random directions, and the relative size of the gradient with respect to
    the approaching atom."""
    rng = np.random.default_rng(11)
    base = random_environment(rng, 5, radius=3.0, species=(1,), min_gap=0.9)
    directions = rng.normal(size=(2, 3))
    directions /= np.linalg.norm(directions, axis=1)[:, None]
    descriptor = builtin_descriptors()[key]
    jumps, slopes = [], []
    for gap in GAPS:
        systems = [base + ase.Atom(1, base.positions[1] + gap * u) for u in directions]
        features = descriptor.compute(systems, centers=[0], gradients=True)
        jumps.append(feature_distance(features.values[0], features.values[1]))
        gradient = features.gradients[0, len(base)]  # the approaching atom
        slopes.append(np.linalg.norm(gradient) / np.linalg.norm(features.values[0]))
    return np.array(jumps), np.array(slopes)


@pytest.mark.parametrize("key", CONTINUOUS)
def test_continuous_descriptors_close_the_gap_linearly_with_bounded_gradients(key):
    jumps, slopes = _meeting(key)
    # the two approaches differ by O(gap): a factor 10 per decade (within 20 %)
    np.testing.assert_allclose(jumps[:-1] / jumps[1:], 10.0, rtol=0.2)
    assert slopes.max() < 2.0 * slopes.min()


@pytest.mark.parametrize("key", DIRECTION_DEPENDENT)
def test_direction_dependent_limit_and_gradients_growing_as_one_over_the_gap(key):
    jumps, slopes = _meeting(key)
    assert jumps[-1] > 1e-4  # the directions still disagree at 1e-5 Å ...
    np.testing.assert_allclose(jumps[1:], jumps[-1], rtol=0.1)  # ... by a gap-independent amount
    np.testing.assert_allclose(slopes[1:] / slopes[:-1], 10.0, rtol=0.1)  # |grad| ~ 1 / gap

"""Fixtures shared by the test files: seeded random environments and the descriptor catalogue
of the contract test (every built-in descriptor with the audit's hyperparameters and every
wrapper of a peer library)."""

import numpy as np
import pytest
from descriptor_helpers import random_cluster


@pytest.fixture
def rng():
    """A seeded generator (tests are deterministic)."""
    return np.random.default_rng(20240607)


@pytest.fixture
def cluster():
    """A finite centred environment: carbon centre, eight neighbours of H, C, O within 3.2 Å."""
    atoms = random_cluster(11, n_neighbours=8, radius=3.2, min_distance=0.9)
    atoms.numbers[0] = 6
    return atoms


def contract_descriptors() -> dict:
    """``{id: descriptor}``: every built-in descriptor flavour of the audit and every wrapper."""
    from completeness.descriptors.defaults import builtin_descriptors
    from completeness.descriptors.wrappers import COMPLETE_INVARIANTS, load_peer, peer_descriptors

    invariants = {spec: load_peer(spec) for spec in COMPLETE_INVARIANTS}
    return {**builtin_descriptors(), **peer_descriptors(), **invariants}

"""Structure builders shared by the descriptor tests (symmetry functions, Chebyshev, MBTR)."""

import ase
import numpy as np

from completeness.testing import relative_difference

SPECIES = [1, 6, 8]


def random_cluster(seed, n_neighbours=7, radius=3.8, species=SPECIES, min_distance=0.7):
    """Centre (atom 0) at the origin and neighbours uniform in a ball, no two too close; the
    first neighbours cover every species."""
    rng = np.random.default_rng(seed)
    points = [np.zeros(3)]
    while len(points) < n_neighbours + 1:
        candidate = rng.uniform(-radius, radius, 3)
        if np.linalg.norm(candidate) > radius:
            continue
        if min(np.linalg.norm(candidate - p) for p in points) < min_distance:
            continue
        points.append(candidate)
    numbers = rng.choice(species, size=len(points))
    numbers[1 : 1 + min(len(species), n_neighbours)] = species[: min(len(species), n_neighbours)]
    return ase.Atoms(numbers=numbers, positions=np.array(points))


def scaled_pair(plus_neighbours, minus_neighbours, max_distance):
    """Two carbon environments (centre at the origin) scaled so the farthest neighbour of the
    first is at ``max_distance``."""
    plus_neighbours, minus_neighbours = np.array(plus_neighbours), np.array(minus_neighbours)
    scale = max_distance / np.linalg.norm(plus_neighbours, axis=1).max()

    def make(neighbours):
        positions = np.vstack([[0, 0, 0], neighbours]) * scale
        return ase.Atoms(numbers=[6] * (len(neighbours) + 1), positions=positions)

    return make(plus_neighbours), make(minus_neighbours)


def centre_distance(descriptor, plus, minus):
    """Relative distance between the centre features of two structures."""
    a = descriptor.compute(plus, centers=[0]).values[0]
    b = descriptor.compute(minus, centers=[0]).values[0]
    return relative_difference(a, b)

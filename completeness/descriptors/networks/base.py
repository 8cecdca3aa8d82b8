"""What both networks share: hyperparameters, the whole-system :meth:`compute`, the read-out at
the requested centres, and the random weights (seeded per ``(seed, layer, role)``)."""

from __future__ import annotations

import numbers

import numpy as np

from ...environments import InputError, centres_per_system_fast, check_systems
from ..base import Descriptor, Features
from ..hypers import Integer, Real, Rule, check_cutoff_width, declare
from .graph import NeighbourGraph

__all__ = ["MessagePassing", "dense_layer", "embedding", "weight_seeds"]


def weight_seeds(seeds) -> tuple[int, ...]:
    """The weight seeds as a tuple (one integer is one seed)."""
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        return (int(seeds),)
    return tuple(int(s) for s in seeds)


def _valid_seeds(seeds) -> bool:
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        seeds = [seeds]
    values = tuple(seeds)
    return (
        bool(values)
        and all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in values)
        and min(values) >= 0
        and len(set(values)) == len(values)
    )


class MessagePassing(Descriptor):
    """Shared machinery: hypers, whole-system compute, read-out at the requested centres."""

    abstract_base = True
    parity = "O(3)"
    #: True when ``_node_outputs`` accepts distance tangents (forward-mode gradients).
    has_gradients = False

    hyper_constraints = declare(
        n_layers=Integer(1),
        width=Integer(1),
        n_radial=Integer(1),
        cutoff_width=Real(0, unit="Å"),
        seeds=Rule(
            "a non-empty list of distinct integers >= 0, e.g. [0, 1, 2]",
            _valid_seeds,
            ([], [0, 0], [-1], "seed"),
        ),
    )

    def _check_hyper_relations(self) -> None:
        check_cutoff_width(type(self).__name__, self.cutoff, self.cutoff_width)

    def _width(self) -> int:
        """Features per seed: the ``width`` of the read-out node features."""
        return int(self.width)

    def _feature_names(self, species):
        return tuple(
            f"seed{seed}_h{c}" for seed in weight_seeds(self.seeds) for c in range(self._width())
        )

    def _compute(self, neighbourhoods, species, gradients):
        raise InputError(
            f"{type(self).__name__} is a message-passing network: it needs whole systems (atoms "
            "beyond a centre's cutoff matter); call compute(systems, centers=...)"
        )

    def compute_neighbourhoods(self, neighbourhoods, *, gradients: bool = False):
        return self._compute(neighbourhoods, None, gradients)

    def _node_outputs(self, graph: NeighbourGraph, seed: int) -> np.ndarray:
        raise NotImplementedError

    def compute(self, systems, *, centers=None, gradients: bool = False) -> Features:
        """Run ``n_layers`` layers on the whole radius graph of each system; read out ``centers``.

        Parameters
        ----------
        systems : ase.Atoms or list of ase.Atoms
        centers : None, indices for every system, or one list per system
        gradients : bool
            Also return the derivatives with respect to every atom position (forward-mode
            differentiation through the layers, one system at a time; see the module
            docstring).
        """
        self._check_hypers()
        if gradients and not self.has_gradients:
            raise InputError(
                f"{type(self).__name__} has no analytic gradients; call compute(..., "
                "gradients=False) and use completeness.testing.finite_difference_gradients"
            )
        systems = check_systems(systems)
        per_system, _ = centres_per_system_fast(systems, centers)
        graph = NeighbourGraph(systems, float(self.cutoff))
        self.species_channels(graph.present)  # refuses elements outside fixed species
        rows = np.concatenate(
            [
                graph.node_offsets[k] + np.asarray(c, dtype=np.int64)
                for k, c in enumerate(per_system)
            ]
        ).astype(np.int64)
        samples = np.column_stack(
            [
                np.repeat(np.arange(len(systems)), [len(c) for c in per_system]),
                np.concatenate([np.asarray(c, dtype=np.int64) for c in per_system]),
            ]
        ).astype(np.int64)
        if gradients:
            values, dense = self._values_and_gradients(systems, per_system)
        else:
            graph.prune(rows, int(self.n_layers))
            blocks = [self._node_outputs(graph, seed)[rows] for seed in weight_seeds(self.seeds)]
            values, dense = np.concatenate(blocks, axis=1), None
        return Features(
            values=values,
            gradients=dense,
            samples=samples.reshape(-1, 2),
            feature_names=self._feature_names(graph.present),
            descriptor=type(self).__name__,
            hypers=self.get_params(),
        )

    def _values_and_gradients(self, systems, per_system):
        """Values and dense position gradients, system by system (tangents of every atom)."""
        seeds = weight_seeds(self.seeds)
        n_samples = sum(len(c) for c in per_system)
        max_atoms = max(len(atoms) for atoms in systems)
        n_features = len(seeds) * self._width()
        values = np.zeros((n_samples, n_features))
        dense = np.zeros((n_samples, max_atoms, 3, n_features))
        start = 0
        for atoms, centres in zip(systems, per_system, strict=True):
            centres = np.asarray(centres, dtype=np.int64)
            stop = start + len(centres)
            graph = NeighbourGraph([atoms], float(self.cutoff))
            graph.prune(centres, int(self.n_layers))
            tangents = graph.distance_tangents()
            n = len(atoms)
            for k, seed in enumerate(seeds):
                h, th = self._node_outputs(graph, seed, tangents)
                block = slice(k * self._width(), (k + 1) * self._width())
                values[start:stop, block] = h[centres]
                # th: (3 n, nodes, F) -> (centres, n, 3, F)
                picked = th[:, centres].reshape(n, 3, len(centres), -1)
                dense[start:stop, :n, :, block] = picked.transpose(2, 0, 1, 3)
            start = stop
        return values, dense


def embedding(seed: int, species: np.ndarray, width: int) -> np.ndarray:
    """Random species embedding, one row per node; a species' row depends only on (seed, Z)."""
    table = {
        int(z): np.random.default_rng([seed, 7919, int(z)]).normal(size=width)
        for z in np.unique(species)
    }
    return np.stack([table[int(z)] for z in species]) if len(species) else np.zeros((0, width))


def dense_layer(rng, fan_in: int, fan_out: int) -> tuple[np.ndarray, np.ndarray]:
    """A random affine layer: weights ~ N(0, 1/fan_in), biases ~ N(0, 0.1^2)."""
    return rng.normal(size=(fan_in, fan_out)) / np.sqrt(fan_in), 0.1 * rng.normal(size=fan_out)

"""The radius graph of whole systems and the edge quantities every network layer reads
(distance basis, cutoff function, spherical harmonics), cached per graph: the same for every
weight seed of a family."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from ...environments import build_neighbourhoods
from ..harmonics import spherical_harmonics
from ..radial_basis import shifted_cosine_cutoff

__all__ = ["NeighbourGraph", "edge_harmonics", "edge_radial", "shifted_softplus"]


def shifted_softplus(x):
    """SchNet's ``ssp(x) = ln(e^x / 2 + 1/2)`` (zero at zero), computed without overflow."""
    return np.logaddexp(x, 0.0) - np.log(2.0)


class NeighbourGraph:
    """Radius graph of every atom of every system, as one disconnected graph.

    ``receivers[e]`` / ``senders[e]``: node indices of edge ``e`` (``vectors[e] = r_sender -
    r_receiver``, periodic images included), ``node_species``, ``node_offsets`` (first node of
    each system), and a sparse ``(n_nodes, n_edges)`` matrix that sums edges into receivers.
    """

    def __init__(self, systems, cutoff: float):
        neighbourhoods = build_neighbourhoods(systems, cutoff)
        self.n_atoms = neighbourhoods.n_atoms
        self.node_offsets = np.concatenate([[0], np.cumsum(self.n_atoms)]).astype(np.int64)
        self.n_nodes = int(self.node_offsets[-1])
        self.node_species = neighbourhoods.centre_species
        self.receivers = neighbourhoods.pair_sample
        system = neighbourhoods.samples[self.receivers, 0]
        self.senders = self.node_offsets[system] + neighbourhoods.pair_neighbour
        self.vectors = neighbourhoods.pair_vectors
        self.distances = neighbourhoods.pair_distances
        self.present = neighbourhoods.species
        self.cache: dict = {}  # seed-independent edge quantities
        n_edges = len(self.receivers)
        self.aggregate = sparse.csr_matrix(
            (np.ones(n_edges), (self.receivers, np.arange(n_edges))),
            shape=(self.n_nodes, n_edges),
        )

    def sum_into_receivers(self, edge_values: np.ndarray, layer=None) -> np.ndarray:
        """``out[i] = sum_{e: receiver(e) = i} edge_values[e]`` (any trailing shape).

        With ``layer`` (after :meth:`prune`), ``edge_values`` holds that layer's edges only.
        """
        aggregate = self.aggregate if layer is None else self.layer_aggregate[layer]
        shape = edge_values.shape[1:]
        flat = edge_values.reshape(len(edge_values), int(np.prod(shape)))
        return np.asarray(aggregate @ flat).reshape((self.n_nodes, *shape))

    def distance_tangents(self) -> np.ndarray:
        """``t[3 a + x, e] = d d_e / d r_a[x]`` ``(3 n_nodes, n_edges)``: ``+r_hat`` for the
        sender, ``-r_hat`` for the receiver (they cancel for a periodic image of the receiver).
        """
        directions = self.vectors / self.distances[:, None]
        tangents = np.zeros((self.n_nodes, 3, len(self.distances)))
        edges = np.arange(len(self.distances))
        np.add.at(tangents, (self.senders, slice(None), edges), directions)
        np.add.at(tangents, (self.receivers, slice(None), edges), -directions)
        return tangents.reshape(3 * self.n_nodes, -1)

    def sum_tangents_into_receivers(self, tangents: np.ndarray, layer: int) -> np.ndarray:
        """:meth:`sum_into_receivers` along axis 1 of ``(D, n_edges, ...)`` tangents."""
        moved = np.moveaxis(tangents, 0, 1)
        summed = self.sum_into_receivers(moved, layer=layer)
        return np.moveaxis(summed, 1, 0)

    def prune(self, rows: np.ndarray, n_layers: int) -> None:
        """Keep, for each layer, only the edges whose receiver matters for the read-out.

        The last layer only updates the read-out nodes ``rows``; layer ``t - 1`` only the nodes
        that layer ``t`` reads (the nodes it updates and their senders). Nodes outside a
        layer's set keep stale values that are never read: the read-out is unchanged, and a
        centre of a batch of environments costs one layer over its own edges at the end.
        Sets ``layer_edges[t]`` (edge indices), ``layer_nodes[t]`` (the nodes layer ``t``
        updates) and ``layer_aggregate[t]``.
        """
        needed = np.zeros(self.n_nodes, dtype=bool)
        needed[rows] = True
        edges = [None] * n_layers
        nodes = [None] * n_layers
        for layer in range(n_layers - 1, -1, -1):
            chosen = np.flatnonzero(needed[self.receivers])
            edges[layer] = chosen
            nodes[layer] = np.flatnonzero(needed)
            needed = needed.copy()
            needed[self.senders[chosen]] = True
        self.layer_edges = edges
        self.layer_nodes = nodes
        self.layer_aggregate = [
            sparse.csr_matrix(
                (np.ones(len(chosen)), (self.receivers[chosen], np.arange(len(chosen)))),
                shape=(self.n_nodes, len(chosen)),
            )
            for chosen in edges
        ]


def _gaussian_basis(distances, cutoff: float, n_radial: int, derivative: bool = False):
    """SchNet's radial basis: Gaussians ``exp(-(d - mu_k)^2 / (2 w^2))``, ``mu_k`` evenly spaced
    on [0, cutoff], width ``w`` the spacing. Shape ``(n_edges, n_radial)``; with ``derivative``
    also ``d/dd`` of it."""
    centres = np.linspace(0.0, cutoff, n_radial)
    width = cutoff / max(n_radial - 1, 1)
    offsets = distances[:, None] - centres[None, :]
    values = np.exp(-0.5 * (offsets / width) ** 2)
    if derivative:
        return values, -offsets / width**2 * values
    return values


def edge_radial(graph, cutoff: float, n_radial: int, cutoff_width: float):
    """Gaussian basis, its derivative, the cutoff function and its derivative on every edge;
    cached on the graph (the same for every seed of a family)."""
    key = ("radial", cutoff, n_radial, cutoff_width)
    if key not in graph.cache:
        basis, dbasis = _gaussian_basis(graph.distances, cutoff, n_radial, derivative=True)
        fc, dfc = shifted_cosine_cutoff(graph.distances, cutoff, cutoff_width)
        graph.cache[key] = (basis, dbasis, fc, dfc)
    return graph.cache[key]


def edge_harmonics(graph: NeighbourGraph, max_angular: int, tangents: bool = False):
    """sphericart's real spherical harmonics of the edge directions, split by l: (E, 2l+1).

    With ``tangents``, also ``t[3 a + x, e, m] = d Y_lm(r_e) / d r_a[x]`` per l (``+dY/dr`` for
    the sender, ``-dY/dr`` for the receiver), shape ``(3 n_nodes, E, 2l+1)``.
    """
    key = ("harmonics", max_angular, tangents)
    if key not in graph.cache:  # the same for every seed of a family
        graph.cache[key] = _edge_harmonics_uncached(graph, max_angular, tangents)
    return graph.cache[key]


def _edge_harmonics_uncached(graph: NeighbourGraph, max_angular: int, tangents: bool):
    vectors = graph.vectors
    n_edges = len(vectors)
    size = (max_angular + 1) ** 2
    if tangents:
        values, derivatives = spherical_harmonics(vectors, max_angular, gradients=True)
    else:
        values = spherical_harmonics(vectors, max_angular)
    split = [values[:, l * l : (l + 1) * (l + 1)] for l in range(max_angular + 1)]
    if not tangents:
        return split
    full = np.zeros((graph.n_nodes, 3, n_edges, size))
    edges = np.arange(n_edges)
    np.add.at(full, (graph.senders, slice(None), edges), derivatives)
    np.add.at(full, (graph.receivers, slice(None), edges), -derivatives)
    full = full.reshape(3 * graph.n_nodes, n_edges, size)
    return split, [full[:, :, l * l : (l + 1) * (l + 1)] for l in range(max_angular + 1)]

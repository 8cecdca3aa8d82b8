"""SchNet-style distance-only message passing with random weights."""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from .base import MessagePassing, dense_layer, embedding
from .graph import NeighbourGraph, edge_radial, shifted_softplus

__all__ = ["DistanceMessagePassing"]


class DistanceMessagePassing(MessagePassing):
    r"""SchNet-style distance-only message passing with random weights (see module docstring).

    With node features :math:`h_i^{(0)} = e(Z_i)` (random species embedding) and for each layer
    :math:`t = 1..T` (Schütt et al., JCP 148, 241722 (2018), doi:10.1063/1.5019779):

    .. math::

        W_t(d) = f_c(d)\,[\mathrm{ssp}(g(d) A_t + a_t) B_t + b_t], \qquad
        m_i = \sum_{j:\ d_{ij} < r_c} (h_j^{(t-1)} U_t) \odot W_t(d_{ij}),

        h_i^{(t)} = h_i^{(t-1)} + \mathrm{ssp}(m_i V_t + v_t) X_t + x_t,

    with Gaussians :math:`g_k(d) = \exp(-(d - \mu_k)^2 / 2w^2)` (``n_radial`` centres on
    [0, cutoff], width the spacing), the shifted softplus :math:`\mathrm{ssp}(x) = \ln(e^x/2 +
    1/2)` and the package's shifted-cosine cutoff :math:`f_c` (SchNet uses a cosine over the
    whole range; the shifted one keeps bonds shorter than ``cutoff - cutoff_width`` at full
    weight). The features of a centre are :math:`h_i^{(T)}` (``width`` numbers) for each seed.

    Parameters
    ----------
    cutoff : float
        Radius of the graph in Å.
    n_layers : int
        Number of interaction layers ``T``.
    width : int
        Number of features per node (SchNet's ``n_atom_basis``/``n_filters``).
    n_radial : int
        Number of Gaussians of the distance expansion.
    cutoff_width : float
        Width (Å) of the shifted-cosine switching region.
    seeds : list of int
        Weight seeds of the family; features are concatenated over seeds.
    species : None or list of int
        Accepted species (embeddings depend only on (seed, Z), so ``n_features`` does not
        depend on it).
    """

    def __init__(
        self,
        *,
        cutoff=5.0,
        n_layers=3,
        width=16,
        n_radial=16,
        cutoff_width=0.5,
        seeds=(0, 1, 2),
        species=None,
    ):
        self.cutoff = cutoff
        self.n_layers = n_layers
        self.width = width
        self.n_radial = n_radial
        self.cutoff_width = cutoff_width
        self.seeds = seeds
        self.species = species

    @property
    def body_order(self):
        """2 with one layer (neighbour distances only); None with more (see module doc)."""
        return 2 if self.n_layers == 1 else None

    has_gradients = True

    def _node_outputs(self, graph: NeighbourGraph, seed: int, tangents=None):
        """Node features after the layers; with ``tangents`` (``d d_e / d x``, from
        :meth:`NeighbourGraph.distance_tangents`) also their derivatives ``(D, n_nodes, width)``."""
        width, n_radial = int(self.width), int(self.n_radial)
        cutoff = float(self.cutoff)
        h = embedding(seed, graph.node_species, width)
        basis, dbasis, fc, dfc = edge_radial(graph, cutoff, n_radial, float(self.cutoff_width))
        th = None if tangents is None else np.zeros((len(tangents), *h.shape))
        for layer in range(int(self.n_layers)):
            rng = np.random.default_rng([seed, layer, 1])
            a, a0 = dense_layer(rng, n_radial, width)
            b, b0 = dense_layer(rng, width, width)
            u, _ = dense_layer(rng, width, width)
            v, v0 = dense_layer(rng, width, width)
            x, x0 = dense_layer(rng, width, width)
            edges = graph.layer_edges[layer]
            senders = graph.senders[edges]
            inner = basis[edges] @ a + a0
            raw = shifted_softplus(inner) @ b + b0
            filters = fc[edges, None] * raw
            hu = h @ u
            messages = graph.sum_into_receivers(hu[senders] * filters, layer=layer)
            outer = messages @ v + v0
            if th is not None:
                # ssp' = logistic; the filter is a function of the distance only
                dfilters = dfc[edges, None] * raw + fc[edges, None] * (
                    (expit(inner) * (dbasis[edges] @ a)) @ b
                )
                tfilters = tangents[:, edges, None] * dfilters[None]
                tmessages = (th @ u)[:, senders] * filters[None] + hu[senders][None] * tfilters
                tmessages = graph.sum_tangents_into_receivers(tmessages, layer)
                th = th + (expit(outer)[None] * (tmessages @ v)) @ x
            h = h + shifted_softplus(outer) @ x + x0
        return h if th is None else (h, th)

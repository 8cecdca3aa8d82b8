"""Tensor-product (TFN/NequIP/MACE-style) message passing with random weights."""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from ...environments import check_systems
from ..clebsch_gordan import real_clebsch_gordan, triangle
from ..hypers import Integer, declare
from .base import MessagePassing, dense_layer, embedding, weight_seeds
from .graph import NeighbourGraph, edge_harmonics, edge_radial, shifted_softplus

__all__ = ["EquivariantMessagePassing"]


def even_paths(max_angular: int):
    """Couplings (l1, l2, l3) with the triangle rule and l1 + l2 + l3 even (O(3))."""
    return [
        (l1, l2, l3)
        for l1 in range(max_angular + 1)
        for l2 in range(max_angular + 1)
        for l3 in range(max_angular + 1)
        if triangle(l1, l2, l3) and (l1 + l2 + l3) % 2 == 0
    ]


def couple(a: np.ndarray, b: np.ndarray, cg: np.ndarray) -> np.ndarray:
    """``out[..., k] = sum_ij a[..., i] b[..., j] cg[i, j, k]`` as one matrix product."""
    i, j, k = cg.shape
    outer = a[..., :, None] * b[..., None, :]
    return outer.reshape(*outer.shape[:-2], i * j) @ cg.reshape(i * j, k)


class EquivariantMessagePassing(MessagePassing):
    r"""Tensor-product (TFN/NequIP/MACE-style) message passing with random weights.

    Node features are spherical tensors :math:`h^{(t)}_{i,c,l m}` for ``l = 0..max_angular`` and
    ``width`` channels ``c``; initially :math:`h^{(0)}_{i,c,00} = e_c(Z_i)` (random species
    embedding), higher ``l`` zero. Layer ``t`` (Thomas et al. arXiv:1802.08219; Batzner et al.
    Nat. Commun. 13, 2453 (2022); Batatia et al. NeurIPS 2022):

    .. math::

        A_{i,c,l_3 m_3} = \sum_{j} \sum_{(l_1 l_2 l_3)} R^{l_1 l_2 l_3}_{t,c}(d_{ij})
            \sum_{m_1 m_2} C^{l_1 l_2 l_3}_{m_1 m_2 m_3}\, Y_{l_1 m_1}(\hat r_{ij})\,
            (h^{(t-1)}_j W^{l_2}_t)_{c, l_2 m_2},

    with a radial MLP :math:`R(d) = f_c(d)\,\mathrm{ssp}(g(d) P + p) Q` per path and channel,
    sphericart's real harmonics and the package's real Clebsch-Gordan tensors
    (:func:`completeness.descriptors.clebsch_gordan.real_clebsch_gordan`). MACE's product basis of
    correlation order :math:`\nu` (channel-wise, random path weights :math:`w`):

    .. math::

        B^{(1)} = A, \qquad B^{(k)}_{c, l_3} = \sum_{(l_1 l_2 l_3)} w^{(k)}_{c, l_1 l_2 l_3}\,
            (B^{(k-1)}_{c, l_1} \otimes A_{c, l_2})_{l_3}, \qquad
        M_{c,l} = \sum_{k=1}^{\nu} B^{(k)}_{c,l},

    and the gated update (NequIP) :math:`h^{(t)}_{l} = h^{(t-1)}_{l} + \sigma(M_0 G^l_t + g^l_t)
    \odot M_l X^l_t` for ``l > 0`` (:math:`\sigma` the logistic function, one gate per channel),
    :math:`h^{(t)}_0 = h^{(t-1)}_0 + \mathrm{ssp}(M_0 X^0_t + x_t) Z_t`. Only couplings with
    ``l1 + l2 + l3`` even are kept, so the scalar read-out :math:`h^{(T)}_{i,c,00}` (``width``
    numbers per seed) is O(3)-invariant.

    Continuity where two atoms meet: as in the published architectures, the edge harmonics
    :math:`Y_{l m}(\hat r_{ij})` of ``l > 0`` are weighted by a radial function that does not
    vanish at :math:`d_{ij} = 0` (the cutoff function is 1 there), so the message along an edge
    between two neighbours that approach each other depends on the direction from which they
    meet: the features jump (by about 1e-3 relative with the audit's defaults) and their
    gradients grow as :math:`1/d_{ij}`. The report card's continuity criterion finds and reports
    it; physical structures keep atoms apart.

    Parameters
    ----------
    cutoff : float
        Radius of the graph in Å.
    n_layers : int
        Number of interaction layers.
    max_angular : int
        Largest ``l`` of the node features and of the edge harmonics.
    correlation_order : int
        ``nu``: highest order of the products of aggregated messages per layer (MACE: 3).
    width : int
        Channels per ``l``.
    n_radial : int
        Gaussians of the distance expansion fed to the radial MLP.
    cutoff_width : float
        Width (Å) of the shifted-cosine switching region.
    seeds : list of int
        Weight seeds of the family; features are concatenated over seeds.
    species : None or list of int
    """

    def __init__(
        self,
        *,
        cutoff=5.0,
        n_layers=2,
        max_angular=2,
        correlation_order=3,
        width=8,
        n_radial=8,
        cutoff_width=0.5,
        seeds=(0, 1, 2),
        species=None,
    ):
        self.cutoff = cutoff
        self.n_layers = n_layers
        self.max_angular = max_angular
        self.correlation_order = correlation_order
        self.width = width
        self.n_radial = n_radial
        self.cutoff_width = cutoff_width
        self.seeds = seeds
        self.species = species

    @property
    def body_order(self):
        """``correlation_order + 1`` with one layer; None with more (see module doc)."""
        return int(self.correlation_order) + 1 if self.n_layers == 1 else None

    hyper_constraints = declare(max_angular=Integer(0), correlation_order=Integer(1))

    has_gradients = True

    def equivariant_features(self, atoms, centre: int = 0) -> list[np.ndarray]:
        """Every feature of atom ``centre`` of ``atoms`` after the last layer, for the first
        weight seed: a list over ``l`` of ``(width, 2 l + 1)`` arrays, which rotate with the
        structure as the real spherical harmonics of degree ``l`` (the read-out keeps only
        ``l = 0``)."""
        self.check_hypers()
        (atoms,) = check_systems(atoms)
        graph = NeighbourGraph([atoms], float(self.cutoff))
        graph.prune(np.array([centre]), int(self.n_layers))
        channels = self._node_outputs(graph, weight_seeds(self.seeds)[0], equivariant=True)
        return [h[centre] for h in channels]

    def _node_outputs(
        self, graph: NeighbourGraph, seed: int, tangents=None, equivariant: bool = False
    ):
        """Scalar node outputs ``(n_nodes, width)``; with ``tangents`` (``d d_e / d x``, from
        :meth:`NeighbourGraph.distance_tangents`) also their derivatives ``(D, n_nodes, width)``;
        with ``equivariant`` (no tangents) every node feature after the last layer instead, a
        list over ``l`` of ``(n_nodes, width, 2 l + 1)`` arrays (the l-channels).
        """
        h, th = _ForwardPass(self, graph, tangents).run(seed)
        if th is not None:
            return h[0][:, :, 0], th[0][..., 0]
        return h if equivariant else h[0][:, :, 0]


class _ForwardPass:
    """One evaluation of an :class:`EquivariantMessagePassing` on a graph: the quantities shared
    by every layer and seed, and the three steps of a layer (edge messages, MACE's product
    basis, NequIP's gated update).

    Node features ``h`` are lists over ``l`` of ``(n_nodes, width, 2l + 1)`` arrays. With
    ``tangents`` every quantity ``x`` has a tangent ``tx`` with a leading axis ``D`` (the
    ``3 n_atoms`` coordinates) that follows it by the chain rule; without, tangents are None.
    The weights of layer ``t`` come from one generator seeded ``(seed, t, 2)``, drawn in a fixed
    order: radial MLP, channel mixing, product-basis path weights, then the update.
    """

    def __init__(self, network: EquivariantMessagePassing, graph: NeighbourGraph, tangents):
        self.graph = graph
        self.n_layers = int(network.n_layers)
        self.width, self.n_radial = int(network.width), int(network.n_radial)
        self.max_angular, self.nu = int(network.max_angular), int(network.correlation_order)
        self.paths = even_paths(self.max_angular)
        self.cg = {path: real_clebsch_gordan(*path) for path in self.paths}
        self.tangents = tangents
        self.grad = tangents is not None
        self.ls = range(self.max_angular + 1)
        if self.grad:
            self.harmonics, self.tharmonics = edge_harmonics(graph, self.max_angular, tangents=True)
        else:
            self.harmonics = edge_harmonics(graph, self.max_angular)
        self.radial = edge_radial(
            graph, float(network.cutoff), self.n_radial, float(network.cutoff_width)
        )

    def run(self, seed: int):
        """Node features after the last layer, and their tangents (None without)."""
        graph, width = self.graph, self.width
        h = [np.zeros((graph.n_nodes, width, 2 * l + 1)) for l in self.ls]
        h[0][:, :, 0] = embedding(seed, graph.node_species, width)
        th = [np.zeros((len(self.tangents), *x.shape)) for x in h] if self.grad else None
        for layer in range(self.n_layers):
            rng = np.random.default_rng([seed, layer, 2])
            edge, tedge = self.edge_messages(layer, rng, h, th)
            # node-wise work only on the nodes this layer updates (see NeighbourGraph.prune)
            nodes = graph.layer_nodes[layer]
            a = [graph.sum_into_receivers(e, layer=layer)[nodes] for e in edge]
            ta = None
            if self.grad:
                ta = [graph.sum_tangents_into_receivers(t, layer)[:, nodes] for t in tedge]
            total, ttotal = self.product_basis(a, ta, rng)
            new, tnew = self.gated_update(h, th, nodes, total, ttotal, rng)
            # nodes outside this layer's set keep stale values that are never read
            for l in self.ls:
                h[l] = h[l].copy()
                h[l][nodes] = new[l]
                if self.grad:
                    th[l] = th[l].copy()
                    th[l][:, nodes] = tnew[l]
        return h, th

    def edge_messages(self, layer: int, rng, h, th):
        """Per ``l3``, the messages ``R(d) (Y_l1 (x) h_l2 W)_l3`` of the layer's edges."""
        graph, width, paths = self.graph, self.width, self.paths
        basis, dbasis, fc, dfc = self.radial
        p, p0 = dense_layer(rng, self.n_radial, width)
        q, _ = dense_layer(rng, width, len(paths) * width)
        edges = graph.layer_edges[layer]
        n_edges = len(edges)
        inner = basis[edges] @ p + p0
        raw = shifted_softplus(inner) @ q
        radial = (fc[edges, None] * raw).reshape(n_edges, len(paths), width)
        tradial = None
        if self.grad:
            draw = (expit(inner) * (dbasis[edges] @ p)) @ q
            dradial = dfc[edges, None] * raw + fc[edges, None] * draw
            dradial = dradial.reshape(n_edges, len(paths), width)
            tradial = self.tangents[:, edges, None, None] * dradial[None]
        senders = graph.senders[edges]
        mixing = [dense_layer(rng, width, width)[0] for _ in self.ls]
        mixed = [np.einsum("ncm,cd->ndm", h[l], mixing[l]) for l in self.ls]
        edge = [np.zeros((n_edges, width, 2 * l + 1)) for l in self.ls]
        tmixed = tedge = None
        if self.grad:
            tmixed = [np.einsum("sncm,cd->sndm", th[l], mixing[l]) for l in self.ls]
            tedge = [np.zeros((len(self.tangents), *x.shape)) for x in edge]
        for l2 in range(self.max_angular + 1 if layer > 0 else 1):
            # higher-l node features are zero before the first layer
            sender = mixed[l2][senders]  # (E, C, 2l2+1)
            # node features do not depend on positions before the first layer
            tsender = tmixed[l2][:, senders] if self.grad and layer > 0 else None
            for l1 in self.ls:
                group = [(k, path) for k, path in enumerate(paths) if path[:2] == (l1, l2)]
                if group:
                    self.add_couplings(edges, group, sender, tsender, radial, tradial, edge, tedge)
        return edge, tedge

    def add_couplings(self, edges, group, sender, tsender, radial, tradial, edge, tedge):
        """Add to ``edge[l3]`` the messages of the paths ``group`` (one ``(l1, l2)``, every
        ``l3``): ``Y_l1 (x) CG`` first, then one batched product with the senders' features."""
        l1 = group[0][1][0]
        stacked = np.concatenate([self.cg[path] for _, path in group], axis=2)
        i, j, n_out = stacked.shape
        flat_cg = stacked.reshape(i, j * n_out)
        kernel = (self.harmonics[l1][edges] @ flat_cg).reshape(len(edges), j, n_out)
        coupled = np.einsum("ecj,ejk->eck", sender, kernel)  # (E, C, sum 2l3+1)
        if self.grad:
            tkernel = self.tharmonics[l1][:, edges] @ flat_cg
            tkernel = tkernel.reshape(len(self.tangents), len(edges), j, n_out)
            tcoupled = np.einsum("ecj,sejk->seck", sender, tkernel)
            if tsender is not None:
                tcoupled += np.einsum("secj,ejk->seck", tsender, kernel)
        start = 0
        for k, (_, _, l3) in group:
            block = slice(start, start + 2 * l3 + 1)
            edge[l3] += radial[:, k, :, None] * coupled[:, :, block]
            if self.grad:
                tedge[l3] += (
                    tradial[:, :, k, :, None] * coupled[None, :, :, block]
                    + radial[None, :, k, :, None] * tcoupled[..., block]
                )
            start += 2 * l3 + 1

    def product_basis(self, a, ta, rng):
        """MACE's product basis: ``B^(1) = A``, ``B^(k) = sum_paths w (B^(k-1) (x) A)``, summed
        over ``k = 1..nu``."""
        total = [x.copy() for x in a]
        ttotal = [t.copy() for t in ta] if self.grad else None
        previous, tprevious = a, ta
        for _order in range(2, self.nu + 1):
            weights = rng.normal(size=(len(self.paths), self.width))
            current = [np.zeros_like(x) for x in a]
            tcurrent = [np.zeros_like(t) for t in ta] if self.grad else None
            for k, (l1, l2, l3) in enumerate(self.paths):
                cg = self.cg[(l1, l2, l3)]
                current[l3] += weights[k][None, :, None] * couple(previous[l1], a[l2], cg)
                if self.grad:
                    tcoupled = couple(tprevious[l1], a[l2][None], cg)
                    tcoupled += couple(previous[l1][None], ta[l2], cg)
                    tcurrent[l3] += weights[k][None, None, :, None] * tcoupled
            for l in self.ls:
                total[l] += current[l]
                if self.grad:
                    ttotal[l] += tcurrent[l]
            previous, tprevious = current, tcurrent
        return total, ttotal

    def gated_update(self, h, th, nodes, total, ttotal, rng):
        """The new features of ``nodes``: ``h_0 + ssp(M_0 X + x) Z`` for the scalars, NequIP's
        gate ``h_l + sigmoid(M_0 G + g) M_l X`` for ``l > 0``."""
        width = self.width
        x0, b0 = dense_layer(rng, width, width)
        z0, _ = dense_layer(rng, width, width)
        scalars = total[0][:, :, 0]
        hidden = scalars @ x0 + b0
        new = [h[0][nodes] + (shifted_softplus(hidden) @ z0)[:, :, None]]
        tnew = None
        if self.grad:
            tscalars = ttotal[0][..., 0]
            tnew = [th[0][:, nodes] + ((expit(hidden)[None] * (tscalars @ x0)) @ z0)[..., None]]
        for l in range(1, self.max_angular + 1):
            g, g0 = dense_layer(rng, width, width)
            gate = expit(scalars @ g + g0)
            matrix = dense_layer(rng, width, width)[0]
            update = np.einsum("ncm,cd->ndm", total[l], matrix)
            new.append(h[l][nodes] + gate[:, :, None] * update)
            if self.grad:
                tgate = (gate * (1.0 - gate))[None] * (tscalars @ g)
                tupdate = np.einsum("sncm,cd->sndm", ttotal[l], matrix)
                tnew.append(
                    th[l][:, nodes]
                    + tgate[..., None] * update[None]
                    + gate[None, :, :, None] * tupdate
                )
        return new, tnew

r"""Message-passing representations with random weights: what learned networks *can* see.

Two architectures of the field, as descriptors of the package (numpy only, no training):

* :class:`DistanceMessagePassing`: SchNet-style continuous-filter convolutions (K. T. Schütt,
  H. E. Sauceda, P.-J. Kindermans, A. Tkatchenko, K.-R. Müller, J. Chem. Phys. 148, 241722
  (2018), doi:10.1063/1.5019779). Only interatomic distances enter: a geometric 1-WL network.
* :class:`EquivariantMessagePassing`: tensor-product messages between spherical-tensor node
  features (tensor field networks, N. Thomas et al., arXiv:1802.08219; NequIP, S. Batzner et al.,
  Nat. Commun. 13, 2453 (2022), doi:10.1038/s41467-022-29939-5), with MACE's higher-order
  products of the aggregated messages (I. Batatia, D. P. Kovács, G. N. C. Simm, C. Ortner,
  G. Csányi, NeurIPS 2022, doi:10.48550/arXiv.2206.07697).

Message passing over whole systems
----------------------------------
A centre's output after ``n_layers`` interaction layers depends on every atom within
``n_layers`` hops of the radius graph (edges: pairs closer than ``cutoff``), not only on its own
neighbourhood. These classes therefore override :meth:`compute`: they build the radius graph of
each system with every atom as a node (:func:`completeness.environments.build_neighbourhoods`
with all centres), run the layers on every node of every system at once (one disconnected
graph), and read out the requested centres. :meth:`compute_neighbourhoods` is refused: a batch of
neighbourhoods does not hold the atoms beyond the centres' cutoff.

Random weights measure capacity
-------------------------------
Weights are drawn from ``np.random.default_rng`` seeded by ``(seed, layer, role)``, so a network
is a deterministic function of its hyperparameters. A trained network is one point of the
architecture's weight space; the structures that *every* point maps to the same output are those
the architecture cannot separate at all, whatever the training. Two structures that some weight
separates are separated by almost every weight (the outputs are analytic in the weights, and an
analytic function that is not identically zero vanishes only on a null set), so a few random
seeds decide the question: an architecture is **blind** to a pair when no seed separates it.
``seeds`` lists the members of the family; the features are the concatenation of the members'
read-outs (the audit's verdict on the concatenation is "resolved" as soon as one member resolves
the pair). This measures injectivity (capacity), not accuracy: a trained model may still fit a
target badly (or well) on pairs that random weights separate, and training cannot recover what
the architecture cannot see.

Body order and parity
---------------------
With one layer the distance network is a function of the centre's neighbour distances (body
order 2) and the equivariant one of its ``correlation_order``-point density correlations (body
order ``correlation_order + 1``); with more layers information arrives from beyond the cutoff and
no finite body order describes the centre's output (``body_order`` is then None: the audit
measures verdicts but predicts none). The equivariant network keeps only the couplings with
``l1 + l2 + l3`` even, so every order-``l`` feature has inversion parity ``(-1)^l`` and the
scalar read-out is O(3)-invariant: mirror images are degenerate for it (pseudotensor channels,
the odd couplings, would make it SO(3); not included).

Gradients
---------
Analytic, by forward-mode differentiation: every intermediate quantity carries its derivative
with respect to the ``3 n_atoms`` coordinates of its system (a leading axis of size ``D = 3
n_atoms``), starting from ``d d_e / d r_a = +-r_hat_e`` for the two atoms of edge ``e``, and the
chain rule through every layer. Done one system at a time (memory ``D x n_edges x width``);
checked against central differences in the tests. Classes with ``has_gradients = False``
raise :class:`InputError` for ``compute(..., gradients=True)``.
"""

from .distance import DistanceMessagePassing
from .graph import NeighbourGraph, shifted_softplus  # noqa: F401 (public names of the module before its split)
from .tensor_product import EquivariantMessagePassing

__all__ = ["DistanceMessagePassing", "EquivariantMessagePassing"]

r"""Bispectrum (nu = 3) and general nu-point density correlations by iterated CG coupling.

Both are rotational invariants of the spherical expansion :math:`c^a_{nlm}` of
:mod:`completeness.descriptors.spherical_expansion` (real harmonics in sphericart's convention),
coupled with the real Clebsch-Gordan tensors :math:`C^{l_1 l_2 \to l_3}_{m_1 m_2 m_3}` of
:mod:`completeness.descriptors.clebsch_gordan`.

Channels
    A channel is ``t = (l, a, n)`` (angular order, species index, radial index); channels are
    ordered lexicographically on ``(l, a, n)``. Inside a fixed ``l`` the channel index is
    ``k = a * n_radial + n``.

Bispectrum (nu = 3, body order 4; Bartók, Payne, Kondor, Csányi, PRL 104, 136403 (2010),
doi:10.1103/PhysRevLett.104.136403; SNAP-style real form: Willatt, Musil, Ceriotti, JCP 150,
154110 (2019), doi:10.1063/1.5090481)
    .. math::

        B_{t_1 t_2 t_3} = \sum_{m_1 m_2 m_3} C^{l_1 l_2 \to l_3}_{m_1 m_2 m_3}\,
            c_{t_1 m_1}\, c_{t_2 m_2}\, c_{t_3 m_3},
        \qquad t_1 \le t_2 \le t_3,\quad l_3 \le l_1 + l_2 .

    Selection rule: the invariant of :math:`V_{l_1} \otimes V_{l_2} \otimes V_{l_3}` is unique
    up to a factor, and exchanging two factors multiplies it by :math:`\pm 1`
    (:math:`(-1)^{l_1+l_2+l_3}`), so one sorted representative per multiset of channels is
    complete and free of duplicates. When :math:`l_1 + l_2 + l_3` is odd, a multiset with a
    repeated channel gives an identically zero invariant and is dropped. Even
    :math:`l_1+l_2+l_3` terms are O(3) invariants (default); odd ones are pseudoscalars
    (``include_pseudoscalar=True``): they flip sign under a mirror, and the descriptor's
    ``parity`` becomes ``"SO(3)"``, with :meth:`Bispectrum.feature_parity` giving ``+1``/``-1``.

Density correlations (any nu >= 1, body order nu + 1; Nigam, Pozdnyakov, Ceriotti, JCP 153,
121101 (2020), doi:10.1063/5.0021116 (NICE); Drautz, PRB 99, 014104 (2019),
doi:10.1103/PhysRevB.99.014104 (ACE))
    .. math::

        A^{(1)}_{\lambda_1 = l_1} = c_{t_1},\quad
        A^{(k)}_{\lambda_k} = \big(A^{(k-1)}_{\lambda_{k-1}} \otimes c_{t_k}\big)_{\lambda_k},
        \quad
        D_{t_1 \ldots t_\nu;\,\lambda_2 \ldots \lambda_{\nu-2}}
            = \sum_m A^{(\nu-1)}_{\lambda_{\nu-1} m}\, c_{t_\nu m},\ \lambda_{\nu-1} = l_\nu .

    Selection: sorted channels :math:`t_1 \le \dots \le t_\nu`; every intermediate
    :math:`\lambda_k` allowed by the triangle rule and able to reach the final contraction
    (:math:`\lambda_k \le (\nu - k)\,` ``max_angular``), optionally capped by
    ``max_intermediate_angular`` (None: no cap, so for each sorted channel tuple the
    intermediates span every invariant of :math:`\otimes_k V_{l_k}`, i.e. the selection is
    complete for polynomials of degree nu in the expansion coefficients). Dropped because
    identically zero: :math:`t_1 = t_2` with odd :math:`\lambda_2`, and
    :math:`t_{\nu-1} = t_\nu` with odd :math:`\lambda_{\nu-2}` (:math:`\nu \ge 3`). Linear
    relations between the remaining features are not removed (completeness before
    minimality). nu = 1 is the radial spectrum :math:`c_{a n 0 0}`, nu = 2 the unnormalised power
    spectrum :math:`\sum_m c_{t_1 m} c_{t_2 m}`, nu = 3 the bispectrum above (the same features
    and values, ordered by intermediate order instead of by l-triple). Parity of a feature:
    :math:`(-1)^{l_1 + \dots + l_\nu}`. Feature names spell the coupling path, e.g.
    ``(a6,n0,l1)[1](a6,n1,l2)[3](a6,n0,l3)``: channels ``(species, n, l)`` and, in brackets,
    the order of the intermediate result.

Gradients are analytic. The bispectrum's come from the three partial contractions
:math:`\partial B / \partial c_{t_j}` of each feature, which depend only on the two other
channels: they are projected once onto every pair's :math:`Y_{lm}` and :math:`\nabla Y_{lm}`
and combined with the pair's radial functions
(:mod:`~completeness.descriptors.correlations.bispectrum_gradients`).
DensityCorrelations uses the forward-mode chain rule through every coupling step: exact for
every nu (tested against finite differences up to nu = 4), with memory
``n_pairs * 3 * n_intermediate * (2 lambda + 1)`` doubles. One outer product per coupling
serves every intermediate order. nu = 4 (values and gradients) is instead computed as a dot
product of two coupled pairs, :math:`\sum_\mu A^{\lambda_2}_{t_1 t_2 \mu}
B^{\lambda_2}_{t_3 t_4 \mu}`, which never forms the third-order intermediates
(:mod:`~completeness.descriptors.correlations.nu4`; the same features, tested against the
general coupling). A species with no neighbour in the batch (carbon in the B8 structures, where
it is only the centre) makes every feature with one of its channels identically zero, values and
gradients: those features are not computed, only placed as zeros (at the B8 settings 7,831 of
111,394 features are computed). The output stays dense ``(pairs, 3, features)``.

Both are vectorised over samples, in chunks of samples that keep temporaries small. Their many
small GEMMs run best on one BLAS thread: the process-wide thread policy of
:mod:`completeness.threads` (applied by the command line and the worker processes) sees to it.
"""

from .bispectrum import Bispectrum
from .density import DensityCorrelations

__all__ = ["Bispectrum", "DensityCorrelations"]

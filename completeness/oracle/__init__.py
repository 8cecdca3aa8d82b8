"""Basis-free ground truth: k-body signatures, exact congruence, degeneracy order, certificates.

A descriptor of body order ``nu + 1`` (a ``nu``-point correlation of the neighbour density) can at
most see the multiset of ``(nu + 1)``-body clusters of an environment: the centre together with
``nu`` neighbours, repeats allowed. In the limit of a complete radial and angular basis it sees
exactly that (Pozdnyakov, Willatt, Bartok, Ortner, Csanyi, Ceriotti, "Incompleteness of atomic
structure representations", Phys. Rev. Lett. 125, 166001 (2020), doi:10.1103/PhysRevLett.125.166001;
Nigam, Pozdnyakov, Ceriotti, J. Chem. Phys. 153, 121101 (2020), doi:10.1063/5.0021116). This module
computes those multisets directly, without any basis, so that it can judge descriptors:

* :func:`signature` / :func:`signatures_equal`: the k-body signature of an environment

  .. math::

      S_k = \\{\\!\\{ (Z_0, Z_{j_1}, \\dots, Z_{j_{k-1}},\\; D(0, j_1, \\dots, j_{k-1}),
                     \\; [V_{abc}]) : (j_1, \\dots, j_{k-1}) \\in \\{1..n\\}^{k-1} \\}\\!\\}

  over *ordered* tuples of neighbours (repeats included), where ``D`` is the upper triangle of the
  distance matrix of the centre and the tuple's neighbours and, for the oriented (SO(3)) flavour,
  ``V_abc = r_a . (r_b x r_c)`` for every triple ``a < b < c`` of the tuple (6 times the signed
  volume of the tetrahedron it spans with the centre). The O(3) signature is invariant under
  rotations, reflections and permutations; the SO(3) one changes under a reflection of a chiral
  environment.
* :func:`congruent`: exact congruence of two environments (centre fixed) by pruned backtracking
  over species-preserving neighbour assignments followed by Kabsch alignment (W. Kabsch, Acta
  Cryst. A 32, 922 (1976), doi:10.1107/S0567739476001873), with and without reflection.
* :func:`degeneracy_order`: up to which body order two environments are indistinguishable.
* :func:`global_distances_equal`, :func:`wl_distinguishing_iteration`: whole point clouds
  (Pozdnyakov & Ceriotti, Mach. Learn.: Sci. Technol. 3, 045020 (2022),
  doi:10.1088/2632-2153/aca1f8; Joshi et al., ICML 2023, arXiv:2301.09308).
* :func:`certify_equal_signatures`, :func:`certify_different_signatures`: exact proofs with sympy
  for symbolic or rational coordinates.

Tolerance
---------
Floating-point signatures are compared with the tolerance ``DISTANCE_TOLERANCE + RELATIVE_TOLERANCE
* L`` (Å), ``L`` the largest centre-neighbour distance of the two environments. Why these numbers:

* round-off: coordinates carry a relative error of ~1e-16; a rotation plus a permutation changes
  a 5 Å distance by ~1e-14 Å, and ``RELATIVE_TOLERANCE = 1e-9`` keeps clusters of any size (even
  100 Å) far above that;
* stored structures: extended-XYZ files keep 8 decimals, i.e. distance errors ~1e-8 Å, which the
  absolute part ``DISTANCE_TOLERANCE = 1e-6`` Å (the package's coincidence threshold) tolerates;
* physics: thermal vibrations are ~1e-2 Å and the smallest displacements studied in sensitivity
  scans (docs/science.md §3) start at 1e-8 Å only for *feature* differences, never for deciding
  whether two structures are the same: a 1e-4 Å displacement is 100 times the tolerance and is
  reported as different (tested).

At a stated resolution. A pair whose coordinates are known to ``resolution`` Å (each coordinate
within ``± resolution`` of the truth: float64 round-off for structures built in memory,
:func:`float64_resolution`; the written precision for structures read from files) is judged with
the tolerance :func:`tolerance_at` ``= RESOLUTION_FACTOR * resolution`` (8): a distance between
two atoms that each move by at most ``sqrt(3) resolution`` changes by at most ``2 sqrt(3)
resolution``, and two members carry independent errors, ``4 sqrt(3) = 6.9``; rounded up to 8.
"Equal at body order k" then means "equal within what the coordinates can tell". Signatures that
differ by less than ``MARGINAL_FACTOR`` (100) tolerances differ by an amount comparable to the
resolution: the verdicts (:mod:`completeness.analysis.distance`) expect neither degeneracy nor
resolution there, for the same factor of 100 separates their "degenerate" and "resolved"
margins.

Signed volumes (Å^3) are compared with ``3 max(L, 1 Å)^2`` times the distance tolerance: that is
how much a triple product of vectors of length <= L changes when each vector moves by the
tolerance.

Multisets are compared robustly: an exact per-column test (sorting a single column commutes with
perturbations smaller than the tolerance) rejects most different pairs quickly; then both multisets
are sorted lexicographically on values rounded to a grid of 4 tolerances and compared
elementwise; if that fails (round-off can swap near-equal rows across a grid boundary) the answer is
decided exactly by a maximum bipartite matching between rows that agree within the tolerance in
every column (KD-tree in the Chebyshev metric, scipy's Hopcroft-Karp).

The package is split by concept: :mod:`.tolerance` (the numbers above and the tolerant comparison
of multisets), :mod:`.signatures`, :mod:`.congruence` (with the degeneracy order),
:mod:`.clouds` (whole point clouds) and :mod:`.certificates`. Its floor (docs/architecture.md) is
above :mod:`completeness.environments` and :mod:`completeness.numerics`, below the structures and
descriptors.
"""

from .certificates import Certificate, certify_different_signatures, certify_equal_signatures
from .clouds import global_distances_equal, wl_distinguishing_iteration
from .congruence import Congruence, DegeneracyOrder, congruent, degeneracy_order
from .signatures import signature, signature_columns, signatures_equal
from .tolerance import (
    DISTANCE_TOLERANCE,
    MARGINAL_FACTOR,
    RELATIVE_TOLERANCE,
    RESOLUTION_FACTOR,
    float64_resolution,
    tolerance_at,
)

__all__ = [
    "DISTANCE_TOLERANCE",
    "MARGINAL_FACTOR",
    "RELATIVE_TOLERANCE",
    "RESOLUTION_FACTOR",
    "Certificate",
    "Congruence",
    "DegeneracyOrder",
    "certify_different_signatures",
    "certify_equal_signatures",
    "congruent",
    "degeneracy_order",
    "float64_resolution",
    "global_distances_equal",
    "signature",
    "signature_columns",
    "signatures_equal",
    "tolerance_at",
    "wl_distinguishing_iteration",
]

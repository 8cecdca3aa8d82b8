r"""Spherical expansion of the neighbour density, with species channels and pair gradients.

For a centre :math:`i` and each species :math:`a` of the ``species`` list,

.. math::

    c^a_{nlm}(i) = \sum_{j \ne i,\ a_j = a,\ r_{ij} < r_c}
        f_c(r_{ij})\, I_{nl}(r_{ij})\, Y_{lm}(\hat r_{ij}),

the density expansion of SOAP (Bartók, Kondor, Csányi, PRB 87, 184115 (2013),
doi:10.1103/PhysRevB.87.184115) and of the atomic cluster expansion. :math:`Y_{lm}` are
sphericart's real spherical harmonics (orthonormal on the unit sphere, order ``m = -l..l``, the
standard real combination of the Condon–Shortley complex harmonics:
:math:`Y_{l,m>0} = \sqrt2 (-1)^m \mathrm{Re}\, Y_l^m`, :math:`Y_{l,0} = Y_l^0`,
:math:`Y_{l,m<0} = \sqrt2 (-1)^m \mathrm{Im}\, Y_l^{|m|}`; pinned by a test against scipy).
:math:`I_{nl}` and :math:`f_c` are described in :mod:`completeness.descriptors.radial_basis`.
With ``radial_basis="gto"`` the coefficients equal featomic's ``SphericalExpansion`` with
``density={"type": "Gaussian", "width": density_width, "center_atom_weight": 0}``, ``Gto`` radial
basis with ``max_radial = n_radial - 1`` and a ``ShiftedCosine`` smoothing (tested to 1e-7).
The centre atom's own density is **not** included (it would only add a constant to
``c^{a_i}_{n00}``); periodic images of the centre are ordinary neighbours.

Everything is vectorised over all pairs of the batch; pairs are summed into their
(sample, species) channel with ``np.add.reduceat`` over sorted segments.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ..environments import InputError, Neighbourhoods
from ..environments.checks import MAX_ATOMIC_NUMBER
from ._kernels import radial_with_cutoff, use_compiled
from .harmonics import spherical_harmonics
from .hypers import Choice, Integer, Real, check_cutoff_width, check_value, declare
from .radial_basis import RADIAL_BASES, radial_spline, shifted_cosine_cutoff

__all__ = ["Expansion", "ExpansionHypers", "SphericalExpansion", "check_expansion_hypers"]


@dataclass(frozen=True, eq=False)
class Expansion:
    """Output of :meth:`SphericalExpansion.compute`.

    Attributes
    ----------
    coefficients : list over l of (n_samples, n_species, n_radial, 2l+1) float arrays
        ``coefficients[l][s, a, n, l + m] = c^a_{nlm}`` of sample ``s``.
    pair_gradients : None, or list over l of (n_pairs, 3, n_radial, 2l+1) float arrays
        ``d c^{a_p}_{nlm}(sample of p) / d r_p`` (``r_p`` the pair vector, ``a_p`` its species);
        the other species channels do not depend on ``r_p``.
    pair_species_index : (n_pairs,) int array
        Index in ``species`` of each pair's neighbour species.
    species : (n_species,) int array
        The species channels (atomic numbers).
    """

    coefficients: list
    pair_gradients: list | None
    pair_species_index: np.ndarray
    species: np.ndarray


#: The valid values of the expansion hyperparameters (declared once: :class:`ExpansionHypers`
#: and :class:`SphericalExpansion` both check them).
EXPANSION_CONSTRAINTS = declare(
    cutoff=Real(0, low_open=True, unit="Å"),
    n_radial=Integer(1, 30),
    max_angular=Integer(0, 30),
    density_width=Real(0, low_open=True, unit="Å"),
    radial_basis=Choice(RADIAL_BASES),
    cutoff_width=Real(0, unit="Å"),
)


def check_expansion_hypers(
    cutoff, n_radial, max_angular, density_width, radial_basis, cutoff_width
) -> tuple:
    """Validate the expansion hyperparameters; return them normalised as a tuple.

    Raises :class:`InputError` naming the valid range. Valid hashable inputs are remembered
    (by value and type, so ``True`` is not taken for ``1``): every compute call checks them.
    """
    arguments = (cutoff, n_radial, max_angular, density_width, radial_basis, cutoff_width)
    try:
        return _checked_expansion_hypers(*arguments)
    except TypeError:  # an unhashable argument (a list, say): check it without the cache
        return _check_expansion_hypers(*arguments)


def _check_expansion_hypers(
    cutoff, n_radial, max_angular, density_width, radial_basis, cutoff_width
) -> tuple:
    given = {
        "cutoff": cutoff,
        "n_radial": n_radial,
        "max_angular": max_angular,
        "density_width": density_width,
        "radial_basis": radial_basis,
        "cutoff_width": cutoff_width,
    }
    for name, constraint in EXPANSION_CONSTRAINTS.items():
        check_value("SphericalExpansion", name, constraint, given[name])
    check_cutoff_width("SphericalExpansion", cutoff, cutoff_width)
    # unused by delta-density bases: keep the spline cache key stable
    density = float(density_width) if radial_basis == "gto" else 0.0
    return (
        float(cutoff),
        int(n_radial),
        int(max_angular),
        density,
        radial_basis,
        float(cutoff_width),
    )


_checked_expansion_hypers = functools.lru_cache(maxsize=256, typed=True)(_check_expansion_hypers)


@dataclass(frozen=True, eq=False)
class _PairTerms:
    """Per-pair ingredients: R (P, n, L), dR/dr (P, n, L), Y (P, L^2), dY/dr_vec (P, 3, L^2),
    unit vectors (P, 3); the derivatives and unit vectors only with gradients (None without)."""

    radial: np.ndarray
    radial_derivative: np.ndarray | None
    harmonics: np.ndarray
    harmonics_gradient: np.ndarray | None
    directions: np.ndarray


class SphericalExpansion:
    """Density expansion ``c^a_{nlm}`` of every centre; see the module docstring.

    Parameters
    ----------
    cutoff : float
        Cutoff radius in Å.
    n_radial : int
        Number of radial functions (``n = 0 .. n_radial - 1``).
    max_angular : int
        Largest angular channel ``l``.
    density_width : float
        Width ``sigma`` (Å) of the Gaussian atomic density (``radial_basis="gto"`` only).
    radial_basis : {"gto", "spherical_bessel"}
    cutoff_width : float
        Width (Å) of the shifted-cosine switching region ending at ``cutoff``.
    """

    def __init__(
        self,
        cutoff,
        n_radial,
        max_angular,
        density_width=0.3,
        radial_basis="gto",
        cutoff_width=0.5,
    ):
        self.cutoff = cutoff
        self.n_radial = n_radial
        self.max_angular = max_angular
        self.density_width = density_width
        self.radial_basis = radial_basis
        self.cutoff_width = cutoff_width

    def __repr__(self) -> str:
        return (
            f"SphericalExpansion(cutoff={self.cutoff!r}, n_radial={self.n_radial!r}, "
            f"max_angular={self.max_angular!r}, density_width={self.density_width!r}, "
            f"radial_basis={self.radial_basis!r}, cutoff_width={self.cutoff_width!r})"
        )

    def check(self) -> tuple:
        """Validate the hyperparameters (raises :class:`InputError`); return them normalised."""
        return check_expansion_hypers(
            self.cutoff,
            self.n_radial,
            self.max_angular,
            self.density_width,
            self.radial_basis,
            self.cutoff_width,
        )

    # ---- building blocks shared with the invariant descriptors --------------------------------

    def _pair_terms(self, neighbourhoods: Neighbourhoods, gradients: bool) -> _PairTerms:
        cutoff, n_radial, max_angular, density, basis, width = self.check()
        spline = radial_spline(basis, cutoff, n_radial, max_angular, density)
        distances = neighbourhoods.pair_distances
        vectors = neighbourhoods.pair_vectors
        compiled = use_compiled(len(distances), spline.coefficients.shape[2])
        # (the compiled kernel takes both arrays, used or not)
        fc, dfc = shifted_cosine_cutoff(distances, cutoff, width, derivative=gradients or compiled)
        if compiled:  # f_c R (and f_c R' + f_c' R) in one pass
            radial, dradial = radial_with_cutoff(spline, distances, fc, dfc, gradients)
        else:
            radial, dradial = spline(distances, derivatives=gradients)
        directions = None
        if gradients:
            directions = vectors / distances[:, None] if len(distances) else np.zeros((0, 3))
            y, dy = spherical_harmonics(vectors, max_angular, gradients=True)
            if not compiled:
                dradial = dradial * fc[:, None, None] + radial * dfc[:, None, None]
        else:
            y, dy, dradial = spherical_harmonics(vectors, max_angular), None, None
        if not compiled:
            radial = radial * fc[:, None, None]
        return _PairTerms(radial, dradial, y, dy, directions)

    def dense(self, neighbourhoods: Neighbourhoods, species, gradients: bool):
        """The coefficients as one dense array, with what the invariants' gradients need.

        Returns ``(c, species_index, terms, l_of_lm)``: ``c`` (n_samples, n_species, n_radial,
        (L+1)^2), the species index of each pair (P,), the per-pair radial functions and
        harmonics (with their derivatives when ``gradients``) and the ``l`` of each ``lm``
        column. The invariant descriptors (:mod:`~completeness.descriptors.spectra`,
        :mod:`~completeness.descriptors.correlations`) build on it.

        The sum over the pairs of each (sample, species) channel is a batched matrix product
        per ``l``: ``c_l[k] = R_l[k]^T Y_l[k]`` with the pairs of channel ``k`` stacked (padded
        with zeros to the largest channel).
        """
        _, n_radial, max_angular, *_ = self.check()
        species = np.asarray(species, dtype=np.int64)
        terms = self._pair_terms(neighbourhoods, gradients)
        n_lm = (max_angular + 1) ** 2
        l_of_lm = _l_of_lm(max_angular)
        n_samples, n_species = neighbourhoods.n_samples, len(species)
        lookup = _species_lookup(species.tobytes())
        species_index = lookup.take(neighbourhoods.pair_species, mode="clip")
        if neighbourhoods.n_pairs and np.minimum.reduce(species_index) < 0:
            raise InputError(
                f"the neighbours contain species not in species={species.tolist()}; add them"
            )
        n_keys = n_samples * n_species
        if not neighbourhoods.n_pairs:
            dense = np.zeros((n_samples, n_species, n_radial, n_lm))
            return dense, species_index, terms, l_of_lm
        key = neighbourhoods.pair_sample  # (one species: the sample is the key)
        order = None
        if n_species > 1:
            key = key * n_species + species_index
            order = np.argsort(key, kind="stable")
            key = key[order]
        radial = terms.radial if order is None else terms.radial[order]
        harmonics = terms.harmonics if order is None else terms.harmonics[order]
        width, position = segment_padding(key, n_keys)
        radial_padded = pad_segments(radial, key, position, n_keys, width)  # (k, W, n, L)
        harmonics_padded = pad_segments(harmonics, key, position, n_keys, width)  # (k, W, lm)
        n_angular = max_angular + 1
        if n_keys * n_radial * n_angular * n_lm <= FUSED_EXPANSION_ENTRIES:
            # small batches: every l in one product (k, n L, W) x (k, W, lm), of which the
            # blocks l = l(lm) are kept: L times the arithmetic, one call instead of L
            full = np.matmul(
                radial_padded.reshape(n_keys, width, n_radial * n_angular).transpose(0, 2, 1),
                harmonics_padded,
            ).reshape(n_keys, n_radial, n_angular * n_lm)
            dense = full[:, :, _diagonal_blocks(max_angular)]  # (l(lm), lm) of every lm
        else:
            dense = np.empty((n_keys, n_radial, n_lm))
            for l in range(n_angular):
                block = slice(l * l, (l + 1) ** 2)
                dense[:, :, block] = np.matmul(
                    radial_padded[..., l].transpose(0, 2, 1), harmonics_padded[:, :, block]
                )
        dense = dense.reshape(n_samples, n_species, n_radial, n_lm)
        return dense, species_index, terms, l_of_lm

    # ---- public API -------------------------------------------------------------------------

    def compute(self, neighbourhoods: Neighbourhoods, species, gradients: bool = False):
        """Expansion coefficients (and per-pair gradients) of every sample of the batch.

        Parameters
        ----------
        neighbourhoods : Neighbourhoods
            Built with a cutoff >= this expansion's cutoff (pairs beyond it contribute zero).
        species : sequence of int
            Sorted atomic numbers of the species channels; must contain every neighbour species.
        gradients : bool
            Also return ``d c / d r_p`` for every pair.

        Returns
        -------
        Expansion
        """
        max_angular = self.check()[2]
        species = np.asarray(species, dtype=np.int64).reshape(-1)
        if np.any(np.diff(species) <= 0):
            raise InputError(
                f"species must be sorted unique atomic numbers, got {species.tolist()}; "
                "pass np.unique(...)"
            )
        dense, species_index, terms, l_of_lm = self.dense(neighbourhoods, species, gradients)
        blocks = [slice(l * l, (l + 1) ** 2) for l in range(max_angular + 1)]
        coefficients = [np.ascontiguousarray(dense[..., block]) for block in blocks]
        pair_gradients = None
        if gradients:
            # d/dr_vec [R(r) Y(r^)] = R'(r) r^ Y + R grad Y
            radial = terms.radial[:, :, l_of_lm]
            dradial = terms.radial_derivative[:, :, l_of_lm]
            full = (
                terms.directions[:, :, None, None]
                * (dradial * terms.harmonics[:, None, :])[:, None, :, :]
                + radial[:, None, :, :] * terms.harmonics_gradient[:, :, None, :]
            )
            pair_gradients = [np.ascontiguousarray(full[..., block]) for block in blocks]
        return Expansion(
            coefficients=coefficients,
            pair_gradients=pair_gradients,
            pair_species_index=species_index,
            species=species,
        )


class ExpansionHypers:
    """Mixin for descriptors built on one :class:`SphericalExpansion`.

    The descriptor stores ``cutoff``, ``n_radial``, ``density_width``, ``radial_basis``,
    ``cutoff_width`` (and ``max_angular``, unless it overrides :attr:`expansion_max_angular`); the
    mixin builds the expansion from them and declares their valid values. A mixin, not a
    Descriptor subclass, so that it is not registered as a descriptor.
    """

    hyper_constraints = EXPANSION_CONSTRAINTS

    @property
    def expansion_max_angular(self):
        return self.max_angular

    def _expansion(self) -> SphericalExpansion:
        return SphericalExpansion(
            cutoff=self.cutoff,
            n_radial=self.n_radial,
            max_angular=self.expansion_max_angular,
            density_width=self.density_width,
            radial_basis=self.radial_basis,
            cutoff_width=self.cutoff_width,
        )

    def _check_hyper_relations(self) -> None:
        check_cutoff_width(type(self).__name__, self.cutoff, self.cutoff_width)


#: Up to this many entries of the all-l product (keys x n_radial x (L+1) x (L+1)^2), the
#: expansion of a batch is one matrix product for every l (one environment: 2.7k entries)
#: instead of one per l; measured break-even on 2 cores near 1.7e5 (64 keys of 12 pairs,
#: n_radial 8, max_angular 6).
FUSED_EXPANSION_ENTRIES = 2**16


@functools.lru_cache(maxsize=32)
def _l_of_lm(max_angular: int) -> np.ndarray:
    """``l`` of every column ``lm`` of the harmonics (read-only)."""
    l_of_lm = np.repeat(np.arange(max_angular + 1), 2 * np.arange(max_angular + 1) + 1)
    l_of_lm.flags.writeable = False
    return l_of_lm


@functools.lru_cache(maxsize=32)
def _diagonal_blocks(max_angular: int) -> np.ndarray:
    """Flat indices ``l(lm) (L+1)^2 + lm`` of an ``(l, lm)`` layout (read-only)."""
    n_lm = (max_angular + 1) ** 2
    indices = _l_of_lm(max_angular) * n_lm + np.arange(n_lm)
    indices.flags.writeable = False
    return indices


@functools.lru_cache(maxsize=64)
def _species_lookup(species_bytes: bytes) -> np.ndarray:
    """Index in the species channels of every atomic number 0..118, and -1 for the others, up
    to a last entry -1 that catches anything larger (look up with ``mode="clip"``)."""
    lookup = np.full(MAX_ATOMIC_NUMBER + 2, -1, dtype=np.int64)
    for index, number in enumerate(np.frombuffer(species_bytes, dtype=np.int64)):
        if 0 < number <= MAX_ATOMIC_NUMBER:
            lookup[number] = index
    lookup.flags.writeable = False
    return lookup


def segment_padding(key, n_keys):
    """``(width, position)`` to lay sorted segments ``key`` out as rows padded to ``width``."""
    if n_keys == 1:  # one segment: the rows in order
        return len(key), np.arange(len(key))
    counts = np.bincount(key, minlength=n_keys)
    width = int(counts.max()) if len(key) else 0
    starts = np.cumsum(counts) - counts
    position = np.arange(len(key)) - starts[key]
    return width, position


def pad_segments(array, key, position, n_keys, width):
    """Scatter per-pair rows into ``(n_keys, width, ...)`` (a free reshape when already full)."""
    if len(array) == n_keys * width:
        return array.reshape(n_keys, width, *array.shape[1:])
    out = np.zeros((n_keys, width, *array.shape[1:]), dtype=array.dtype)
    out[key, position] = array
    return out


def unpad_segments(padded, key, position, n_pairs):
    """Inverse of :func:`pad_segments`."""
    if padded.shape[0] * padded.shape[1] == n_pairs:
        return padded.reshape(n_pairs, *padded.shape[2:])
    return padded[key, position]

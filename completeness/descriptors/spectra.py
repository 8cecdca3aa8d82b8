r"""Radial spectrum (nu = 1, body order 2) and power spectrum (nu = 2, body order 3).

Both are invariants of the spherical expansion :math:`c^a_{nlm}` of
:mod:`completeness.descriptors.spherical_expansion` (SOAP: Bartók, Kondor, Csányi, PRB 87,
184115 (2013), doi:10.1103/PhysRevB.87.184115; as density correlations: Willatt, Musil, Ceriotti,
JCP 150, 154110 (2019), doi:10.1063/1.5090481).

Radial spectrum
    :math:`r_{an} = c^a_{n00}`: the neighbour-density radial distribution (body order 2).

Power spectrum
    .. math::

        p_{an,\,bn',\,l} = \frac{w_{an,bn'}}{\sqrt{2l+1}} \sum_{m=-l}^{l} c^a_{nlm} c^b_{n'lm},
        \qquad w = 1 \text{ if } (a,n) = (b,n'),\ \sqrt 2 \text{ otherwise},

    kept only for :math:`(a, n) \le (b, n')` (lexicographic on (species index, n)): the matrix
    is symmetric, and the :math:`\sqrt 2` makes the Euclidean norm (hence every dot-product
    kernel) of the half vector equal to that of the full symmetric matrix. The
    :math:`1/\sqrt{2l+1}` is featomic's normalisation. featomic's ``SoapPowerSpectrum`` (with
    ``center_atom_weight=0``) equals ``(-1)^l p`` for pairs of different species and
    ``(-1)^l p / sqrt(2)`` for ``n != n'`` of one species, where it keeps both orders (tested).
    The power spectrum is invariant under O(3) (mirror included: a reflection multiplies
    :math:`c_{nlm}` by a real orthogonal matrix within each l, and the sum over m is the
    invariant dot product).

Features are ordered by ``l`` (outermost), then by the pair of channels ``(a n) <= (b n')``
in row-major upper-triangle order. Names read ``"a{a}_n{n}_b{b}_n{n'}_l{l}"`` (atomic numbers).

Gradients are analytic: with :math:`c_{nlm} = \sum_p R_{nl}(r_p) Y_{lm}(\hat r_p)`,

.. math::

    \frac{\partial}{\partial \mathbf r_p} \sum_m c^a_{nlm} c^b_{n'lm}
      = \delta_{a a_p} \big[R'_{nl} \hat{\mathbf r}_p\, u^b_{n'l} + R_{nl}\, \mathbf v^b_{n'l}\big]
      + (a n \leftrightarrow b n'),

with :math:`u^b_{n'l} = \sum_m Y_{lm}(\hat r_p) c^b_{n'lm}` and
:math:`\mathbf v^b_{n'l} = \sum_m \nabla Y_{lm}(\hat r_p)\, c^b_{n'lm}`, so no per-pair
``(n, n', m)`` tensor is ever formed. With numba installed (``completeness[fast]``) and a
large batch, one compiled kernel writes each pair's ``(3, n_features)`` row directly, skips
the features without a channel of the pair's species and subtracts the row from its centre's
gradient while it is in cache (:mod:`completeness.descriptors._kernels`); the numpy code below
is the fallback, equal to 1e-14 (tested).
"""

from __future__ import annotations

import functools

import numpy as np

from ..environments import Neighbourhoods
from ._kernels import power_spectrum_pair_gradients, use_compiled
from .base import Descriptor
from .features import centre_gradients_from_pairs
from .spherical_expansion import ExpansionHypers, pad_segments, segment_padding, unpad_segments

__all__ = ["PowerSpectrum", "RadialSpectrum"]


class RadialSpectrum(ExpansionHypers, Descriptor):
    """Radial spectrum ``r_{an} = c^a_{n00}`` (nu = 1, body order 2); see the module docstring.

    Parameters
    ----------
    cutoff : float
        Cutoff radius in Å.
    n_radial : int
        Number of radial functions.
    density_width : float
        Width (Å) of the Gaussian atomic density (``radial_basis="gto"``).
    radial_basis : {"gto", "spherical_bessel"}
    cutoff_width : float
        Width (Å) of the shifted-cosine switching region ending at ``cutoff``.
    species : None or list of int
        Species channels; None uses the species present in each ``compute`` call.
    """

    body_order = 2
    parity = "O(3)"

    def __init__(
        self,
        *,
        cutoff=5.0,
        n_radial=8,
        density_width=0.3,
        radial_basis="gto",
        cutoff_width=0.5,
        species=None,
    ):
        self.cutoff = cutoff
        self.n_radial = n_radial
        self.density_width = density_width
        self.radial_basis = radial_basis
        self.cutoff_width = cutoff_width
        self.species = species

    expansion_max_angular = 0  # only l = 0 enters

    def _feature_names(self, species):
        return tuple(f"a{a}_n{n}" for a in species for n in range(int(self.n_radial)))

    def _compute(self, neighbourhoods: Neighbourhoods, species, gradients: bool):
        expansion = self._expansion()
        dense, species_index, terms, _ = expansion.dense(neighbourhoods, species, gradients)
        n_samples, n_species, n_radial, _ = dense.shape
        values = dense[..., 0].reshape(n_samples, n_species * n_radial)
        if not gradients:
            return values, None
        # d c^{a_p}_{n00} / d r_p = R'_n0 r^ Y_00 (Y_00 constant)
        n_pairs = neighbourhoods.n_pairs
        own = terms.radial_derivative[:, :, 0] * terms.harmonics[:, 0, None]  # (P, n) along r^
        pair_gradients = np.zeros((n_pairs, 3, n_species, n_radial))
        pair_gradients[np.arange(n_pairs), :, species_index, :] = (
            terms.directions[:, :, None] * own[:, None, :]
        )
        return values, pair_gradients.reshape(n_pairs, 3, n_species * n_radial)


class PowerSpectrum(ExpansionHypers, Descriptor):
    """SOAP power spectrum (nu = 2, body order 3); see the module docstring.

    Parameters
    ----------
    cutoff : float
        Cutoff radius in Å.
    n_radial : int
        Number of radial functions (``n_radial=8`` is featomic's ``max_radial=7`` and dscribe's
        ``n_max=8``).
    max_angular : int
        Largest angular channel ``l``.
    density_width : float
        Width (Å) of the Gaussian atomic density (``radial_basis="gto"``).
    radial_basis : {"gto", "spherical_bessel"}
    cutoff_width : float
        Width (Å) of the shifted-cosine switching region ending at ``cutoff``.
    species : None or list of int
        Species channels; None uses the species present in each ``compute`` call.
    """

    body_order = 3
    parity = "O(3)"

    def __init__(
        self,
        *,
        cutoff=5.0,
        n_radial=8,
        max_angular=6,
        density_width=0.3,
        radial_basis="gto",
        cutoff_width=0.5,
        species=None,
    ):
        self.cutoff = cutoff
        self.n_radial = n_radial
        self.max_angular = max_angular
        self.density_width = density_width
        self.radial_basis = radial_basis
        self.cutoff_width = cutoff_width
        self.species = species

    def _channel_pairs(self, n_species: int):
        return _channel_pairs(n_species * int(self.n_radial))

    def _feature_names(self, species):
        n_radial = int(self.n_radial)
        first, second, _ = self._channel_pairs(len(species))
        return tuple(
            f"a{species[i // n_radial]}_n{i % n_radial}_b{species[j // n_radial]}"
            f"_n{j % n_radial}_l{l}"
            for l in range(int(self.max_angular) + 1)
            for i, j in zip(first, second, strict=True)
        )

    def _compute(self, neighbourhoods: Neighbourhoods, species, gradients: bool):
        return self._spectrum(neighbourhoods, species, gradients, centres=False)[:2]

    def _compute_with_centres(self, neighbourhoods: Neighbourhoods, species, gradients: bool):
        values, pair_gradients, centre = self._spectrum(neighbourhoods, species, gradients, True)
        if pair_gradients is not None and centre is None:
            centre = centre_gradients_from_pairs(neighbourhoods, pair_gradients)
        return values, pair_gradients, centre

    def _spectrum(self, neighbourhoods: Neighbourhoods, species, gradients: bool, centres: bool):
        """``(values, pair gradients, centre gradients)``; the centre gradients come from the
        compiled kernel when it runs and ``centres`` asks for them, else None."""
        expansion = self._expansion()
        dense, species_index, terms, _ = expansion.dense(neighbourhoods, species, gradients)
        n_samples, n_species, n_radial, n_lm = dense.shape
        max_angular = int(self.max_angular)
        n_channels = n_species * n_radial
        channels = dense.reshape(n_samples, n_channels, n_lm)
        values = _power_spectrum_values(channels, max_angular)
        if not gradients:
            return values, None, None

        n_pairs = neighbourhoods.n_pairs
        if n_pairs == 0:
            return values, np.zeros((0, 3, values.shape[1])), None
        if use_compiled(n_pairs, values.shape[1]):
            compiled = power_spectrum_pair_gradients(
                channels,
                terms.harmonics,
                terms.harmonics_gradient,
                terms.radial,
                terms.radial_derivative,
                terms.directions,
                neighbourhoods.pair_sample,
                species_index,
                n_radial,
                max_angular,
                centres,
            )
            return (values, *compiled) if centres else (values, compiled, None)
        first, second, _ = _channel_pairs(n_channels)
        scale = _feature_scale(n_channels, max_angular)  # (L, K)
        pair_gradients = self._pair_gradients(
            neighbourhoods, channels, species_index, terms, first, second, scale
        )
        return values, pair_gradients, None

    def _pair_gradients(self, neighbourhoods, channels, species_index, terms, first, second, scale):
        """``d p / d r_p`` of every pair, ``(n_pairs, 3, n_features)`` (module docstring).

        Works on chunks of whole samples so that every intermediate stays in cache, with the pair
        axis innermost (long contiguous loops), and transposes each chunk once into the output.
        """
        n_samples = channels.shape[0]
        n_pairs = neighbourhoods.n_pairs
        offsets = neighbourhoods.pair_offsets
        out = np.empty((n_pairs, 3, (int(self.max_angular) + 1) * len(first)))
        chunk = max(1, _CHUNK_PAIRS * n_samples // max(n_pairs, 1))
        for s0 in range(0, n_samples, chunk):
            s1 = min(n_samples, s0 + chunk)
            p0, p1 = int(offsets[s0]), int(offsets[s1])
            if p1 > p0:
                out[p0:p1] = self._pair_gradients_chunk(
                    neighbourhoods, channels, species_index, terms, s0, s1, p0, p1, len(first)
                )
        return out

    def _pair_gradients_chunk(
        self, neighbourhoods, channels, species_index, terms, s0, s1, p0, p1, n_half
    ):
        n_radial = int(self.n_radial)
        n_angular = int(self.max_angular) + 1
        _, n_channels, n_lm = channels.shape
        n_species = n_channels // n_radial
        n_samples, n_pairs = s1 - s0, p1 - p0
        l_of_lm = np.repeat(np.arange(n_angular), 2 * np.arange(n_angular) + 1)
        # u[p, l, j] = sum_m Y_lm(p) c_{j lm}(s_p) and v[p, x, l, j] with grad Y, as one batched
        # product per sample against c laid out block-diagonally in l: (lm) x (l', j)
        expanded = np.zeros((n_samples, n_lm, n_angular, n_channels))
        expanded[:, np.arange(n_lm), l_of_lm, :] = channels[s0:s1].transpose(0, 2, 1)
        expanded *= (1.0 / np.sqrt(2 * np.arange(n_angular) + 1.0))[:, None]
        harmonics = np.concatenate(
            [terms.harmonics[p0:p1, None, :], terms.harmonics_gradient[p0:p1]], axis=1
        )
        sample = neighbourhoods.pair_sample[p0:p1] - s0
        width, position = segment_padding(sample, n_samples)
        padded = pad_segments(harmonics, sample, position, n_samples, width)  # (S, W, 4, lm)
        uv = np.matmul(
            padded.reshape(n_samples, width * 4, n_lm),
            expanded.reshape(n_samples, n_lm, n_angular * n_channels),
        ).reshape(n_samples, width, 4, n_angular, n_channels)
        uv = unpad_segments(uv, sample, position, n_pairs)  # (P, 4, L, Q), already / sqrt(2l+1)
        uv = np.ascontiguousarray(uv.transpose(1, 2, 3, 0))  # pair axis last: (4, L, Q, P)
        u, v = uv[0], uv[1:]
        # the pair's own radial functions, placed in its species' channels (zero elsewhere)
        radial = terms.radial[p0:p1].transpose(2, 1, 0)  # (L, n, P)
        dradial = terms.radial_derivative[p0:p1].transpose(2, 1, 0)
        if n_species == 1:
            radial, dradial = np.ascontiguousarray(radial), np.ascontiguousarray(dradial)
        else:
            own = species_index[p0:p1]
            pairs = np.arange(n_pairs)
            full = np.zeros((2, n_angular, n_species, n_radial, n_pairs))
            full[0][:, own, :, pairs] = radial.transpose(2, 0, 1)
            full[1][:, own, :, pairs] = dradial.transpose(2, 0, 1)
            radial = full[0].reshape(n_angular, n_channels, n_pairs)
            dradial = full[1].reshape(n_angular, n_channels, n_pairs)
        directions = np.ascontiguousarray(terms.directions[p0:p1].T)[:, None, None, :]
        # d/dr_p sum_m c_i c_j = r^ (R'_i u_j + R'_j u_i) + (R_i v_j + R_j v_i), built one row i
        # of the upper triangle at a time (columns j >= i are a contiguous run of features).
        # The sqrt(2) of off-diagonal features goes into the row factors and is undone on the
        # diagonal; 1/sqrt(2l+1) is already in u and v (each term has exactly one of them).
        if 3 * n_angular * n_channels**2 * n_pairs <= _SMALL_GRADIENT_ENTRIES:
            # small batches (one environment of manifold following, say): the full (i, j) grid
            # in a few array operations, then its upper triangle
            grid = radial[None, :, :, None, :] * v[:, :, None, :, :]  # R_i v_j
            grid += grid.transpose(0, 1, 3, 2, 4)
            along = dradial[:, :, None, :] * u[:, None, :, :]  # R'_i u_j
            along += along.transpose(0, 2, 1, 3)
            grid += directions[..., None, :] * along
            first, second, weights = _channel_pairs(n_channels)
            gradient = grid[:, :, first, second] * weights[:, None]
            return gradient.reshape(3, n_angular * n_half, n_pairs).transpose(2, 0, 1)
        root2 = np.sqrt(2.0)
        gradient = np.empty((3, n_angular, n_half, n_pairs))
        buffer = np.empty((3, n_angular, n_channels, n_pairs))
        along = np.empty((n_angular, n_channels, n_pairs))
        start = 0
        for i in range(n_channels):
            count = n_channels - i
            block = gradient[:, :, start : start + count]
            np.multiply(root2 * radial[None, :, i, None], v[:, :, i:], out=block)
            np.multiply(root2 * v[:, :, i, None], radial[None, :, i:], out=buffer[:, :, :count])
            block += buffer[:, :, :count]
            np.multiply(root2 * dradial[:, i, None], u[:, i:], out=along[:, :count])
            along[:, :count] += (root2 * u[:, i, None]) * dradial[:, i:]
            np.multiply(directions, along[None, :, :count], out=buffer[:, :, :count])
            block += buffer[:, :, :count]
            gradient[:, :, start] *= np.sqrt(0.5)
            start += count
        return gradient.reshape(3, n_angular * n_half, n_pairs).transpose(2, 0, 1)


def _power_spectrum_values(channels: np.ndarray, max_angular: int) -> np.ndarray:
    """``(n_samples, (L+1) n_half)`` power spectrum of ``channels`` ``(n_samples, Q, (L+1)^2)``."""
    n_samples, n_channels, _ = channels.shape
    first, second, _ = _channel_pairs(n_channels)
    scale = _feature_scale(n_channels, max_angular)  # (L, K)
    if n_samples <= _FEW_SAMPLES:
        # few samples (one environment, say): every l in one product, the channels laid out as
        # (l, Q, 2L+1) padded with zero columns (the same sums over m)
        into_by_l, upper = _few_samples_layout(n_channels, max_angular)
        n_angular = max_angular + 1
        by_l = np.zeros((n_samples, n_angular * n_channels * (2 * max_angular + 1)))
        by_l[:, into_by_l] = channels.reshape(n_samples, -1)
        by_l = by_l.reshape(n_samples, n_angular, n_channels, 2 * max_angular + 1)
        full = np.matmul(by_l, by_l.transpose(0, 1, 3, 2))  # (S, L, Q, Q)
        return full.reshape(n_samples, -1)[:, upper] * scale.reshape(-1)
    values = np.empty((n_samples, max_angular + 1, len(first)))
    for l in range(max_angular + 1):
        block = channels[:, :, l * l : (l + 1) ** 2]
        full = np.matmul(block, block.transpose(0, 2, 1))  # (S, Q, Q)
        values[:, l, :] = full[:, first, second] * scale[l]
    return values.reshape(n_samples, -1)


@functools.lru_cache(maxsize=32)
def _lm_layout(max_angular: int):
    """``(l, l + m)`` of every column ``lm`` of the harmonics (read-only arrays)."""
    l_of_lm = np.repeat(np.arange(max_angular + 1), 2 * np.arange(max_angular + 1) + 1)
    m_of_lm = np.arange((max_angular + 1) ** 2) - l_of_lm**2
    for array in (l_of_lm, m_of_lm):
        array.flags.writeable = False
    return l_of_lm, m_of_lm


@functools.lru_cache(maxsize=64)
def _few_samples_layout(n_channels: int, max_angular: int):
    """Flat indices (read-only) for the few-samples power spectrum: where each ``(j, lm)`` entry
    of the channels goes in the ``(l, j, l + m)`` layout, and the ``(l, i <= j)`` entries of the
    ``(l, i, j)`` products, in feature order."""
    l_of_lm, m_of_lm = _lm_layout(max_angular)
    n_angular, width = max_angular + 1, 2 * max_angular + 1
    channel = np.arange(n_channels)[:, None]
    into_by_l = ((l_of_lm * n_channels + channel) * width + m_of_lm).reshape(-1)
    first, second, _ = _channel_pairs(n_channels)
    l = np.arange(n_angular)[:, None]
    upper = ((l * n_channels + first) * n_channels + second).reshape(-1)
    for array in (into_by_l, upper):
        array.flags.writeable = False
    return into_by_l, upper


@functools.lru_cache(maxsize=64)
def _channel_pairs(n_channels: int):
    """``(first, second, weights)`` of the upper triangle ``first <= second`` (read-only)."""
    first, second = np.triu_indices(n_channels)
    weights = np.where(first == second, 1.0, np.sqrt(2.0))
    for array in (first, second, weights):
        array.flags.writeable = False
    return first, second, weights


@functools.lru_cache(maxsize=64)
def _feature_scale(n_channels: int, max_angular: int) -> np.ndarray:
    """``w_{ij} / sqrt(2l + 1)`` of every feature, ``(max_angular + 1, n_half)`` (read-only)."""
    weights = _channel_pairs(n_channels)[2]
    scale = weights[None, :] / np.sqrt(2 * np.arange(max_angular + 1) + 1.0)[:, None]
    scale.flags.writeable = False
    return scale


#: Below this many entries of the (3, l, i, j, pair) grid, the gradient is built on the full grid
#: (a few array operations) instead of row by row of the upper triangle (2 Q operations).
_SMALL_GRADIENT_ENTRIES = 2**16

#: Up to this many samples the power spectrum is one matrix product for every l.
_FEW_SAMPLES = 16

#: Pairs per chunk of the power-spectrum gradient (intermediates of a few MB stay in cache).
_CHUNK_PAIRS = 512

"""Local many-body tensor representation (LMBTR), k = 2 and k = 3, with exact gradients.

H. Huo, M. Rupp, Mach. Learn.: Sci. Technol. 3, 045017 (2022), doi:10.1088/2632-2153/aca005;
the local (atom-centred) version follows dscribe's ``LMBTR`` (the centre is a species of its own,
"X"; only terms that involve the centre are kept).

Each k-body term contributes a Gaussian of width ``sigma`` centred on its geometry value ``g``,
times a weight ``w``, to the distribution of its species channel. As in dscribe, the Gaussian is
evaluated on a grid ``x_m = min + m dx`` (``dx = (max - min) / (n - 1)``) as the bin average
``(Phi((x_m + dx/2 - g) / sigma) - Phi((x_m - dx/2 - g) / sigma)) / dx`` (``Phi`` the normal
CDF), which keeps the norm on coarse grids::

    k = 2:  channel (X, a):      sum_{j in a} w2(r_ij) B(g2(r_ij))
            g2 = r ("distance") or 1/r ("inverse_distance")
    k = 3:  channel (a, X, b):   sum_{j<k}    w3 B(g3(angle at the centre i))      a <= b
            channel (X, a, b):   sum_{j != k} w3 B(g3(angle at the neighbour j))   (j in a, k in b)
            g3 = cos(angle) ("cosine") or the angle in degrees ("angle")

Weights (all vanish smoothly when a neighbour leaves the cutoff, so features are continuous, and
so is their gradient; dscribe's local weights use a hard threshold instead)::

    "smooth_cutoff":  w2 = f(r_ij)                 w3 = f(r_ij) f(r_ik)
    "exponential":    w2 = exp(-s r_ij) f(r_ij)    w3 = exp(-s (r_ij + r_ik + r_jk)) f(r_ij) f(r_ik)

with dscribe's polynomial smooth cutoff ``f(r) = 1 + y (r/r_c)^(y+1) - (y+1) (r/r_c)^y``
(``y`` the ``cutoff_sharpness``; ``f(r_c) = f'(r_c) = 0``) and ``s`` the ``*_scale``.

Continuity where two neighbours meet: the angle at a neighbour ``j`` between the centre and a
neighbour ``k`` is undefined when ``k`` sits on ``j``, and its limit depends on the direction from
which ``k`` arrives. The k = 3 channels ``(X, a, b)`` therefore jump (by a few percent to more
than 100 % of the features, depending on the geometry) when two neighbours approach each other
from different directions, and their gradients grow as 1/r_jk. This is a property of the
published k = 3 definition (every angle of the triangle is a geometry value), kept here for
fidelity to it; the report card's continuity criterion finds and reports it, and
``tests/test_meeting_neighbours.py`` checks it. Physical structures keep atoms apart, so it
matters only for near-coincident neighbours.

Feature layout: k = 2 channels ``(X, a)`` for each species ``a``; then k = 3 channels
``(a, X, b)`` for ``a <= b`` followed by ``(X, a, b)`` for every ordered ``(a, b)``; each
channel holds ``n`` grid values.
"""

from __future__ import annotations

import operator

import numpy as np
from scipy.special import ndtr

from ..environments import InputError, Neighbourhoods
from . import neighbour_sums
from .base import Descriptor
from .hypers import Choice, Real, Rule, declare
from .neighbour_sums import (
    TripletChunk,
    channel_values,
    radial_pair_gradients,
    triplet_chunks,
    unordered_channel,
)

__all__ = ["LocalMBTR", "polynomial_cutoff"]

_K2_GEOMETRIES = ("distance", "inverse_distance")
_K3_GEOMETRIES = ("cosine", "angle")
_WEIGHTINGS = ("smooth_cutoff", "exponential")
_SQRT_2PI = np.sqrt(2 * np.pi)
# Gaussians are evaluated within this many widths of their centre (Phi(-9) = 1.1e-19)
_TAIL = 9.0
# polynomial_cutoff: series in u = 1 - r/r_c below this u, with this many terms (0.25^32 < 1e-19)
_SERIES_BELOW = 0.25
_SERIES_TERMS = 32


def polynomial_cutoff(distances, cutoff: float, sharpness: float):
    """dscribe's smooth cutoff ``1 + y x^(y+1) - (y+1) x^y`` (``x = r / r_c < 1``; 0 beyond).

    Returns the value and its derivative with respect to ``r``. Near the cutoff the value is
    ``O(u^2)`` with ``u = 1 - x``, and the formula above would lose it to cancellation (relative
    error ~1e-7 at 1e-4 Å from a 5 Å cutoff); for ``u < 1/4`` it is summed as its series in
    ``u`` instead, ``-sum_{k>=2} (a_k + y a_{k-1}) u^k`` with ``a_k = binom(y, k) (-1)^k``
    (terms below 1e-18 dropped), and the derivative as ``-y (y+1) x^(y-1) u / r_c``.
    """
    r = np.asarray(distances, dtype=np.float64)
    u = np.maximum((cutoff - r) / cutoff, 0.0)  # exact near the cutoff (Sterbenz)
    x = 1.0 - u
    y = float(sharpness)
    inside = u > 0.0
    value = np.where(inside, 1 + y * x ** (y + 1) - (y + 1) * x**y, 0.0)
    near = inside & (u < _SERIES_BELOW)
    if np.any(near):
        coefficients = [0.0, 0.0]  # c_0 = 1 - 1 and c_1 = -y + y vanish
        previous = -y  # a_1
        for k in range(2, _SERIES_TERMS):
            current = previous * (k - 1 - y) / k  # a_k = a_{k-1} (-(y - k + 1) / k)
            coefficients.append(-(current + y * previous))
            previous = current
        value = np.where(near, np.polynomial.polynomial.polyval(u, coefficients), value)
    derivative = np.where(inside, -y * (y + 1) / cutoff * x ** (y - 1) * u, 0.0)
    return value, derivative


def _broadened(g: np.ndarray, grid: tuple[float, float, int, float], gradients: bool):
    """Bin-averaged Gaussians on the grid, ``(T, n)``, and their derivative w.r.t. ``g``.

    Only the bins within ``_TAIL`` widths of ``g`` are evaluated (the normal CDF is within
    1e-19 of 0 or 1 beyond): on fine grids this is most of the cost of the descriptor.
    """
    low, high, n, width = grid
    dx = (high - low) / (n - 1)
    first_edge = low - dx / 2
    half = _TAIL * width
    window = min(n + 1, int(np.ceil(2 * half / dx)) + 2)  # edges evaluated per term
    if window == n + 1:
        start = np.zeros(len(g), dtype=np.int64)
    else:
        start = np.floor((g - half - first_edge) / dx).astype(np.int64)
        start = np.clip(start, 0, n + 1 - window)
    edges = start[:, None] + np.arange(window)
    u = (first_edge + dx * edges - g[:, None]) / width
    cdf = ndtr(u)
    rows = np.arange(len(g))[:, None]
    values = np.zeros((len(g), n))
    values[rows, edges[:, :-1]] = (cdf[:, 1:] - cdf[:, :-1]) / dx
    if not gradients:
        return values, None
    pdf = np.exp(-0.5 * u * u) / _SQRT_2PI
    # d Phi((e - g)/sigma) / d g = -phi(u) / sigma
    derivative = np.zeros((len(g), n))
    derivative[rows, edges[:, :-1]] = -(pdf[:, 1:] - pdf[:, :-1]) / (width * dx)
    return values, derivative


def _grid(value) -> tuple[float, float, int, float]:
    """``(min, max, n, width)`` of a grid hyperparameter (validated by :data:`_GRID`)."""
    low, high, n, width = value
    return float(low), float(high), operator.index(n), float(width)


def _valid_grid(value) -> bool:
    low, high, n, width = _grid(value)
    return bool(np.isfinite([low, high, width]).all() and high > low and n >= 2 and width > 0)


_GRID = Rule(
    "(min, max, n, width) with finite min < max, an integer n >= 2 and width > 0, e.g. "
    "(0.0, 5.0, 50, 0.1)",
    _valid_grid,
    ((0.0, 5.0, 1, 0.1), (5.0, 0.0, 50, 0.1), (0.0, 5.0, 50, 0.0), (0.0, 5.0, 2.5, 0.1)),
)


class LocalMBTR(Descriptor):
    r"""Local many-body tensor representation (k = 2 and k = 3), as dscribe's LMBTR.

    See the module docstring for the formulas, weights and feature layout. Reference: H. Huo,
    M. Rupp, Mach. Learn.: Sci. Technol. 3, 045017 (2022), doi:10.1088/2632-2153/aca005.

    Parameters
    ----------
    cutoff : float
        Neighbourhood radius r_c (Å); the smooth cutoff weight vanishes there.
    k2_geometry : {"distance", "inverse_distance"} or None
        Geometry function of the centre-neighbour terms; None disables k = 2.
    k2_grid : (min, max, n, width)
        Grid of the k = 2 distribution (Å or Å^-1) and the Gaussian width ``sigma``.
    k2_weighting : {"smooth_cutoff", "exponential"}
    k2_scale : float
        Decay ``s`` (Å^-1) of the exponential weighting.
    k3_geometry : {"cosine", "angle"} or None
        Geometry function of the 3-body terms (angle in degrees); None disables k = 3.
    k3_grid : (min, max, n, width)
    k3_weighting : {"smooth_cutoff", "exponential"}
    k3_scale : float
    cutoff_sharpness : float
        Exponent ``y >= 1`` of the polynomial smooth cutoff.
    species : list of int or None
        Atomic numbers of the channels; None uses the species present in the input.

    Notes
    -----
    ``body_order`` is 3 with k = 3 terms, 2 without. Features are O(3) invariant. The "angle"
    geometry has an unbounded gradient at collinear triplets (d arccos / d cos); use "cosine"
    when gradients of near-linear configurations matter.
    """

    parity = "O(3)"
    hyper_constraints = declare(
        k2_geometry=Choice(_K2_GEOMETRIES, optional=True),
        k2_grid=_GRID,
        k2_weighting=Choice(_WEIGHTINGS),
        k2_scale=Real(0, unit="Å^-1"),
        k3_geometry=Choice(_K3_GEOMETRIES, optional=True),
        k3_grid=_GRID,
        k3_weighting=Choice(_WEIGHTINGS),
        k3_scale=Real(0, unit="Å^-1"),
        cutoff_sharpness=Real(1),
    )

    def __init__(
        self,
        *,
        cutoff,
        k2_geometry="distance",
        k2_grid=(0.0, 5.0, 50, 0.1),
        k2_weighting="smooth_cutoff",
        k2_scale=1.0,
        k3_geometry="cosine",
        k3_grid=(-1.0, 1.0, 50, 0.05),
        k3_weighting="smooth_cutoff",
        k3_scale=1.0,
        cutoff_sharpness=2.0,
        species=None,
    ):
        self.cutoff = cutoff
        self.k2_geometry = k2_geometry
        self.k2_grid = k2_grid
        self.k2_weighting = k2_weighting
        self.k2_scale = k2_scale
        self.k3_geometry = k3_geometry
        self.k3_grid = k3_grid
        self.k3_weighting = k3_weighting
        self.k3_scale = k3_scale
        self.cutoff_sharpness = cutoff_sharpness
        self.species = species

    @property
    def body_order(self) -> int:
        return 2 if self.k3_geometry is None else 3

    def _check_hyper_relations(self) -> None:
        if self.k2_geometry is None and self.k3_geometry is None:
            raise InputError(
                "LocalMBTR needs k2_geometry or k3_geometry; both are None (no features)"
            )

    # ---- layout ------------------------------------------------------------------------------

    @staticmethod
    def _k3_channels(n_species: int) -> int:
        return n_species * (n_species + 1) // 2 + n_species * n_species

    def _feature_names(self, species: np.ndarray) -> tuple[str, ...]:
        names = []
        if self.k2_geometry is not None:
            grid = self._grid_points(self.k2_grid)
            for a in species:
                names += [f"k2[X,{a}]({self.k2_geometry}={x:.6g})" for x in grid]
        if self.k3_geometry is not None:
            grid = self._grid_points(self.k3_grid)
            channels = [
                f"{species[a]},X,{species[b]}" for b in range(len(species)) for a in range(b + 1)
            ]
            channels += [f"X,{a},{b}" for a in species for b in species]
            for channel in channels:
                names += [f"k3[{channel}]({self.k3_geometry}={x:.6g})" for x in grid]
        return tuple(names)

    @staticmethod
    def _grid_points(grid) -> np.ndarray:
        low, high, n, _ = _grid(grid)
        return np.linspace(low, high, n)

    # ---- computation -------------------------------------------------------------------------

    def _compute(self, neighbourhoods: Neighbourhoods, species: np.ndarray, gradients: bool):
        blocks = []
        if self.k2_geometry is not None:
            blocks.append(self._k2(neighbourhoods, species, gradients))
        if self.k3_geometry is not None:
            blocks.append(self._k3(neighbourhoods, species, gradients))
        values = np.concatenate([v for v, _ in blocks], axis=1)
        pair_gradients = np.concatenate([g for _, g in blocks], axis=2) if gradients else None
        return values, pair_gradients

    def _k2(self, neighbourhoods: Neighbourhoods, species: np.ndarray, gradients: bool):
        grid = _grid(self.k2_grid)
        r = neighbourhoods.pair_distances
        weight, d_weight = polynomial_cutoff(r, float(self.cutoff), float(self.cutoff_sharpness))
        if self.k2_weighting == "exponential":
            decay = np.exp(-float(self.k2_scale) * r)
            d_weight = (d_weight - float(self.k2_scale) * weight) * decay
            weight = weight * decay
        if self.k2_geometry == "distance":
            g, d_g = r, np.ones_like(r)
        else:
            g, d_g = 1.0 / r, -1.0 / r**2
        gauss, d_gauss = _broadened(g, grid, gradients)
        channel = np.searchsorted(species, neighbourhoods.pair_species)
        values = channel_values(neighbourhoods, channel, len(species), gauss * weight[:, None])
        if not gradients:
            return values, None
        radial = d_gauss * (weight * d_g)[:, None] + gauss * d_weight[:, None]  # (P, n)
        return values, radial_pair_gradients(neighbourhoods, channel, len(species), radial)

    def _k3(self, neighbourhoods: Neighbourhoods, species: np.ndarray, gradients: bool):
        """The k = 3 channels and their pair gradients, summed chunk by chunk."""
        grid = _grid(self.k3_grid)
        n = grid[2]
        n_species = len(species)
        n_centre_channels = n_species * (n_species + 1) // 2
        n_channels = self._k3_channels(n_species)
        values = np.zeros((neighbourhoods.n_samples, n_channels * n))
        pair_gradients = (
            np.zeros((neighbourhoods.n_pairs, 3, n_channels * n)) if gradients else None
        )
        species_index = np.searchsorted(species, neighbourhoods.pair_species)
        # per triplet: 3 angles x ~6 arrays of n grid values (n ~ 50 -> ~10x ACSF's per triplet)
        max_triplets = max(1, neighbour_sums.MAX_TRIPLETS_PER_CHUNK * 10 // max(n, 1))
        for chunk in triplet_chunks(neighbourhoods, max_triplets):
            c = chunk.b - chunk.a  # r_jk
            rc = np.sqrt(np.einsum("tx,tx->t", c, c))
            weights = self._k3_weights(chunk, rc)
            sa = species_index[chunk.first + chunk.p0]
            sb = species_index[chunk.second + chunk.p0]
            channels = [
                unordered_channel(sa, sb),  # (a, X, b), a <= b
                n_centre_channels + sa * n_species + sb,  # (X, Zj, Zk), angle at j
                n_centre_channels + sb * n_species + sa,  # (X, Zk, Zj), angle at k
            ]
            term_rows, term_values, rows_a, rows_b, parts = [], [], [], [], []
            for angle, channel in zip(_k3_angles(chunk, c, rc), channels, strict=True):
                gauss, along = self._k3_terms(angle[0], grid, weights[0], gradients)
                term_rows.append(chunk.sample * n_channels + channel)
                term_values.append(gauss * weights[0][:, None])
                if gradients:
                    rows_a.append(chunk.first * n_channels + channel)
                    rows_b.append(chunk.second * n_channels + channel)
                    parts.append(_k3_coefficients(angle, weights, gauss, along))
            values[chunk.s0 : chunk.s1] = chunk.channel_values(
                np.concatenate(term_rows), n_channels, np.concatenate(term_values)
            )
            if gradients:
                pair_gradients[chunk.p0 : chunk.p1] = chunk.pair_gradients(
                    np.concatenate(rows_a),
                    np.concatenate(rows_b),
                    n_channels,
                    tuple(np.concatenate(x) for x in zip(*parts, strict=True)),
                    a=np.tile(chunk.a, (3, 1)),
                    b=np.tile(chunk.b, (3, 1)),
                )
        return values, pair_gradients

    def _k3_weights(self, chunk: TripletChunk, rc: np.ndarray):
        """``w3`` of each triangle ``(i, j, k)``, shared by its three angles, and its gradient
        coefficients: ``(w, wa_own, wa_cross, wb_own, wb_cross)`` with ``dw/da = wa_own a +
        wa_cross b`` and ``dw/db = wb_own b + wb_cross a``."""
        cutoff, sharpness = float(self.cutoff), float(self.cutoff_sharpness)
        ra, rb = chunk.ra, chunk.rb
        fa, dfa = polynomial_cutoff(ra, cutoff, sharpness)
        fb, dfb = polynomial_cutoff(rb, cutoff, sharpness)
        weight = fa * fb
        wa_own, wb_own = dfa * fb / ra, fa * dfb / rb
        wa_cross = wb_cross = np.zeros_like(ra)
        if self.k3_weighting == "exponential":
            # d (ra + rb + rc)/da = a/ra - (b - a)/rc, d (ra + rb + rc)/db = b/rb + (b - a)/rc
            scale = float(self.k3_scale)
            decay = np.exp(-scale * (ra + rb + rc))
            wa_own = (wa_own - scale * weight * (1 / ra + 1 / rc)) * decay
            wb_own = (wb_own - scale * weight * (1 / rb + 1 / rc)) * decay
            wa_cross = wb_cross = scale * weight / rc * decay
            weight = weight * decay
        return weight, wa_own, wa_cross, wb_own, wb_cross

    def _k3_terms(self, cos: np.ndarray, grid, weight: np.ndarray, gradients: bool):
        """The broadened geometry values of one angle of every triangle, ``(T, n)``, and (with
        ``gradients``) the derivative of the weighted terms with respect to ``cos``."""
        cos = np.clip(cos, -1.0, 1.0)
        if self.k3_geometry == "angle":
            g = np.degrees(np.arccos(cos))
            with np.errstate(divide="ignore"):
                d_g = -(180.0 / np.pi) / np.sqrt(1.0 - cos * cos)
        else:
            g, d_g = cos, np.ones_like(cos)
        gauss, d_gauss = _broadened(g, grid, gradients)
        if not gradients:
            return gauss, None
        return gauss, d_gauss * (weight * d_g)[:, None]


def _k3_angles(chunk: TripletChunk, c: np.ndarray, rc: np.ndarray):
    """The cosines of the three angles of each triangle (at the centre i, at j, at k; ``a =
    r_ij``, ``b = r_ik``, ``c = r_jk``), each as ``(cos, alpha_a, beta_a, alpha_b, beta_b)``
    with ``d cos/da = alpha_a a + beta_a b`` and ``d cos/db = alpha_b b + beta_b a`` (from ``d
    cos(u, v)/du = v/(|u||v|) - cos u/|u|^2`` and the chain rule)."""
    a, b, ra, rb = chunk.a, chunk.b, chunk.ra, chunk.rb
    inv_ab, inv_ac, inv_bc = 1 / (ra * rb), 1 / (ra * rc), 1 / (rb * rc)
    cos_i = np.einsum("tx,tx->t", a, b) * inv_ab  # at the centre: (a, b)
    cos_j = -np.einsum("tx,tx->t", a, c) * inv_ac  # at j: (-a, c)
    cos_k = np.einsum("tx,tx->t", b, c) * inv_bc  # at k: (-b, -c)
    return [
        (cos_i, -cos_i / ra**2, inv_ab, -cos_i / rb**2, inv_ab),
        (
            cos_j,
            2 * inv_ac - cos_j / ra**2 - cos_j / rc**2,
            cos_j / rc**2 - inv_ac,
            -cos_j / rc**2,
            cos_j / rc**2 - inv_ac,
        ),
        (
            cos_k,
            -cos_k / rc**2,
            cos_k / rc**2 - inv_bc,
            2 * inv_bc - cos_k / rb**2 - cos_k / rc**2,
            cos_k / rc**2 - inv_bc,
        ),
    ]


def _k3_coefficients(angle, weights, gauss, along):
    """``(C_a, D_a, C_b, D_b)`` of :func:`~.neighbour_sums.triplet_pair_gradients` for the terms
    ``w B(g(cos))`` of one angle: the angle's and the weight's gradients combined."""
    _, alpha_a, beta_a, alpha_b, beta_b = angle
    _, wa_own, wa_cross, wb_own, wb_cross = weights
    return (
        along * alpha_a[:, None] + gauss * wa_own[:, None],
        along * beta_a[:, None] + gauss * wa_cross[:, None],
        along * alpha_b[:, None] + gauss * wb_own[:, None],
        along * beta_b[:, None] + gauss * wb_cross[:, None],
    )

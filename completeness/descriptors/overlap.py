"""Goedecker's overlap-matrix fingerprint: eigenvalues of the Gaussian-orbital overlap matrix.

Sadeghi, Ghasemi, Schaefer, Mohr, Lill, Goedecker, J. Chem. Phys. 139, 184118 (2013),
doi:10.1063/1.4828704 (the fingerprint of a whole cluster); Zhu, Amsler, Fuhrer, Schaefer,
Faraji, Rostami, Ghasemi, Sadeghi, Grauzinyte, Wolverton, Goedecker, J. Chem. Phys. 144,
034203 (2016), doi:10.1063/1.4940026 (atom-centred environments with a smooth cutoff).

Every atom ``a`` of the environment (the centre, at the origin, and its neighbours at the pair
vectors ``r_a``) carries normalised Gaussian orbitals of exponent ``alpha_a = 1 / (2 w_a^2)``,
``w_a`` the covalent radius of its species (``ase.data.covalent_radii``) or ``orbital_width``:
one s orbital (``orbitals="s"``) or an s and three p orbitals (``orbitals="sp"``, the default;
the p orbitals of an atom rotate into each other, so the eigenvalues stay invariant). The s-s
overlap of two atoms, weighted by the smooth cutoff of both, is

.. math::

    S_{ab} = f_a f_b \\left(\\frac{2\\sqrt{\\alpha_a\\alpha_b}}{\\alpha_a+\\alpha_b}\\right)^{3/2}
             \\exp\\left(-\\frac{\\alpha_a\\alpha_b}{\\alpha_a+\\alpha_b} |r_a - r_b|^2\\right),
    \\qquad f_a = (1 - |r_a|^2 / r_c^2)^{n}

(Zhu et al.'s cutoff with ``r_c^2 = 2 n w_c^2``; ``n = cutoff_exponent``, ``f`` is ``n - 1``
times continuously differentiable at ``r_c``); the s-p and p-p overlaps are in
:func:`_overlap_blocks`, with the same cutoff weights. The features are the ``n_eigenvalues``
largest eigenvalues of ``S`` in decreasing order, padded with zeros: a neighbour entering the cutoff
sphere adds an eigenvalue that grows continuously from zero, so the padding keeps the features
continuous. ``S`` depends on every interatomic distance of the environment, so the fingerprint
has no finite body order (``body_order`` is None); it is invariant under reflections. Species
enter only through the orbital widths: species with equal covalent radii are not told apart.
With s orbitals only, an environment of ``m`` atoms has ``m`` eigenvalues for its ``3 m - 6``
internal coordinates, so from 5 atoms on the fingerprint is constant along whole manifolds
(``3 m - 6 - m`` dimensions at least); s + p gives ``4 m`` eigenvalues.

Gradients (Hellmann-Feynman for a symmetric matrix): ``d lambda_k = v_k^T dS v_k``. At a
degenerate eigenvalue the individual eigenvalues of a cluster are not differentiable (only their
directional derivatives exist, the eigenvalues of ``V^T dS V`` on the cluster), while their mean
is; the gradient returned for every member of a cluster of eigenvalues equal to within
``DEGENERACY_TOLERANCE`` (relative) is the gradient of the cluster's mean, independent of which
eigenvectors the solver returns. Finite differences of the sorted eigenvalues at such a point
differ from it (they are one-sided); away from degeneracies the gradient is exact.
"""

from __future__ import annotations

import numpy as np
from ase.data import covalent_radii

from ..environments import Neighbourhoods
from .base import Descriptor
from .hypers import Choice, Integer, Real, declare

__all__ = ["DEGENERACY_TOLERANCE", "OverlapMatrixFingerprint"]

#: Eigenvalues closer than this (relative to the largest) form one degenerate cluster.
DEGENERACY_TOLERANCE = 1e-9


class OverlapMatrixFingerprint(Descriptor):
    """Sorted eigenvalues of the cutoff-weighted Gaussian-orbital overlap matrix of an environment.

    Parameters
    ----------
    cutoff : float
        Radius (Å) of the environment and of the smooth cutoff function.
    n_eigenvalues : int
        Number of features: the largest eigenvalues, zero-padded.
    orbital_width : float or None
        Width (Å) of every Gaussian; None (default) uses the covalent radius of each species.
    cutoff_exponent : int
        ``n`` of the cutoff function ``(1 - r^2 / r_c^2)^n`` (Zhu et al. use 3).
    orbitals : {"sp", "s"}
        Orbitals on every atom.
    species : list of int or None
        Accepted species (None: those of the input).
    """

    body_order = None
    parity = "O(3)"
    hyper_constraints = declare(
        n_eigenvalues=Integer(1),
        orbital_width=Real(0, low_open=True, unit="Å", optional=True),
        cutoff_exponent=Integer(1),
        orbitals=Choice(("s", "sp")),
    )

    def __init__(
        self,
        *,
        cutoff: float = 5.0,
        n_eigenvalues: int = 16,
        orbital_width: float | None = None,
        cutoff_exponent: int = 3,
        orbitals: str = "sp",
        species=None,
    ):
        self.cutoff = cutoff
        self.n_eigenvalues = n_eigenvalues
        self.orbital_width = orbital_width
        self.cutoff_exponent = cutoff_exponent
        self.orbitals = orbitals
        self.species = species

    def _feature_names(self, species) -> tuple[str, ...]:
        return tuple(f"eigenvalue_{k}" for k in range(self.n_eigenvalues))

    def _widths(self, numbers: np.ndarray) -> np.ndarray:
        if self.orbital_width is not None:
            return np.full(len(numbers), float(self.orbital_width))
        return covalent_radii[numbers]

    def _compute(self, neighbourhoods: Neighbourhoods, species, gradients: bool):
        n_samples, n_features = neighbourhoods.n_samples, self.n_eigenvalues
        values = np.zeros((n_samples, n_features))
        pair_gradients = np.zeros((neighbourhoods.n_pairs, 3, n_features)) if gradients else None
        for s in range(n_samples):
            self._sample(neighbourhoods, s, values, pair_gradients)
        return values, pair_gradients

    def _sample(self, neighbourhoods, s, values, pair_gradients) -> None:
        pairs = slice(neighbourhoods.pair_offsets[s], neighbourhoods.pair_offsets[s + 1])
        numbers = np.concatenate(
            [[neighbourhoods.centre_species[s]], neighbourhoods.pair_species[pairs]]
        )
        positions = np.vstack([np.zeros(3), neighbourhoods.pair_vectors[pairs]])
        lam, grad = self._environment(positions, numbers, pair_gradients is not None)
        kept = min(len(lam), values.shape[1])
        values[s, :kept] = lam[:kept]
        if pair_gradients is not None:
            pair_gradients[pairs, :, :kept] = grad[1:, :, :kept]

    def _environment(self, positions: np.ndarray, numbers: np.ndarray, gradients: bool):
        """Eigenvalues (decreasing) and, on request, their gradients ``(n_atoms, 3, n_values)``
        with respect to each atom's position (row 0, the centre, is not used)."""
        alpha = 1.0 / (2.0 * self._widths(numbers) ** 2)
        radius = np.linalg.norm(positions, axis=1)
        base = np.clip(1.0 - (radius / self.cutoff) ** 2, 0.0, None)
        n = self.cutoff_exponent
        cut = base**n
        blocks, derivatives = _overlap_blocks(positions, alpha, self.orbitals == "sp", gradients)
        m, o = blocks.shape[0], blocks.shape[2]
        weighted = cut[:, None, None, None] * blocks * cut[None, :, None, None]
        overlap = weighted.transpose(0, 2, 1, 3).reshape(m * o, m * o)
        if not gradients:
            return np.linalg.eigvalsh(overlap)[::-1], None
        lam, vectors = np.linalg.eigh(overlap)
        lam, vectors = lam[::-1], vectors[:, ::-1].reshape(m, o, -1)
        # d lambda / d r_j = 2 [g_j sum_b f_b v_j^T B_jb v_b + f_j sum_b f_b v_j^T D_jb v_b],
        # g_j = d f_j / d r_j = -2 n base^(n-1) r_j / r_c^2 (see the module doc)
        dcut = (-2.0 * n / self.cutoff**2) * base ** (n - 1)
        bv = np.einsum("jbpq,b,bqk->jpk", blocks, cut, vectors)
        w = np.einsum("jpk,jpk->jk", vectors, bv)
        dv = np.einsum("jbpqx,b,bqk->jpxk", derivatives, cut, vectors)
        e = np.einsum("jpk,jpxk->jxk", vectors, dv)
        grad = 2.0 * (
            (dcut[:, None] * w)[:, None, :] * positions[:, :, None] + cut[:, None, None] * e
        )
        return lam, _average_degenerate(lam, grad)


def _overlap_blocks(positions: np.ndarray, alpha: np.ndarray, with_p: bool, gradients: bool):
    """Overlaps of normalised Gaussian orbitals (s, or s, p_x, p_y, p_z) of every pair of atoms.

    Returns ``B (m, m, o, o)`` with ``B[a, b, p, q] = <orbital p of a | orbital q of b>`` and, on
    request, ``D (m, m, o, o, 3) = dB / dR`` with ``R = r_a - r_b``. With ``P = a + b``,
    ``mu = a b / P`` and ``K = (2 sqrt(a b) / P)^(3/2) exp(-mu R^2)`` (the s-s overlap)::

        <s_a | p_b,j> =  2 sqrt(b) a / P  R_j K
        <p_a,i | s_b> = -2 sqrt(a) b / P  R_i K
        <p_a,i | p_b,j> = 4 sqrt(a b) K (delta_ij / (2 P) - a b R_i R_j / P^2)
    """
    a, b = alpha[:, None], alpha[None, :]
    total, product = a + b, a * b
    mu = product / total
    r = positions[:, None, :] - positions[None, :, :]
    k = (2.0 * np.sqrt(product) / total) ** 1.5 * np.exp(-mu * np.einsum("abx,abx->ab", r, r))
    m = len(positions)
    if not with_p:
        blocks = k[:, :, None, None]
        if not gradients:
            return blocks, None
        return blocks, (-2.0 * mu * k)[:, :, None, None, None] * r[:, :, None, None, :]
    eye = np.eye(3)
    c1, c2 = 2.0 * np.sqrt(b) * a / total, 2.0 * np.sqrt(a) * b / total
    q = product / total**2
    rr = r[:, :, :, None] * r[:, :, None, :]
    pp_shape = eye / (2.0 * total[:, :, None, None]) - q[:, :, None, None] * rr
    pp_scale = 4.0 * np.sqrt(product) * k
    blocks = np.empty((m, m, 4, 4))
    blocks[:, :, 0, 0] = k
    blocks[:, :, 0, 1:] = (c1 * k)[:, :, None] * r
    blocks[:, :, 1:, 0] = -(c2 * k)[:, :, None] * r
    blocks[:, :, 1:, 1:] = pp_scale[:, :, None, None] * pp_shape
    if not gradients:
        return blocks, None
    dk = (-2.0 * mu * k)[:, :, None] * r  # (m, m, 3): dK / dR_x
    # d(R_i K)/dR_x = delta_ix K + R_i dK_x
    d_rk = k[:, :, None, None] * eye + r[:, :, :, None] * dk[:, :, None, :]
    derivatives = np.empty((m, m, 4, 4, 3))
    derivatives[:, :, 0, 0] = dk
    derivatives[:, :, 0, 1:] = c1[:, :, None, None] * d_rk
    derivatives[:, :, 1:, 0] = -c2[:, :, None, None] * d_rk
    d_rr = eye[None, None, :, None, :] * r[:, :, None, :, None] + (
        r[:, :, :, None, None] * eye[None, None, None, :, :]
    )  # d(R_i R_j)/dR_x
    derivatives[:, :, 1:, 1:] = (4.0 * np.sqrt(product))[:, :, None, None, None] * (
        pp_shape[..., None] * dk[:, :, None, None, :] - (k * q)[:, :, None, None, None] * d_rr
    )
    return blocks, derivatives


def _average_degenerate(lam: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """Replace the gradient of each eigenvalue of a degenerate cluster by the cluster mean."""
    scale = max(float(np.abs(lam).max(initial=0.0)), np.finfo(float).tiny)
    breaks = np.flatnonzero(np.abs(np.diff(lam)) > DEGENERACY_TOLERANCE * scale) + 1
    for cluster in np.split(np.arange(len(lam)), breaks):
        if len(cluster) > 1:
            grad[:, :, cluster] = grad[:, :, cluster].mean(axis=2, keepdims=True)
    return grad

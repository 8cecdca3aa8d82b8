"""Goedecker's overlap-matrix fingerprint and the PDD/AMD wrappers.

Expected values are closed forms derived here (2x2 overlap matrices, sorted distances from
scipy), never the code under test.
"""

from __future__ import annotations

import ase
import numpy as np
import pytest
from scipy.spatial.distance import pdist, squareform

from completeness.descriptors import OverlapMatrixFingerprint
from completeness.descriptors.wrappers import load_peer
from completeness.environments import InputError
from completeness.testing import assert_gradients, assert_invariant


def _cluster(n, seed, radius=2.5, symbols=None):
    rng = np.random.default_rng(seed)
    positions = rng.uniform(-radius, radius, (n, 3))
    positions[0] = 0.0
    return ase.Atoms(symbols or "C" * n, positions=positions)


def test_two_atoms_match_the_closed_form():
    # centre + one neighbour at r, equal widths w: S = [[1, f g], [f g, f^2]],
    # g = exp(-r^2 / (4 w^2)), f = (1 - r^2 / r_c^2)^n
    r, w, cutoff, n = 1.3, 0.9, 4.0, 3
    atoms = ase.Atoms("CC", positions=[[0, 0, 0], [0.6, -0.8, np.sqrt(r**2 - 1.0)]])
    descriptor = OverlapMatrixFingerprint(
        cutoff=cutoff, n_eigenvalues=3, orbital_width=w, cutoff_exponent=n, orbitals="s"
    )
    values = descriptor.compute(atoms, centers=[0]).values[0]
    f, g = (1 - r**2 / cutoff**2) ** n, np.exp(-(r**2) / (4 * w**2))
    trace, det = 1 + f**2, f**2 - (f * g) ** 2
    root = np.sqrt(trace**2 / 4 - det)
    np.testing.assert_allclose(values, [trace / 2 + root, trace / 2 - root, 0.0], atol=1e-14)


def test_covalent_radii_set_the_widths():
    # C (0.76 Å) and H (0.31 Å): the normalised overlap prefactor (2 sqrt(a b) / (a + b))^1.5
    atoms = ase.Atoms("CH", positions=[[0, 0, 0], [0, 0, 1.1]])
    fingerprint = OverlapMatrixFingerprint(cutoff=4.0, n_eigenvalues=2, orbitals="s")
    values = fingerprint.compute(atoms).values[0]
    a, b = 1 / (2 * 0.76**2), 1 / (2 * 0.31**2)
    f = (1 - 1.1**2 / 16) ** 3
    s = f * (2 * np.sqrt(a * b) / (a + b)) ** 1.5 * np.exp(-a * b / (a + b) * 1.1**2)
    expected = np.linalg.eigvalsh(np.array([[1, s], [s, f**2]]))[::-1]
    np.testing.assert_allclose(values, expected, atol=1e-14)


def test_s_and_p_orbitals_of_two_atoms_match_the_hand_built_matrix():
    # equal exponents a, neighbour on z at distance r: K = exp(-a r^2 / 2); p_x and p_y pair up
    # like s (overlap K); s and p_z couple through sqrt(a) r K; p_z-p_z is K (1 - a r^2)
    r, w, cutoff = 1.2, 0.8, 4.0
    a = 1 / (2 * w**2)
    atoms = ase.Atoms("CC", positions=[[0, 0, 0], [0, 0, r]])
    values = OverlapMatrixFingerprint(cutoff=cutoff, n_eigenvalues=8, orbital_width=w)
    values = values.compute(atoms).values[0]
    f, k = (1 - r**2 / cutoff**2) ** 3, np.exp(-a * r**2 / 2)
    coupling = f * np.array([[k, -np.sqrt(a) * r * k], [np.sqrt(a) * r * k, k * (1 - a * r**2)]])
    sz = np.block([[np.eye(2), coupling], [coupling.T, f**2 * np.eye(2)]])
    pxy = np.array([[1, f * k], [f * k, f**2]])
    expected = np.sort(np.concatenate([np.linalg.eigvalsh(sz), *[np.linalg.eigvalsh(pxy)] * 2]))
    np.testing.assert_allclose(values, expected[::-1], atol=1e-14)


@pytest.mark.parametrize(
    ("width", "orbitals"), [(None, "s"), (1.0, "s"), (None, "sp"), (1.0, "sp")]
)
def test_invariance_and_gradients(width, orbitals):
    atoms = _cluster(9, seed=1, symbols="CH4OHNH")
    descriptor = OverlapMatrixFingerprint(
        cutoff=4.0, n_eigenvalues=12, orbital_width=width, orbitals=orbitals
    )
    assert_invariant(descriptor, atoms)
    assert_gradients(descriptor, atoms, centers=[0, 3])


def test_neighbour_at_the_cutoff_enters_continuously():
    descriptor = OverlapMatrixFingerprint(cutoff=3.0, n_eigenvalues=16, orbital_width=1.0)
    base = [[0, 0, 0], [1.0, 0.2, 0.0], [-0.3, 1.1, 0.4]]
    inside = descriptor.compute(ase.Atoms("C4", positions=[*base, [0, 0, 3.0 - 1e-4]]))
    outside = descriptor.compute(ase.Atoms("C4", positions=[*base, [0, 0, 3.0 + 1e-4]]))
    difference = np.abs(inside.values[0] - outside.values[0]).max()
    assert difference < 1e-10  # (1e-4 / 3)^3 squared: the cutoff function vanishes smoothly
    assert np.all(outside.values[0, 12:] == 0.0)  # 3 atoms x 4 orbitals, then the padding


def test_degenerate_eigenvalues_get_the_gradient_of_their_mean():
    # regular tetrahedron around the centre: the neighbour eigenvalues form a threefold cluster
    corners = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]) * 0.9
    atoms = ase.Atoms("C5", positions=[[0, 0, 0], *corners])
    descriptor = OverlapMatrixFingerprint(cutoff=4.0, n_eigenvalues=20, orbital_width=1.0)
    features = descriptor.compute(atoms, centers=[0], gradients=True)
    values, gradients = features.values[0], features.gradients[0]
    clusters = np.split(np.arange(20), np.flatnonzero(np.abs(np.diff(values)) > 1e-8) + 1)
    triple = max(clusters, key=len)
    assert len(triple) >= 3
    for k in triple[1:]:
        np.testing.assert_allclose(gradients[..., k], gradients[..., triple[0]], atol=1e-14)
    # the cluster's sum is differentiable: compare with central differences
    step, numeric = 1e-5, np.zeros((5, 3))
    for atom in range(5):
        for axis in range(3):
            shifted = []
            for sign in (1, -1):
                moved = atoms.copy()
                moved.positions[atom, axis] += sign * step
                shifted.append(descriptor.compute(moved, centers=[0]).values[0, triple].sum())
            numeric[atom, axis] = (shifted[0] - shifted[1]) / (2 * step)
    np.testing.assert_allclose(gradients[..., triple].sum(axis=-1), numeric, atol=1e-8)


# ---- PDD / AMD (extra "amd") ---------------------------------------------------------------


def test_pdd_rows_are_sorted_distances_and_amd_their_mean():
    pytest.importorskip("amd")
    atoms = _cluster(6, seed=2)
    expected = np.sort(squareform(pdist(atoms.positions)), axis=1)[:, 1:4]
    pdd = load_peer("amd:PDD", n_neighbours=3).compute(atoms).values
    np.testing.assert_allclose(pdd, expected, atol=1e-12)
    amd_rows = load_peer("amd:AMD", n_neighbours=7).compute(atoms, centers=[0, 4]).values
    padded = np.zeros((6, 7))
    padded[:, :5] = np.sort(squareform(pdist(atoms.positions)), axis=1)[:, 1:]
    np.testing.assert_allclose(amd_rows, np.vstack([padded.mean(axis=0)] * 2), atol=1e-12)


def test_pdd_of_a_simple_cubic_crystal():
    pytest.importorskip("amd")
    atoms = ase.Atoms("Po", positions=[[0.3, 0.1, 0.2]], cell=np.eye(3) * 3.0, pbc=True)
    row = load_peer("amd:PDD", n_neighbours=18).compute(atoms).values[0]
    np.testing.assert_allclose(row, [3.0] * 6 + [3.0 * np.sqrt(2)] * 12, atol=1e-12)


def test_pdd_refuses_gradients_and_bad_input():
    pytest.importorskip("amd")
    with pytest.raises(InputError, match="no gradients"):
        load_peer("amd:PDD").compute(_cluster(4, seed=0), gradients=True)
    slab = ase.Atoms("C", positions=[[0, 0, 0]], cell=np.eye(3) * 3, pbc=[True, True, False])
    with pytest.raises(InputError, match="periodic in all three"):
        load_peer("amd:PDD").compute(slab)

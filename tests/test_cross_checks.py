"""Our descriptors against the peers' independent implementations, through the wrappers.

Power spectrum vs featomic's ``SoapPowerSpectrum`` (100 random environments, 1e-7 relative):

- **rotation-invariant comparison (the criterion)**: for each angular channel ``l`` and each
  neighbour-species pair ``(a, b)``, the kernel matrix between environments
  ``K_l^{ab}[A, B] = sum_{n n'} p^{ab}_{n n' l}(A) p^{ab}_{n n' l}(B)``. It is the Frobenius
  product of the ``(n, n')`` power-spectrum matrices ``P_l(A)``, ``P_l(B)``, so it is unchanged
  by any orthogonal transform ``U`` of the radial index (``P_l -> U P_l U^T``) and by a sign per
  ``l``; both conventions store the same Frobenius products (ours keeps ``n <= n'`` with
  ``sqrt(2)`` on ``n != n'`` for ``a = b``, featomic keeps both orders without it). The test
  compares the 100 x 100 matrices of every ``(l, a, b)`` block.
- **direct comparison (also holds)**: feature by feature, ours = featomic x ``(-1)^l`` x
  (``sqrt(2)`` for ``a = b, n != n'``); featomic's sign comes from its Clebsch-Gordan coupling
  to lambda = 0.

featomic runs with exact radial integrals (``spline_accuracy=None``; its default splines agree
to ~1e-6 only) and without the centre's own density (``center_atom_weight=0``, like ours).

Symmetry functions vs dscribe's ``ACSF``: tests/test_symmetry_functions.py compares the values
feature for feature (clusters and a periodic crystal) with dscribe called directly; here the same
comparison goes through the wrapper, including gradients (dscribe's central differences with
``attach=True``).
"""

import numpy as np
import pytest

from completeness.descriptors import PowerSpectrum, SymmetryFunctions
from completeness.testing import random_cluster

N_ENVIRONMENTS = 100
SPECIES = [1, 6, 8]
HYPERS = {"cutoff": 5.0, "n_radial": 6, "max_angular": 4, "density_width": 0.5, "cutoff_width": 0.5}


def random_environments(n, seed, radius=4.5, min_distance=0.8):
    """Carbon centre + 4..12 H/C/O neighbours uniform in a ball, no two closer than
    ``min_distance`` (seeded)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        count = int(rng.integers(4, 13))
        atoms = random_cluster(
            rng, count, radius=radius, species=SPECIES, min_distance=min_distance
        )
        atoms.numbers[0] = 6
        out.append(atoms)
    return out


def _ours_blocks(names):
    """(l, a, b) -> column indices, from names ``a{a}_n{n}_b{b}_n{m}_l{l}``."""
    blocks = {}
    for column, name in enumerate(names):
        a, _n, b, _m, l = (int(part[1:]) for part in name.split("_"))
        blocks.setdefault((l, a, b), []).append(column)
    return blocks


def _featomic_fields(name):
    return dict((k, int(v)) for k, v in (item.split("=") for item in name.split(",")))


def _featomic_blocks(names):
    blocks = {}
    for column, name in enumerate(names):
        f = _featomic_fields(name)
        blocks.setdefault((f["l"], f["neighbor_1_type"], f["neighbor_2_type"]), []).append(column)
    return blocks


@pytest.fixture(scope="module")
def power_spectra():
    pytest.importorskip("featomic")
    from completeness.descriptors.wrappers import FeatomicSoapPowerSpectrum

    environments = random_environments(N_ENVIRONMENTS, seed=2024)
    ours = PowerSpectrum(**HYPERS, species=SPECIES).compute(environments, centers=[0])
    theirs = FeatomicSoapPowerSpectrum(
        **HYPERS, center_atom_weight=0.0, spline_accuracy=None, species=SPECIES
    ).compute(environments, centers=[0])
    return ours, theirs


def kernel_errors(ours, theirs):
    """Largest relative difference of the per-(l, a, b) kernel matrices between environments."""
    ours_blocks = _ours_blocks(ours.feature_names)
    theirs_blocks = _featomic_blocks(theirs.feature_names)
    assert set(ours_blocks) == set(theirs_blocks)
    errors = {}
    for key, columns in ours_blocks.items():
        x = ours.values[:, columns]
        y = theirs.values[:, theirs_blocks[key]]
        k_ours, k_theirs = x @ x.T, y @ y.T
        scale = np.abs(k_theirs).max()
        assert scale > 0, f"block {key} is zero on every environment: a test that cannot fail"
        errors[key] = float(np.abs(k_ours - k_theirs).max() / scale)
    return errors


def test_power_spectrum_kernels_match_featomic_on_100_environments(power_spectra):
    ours, theirs = power_spectra
    assert ours.values.shape[0] == N_ENVIRONMENTS
    errors = kernel_errors(ours, theirs)
    assert len(errors) == 5 * 6  # l = 0..4 times the 6 species pairs a <= b
    worst = max(errors.values())
    assert worst < 1e-7, f"worst per-(l, a, b) kernel error {worst:.2e}"


def test_power_spectrum_matches_featomic_feature_by_feature(power_spectra):
    ours, theirs = power_spectra
    index = {}
    for column, name in enumerate(theirs.feature_names):
        f = _featomic_fields(name)
        key = (f["neighbor_1_type"], f["n_1"], f["neighbor_2_type"], f["n_2"], f["l"])
        index[key] = column
    mapped = np.zeros_like(ours.values)
    for column, name in enumerate(ours.feature_names):
        a, n, b, m, l = (int(part[1:]) for part in name.split("_"))
        factor = (-1) ** l * (np.sqrt(2.0) if a == b and n != m else 1.0)
        mapped[:, column] = factor * theirs.values[:, index[(a, n, b, m, l)]]
    error = np.abs(mapped - ours.values).max() / np.abs(ours.values).max()
    assert error < 1e-7, f"largest feature difference {error:.2e} (relative to the largest)"


def test_kernel_comparison_detects_a_wrong_hyperparameter():
    """The comparison can fail: a 10% wider density changes the kernels far beyond 1e-7."""
    pytest.importorskip("featomic")
    from completeness.descriptors.wrappers import FeatomicSoapPowerSpectrum

    environments = random_environments(10, seed=7)
    ours = PowerSpectrum(**HYPERS, species=SPECIES).compute(environments, centers=[0])
    wider = {**HYPERS, "density_width": 0.55}
    theirs = FeatomicSoapPowerSpectrum(
        **wider, center_atom_weight=0.0, spline_accuracy=None, species=SPECIES
    ).compute(environments, centers=[0])
    assert max(kernel_errors(ours, theirs).values()) > 1e-3


def test_power_spectrum_kernels_unchanged_by_an_orthogonal_radial_transform(power_spectra):
    """The invariance the comparison relies on: P_l -> U P_l U^T leaves every kernel as is."""
    ours, _ = power_spectra
    rng = np.random.default_rng(3)
    u, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    blocks = _ours_blocks(ours.feature_names)
    key = (2, 1, 1)  # l = 2, H-H: stored as n <= n' with sqrt(2) off the diagonal
    x = ours.values[:, blocks[key]]
    upper = np.triu_indices(6)
    full = np.zeros((len(x), 6, 6))
    weights = np.where(upper[0] == upper[1], 1.0, 1.0 / np.sqrt(2.0))
    full[:, upper[0], upper[1]] = x * weights
    full[:, upper[1], upper[0]] = x * weights
    rotated = np.einsum("ij,sjk,lk->sil", u, full, u)
    y = rotated.reshape(len(x), -1)
    assert np.abs(x @ x.T - y @ y.T).max() < 1e-12 * np.abs(x @ x.T).max()
    assert np.abs(x - rotated[:, upper[0], upper[1]] / weights).max() > 1e-3  # features did move


# ---- symmetry functions against dscribe's ACSF, through the wrapper --------------------------

G2 = [[0.5, 0.0], [1.0, 2.0], [0.1, 3.5]]
G4 = [[0.05, 1.0, 1.0], [0.1, 2.0, -1.0], [0.02, 4.5, 1.0]]


def test_symmetry_functions_match_dscribe_acsf_through_the_wrapper():
    pytest.importorskip("dscribe")
    from completeness.descriptors.wrappers import DscribeACSF

    environments = random_environments(20, seed=11, radius=3.8)
    ours = SymmetryFunctions(cutoff=4.0, g2_params=G2, g4_params=G4, species=SPECIES)
    theirs = DscribeACSF(cutoff=4.0, g2_params=G2, g4_params=G4, species=SPECIES)
    a = ours.compute(environments, centers=[0])
    b = theirs.compute(environments, centers=[0])
    assert a.values.shape == b.values.shape == (20, 3 * (1 + len(G2)) + 6 * len(G4))
    assert np.abs(a.values - b.values).max() < 1e-10 * np.abs(a.values).max()
    # gradients of a few environments: ours analytic, dscribe's central differences (h = 1e-4)
    small = environments[:3]
    ga = ours.compute(small, centers=[0], gradients=True).gradients
    gb = theirs.compute(small, centers=[0], gradients=True).gradients
    assert np.abs(ga).max() > 1e-3
    assert np.abs(ga - gb).max() < 1e-6 * np.abs(ga).max()

"""Tests of completeness.analysis.sensitivity: Jacobians, modes, exponents, manifold following.

Expected values come from closed forms (power laws, the regular tetrahedron), from symmetry
(a 2-body descriptor has rank n on 3n - 3 internal coordinates; the PRL family is even in y_C,
so the response at its fold is quadratic) or from a different algorithm (central differences
against analytic gradients).
"""

from __future__ import annotations

import ase
import ase.io
import numpy as np
import pytest
from ase.build import bulk
from scipy.special import eval_legendre

from completeness.analysis import sensitivity as S
from completeness.descriptors import correlations, defaults, spectra
from completeness.descriptors.base import Descriptor
from completeness.environments import InputError

# ---- two small descriptors defined here (independent of the package's own) ----------------


class PairGaussians(Descriptor):
    """2-body: f_n = sum_j exp(-(d_j - mu_n)^2 / 2 w^2), with analytic gradients."""

    body_order = 2

    def __init__(self, cutoff=10.0, centres=(1.0, 1.5, 2.0, 2.5, 3.0), width=0.4, species=None):
        self.cutoff = cutoff
        self.centres = centres
        self.width = width
        self.species = species

    def _feature_names(self, species):
        return tuple(f"g{k}" for k in range(len(self.centres)))

    def _compute(self, nb, species, gradients):
        mu = np.asarray(self.centres)
        d = nb.pair_distances[:, None]
        g = np.exp(-((d - mu) ** 2) / (2 * self.width**2))
        values = np.zeros((nb.n_samples, len(mu)))
        np.add.at(values, nb.pair_sample, g)
        if not gradients:
            return values, None
        dg = -(d - mu) / self.width**2 * g  # (P, F)
        unit = nb.pair_vectors / nb.pair_distances[:, None]
        return values, unit[:, :, None] * dg[:, None, :]


class LegendreTriplets(Descriptor):
    """3-body, values only: f_{n n' l} = sum_{j,k} g_n(d_j) g_n'(d_k) P_l(cos theta_jk)."""

    body_order = 3

    def __init__(self, cutoff=10.0, centres=(1.0, 2.0, 3.0, 4.0), width=0.7, max_angular=4):
        self.cutoff = cutoff
        self.centres = centres
        self.width = width
        self.max_angular = max_angular

    def _feature_names(self, species):
        m = len(self.centres)
        return tuple(f"{a}{b}{l}" for a in range(m) for b in range(m) for l in range(5))

    def _compute(self, nb, species, gradients):
        if gradients:
            raise NotImplementedError("LegendreTriplets has no analytic gradients")
        mu = np.asarray(self.centres)
        out = []
        for s in range(nb.n_samples):
            pairs = slice(nb.pair_offsets[s], nb.pair_offsets[s + 1])
            r, d = nb.pair_vectors[pairs], nb.pair_distances[pairs]
            g = np.exp(-((d[:, None] - mu) ** 2) / (2 * self.width**2))  # (n, m)
            cos = np.clip((r @ r.T) / np.outer(d, d), -1, 1)
            feats = [
                np.einsum("ja,kb,jk->ab", g, g, eval_legendre(l, cos))
                for l in range(self.max_angular + 1)
            ]
            out.append(np.stack(feats, axis=-1).reshape(-1))
        return np.asarray(out), None


# ---- structures ----------------------------------------------------------------------------


def prl_member(y_c: float, scale: float = 0.4) -> ase.Atoms:
    """The PRL Fig. 1(b) family (docs/science.md §2.2-3): C = (0, y_C, 5), fold at y_C = 0."""
    positions = [[0, 0, 0], [5, 0, 5], [5, 5, 5], [-5, -5, 5], [0, y_c, 5]]
    return ase.Atoms("H5", positions=scale * np.asarray(positions, dtype=float))


def fold_direction() -> np.ndarray:
    """Move C (neighbour 3) along y: the direction that maps X+ onto X-."""
    u = np.zeros((4, 3))
    u[3, 1] = 1.0
    return u


def random_cluster(n=5, seed=0) -> ase.Atoms:
    rng = np.random.default_rng(seed)
    directions = rng.normal(size=(n, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    radii = rng.uniform(1.2, 2.8, size=n)
    return ase.Atoms(
        numbers=[6] + [1] * n, positions=np.vstack([[0, 0, 0], directions * radii[:, None]])
    )


CH4_START = [
    (-0.417, 0, 1.007),
    (0.764, -0.555, -0.545),
    (0.764, 0.555, 0.545),
    (-0.706, 0.826, 0.086),
]


def ch4() -> ase.Atoms:
    return ase.Atoms("CH4", positions=[(0, 0, 0), *CH4_START])


def silicon() -> ase.Atoms:
    return bulk("Si", "diamond", a=5.431, cubic=True) * (4, 4, 4)


def power_spectrum(**hypers):
    return spectra.PowerSpectrum(**hypers)


# ---- Jacobian ------------------------------------------------------------------------------


def test_analytic_jacobian_matches_central_differences_and_reports_method():
    atoms = random_cluster()
    analytic = S.jacobian(PairGaussians(), atoms, 0)
    numeric = S.jacobian(PairGaussians(), atoms, 0, method="finite-difference")
    assert analytic.method == "analytic" and numeric.method == "finite-difference"
    assert analytic.matrix.shape == (5, 15)
    error = np.linalg.norm(analytic.matrix - numeric.matrix) / np.linalg.norm(numeric.matrix)
    assert error < 1e-8


def test_values_only_descriptor_falls_back_to_finite_differences_and_analytic_refuses():
    atoms = random_cluster()
    assert S.jacobian(LegendreTriplets(), atoms, 0).method == "finite-difference"
    with pytest.raises(InputError, match="no analytic gradients"):
        S.jacobian(LegendreTriplets(), atoms, 0, method="analytic")


def test_two_body_descriptor_has_rank_n_on_internal_coordinates():
    # a 2-body descriptor sees only the n distances: of the 3n - 3 rotation-free coordinates,
    # 2n - 3 directions (tangential motions) are exactly null
    n = 5
    jac = S.jacobian(PairGaussians(), random_cluster(n, seed=1), 0)
    assert jac.singular_values.shape == (3 * n - 3,)
    assert jac.n_insensitive(1e-8) == 2 * n - 3
    assert jac.singular_values[n - 1] > 1e-3 * jac.singular_values[0]
    assert np.isinf(jac.condition_number) or jac.condition_number > 1e8


def test_modes_are_orthonormal_and_free_of_rotations():
    atoms = random_cluster(4, seed=2)
    jac = S.jacobian(LegendreTriplets(), atoms, 0)
    assert jac.rotation_leak < 1e-8  # the descriptor is rotation invariant
    vectors = atoms.positions[1:]
    fields = jac.modes.reshape(len(jac.modes), -1)
    np.testing.assert_allclose(fields @ fields.T, np.eye(len(fields)), atol=1e-12)
    for axis in np.eye(3):
        rotation = np.cross(axis, vectors).reshape(-1)
        np.testing.assert_allclose(fields @ rotation, 0, atol=1e-12)
    # singular values are those of J restricted to the modes: ||J v_k|| = s_k
    np.testing.assert_allclose(
        np.linalg.norm(jac.matrix @ fields.T, axis=0), jac.singular_values, atol=1e-10
    )


def test_callable_descriptor_positions_numbers():
    def distances_squared(positions, numbers):
        return np.sort((positions[1:] ** 2).sum(axis=1))

    jac = S.jacobian(distances_squared, random_cluster(3, seed=4), 0)
    assert jac.method == "finite-difference"
    # d |r_j|^2 / d r_j = 2 r_j: three rows, rank 3
    assert jac.n_insensitive(1e-8) == 6 - 3


class Wrapped:
    """Not a Descriptor subclass: only ``compute`` (what a wrapped library looks like)."""

    cutoff = 10.0

    def __init__(self):
        self.inner = PairGaussians()

    def compute(self, systems, centers=None, gradients=False):
        return self.inner.compute(systems, centers=centers, gradients=gradients)


def test_object_with_compute_uses_its_gradients():
    atoms = random_cluster(4, seed=6)
    wrapped = S.jacobian(Wrapped(), atoms, 0)
    direct = S.jacobian(PairGaussians(), atoms, 0)
    assert wrapped.method == "analytic"
    np.testing.assert_allclose(wrapped.matrix, direct.matrix, atol=1e-14)


def _builtin():
    return defaults.builtin_descriptors()


@pytest.mark.parametrize("key", list(_builtin()))
def test_every_builtin_descriptor(key):
    # a generic 5-neighbour cluster: the 3n - 3 = 12 internal coordinates are fixed by the 15
    # interatomic distances, so a 3-body (or higher) descriptor with a resolving basis has no
    # null mode, and a 2-body one sees only the 5 radii: 2n - 3 = 7 null modes
    descriptor = _builtin()[key]
    atoms = random_cluster(5, seed=0)
    atoms.numbers[3] = 8
    analytic = S.jacobian(descriptor, atoms, 0)
    numeric = S.jacobian(descriptor, atoms, 0, method="finite-difference")
    assert analytic.method == "analytic"
    error = np.linalg.norm(analytic.matrix - numeric.matrix) / np.linalg.norm(numeric.matrix)
    assert error < 1e-6
    assert analytic.rotation_leak < 1e-12
    expected = 7 if descriptor.body_order == 2 else 0
    assert analytic.n_insensitive(1e-8) == expected


def test_linear_environment_has_two_rotations():
    # rotations about the axis of a linear environment move nothing: only 2 are projected out
    atoms = ase.Atoms("H3", positions=[[0, 0, 0], [0, 0, 1.5], [0, 0, -2.0]])
    assert S.rotation_basis(atoms.positions[1:]).shape == (6, 2)
    jac = S.jacobian(LegendreTriplets(), atoms, 0)
    assert jac.singular_values.shape == (4,)


def test_diamond_jacobian_rank_is_the_number_of_symmetric_modes():
    # at a symmetric reference the gradient of any invariant is itself symmetric: the rank of
    # the Jacobian is at most the number of totally symmetric (A1 of Td) displacement modes of
    # the 46 neighbours of diamond Si within 6.5 Å: shells of 4 (C3v sites: 1 mode), 12 (Cs: 2),
    # 12 (Cs: 2), 6 (C2v: 1) and 12 (Cs: 2) atoms, 8 modes in all
    jac = S.jacobian(PairGaussians(cutoff=6.5, centres=(2.3, 3.8, 4.5, 5.4, 5.9)), silicon(), 0)
    assert jac.environment.n_neighbours == 46
    assert jac.n_insensitive(1e-8) == 135 - 5  # 2-body: 5 shells, one radius each
    ps = power_spectrum(cutoff=6.5, n_radial=8, max_angular=6)
    assert S.jacobian(ps, silicon(), 0).n_insensitive(1e-8) == 135 - 8


def test_write_modes_extxyz_roundtrip(tmp_path):
    atoms = random_cluster(4, seed=3)
    jac = S.jacobian(PairGaussians(), atoms, 0)
    path = tmp_path / "modes.xyz"
    written = jac.write_modes(path, count=2)
    assert written == [8, 7]
    frames = ase.io.read(path, index=":")
    assert len(frames) == 2
    np.testing.assert_allclose(frames[0].arrays["mode"][1:], jac.modes[8], atol=1e-7)
    np.testing.assert_allclose(frames[0].arrays["mode"][0], 0)
    assert frames[0].info["singular_value"] == pytest.approx(jac.singular_values[8], abs=1e-12)


def test_bad_input_fails_early():
    lone = ase.Atoms("H2", positions=[[0, 0, 0], [20, 0, 0]])
    with pytest.raises(InputError, match="no neighbour"):
        S.jacobian(PairGaussians(cutoff=5.0), lone, 0)
    with pytest.raises(InputError, match="method"):
        S.jacobian(PairGaussians(), random_cluster(), 0, method="exact")
    with pytest.raises(InputError, match="differs from the descriptor"):
        S.jacobian(PairGaussians(cutoff=5.0), random_cluster(), 0, cutoff=4.0)
    with pytest.raises(InputError, match="round-off"):
        S.fit_exponent([1e-3, 1e-2, 1e-1], [1e-17, 1e-16, 1e-15], roundoff=1e-16)


# ---- scaling exponents ---------------------------------------------------------------------


def test_fit_exponent_closed_form_and_roundoff_rule():
    t = np.logspace(-8, -2, 13)
    distance = 3.0 * t**2
    distance[:3] = 1e-15  # a round-off plateau: must be excluded, not fitted
    k, error, prefactor, used = S.fit_exponent(t, distance, roundoff=1e-16)
    assert not used[:3].any() and used[3:].all()
    assert k == pytest.approx(2.0, abs=1e-12) and error < 1e-10
    assert prefactor == pytest.approx(3.0, rel=1e-10)


def test_paths_radial_and_tangential_geometry():
    vectors = random_cluster(3, seed=5).positions[1:]
    t = np.array([1e-3, 0.1, 2.0])
    radial, _ = S.path_vectors(vectors, t, path="radial", neighbour=1)
    np.testing.assert_allclose(
        np.linalg.norm(radial[:, 1], axis=1), np.linalg.norm(vectors[1]) + t, rtol=1e-12
    )
    tangential, field = S.path_vectors(vectors, t, path="tangential", neighbour=1)
    np.testing.assert_allclose(
        np.linalg.norm(tangential[:, 1], axis=1), np.linalg.norm(vectors[1]), rtol=1e-12
    )
    assert abs(field[1] @ vectors[1]) < 1e-12
    np.testing.assert_array_equal(tangential[:, [0, 2]], np.repeat(vectors[None, [0, 2]], 3, 0))
    # first order: the tangential displacement is t u
    np.testing.assert_allclose(tangential[0, 1] - vectors[1], 1e-3 * field[1], atol=1e-6)


def test_toy_three_body_fold_is_quadratic_and_generic_is_linear():
    descriptor = LegendreTriplets()
    fold = S.scaling_exponent(descriptor, prl_member(0.0), 0, direction=fold_direction())
    generic = S.scaling_exponent(descriptor, prl_member(0.0), 0, seed=1)
    assert fold.exponent == pytest.approx(2.0, abs=0.1)
    assert generic.exponent == pytest.approx(1.0, abs=0.1)


# ---- the power spectrum --------------------------------------------------------------------


def test_power_spectrum_fold_exponent_and_extra_null_singular_value():
    ps = power_spectrum(cutoff=6.5, n_radial=8, max_angular=6)
    fold = S.scaling_exponent(ps, prl_member(0.0), 0, direction=fold_direction())
    generic = S.scaling_exponent(ps, prl_member(0.0), 0, seed=1)
    away = S.scaling_exponent(ps, prl_member(2.0), 0, direction=fold_direction())
    assert fold.exponent == pytest.approx(2.0, abs=0.1)
    assert generic.exponent == pytest.approx(1.0, abs=0.1)
    assert away.exponent == pytest.approx(1.0, abs=0.1)
    at_fold = S.jacobian(ps, prl_member(0.0), 0)
    off_fold = S.jacobian(ps, prl_member(2.0), 0)
    assert at_fold.method == "analytic"
    assert at_fold.n_insensitive(1e-8) == 1 and off_fold.n_insensitive(1e-8) == 0
    # the null mode is the fold direction (C moving along y), up to rotations: its overlap
    # with the rotation-free part of that direction is complete
    u = fold_direction().reshape(-1)
    rotations = S.rotation_basis(prl_member(0.0).positions[1:])
    u -= rotations @ (rotations.T @ u)
    overlap = abs(at_fold.modes[-1].reshape(-1) @ u) / np.linalg.norm(u)
    assert overlap > 1 - 1e-8


def test_power_spectrum_tangential_exponents_on_diamond():
    ps = power_spectrum(cutoff=6.5, n_radial=8, max_angular=6)
    perfect = silicon()
    nearest = int(np.argmin(S.jacobian(ps, perfect, 0).environment.distances))
    jittered = S.radial_jitter(perfect, 0, cutoff=6.5, amplitude=0.02, seed=0)
    t = np.logspace(-6, -3, 13)
    quadratic = S.scaling_exponent(ps, perfect, 0, t_values=t, path="tangential", neighbour=nearest)
    linear = S.scaling_exponent(ps, jittered, 0, t_values=t, path="tangential", neighbour=nearest)
    radial = S.scaling_exponent(ps, perfect, 0, t_values=t, path="radial", neighbour=nearest)
    assert quadratic.exponent == pytest.approx(2.0, abs=0.1)
    assert linear.exponent == pytest.approx(1.0, abs=0.1)
    assert radial.exponent == pytest.approx(1.0, abs=0.1)


def test_radial_jitter_stays_within_amplitude():
    perfect = silicon()
    jittered = S.radial_jitter(perfect, 0, cutoff=6.5, amplitude=0.02, seed=0)
    before = S.jacobian(PairGaussians(cutoff=6.5), perfect, 0, method="finite-difference")
    after = S.jacobian(PairGaussians(cutoff=6.5), jittered, 0, method="finite-difference")
    ratio = after.environment.distances / before.environment.distances
    assert np.all(np.abs(ratio - 1) <= 0.02) and np.ptp(ratio) > 0.02


def test_power_spectrum_jacobian_matches_finite_differences_in_silicon():
    ps = power_spectrum(cutoff=6.5, n_radial=8, max_angular=6)
    jittered = S.radial_jitter(silicon(), 0, cutoff=6.5, seed=1)
    analytic = S.jacobian(ps, jittered, 0)
    numeric = S.jacobian(ps, jittered, 0, method="finite-difference")
    assert analytic.matrix.shape == (analytic.values.size, 3 * 46)
    error = np.linalg.norm(analytic.matrix - numeric.matrix) / np.linalg.norm(numeric.matrix)
    assert error < 1e-7


# ---- manifold following --------------------------------------------------------------------


def test_ch4_target_closed_form():
    tetrahedron = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=float)
    # face normals of a regular tetrahedron meet at cos = -1/3: 6 pairs of 1/9
    assert S.ch4_four_body_target(tetrahedron) == pytest.approx(2 / 3, abs=1e-14)
    start = np.asarray(CH4_START)
    rng = np.random.default_rng(0)
    rotation = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    value = S.ch4_four_body_target(start)
    batch = S.ch4_four_body_target(np.stack([start @ rotation.T, start[[2, 0, 3, 1]]]))
    np.testing.assert_allclose(batch, value, rtol=1e-12)


def test_following_a_two_body_null_mode_keeps_features_constant():
    path = S.follow_insensitive_mode(
        PairGaussians(cutoff=6.0), ch4(), 0, n_steps=300, step=1e-3, target=S.ch4_four_body_target
    )
    assert path.method == "analytic"
    assert path.vectors.shape == (301, 4, 3)
    steps = np.linalg.norm(np.diff(path.vectors, axis=0), axis=(1, 2))
    np.testing.assert_allclose(steps, 1e-3, rtol=1e-12)
    # consecutive directions are aligned (sign continuity)
    directions = np.diff(path.vectors, axis=0).reshape(300, -1)
    assert np.all(np.einsum("ij,ij->i", directions[1:], directions[:-1]) > 0)
    assert path.change.ratio < 0.05
    assert path.end_to_end > 0.1
    low, high = path.distance_range
    assert high - low < 0.01  # a 2-body descriptor pins the bonds
    other = S.path_feature_change(LegendreTriplets(cutoff=6.0), path, every=30)
    assert other.ratio > 10 * path.change.ratio


@pytest.mark.slow
def test_power_spectrum_manifold_of_ch4_published_protocol():
    ps = power_spectrum(cutoff=2.5, n_radial=8, max_angular=8, density_width=0.3)
    path = S.follow_insensitive_mode(
        ps, ch4(), 0, n_steps=20_000, step=1e-4, target=S.ch4_four_body_target
    )
    low, high = path.target_range
    assert high - low > 0.1
    assert path.change.ratio < 0.05
    bispectrum = correlations.Bispectrum(cutoff=2.5, n_radial=4, max_angular=4, density_width=0.3)
    other = S.path_feature_change(bispectrum, path)
    assert other.ratio > 5 * path.change.ratio


# ---- command line --------------------------------------------------------------------------


def test_cli_sensitivity_end_to_end(tmp_path, capsys):
    import json

    from completeness.cli import main

    power_spectrum()
    structure = tmp_path / "prl.xyz"
    ase.io.write(structure, prl_member(0.0), format="extxyz")
    modes, out = tmp_path / "modes.xyz", tmp_path / "out.json"
    code = main(
        [
            "sensitivity", "--descriptor", "PowerSpectrum", "--structure", str(structure),
            "--cutoff", "6.5", "--n-radial", "6", "--max-angular", "4",
            "--modes", str(modes), "--path", "both", "--json", str(out),
        ]
    )  # fmt: skip
    assert code == 0
    text = capsys.readouterr().out
    assert "condition number" in text and "tangential path" in text
    result = json.loads(out.read_text())
    assert result["method"] == "analytic" and result["n_insensitive"] == 1
    assert len(ase.io.read(modes, index=":")) == 3
    assert main(["sensitivity", "--descriptor", "PowerSpectrum", "--structure", str(structure),
                 "--centre", "9"]) == 2  # fmt: skip

"""Spherical expansion: conventions, radial bases, splines, cutoff, pair gradients.

Every expected value is derived independently of the code under test: scipy's complex
harmonics, numerical quadrature of the defining integrals, closed forms evaluated directly (not
through the spline), and brute-force per-pair loops.
"""

import ase
import numpy as np
import pytest
from scipy import integrate, special

from completeness.descriptors.radial_basis import (
    SPLINE_ACCURACY,
    _gto_orthonormalisation,
    gto_radial_integral,
    radial_spline,
    shifted_cosine_cutoff,
    spherical_bessel_radial_integral,
    spherical_bessel_zeros,
)
from completeness.descriptors.spherical_expansion import Expansion, SphericalExpansion
from completeness.environments import InputError, build_neighbourhoods

CUTOFF = 4.0


def _real_from_complex(l, theta, phi):
    """Real harmonics from scipy's complex (Condon-Shortley) ones, m = -l..l.

    Y_{l,m>0} = sqrt2 (-1)^m Re Y_l^m, Y_{l0} = Y_l^0, Y_{l,m<0} = sqrt2 (-1)^m Im Y_l^{|m|}.
    """
    sph = getattr(special, "sph_harm_y", None)
    if sph is not None:

        def complex_y(m):
            return sph(l, m, theta, phi)
    else:  # older scipy: sph_harm(m, l, azimuth, polar)

        def complex_y(m):
            return special.sph_harm(m, l, phi, theta)

    out = []
    for m in range(-l, l + 1):
        value = complex_y(abs(m))
        if m > 0:
            out.append(np.sqrt(2) * (-1) ** m * value.real)
        elif m == 0:
            out.append(value.real)
        else:
            out.append(np.sqrt(2) * (-1) ** m * value.imag)
    return np.stack(out, axis=-1)


def test_sphericart_matches_scipy_after_unitary_map():
    import sphericart

    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(50, 3)) * rng.uniform(0.5, 3, size=(50, 1))
    r = np.linalg.norm(vectors, axis=1)
    theta = np.arccos(vectors[:, 2] / r)
    phi = np.arctan2(vectors[:, 1], vectors[:, 0])
    values = sphericart.SphericalHarmonics(6).compute(vectors)
    for l in range(7):
        expected = _real_from_complex(l, theta, phi)
        np.testing.assert_allclose(values[:, l * l : (l + 1) ** 2], expected, atol=1e-13)


def _primitive_gto(x, n, b, norm):
    return norm[n] * x**n * np.exp(-b[n] * x * x)


@pytest.mark.parametrize("density_width", [0.3, 0.5])
def test_gto_radial_integral_matches_quadrature(density_width):
    """Closed form (1F1) against quadrature of the defining integral with spherical i_l."""
    n_radial, max_angular = 6, 4
    b, norm, inverse_sqrt = _gto_orthonormalisation(CUTOFF, n_radial)
    a = 1 / (2 * density_width**2)
    distances = np.array([0.2, 1.3, 3.7])
    values, _ = gto_radial_integral(distances, n_radial, max_angular, CUTOFF, density_width)
    for k, r in enumerate(distances):
        for n, l in [(0, 0), (2, 1), (5, 4), (3, 3)]:

            def integrand(x, n=n, l=l, r=r):
                basis = sum(inverse_sqrt[n, q] * _primitive_gto(x, q, b, norm) for q in range(6))
                gauss = np.exp(-a * (r * r + x * x)) * special.spherical_in(l, 2 * a * r * x)
                return x * x * basis * 4 * np.pi * gauss * (np.pi * density_width**2) ** -0.75

            expected = integrate.quad(integrand, 0, 15, limit=200, epsabs=1e-14)[0]
            assert values[k, n, l] == pytest.approx(expected, rel=1e-8, abs=1e-12)


def test_gto_basis_is_orthonormal():
    b, norm, inverse_sqrt = _gto_orthonormalisation(CUTOFF, 6)
    x = np.linspace(0, 20, 40001)
    basis = inverse_sqrt @ np.stack([_primitive_gto(x, q, b, norm) for q in range(6)])
    overlap = integrate.simpson(x**2 * basis[:, None] * basis[None, :], x=x, axis=-1)
    np.testing.assert_allclose(overlap, np.eye(6), atol=1e-9)


def test_spherical_bessel_zeros_and_orthonormality():
    zeros = spherical_bessel_zeros(5, 3)
    # j_0(x) = sin(x)/x has zeros at n pi
    np.testing.assert_allclose(zeros[:, 0], np.pi * np.arange(1, 6), rtol=1e-14)
    for l in range(4):
        np.testing.assert_allclose(special.spherical_jn(l, zeros[:, l]), 0, atol=1e-13)
        assert np.all(np.diff(zeros[:, l]) > 0)
    x = np.linspace(0, CUTOFF, 20001)
    values, _ = spherical_bessel_radial_integral(x, 5, 3, CUTOFF)
    for l in range(4):
        f = values[:, :, l]
        overlap = integrate.simpson(
            x[:, None, None] ** 2 * f[:, :, None] * f[:, None, :], x=x, axis=0
        )
        np.testing.assert_allclose(overlap, np.eye(5), atol=1e-8)


@pytest.mark.parametrize(
    ("basis", "function"),
    [
        ("gto", lambda r: gto_radial_integral(r, 8, 6, 5.0, 0.5)),
        ("spherical_bessel", lambda r: spherical_bessel_radial_integral(r, 8, 6, 5.0)),
    ],
)
def test_spline_matches_closed_form(basis, function):
    spline = radial_spline(basis, 5.0, 8, 6, 0.5 if basis == "gto" else 0.0)
    r = np.random.default_rng(1).uniform(0, 5.0, size=2000)
    values, derivatives = spline(r)
    exact, exact_derivatives = function(r)
    scale = np.abs(exact).max()
    assert np.abs(values - exact).max() / scale < SPLINE_ACCURACY
    assert np.abs(derivatives - exact_derivatives).max() / np.abs(exact_derivatives).max() < 1e-6


@pytest.mark.parametrize("basis", ["gto", "spherical_bessel"])
def test_closed_form_derivatives_match_finite_differences(basis):
    def function(r):
        if basis == "gto":
            return gto_radial_integral(r, 5, 4, CUTOFF, 0.4)
        return spherical_bessel_radial_integral(r, 5, 4, CUTOFF)

    r = np.array([0.3, 1.1, 2.5, 3.9])
    h = 1e-6
    _, derivative = function(r)
    numeric = (function(r + h)[0] - function(r - h)[0]) / (2 * h)
    np.testing.assert_allclose(derivative, numeric, atol=1e-7 * np.abs(numeric).max())


def test_shifted_cosine_cutoff():
    r = np.array([0.0, 3.0, 3.5, 3.75, 4.0, 4.5])
    f, df = shifted_cosine_cutoff(r, 4.0, 0.5)
    np.testing.assert_allclose(f, [1, 1, 1, 0.5, 0, 0], atol=1e-15)
    np.testing.assert_allclose(df, [0, 0, 0, -np.pi / 1.0, 0, 0], atol=1e-12)
    # C1: value and slope vanish continuously at both ends of the switching region
    for edge in (3.5, 4.0):
        left, dleft = shifted_cosine_cutoff(np.array([edge - 1e-9]), 4.0, 0.5)
        right, dright = shifted_cosine_cutoff(np.array([edge + 1e-9]), 4.0, 0.5)
        assert abs(left - right)[0] < 1e-8 and abs(dleft - dright)[0] < 1e-7


def _random_cluster(seed, n_atoms=7, numbers=(1, 6, 8)):
    rng = np.random.default_rng(seed)
    while True:
        positions = rng.uniform(-2.2, 2.2, size=(n_atoms, 3))
        d = np.linalg.norm(positions[:, None] - positions[None], axis=-1)
        if d[np.triu_indices(n_atoms, 1)].min() > 0.5:
            break
    return ase.Atoms(numbers=rng.choice(numbers, size=n_atoms), positions=positions)


@pytest.mark.parametrize("basis", ["gto", "spherical_bessel"])
def test_expansion_matches_brute_force(basis):
    """Batched expansion vs a per-pair loop on closed forms and scipy-free sphericart calls."""
    import sphericart

    systems = [_random_cluster(seed) for seed in range(3)] + [_random_cluster(9, n_atoms=4)]
    expansion = SphericalExpansion(CUTOFF, 5, 3, density_width=0.4, radial_basis=basis)
    neighbourhoods = build_neighbourhoods(systems, CUTOFF)
    species = neighbourhoods.species
    result = expansion.compute(neighbourhoods, species)
    assert isinstance(result, Expansion)
    harmonics = sphericart.SphericalHarmonics(3)
    for sample, (system, centre) in enumerate(neighbourhoods.samples):
        atoms = systems[system]
        expected = np.zeros((len(species), 5, 16))
        for j in range(len(atoms)):
            vector = atoms.positions[j] - atoms.positions[centre]
            r = np.linalg.norm(vector)
            if j == centre or r >= CUTOFF:
                continue
            if basis == "gto":
                radial = gto_radial_integral([r], 5, 3, CUTOFF, 0.4)[0][0]
            else:
                radial = spherical_bessel_radial_integral([r], 5, 3, CUTOFF)[0][0]
            f = shifted_cosine_cutoff(np.array([r]), CUTOFF, 0.5)[0][0]
            y = harmonics.compute(vector[None])[0]
            a = list(species).index(atoms.numbers[j])
            for l in range(4):
                expected[a, :, l * l : (l + 1) ** 2] += f * np.outer(
                    radial[:, l], y[l * l : (l + 1) ** 2]
                )
        for l in range(4):
            got = result.coefficients[l][sample]
            np.testing.assert_allclose(got, expected[..., l * l : (l + 1) ** 2], atol=1e-9)


def test_pair_gradients_match_finite_differences():
    atoms = _random_cluster(4)
    expansion = SphericalExpansion(CUTOFF, 4, 3, density_width=0.35)
    species = np.unique(atoms.numbers)
    neighbourhoods = build_neighbourhoods(atoms, CUTOFF, centers=[0])
    result = expansion.compute(neighbourhoods, species, gradients=True)
    assert len(result.pair_gradients) == 4
    assert result.pair_gradients[2].shape == (neighbourhoods.n_pairs, 3, 4, 5)
    h = 1e-6
    for p in range(neighbourhoods.n_pairs):
        j = neighbourhoods.pair_neighbour[p]
        a = result.pair_species_index[p]
        assert species[a] == neighbourhoods.pair_species[p]
        for x in range(3):
            shifted = []
            for sign in (1, -1):
                moved = atoms.copy()
                moved.positions[j, x] += sign * h
                nb = build_neighbourhoods(moved, CUTOFF, centers=[0])
                shifted.append(expansion.compute(nb, species).coefficients)
            for l in range(4):
                numeric = (shifted[0][l][0, a] - shifted[1][l][0, a]) / (2 * h)
                np.testing.assert_allclose(result.pair_gradients[l][p, x], numeric, atol=1e-7)


def test_empty_environment_gives_zeros():
    expansion = SphericalExpansion(CUTOFF, 3, 2)
    atoms = ase.Atoms("CH", positions=[[0, 0, 0], [0, 0, 10.0]])
    neighbourhoods = build_neighbourhoods(atoms, CUTOFF)
    result = expansion.compute(neighbourhoods, [1, 6], gradients=True)
    assert all(np.all(c == 0) for c in result.coefficients)
    assert result.coefficients[2].shape == (2, 2, 3, 5)
    assert result.pair_gradients[1].shape == (0, 3, 3, 3)


@pytest.mark.parametrize(
    ("hypers", "message"),
    [
        ({"cutoff": -1.0}, "cutoff"),
        ({"n_radial": 0}, "n_radial must be an integer in 1..30"),
        ({"max_angular": -1}, "max_angular must be an integer in 0..30"),
        ({"radial_basis": "bessel"}, "radial_basis must be one of 'gto', 'spherical_bessel'"),
        ({"density_width": 0.0}, "density_width must be a positive"),
        ({"cutoff_width": 5.0}, "cutoff_width must be in [0, cutoff=4] Å"),
    ],
)
def test_bad_hypers_raise_at_compute(hypers, message):
    arguments = {"cutoff": CUTOFF, "n_radial": 3, "max_angular": 2, **hypers}
    expansion = SphericalExpansion(**arguments)  # stores only
    neighbourhoods = build_neighbourhoods(_random_cluster(0), CUTOFF)
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]")):
        expansion.compute(neighbourhoods, [1, 6, 8])


def test_unknown_neighbour_species_raises():
    neighbourhoods = build_neighbourhoods(_random_cluster(0), CUTOFF)
    with pytest.raises(InputError, match="species"):
        SphericalExpansion(CUTOFF, 3, 2).compute(neighbourhoods, [1])


def test_expansion_matches_featomic():
    """featomic's SphericalExpansion (centre density off) is an independent implementation of
    the same GTO convention: same m order and phase, agreement to its spline accuracy."""
    featomic = pytest.importorskip("featomic")
    atoms = _random_cluster(11)
    hypers = {
        "cutoff": {"radius": CUTOFF, "smoothing": {"type": "ShiftedCosine", "width": 0.5}},
        "density": {"type": "Gaussian", "width": 0.4, "center_atom_weight": 0.0},
        "basis": {
            "type": "TensorProduct",
            "max_angular": 3,
            "radial": {"type": "Gto", "max_radial": 4},
        },
    }
    reference = featomic.SphericalExpansion(**hypers).compute([atoms])
    species = np.unique(atoms.numbers)
    neighbourhoods = build_neighbourhoods(atoms, CUTOFF)
    ours = SphericalExpansion(CUTOFF, 5, 3, density_width=0.4).compute(neighbourhoods, species)
    checked = 0
    for key, block in reference.items():
        l, a = int(key["o3_lambda"]), list(species).index(int(key["neighbor_type"]))
        atoms_rows = block.samples.column("atom")
        assert block.properties.column("n").tolist() == list(range(5))
        expected = block.values.transpose(0, 2, 1)  # (samples, n, m)
        got = ours.coefficients[l][atoms_rows, a]
        assert np.abs(got - expected).max() < 1e-7 * max(np.abs(expected).max(), 1e-3)
        checked += 1
    assert checked == len(reference.keys) >= 4 * len(species)

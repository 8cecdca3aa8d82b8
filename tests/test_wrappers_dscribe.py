"""dscribe behind the package's API: translation, gradients (attach=True), and every dscribe
finding of docs/peers.md reproduced with dscribe called directly."""

import ase
import numpy as np
import pytest

pytest.importorskip("dscribe")

from dscribe.descriptors import ACSF, LMBTR, MBTR, SOAP

from completeness.descriptors.wrappers import (
    DscribeACSF,
    DscribeLMBTR,
    DscribeMBTR,
    DscribeSOAP,
    load_peer,
)

SPECIES = [1, 6, 8]


def cluster(seed=0, n=6, species=(1, 8), radius=3.2):
    rng = np.random.default_rng(seed)
    points = [np.zeros(3)]
    while len(points) < n + 1:
        candidate = rng.uniform(-radius, radius, 3)
        if (
            np.linalg.norm(candidate) <= radius
            and min(np.linalg.norm(candidate - p) for p in points) > 0.9
        ):
            points.append(candidate)
    numbers = [6] + [species[k % len(species)] for k in range(n)]
    return ase.Atoms(numbers=numbers, positions=np.array(points))


def finite_difference(compute, atoms, atom=0, step=1e-5):
    """d compute(atoms) / d (position of ``atom``), by central differences."""
    rows = []
    for axis in range(3):
        plus, minus = atoms.copy(), atoms.copy()
        plus.positions[atom, axis] += step
        minus.positions[atom, axis] -= step
        rows.append((compute(plus) - compute(minus)) / (2 * step))
    return np.array(rows)


def test_translation_table_gives_dscribes_own_numbers():
    atoms = cluster(1)
    wrapper = DscribeSOAP(cutoff=4.5, n_radial=5, max_angular=3, density_width=0.4, species=SPECIES)
    reference = SOAP(r_cut=4.5, n_max=5, l_max=3, sigma=0.4, rbf="gto", species=SPECIES)
    np.testing.assert_array_equal(
        wrapper.compute(atoms, centers=[0, 2]).values, reference.create(atoms, centers=[0, 2])
    )
    # dscribe's layout: n_max (n_max + 1) / 2 (l_max + 1) per same-species pair, n_max^2
    # (l_max + 1) per pair of different species (3 + 3 pairs)
    assert wrapper.n_features(SPECIES) == 3 * 15 * 4 + 3 * 25 * 4


def test_acsf_translation_and_body_order():
    g2 = [[1.0, 2.0], [4.0, 3.0]]
    g4 = [[0.05, 1.0, 1.0]]
    atoms = cluster(2)
    radial = DscribeACSF(cutoff=4.0, g2_params=g2, species=SPECIES)
    angular = DscribeACSF(cutoff=4.0, g2_params=g2, g4_params=g4, species=SPECIES)
    assert (radial.body_order, angular.body_order) == (2, 3)
    reference = ACSF(r_cut=4.0, g2_params=g2, g4_params=g4, species=SPECIES).create(atoms, [0])
    np.testing.assert_array_equal(angular.compute(atoms, centers=[0]).values, reference)


def test_soap_gradients_include_the_centre_row():
    """attach=True: every row, the centre's included, is the derivative (finite differences)."""
    atoms = cluster(3)
    wrapper = DscribeSOAP(cutoff=4.0, n_radial=4, max_angular=3, species=SPECIES)
    analytic = wrapper.compute(atoms, centers=[0], gradients=True).gradients[0]
    numeric = np.array(
        [
            finite_difference(lambda a: wrapper.compute(a, centers=[0]).values[0], atoms, atom)
            for atom in range(len(atoms))
        ]
    )
    assert np.abs(numeric[0]).max() > 1e-2
    np.testing.assert_allclose(analytic, numeric, atol=1e-7 * np.abs(numeric).max())


def test_finding_attach_false_centre_row_is_not_the_derivative():
    """Probe 'derivatives(attach=False)': dscribe keeps the expansion centre fixed in space, so
    the centre atom's row is not d(features)/d(centre position)."""
    atoms = cluster(1)
    soap = SOAP(r_cut=4.0, n_max=4, l_max=3, sigma=0.5, species=SPECIES)
    detached = soap.derivatives(atoms, centers=[0], attach=False, return_descriptor=False)
    attached = soap.derivatives(atoms, centers=[0], attach=True, return_descriptor=False)
    numeric = finite_difference(lambda a: soap.create(a, centers=[0])[0], atoms)
    scale = np.abs(numeric).max()
    assert np.abs(attached[0, 0] - numeric).max() < 1e-6 * scale
    assert np.abs(detached[0, 0] - numeric).max() > 0.1 * scale
    # the neighbours' rows agree between the two modes
    np.testing.assert_allclose(detached[0, 1:], attached[0, 1:], atol=1e-10 * scale)


def test_finding_soap_has_a_kink_at_the_cutoff():
    """Probe 'smoothness at the cutoff': the change when an atom crosses r_cut is linear in the
    distance from it (value continuous, derivative not), without weighting=."""
    base = cluster(4, n=4, radius=2.5)
    direction = np.array([0.0, 0.6, 0.8])
    soap = SOAP(r_cut=4.0, n_max=4, l_max=3, sigma=0.5, species=SPECIES)

    def jump(eps):
        inside = soap.create(base + ase.Atom("H", (4.0 - eps) * direction), centers=[0])[0]
        outside = soap.create(base + ase.Atom("H", (4.0 + eps) * direction), centers=[0])[0]
        return np.linalg.norm(inside - outside) / np.linalg.norm(outside)

    coarse, fine = jump(1e-3), jump(1e-5)
    assert fine > 0
    assert 50 < coarse / fine < 200  # first order: 100x for 100x smaller eps (C1: 1e4x)


@pytest.mark.parametrize("cls", [MBTR, LMBTR])
def test_finding_mbtr_fails_with_recent_ase(cls):
    """Probes 'runs with the installed ase': MBTR and LMBTR build ase.Atoms with both momenta
    and velocities, which ase >= 3.27 refuses (SINGROUP/dscribe#165)."""
    obj = cls(
        species=SPECIES,
        geometry={"function": "inverse_distance" if cls is MBTR else "distance"},
        grid={"min": 0.0, "max": 5.0, "n": 20, "sigma": 0.1},
        weighting={"function": "exp", "scale": 0.5, "threshold": 1e-3},
    )
    atoms = cluster(5)
    kwargs = {} if cls is MBTR else {"centers": [0]}
    version = tuple(int(part) for part in ase.__version__.split(".")[:2])
    if version >= (3, 27):
        with pytest.raises(TypeError, match='Use only one of "momenta" and "velocities"'):
            obj.create(atoms, **kwargs)
    else:
        assert np.all(np.isfinite(obj.create(atoms, **kwargs)))


@pytest.mark.parametrize("spec", ["dscribe:MBTR", "dscribe:LMBTR"])
def test_wrapper_passes_the_mbtr_failure_through_unchanged(spec):
    version = tuple(int(part) for part in ase.__version__.split(".")[:2])
    if version < (3, 27):
        pytest.skip("MBTR works with this ase")
    with pytest.raises(TypeError, match='Use only one of "momenta" and "velocities"'):
        load_peer(spec).compute(cluster(6), centers=[0])


def test_mbtr_wrappers_describe_their_hypers():
    mbtr = load_peer("dscribe:MBTR")
    assert isinstance(mbtr, DscribeMBTR) and mbtr.cutoff is None and mbtr.body_order == 2
    lmbtr = DscribeLMBTR(geometry={"function": "angle"}, grid={"min": 0, "max": 180, "n": 10})
    assert lmbtr.body_order == 3


def test_periodic_systems_use_dscribes_periodic_mode():
    from ase.build import bulk

    silicon = bulk("Si", "diamond", a=5.43, cubic=True)
    wrapper = DscribeSOAP(cutoff=4.0, n_radial=4, max_angular=3)
    got = wrapper.compute(silicon, centers=[0, 3]).values
    reference = SOAP(r_cut=4.0, n_max=4, l_max=3, sigma=0.5, species=[14], periodic=True)
    np.testing.assert_array_equal(got, reference.create(silicon, centers=[0, 3]))
    np.testing.assert_allclose(got[0], got[1], atol=1e-10 * np.abs(got).max())  # equivalent


def test_cached_dscribe_object_follows_set_params():
    wrapper = DscribeSOAP(cutoff=4.0, n_radial=4, max_angular=3, species=SPECIES)
    atoms = cluster(8)
    first = wrapper.compute(atoms, centers=[0]).values
    wrapper.set_params(n_radial=3)
    second = wrapper.compute(atoms, centers=[0]).values
    expected = SOAP(r_cut=4.0, n_max=3, l_max=3, sigma=0.5, species=SPECIES).create(atoms, [0])
    assert first.shape[1] != second.shape[1]
    np.testing.assert_array_equal(second, expected)

"""``completeness.descriptors.adapt``: configured dscribe/featomic objects, ASE calculators and
callables audited as they are, in Python and through ``module:attr`` on the command line."""

import json
import pickle
import textwrap

import numpy as np
import pytest
from ase.calculators.emt import EMT

from completeness import structures
from completeness.analysis import verdict
from completeness.analysis.report import report_card, run_audit
from completeness.cli import main
from completeness.descriptors import PowerSpectrum
from completeness.descriptors.adapters import AseCalculator, FeatomicCalculator, adapt
from completeness.descriptors.user import as_descriptor
from completeness.environments import InputError
from completeness.testing import assert_gradients, assert_invariant

SPECIES = ["H", "C", "N", "O", "F", "Si", "Cl", "Br"]  # every element of the catalog


def dscribe_soap():
    from dscribe.descriptors import SOAP

    return SOAP(r_cut=5.0, n_max=4, l_max=3, sigma=0.5, species=SPECIES)


def featomic_power_spectrum():
    import featomic

    return featomic.SoapPowerSpectrum(
        cutoff={"radius": 5.0, "smoothing": {"type": "ShiftedCosine", "width": 0.5}},
        density={"type": "Gaussian", "width": 0.5},
        basis={
            "type": "TensorProduct",
            "max_angular": 3,
            "radial": {"type": "Gto", "max_radial": 3},
        },
    )


def test_a_descriptor_and_a_callable_are_kept_and_other_objects_are_refused():
    descriptor = PowerSpectrum()
    assert adapt(descriptor) is descriptor

    def radial(positions, numbers):
        return np.sort(np.linalg.norm(positions[1:] - positions[0], axis=1))

    assert adapt(radial) is radial
    with pytest.raises(InputError, match="dscribe:SOAP") as error:
        adapt(object())
    assert "\n" not in str(error.value)


def test_configured_dscribe_soap_gives_its_own_create_and_derivatives(cluster):
    pytest.importorskip("dscribe")
    soap = dscribe_soap()
    adapted = adapt(soap)
    assert (adapted.body_order, adapted.parity, adapted.cutoff) == (3, "O(3)", 5.0)
    features = adapted.compute(cluster, centers=[0, 3], gradients=True)
    derivatives, values = soap.derivatives(cluster, centers=[0, 3], attach=True)
    np.testing.assert_array_equal(features.values, values)
    np.testing.assert_array_equal(features.gradients, derivatives)
    assert_gradients(adapted, cluster, centers=[0], rtol=1e-6)


def test_featomic_calculator_equals_the_wrapper_and_has_gradients(cluster):
    pytest.importorskip("featomic")
    from completeness.descriptors.wrappers import FeatomicSoapPowerSpectrum

    wrapper = FeatomicSoapPowerSpectrum(n_radial=4, max_angular=3, cutoff=5.0)
    import featomic

    calculator = featomic.SoapPowerSpectrum(**wrapper.featomic_hypers())
    adapted = adapt(calculator)
    assert isinstance(adapted, FeatomicCalculator) and adapted.body_order == 3
    ours = adapted.compute(cluster, centers=[0, 2])
    theirs = wrapper.compute(cluster, centers=[0, 2])
    assert sorted(ours.feature_names) == sorted(theirs.feature_names)
    order = [ours.feature_names.index(name) for name in theirs.feature_names]
    np.testing.assert_array_equal(ours.values[:, order], theirs.values)
    assert_gradients(adapted, cluster, centers=[0], rtol=1e-6)
    assert_invariant(adapted, cluster, n_trials=1, rtol=1e-10)
    # the calculator holds a native pointer: the adapter pickles by rebuilding it
    again = pickle.loads(pickle.dumps(adapted))
    np.testing.assert_array_equal(again.compute(cluster, centers=[0, 2]).values, ours.values)


def test_ase_calculator_gives_per_atom_energies(cluster):
    adapted = adapt(EMT())
    assert isinstance(adapted, AseCalculator) and adapted.property == "energies"
    assert adapted.body_order is None and adapted.parity == "O(3)"
    atoms = cluster.copy()
    atoms.numbers[:] = [6 if z == 6 else 1 for z in atoms.numbers]  # EMT knows H, C, N, O, ...
    values = adapted.compute([atoms, atoms[:5]], centers=[[0, 2], [1]]).values
    reference = atoms.copy()
    reference.calc = EMT()
    small = atoms[:5]
    small.calc = EMT()
    expected = [*reference.get_potential_energies()[[0, 2]], small.get_potential_energies()[1]]
    np.testing.assert_allclose(values[:, 0], expected, rtol=1e-12)
    with pytest.raises(InputError, match="per-atom"):
        AseCalculator(EMT(), property="forces")
    assert not as_descriptor(EMT()).has_gradients


def test_undeclared_body_order_is_inferred_from_the_verdicts():
    """EMT's per-atom energy is an embedding function of a sum of pair terms: a function of the
    centre's distances only, hence 2-body; the catalog's verdicts say so."""
    names = ["joshi2023-two-body", "two-body-random", "pozdnyakov2020-fig1b", "dojo-kchain-2"]
    pairs = [structures.load(name) for name in names]
    card = report_card(EMT(), pairs=pairs, timings=False)
    assert card.body_order is None
    inferred = card.sections["uniqueness"]["inferred"]
    assert (inferred["body_order"], inferred["parity"]) == (2, "O(3)")
    assert "inferred from the verdicts: O(3) 2-body" in card.summary_lines(timings=False)[0]
    # the audit table's legend says the same, also without cards
    table = run_audit({"emt": EMT()}, pairs, cards=False, progress=False).table_lines()
    assert "  1  emt (undeclared body order/parity; inferred O(3) 2-body)" in table


def test_adapted_objects_get_verdicts_of_their_body_order():
    pytest.importorskip("dscribe")
    prl = structures.load("pozdnyakov2020-fig1b")  # equal up to 3-body
    two_body = structures.load("joshi2023-two-body")  # equal up to 2-body
    soap = dscribe_soap()
    assert verdict(soap, prl).verdict == "degenerate"
    assert verdict(soap, two_body).verdict == "resolved"


@pytest.fixture
def objects_module(tmp_path, monkeypatch):
    (tmp_path / "peer_objects.py").write_text(
        textwrap.dedent(
            f"""
            import featomic
            from dscribe.descriptors import SOAP

            soap = SOAP(r_cut=5.0, n_max=4, l_max=3, sigma=0.5, species={SPECIES!r})
            power_spectrum = featomic.SoapPowerSpectrum(
                cutoff={{"radius": 5.0, "smoothing": {{"type": "ShiftedCosine", "width": 0.5}}}},
                density={{"type": "Gaussian", "width": 0.5}},
                basis={{"type": "TensorProduct", "max_angular": 3,
                       "radial": {{"type": "Gto", "max_radial": 3}}}},
            )
            """
        )
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))


def test_command_line_audits_objects_named_module_attr(objects_module, tmp_path, capsys):
    pytest.importorskip("dscribe")
    pytest.importorskip("featomic")
    prl = structures.load("pozdnyakov2020-fig1b")
    paths = []
    for label, atoms in (("plus", prl.plus), ("minus", prl.minus)):
        path = tmp_path / f"{label}.xyz"
        atoms.write(path)
        paths.append(str(path))
    argv = ["audit", "--no-timings", "--pair", *paths, "--json"]
    for spec in ("peer_objects:soap", "peer_objects:power_spectrum", "ase.calculators.emt:EMT"):
        argv += ["--descriptor", spec]
    assert main(argv) == 0
    record = json.loads(capsys.readouterr().out)
    found = {v["descriptor"]: v for v in record["verdicts"]}
    assert found["peer_objects:soap"]["verdict"] == "degenerate"
    assert found["peer_objects:power_spectrum"]["verdict"] == "degenerate"
    assert found["peer_objects:soap"]["body_order"] == 3
    assert found["ase.calculators.emt:EMT"]["verdict"] == "degenerate"

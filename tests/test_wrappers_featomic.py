"""featomic behind the package's API: translation, layout, gradients, findings; and what every
wrapper shares (lazy imports, registry, command line, the peers page)."""

import json
import os
import subprocess
import sys

import ase
import numpy as np
import pytest

from completeness.environments import InputError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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


def finite_differences(descriptor, atoms, step=1e-5):
    systems = []
    for atom in range(len(atoms)):
        for axis in range(3):
            for sign in (1.0, -1.0):
                copy = atoms.copy()
                copy.positions[atom, axis] += sign * step
                systems.append(copy)
    values = descriptor.compute(systems, centers=[0]).values
    return ((values[0::2] - values[1::2]) / (2 * step)).reshape(1, len(atoms), 3, -1)


# ---- shared by every wrapper (no library needed) ---------------------------------------------


def test_importing_the_package_imports_no_peer_library():
    code = (
        "import completeness, completeness.descriptors, completeness.analysis, "
        "completeness.descriptors.wrappers, completeness.descriptors.wrappers.probes, sys; "
        "loaded = [m for m in ('featomic', 'metatensor', 'dscribe', 'quippy') "
        "if m in sys.modules]; assert not loaded, loaded"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr


def test_registry_names_every_wrapper_with_its_library():
    from completeness.descriptors.wrappers import PEERS, peer_descriptors

    assert sorted(PEERS) == sorted(
        [
            "featomic:SoapRadialSpectrum",
            "featomic:SoapPowerSpectrum",
            "featomic:DensityCorrelations",
            "dscribe:SOAP",
            "dscribe:ACSF",
            "dscribe:MBTR",
            "dscribe:LMBTR",
            "quippy:soap",
            "quippy:power_so3",
            "quippy:bispectrum_so3",
            "quippy:bispectrum_so4",
        ]
    )
    for spec, descriptor in peer_descriptors().items():
        assert descriptor.name == spec
        assert descriptor.parity in ("O(3)", "SO(3)")
        assert descriptor.body_order in (2, 3, 4)


def test_resolve_descriptors_knows_library_names_before_module_attr():
    from completeness.descriptors.defaults import resolve_descriptors
    from completeness.descriptors.wrappers import FeatomicSoapPowerSpectrum

    chosen = resolve_descriptors(["featomic:SoapPowerSpectrum"])
    assert isinstance(chosen["featomic:SoapPowerSpectrum"], FeatomicSoapPowerSpectrum)
    with pytest.raises(InputError, match="unknown peer descriptor 'featomic:Nope'"):
        resolve_descriptors(["featomic:Nope"])


def test_missing_library_is_a_one_line_error_with_the_install_command(monkeypatch):
    import importlib.util

    from completeness.descriptors.wrappers import FeatomicSoapPowerSpectrum

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "featomic" else real(name)
    )
    with pytest.raises(InputError, match=r"pip install 'completeness\[featomic\]'"):
        FeatomicSoapPowerSpectrum().compute(cluster())


# ---- featomic --------------------------------------------------------------------------------


def test_translation_table_gives_featomics_own_numbers():
    featomic = pytest.importorskip("featomic")
    import metatensor

    from completeness.descriptors.wrappers import FeatomicSoapPowerSpectrum

    atoms = cluster(1)
    wrapper = FeatomicSoapPowerSpectrum(
        cutoff=4.5, n_radial=5, max_angular=3, density_width=0.4, cutoff_width=0.3
    )
    # featomic called by hand, with the hypers written out from its documentation
    calculator = featomic.SoapPowerSpectrum(
        cutoff={"radius": 4.5, "smoothing": {"type": "ShiftedCosine", "width": 0.3}},
        density={"type": "Gaussian", "width": 0.4},
        basis={
            "type": "TensorProduct",
            "max_angular": 3,
            "radial": {"type": "Gto", "max_radial": 4},
        },
    )
    centre = metatensor.Labels(["atom"], np.array([[0]], dtype=np.int32))
    reference = calculator.compute(atoms, selected_samples=centre)
    got = wrapper.compute(atoms, centers=[0])
    names = {name: k for k, name in enumerate(got.feature_names)}
    checked = 0
    for key, block in reference.items():
        if len(block.samples) == 0:
            continue  # blocks of the other centre species (only the carbon centre is computed)
        prefix = (
            f"neighbor_1_type={key['neighbor_1_type']},neighbor_2_type={key['neighbor_2_type']}"
        )
        for column, (l, n1, n2) in enumerate(block.properties.values.tolist()):
            name = f"{prefix},l={l},n_1={n1},n_2={n2}"
            assert got.values[0, names[name]] == block.values[0, column]
            checked += 1
    # 6 species pairs a <= b over {H, C, O} (featomic lists every species of the system, the
    # centre's too) x 4 l x 5 x 5 radial pairs
    assert checked == got.values.shape[1] == 6 * 4 * 25


def test_layout_is_fixed_whatever_species_the_input_has():
    pytest.importorskip("featomic")
    from completeness.descriptors.wrappers import FeatomicSoapRadialSpectrum

    descriptor = FeatomicSoapRadialSpectrum(n_radial=4, species=[1, 6, 8])
    only_h = descriptor.compute(cluster(2, species=(1,)), centers=[0])
    both = descriptor.compute(cluster(2, species=(1, 8)), centers=[0])
    assert only_h.feature_names == both.feature_names
    assert len(only_h.feature_names) == 3 * 4  # neighbour species x n_radial (max_radial 3)
    oxygen = [k for k, name in enumerate(only_h.feature_names) if "neighbor_type=8" in name]
    assert np.all(only_h.values[0, oxygen] == 0) and np.any(both.values[0, oxygen] != 0)


def test_samples_follow_the_requested_centres_system_by_system():
    pytest.importorskip("featomic")
    from completeness.descriptors.wrappers import FeatomicSoapPowerSpectrum

    a, b = cluster(3), cluster(4)
    descriptor = FeatomicSoapPowerSpectrum(n_radial=3, max_angular=2, species=[1, 6, 8])
    batch = descriptor.compute([a, b], centers=[[2, 0], [1]])
    assert batch.samples.tolist() == [[0, 2], [0, 0], [1, 1]]
    single = descriptor.compute(b, centers=[1]).values
    np.testing.assert_array_equal(batch.values[2], single[0])


def test_density_correlations_pseudoscalars_tell_mirror_images_apart():
    pytest.importorskip("featomic")
    from completeness.descriptors.wrappers import FeatomicDensityCorrelations

    atoms = cluster(6, n=5, species=(1, 8, 9))
    mirror = atoms.copy()
    mirror.positions[:, 2] *= -1
    descriptor = FeatomicDensityCorrelations(n_radial=2, max_angular=2, species=[1, 6, 8, 9])
    result = descriptor.compute([atoms, mirror], centers=[0])
    odd = np.array(["o3_sigma=-1" in name for name in result.feature_names])
    assert odd.any() and (~odd).any()
    even, pseudo = result.values[:, ~odd], result.values[:, odd]
    assert np.abs(even[0] - even[1]).max() < 1e-12 * np.abs(even).max()
    np.testing.assert_allclose(pseudo[1], -pseudo[0], atol=1e-12 * np.abs(pseudo).max())
    assert np.abs(pseudo).max() > 1e-3


def test_density_correlations_keep_every_angular_block_apart():
    """featomic 0.6.7 keeps l_1, l_2, k_2, l_3 in the keys: blocks must not overwrite each other
    (a diamond Si atom has l = 0 invariants of order one, its l > 0 density is ~1e-17)."""
    pytest.importorskip("featomic")
    from ase.build import bulk

    from completeness.descriptors.wrappers import FeatomicDensityCorrelations

    silicon = bulk("Si", "diamond", a=5.43, cubic=True)
    result = FeatomicDensityCorrelations(cutoff=5.0).compute(silicon, centers=[0, 3, 5])
    scalar = [k for k, n in enumerate(result.feature_names) if "l_1=0,l_2=0,k_2=0,l_3=0" in n]
    assert np.abs(result.values[:, scalar]).min() > 1e-2
    assert len(set(result.feature_names)) == len(result.feature_names)
    spread = np.abs(result.values - result.values[0]).max()
    assert spread < 1e-10 * np.abs(result.values).max()  # equivalent atoms


def test_finding_density_correlations_have_no_gradients():
    """Finding on the card: featomic raises, and its own message reaches the caller."""
    pytest.importorskip("featomic")
    from completeness.descriptors.wrappers import FeatomicDensityCorrelations

    descriptor = FeatomicDensityCorrelations()
    with pytest.raises(NotImplementedError, match="Clebsch Gordan combinations with gradients"):
        descriptor.compute(cluster(7), centers=[0], gradients=True)


def test_audit_command_gives_the_card_of_a_featomic_descriptor(tmp_path):
    pytest.importorskip("featomic")
    from completeness.cli import main

    out = tmp_path / "audit.json"
    argv = ["audit", "--descriptor", "featomic:SoapRadialSpectrum", "--no-timings"]
    assert main([*argv, "--quiet", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    card = data["cards"]["featomic:SoapRadialSpectrum"]
    assert card["body_order"] == 2 and card["parity"] == "O(3)"
    assert card["findings"] == []
    assert card["sections"]["invariance"]["rotation"] < 1e-12


@pytest.mark.slow
def test_peers_page_is_up_to_date(tmp_path):
    """docs/peers.md is what `completeness audit --peers --no-timings --markdown` writes: the
    tables and findings must match line for line (numbers at round-off level, 1e-9 and below,
    e.g. an invariance of 1e-15, may differ from machine to machine and are not compared)."""
    pytest.importorskip("featomic")
    pytest.importorskip("dscribe")
    pytest.importorskip("quippy")
    out = tmp_path / "peers.md"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "completeness.cli",
            "audit",
            "--peers",
            "--no-timings",
            "--markdown",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    import re

    def without_round_off(text):  # 1e-9 and below: round-off, machine dependent
        return re.sub(r"\d\.\de-(09|[1-9]\d)", "<1e-8", text).splitlines()

    committed = open(os.path.join(ROOT, "docs", "peers.md"), encoding="utf-8").read()
    assert without_round_off(out.read_text()) == without_round_off(committed)


def test_peers_page_lists_cards_findings_probes_and_tables():
    """peers_markdown on a hand-made audit record: one summary row per card, uniqueness errors
    of many pairs folded into one line, other findings kept apart, probes and the three
    translation tables."""
    from completeness.descriptors.wrappers.document import peers_markdown, translation_tables

    card = {
        "descriptor": "lib:X",
        "body_order": 2,
        "parity": "O(3)",
        "sections": {"continuity": {"cutoff_reading": "no cutoff", "gradient_error": None}},
        "findings": [
            {"criterion": "uniqueness", "message": "pair-a: TypeError: boom"},
            {"criterion": "uniqueness", "message": "pair-b: TypeError: boom"},
            {"criterion": "structure", "message": "fixed length: TypeError: boom"},
            {"criterion": "structure", "message": "species scaling: TypeError: boom"},
        ],
    }
    audit = {
        "cards": {"lib:X": card},
        "verdicts": [
            {"descriptor": "lib:X", "verdict": "error"},
            {"descriptor": "lib:X", "verdict": "error"},
        ],
    }
    probes = [{"descriptor": "lib:X", "check": "a | b", "status": "finding", "evidence": "e"}]
    page = peers_markdown(audit, "# completeness audit\n\n### lib:X\n", probes)
    assert "| lib:X | O(3) 2-body | raised | r0 d0 i0 e2 |" in page
    assert "pair-a: TypeError: boom (and 1 more pairs alike)" in page
    assert "pair-b" not in page
    assert "fixed length: TypeError: boom" in page and "species scaling: TypeError: boom" in page
    assert "| lib:X | a \\| b | finding | e |" in page
    tables = translation_tables()
    assert sorted(tables) == ["dscribe", "featomic", "quippy"]
    assert "max_radial" in tables["featomic"] and "n_max=8" in tables["dscribe"]
    assert "atom_sigma" in tables["quippy"]
    assert "## The audit" in page and "#### lib:X" in page

"""Trained models through their own libraries: build, train a few steps on EMT energies, save,
load back by path through the adapter, audit.

Each library is an optional extra (installed by .ci/run in a separate environment); without it
these tests are skipped.
"""

from __future__ import annotations

import importlib.util

import ase
import ase.io
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from completeness import structures  # noqa: E402
from completeness.analysis.distance import verdicts  # noqa: E402
from completeness.descriptors.models import load_model  # noqa: E402
from completeness.descriptors.models.examples import (  # noqa: E402
    build_mace,
    build_schnet,
    emt_clusters,
    train_energies,
)
from completeness.environments import InputError  # noqa: E402

PRL = "pozdnyakov2020-fig1b"  # equal 3-body correlations, different 4-body ones


@pytest.fixture(scope="module")
def training_set():
    return emt_clusters(6, seed=1)


def _check_gradients(model, atoms):
    """Autograd gradients against central differences of the adapter's own values."""
    analytic = model.compute(atoms, centers=[0], gradients=True).gradients[0, : len(atoms)]
    step = 1e-5
    numeric = np.zeros_like(analytic)
    for atom in range(len(atoms)):
        for axis in range(3):
            rows = []
            for sign in (1, -1):
                copy = atoms.copy()
                copy.positions[atom, axis] += sign * step
                rows.append(model.compute(copy, centers=[0]).values[0])
            numeric[atom, axis] = (rows[0] - rows[1]) / (2 * step)
    np.testing.assert_allclose(analytic, numeric, atol=1e-6)


def test_mace_trained_saved_loaded_and_audited(tmp_path, training_set):
    pytest.importorskip("mace")
    model = build_mace(cutoff=4.0, n_layers=2, correlation=2, max_angular=1, width=4)
    losses = train_energies(model, training_set, steps=4)
    assert losses[-1] < losses[0]
    path = tmp_path / "small.model"
    torch.save(model, path)

    energy = load_model(path, "mace", read_out="energy")
    assert energy.describe()["dtype"] == "float64" and energy.describe()["device"] == "cpu"
    # per-atom energies add up to the energy of the library's own ASE calculator
    from mace.calculators import MACECalculator

    calculator = MACECalculator(models=model, device="cpu", default_dtype="float64")
    atoms = training_set[0].copy()
    atoms.calc = calculator
    total = energy.compute(training_set[0]).values.sum()
    assert total == pytest.approx(atoms.get_potential_energy(), rel=1e-10)

    first = load_model(str(path), "mace", layer=1)
    assert first.cutoff == 4.0 and first.species == (1, 6, 8) and first.n_layers == 2
    assert first.body_order == 3  # correlation 2: three-body
    both = load_model(path, "mace")
    assert both.compute(training_set[0]).values.shape == (len(training_set[0]), 8)
    # the model object itself, through adapt(): the same features as the file
    from completeness.descriptors import adapt

    in_memory = adapt(model)
    assert in_memory.path == "<MACE in memory>"
    np.testing.assert_array_equal(
        in_memory.compute(training_set[0]).values, both.compute(training_set[0]).values
    )
    # layer 1 with correlation 2 sees 3-body correlations only: blind to the PRL pair; layer 2
    # combines neighbours' features and separates it
    pair = structures.load(PRL)
    (v1,) = verdicts(first, [pair])
    (v2,) = verdicts(load_model(path, "mace", layer=2), [pair])
    assert (v1.verdict, v1.expected) == ("degenerate", "degenerate")
    assert v2.verdict == "resolved"
    _check_gradients(first, training_set[1])
    with pytest.raises(InputError, match="built for atomic numbers"):
        first.compute(ase.Atoms("N2", positions=[[0, 0, 0], [0, 0, 1.1]]))


@pytest.fixture(scope="module")
def schnet_file(tmp_path_factory, training_set):
    """A SchNetPack model built, trained a few steps and saved: (model, path, losses)."""
    if importlib.util.find_spec("schnetpack") is None:
        pytest.skip("schnetpack is not installed")
    model = build_schnet(cutoff=4.0, n_layers=2, width=8, n_radial=8)
    losses = train_energies(model, training_set, steps=4)
    path = tmp_path_factory.mktemp("schnet") / "schnet.pt"
    torch.save(model, path)
    return model, path, losses


def test_schnetpack_trained_saved_loaded_and_audited(schnet_file, training_set):
    model, path, losses = schnet_file
    assert losses[-1] < losses[0]

    energy = load_model(path, "schnetpack", read_out="energy")
    from completeness.descriptors.models.schnetpack import import_schnetpack

    spk = import_schnetpack(torch)
    converter = spk.interfaces.AtomsConverter(
        neighbor_list=spk.transform.ASENeighborList(cutoff=4.0), dtype=torch.float64
    )
    expected = float(model(converter(training_set[0]))["energy"])
    assert energy.compute(training_set[0]).values.sum() == pytest.approx(expected, rel=1e-10)

    first = load_model(path, "schnetpack", layer=1)
    last = load_model(path, "schnetpack", layer=2)
    assert first.body_order == 2 and last.body_order is None and first.cutoff == 4.0
    # the last layer is the library's own scalar representation
    inputs = model.input_modules[0](dict(converter(training_set[0])))  # pairwise distances
    representation = model.representation(inputs)["scalar_representation"].detach().numpy()
    np.testing.assert_allclose(last.compute(training_set[0]).values, representation, rtol=1e-12)
    from completeness.descriptors import adapt

    np.testing.assert_array_equal(  # the model object itself: every layer, as the file
        adapt(model).compute(training_set[0]).values,
        load_model(path, "schnetpack").compute(training_set[0]).values,
    )
    # distances only: layer 1 is blind to the PRL pair (equal distance lists), layer 2 is not
    pair = structures.load(PRL)
    (v1,) = verdicts(first, [pair])
    (v2,) = verdicts(last, [pair])
    assert (v1.verdict, v1.expected) == ("degenerate", "degenerate")
    assert v2.verdict == "resolved"
    _check_gradients(last, training_set[1])


def test_metatomic_trained_exported_loaded_and_audited(tmp_path, training_set):
    if importlib.util.find_spec("metatomic") is None:
        pytest.skip("metatomic-torch is not installed")
    from completeness.descriptors.models.examples import (
        build_metatomic,
        export_metatomic,
        train_metatomic,
    )

    module = build_metatomic(cutoff=4.0, width=8, n_radial=8)
    losses = train_metatomic(module, training_set, steps=4)
    assert losses[-1] < losses[0]
    path = tmp_path / "model.pt"
    export_metatomic(module, path)

    features = load_model(path, "metatomic")
    assert features.describe()["dtype"] == "float64" and features.cutoff == 4.0
    assert features.species == (1, 6, 8)
    # per-atom energies add up to the energy of metatomic's own ASE calculator
    from metatomic_ase import MetatomicCalculator

    atoms = training_set[0].copy()
    atoms.calc = MetatomicCalculator(str(path), device="cpu")
    energy = load_model(path, "metatomic", read_out="energy")
    total = energy.compute(training_set[0]).values.sum()
    assert total == pytest.approx(atoms.get_potential_energy(), rel=1e-10)
    # one distance convolution: blind to the PRL pair (equal distances from the centre)
    (verdict,) = verdicts(features, [structures.load(PRL)])
    assert verdict.verdict == "degenerate"
    _check_gradients(features, training_set[1])
    with pytest.raises(InputError, match="no layers"):
        load_model(path, "metatomic", layer=1)


def test_nequip_trained_deployed_loaded_and_audited(tmp_path, training_set):
    if importlib.util.find_spec("nequip") is None:
        pytest.skip("nequip is not installed")
    from completeness.descriptors.models.examples import build_nequip, save_model

    model = build_nequip(cutoff=4.0, n_layers=2, max_angular=1, width=4, n_radial=4)
    losses = train_energies(model, training_set, steps=3)
    assert losses[-1] < losses[0]
    path = tmp_path / "deployed.pth"
    before = torch.get_default_dtype()
    save_model(model, path)  # nequip's own deploy step: TorchScript + metadata
    assert torch.get_default_dtype() == before  # deploying left the process as it was

    first = load_model(path, "nequip", layer=1)
    described = first.describe()
    assert described["dtype"] == "float64" and described["declared_dtype"] == "float64"
    assert first.cutoff == 4.0 and first.species == (1, 6, 8) and first.n_layers == 2
    assert first.body_order == 2 and first.parity == "O(3)"
    both = load_model(path, "nequip")
    assert both.compute(training_set[0]).values.shape == (len(training_set[0]), 8)  # 4 x 0e each
    # per-atom energies add up to the energy of nequip's own ASE calculator on the same file
    from nequip.ase import NequIPCalculator

    atoms = training_set[0].copy()
    atoms.calc = NequIPCalculator.from_deployed_model(
        str(path), species_to_type_name={"H": "H", "C": "C", "O": "O"}
    )
    energy = load_model(path, "nequip", read_out="energy")
    total = energy.compute(training_set[0]).values.sum()
    assert total == pytest.approx(atoms.get_potential_energy(), rel=1e-10)
    # layer 1 reads distances only: blind to the PRL pair; layer 2 couples neighbours' vectors
    pair = structures.load(PRL)
    (v1,) = verdicts(first, [pair])
    (v2,) = verdicts(load_model(path, "nequip", layer=2), [pair])
    assert (v1.verdict, v1.expected) == ("degenerate", "degenerate")
    assert v2.verdict == "resolved"
    _check_gradients(first, training_set[1])
    # float32: the same features to single precision
    single = load_model(path, "nequip", dtype="float32").compute(training_set[0]).values
    np.testing.assert_allclose(single, both.compute(training_set[0]).values, atol=1e-5)
    with pytest.raises(InputError, match="built for atomic numbers"):
        first.compute(ase.Atoms("N2", positions=[[0, 0, 0], [0, 0, 1.1]]))
    from completeness.descriptors import adapt

    for given in (lambda: load_model(model, "nequip"), lambda: adapt(model)):
        with pytest.raises(InputError, match="deployed file"):
            given()
    # without parity, e3nn's "0e" channels can be pseudoscalars: declared SO(3) only
    unsigned = build_nequip(cutoff=4.0, n_layers=1, max_angular=1, width=2, parity=False)
    save_model(unsigned, tmp_path / "unsigned.pth")
    assert load_model(tmp_path / "unsigned.pth", "nequip").parity == "SO(3)"
    with pytest.raises(InputError, match="nequip-deploy build"):
        load_model(training_set_file(tmp_path, training_set), "nequip")


def training_set_file(folder, structures_):
    """A file that is not a model (an extxyz file of the structures)."""
    path = folder / "structures.xyz"
    ase.io.write(path, structures_)
    return path


def test_audit_command_line_reads_the_model_file(schnet_file, tmp_path):
    import json

    from completeness.cli import main

    _, path, _ = schnet_file
    pair = structures.load(PRL).scaled(3.0)  # inside the model's 4 Å cutoff
    files = [tmp_path / "plus.xyz", tmp_path / "minus.xyz"]
    for atoms, file in zip((pair.plus, pair.minus), files, strict=True):
        atoms.write(file)
    out = tmp_path / "audit.json"
    args = ["audit", "--pair", *map(str, files), "--no-timings", "--quiet", "--json", str(out)]
    model_args = ["--model", str(path), "--model-type", "schnetpack"]
    assert main([*args, *model_args, "--model-layer", "1", "--model-layer", "2"]) == 0
    rows = {row["descriptor"]: row["verdict"] for row in json.loads(out.read_text())["verdicts"]}
    assert rows == {"schnetpack:layer=1": "degenerate", "schnetpack:layer=2": "resolved"}
    # --model-dtype float32: the floor is single-precision round-off (float64: ~4e-15)
    assert main([*args, *model_args, "--model-layer", "2", "--model-dtype", "float32"]) == 0
    (row,) = json.loads(out.read_text())["verdicts"]
    assert row["descriptor"] == "schnetpack:layer=2" and row["noise_floor"] > 1e-9
    # the same model through --descriptor TYPE:PATH (every layer concatenated)
    assert main([*args, "--descriptor", f"schnetpack:{path}"]) == 0
    (row,) = json.loads(out.read_text())["verdicts"]
    assert row["verdict"] == "resolved"


def test_load_model_refuses_bad_input(tmp_path):
    with pytest.raises(InputError, match="not one of"):
        load_model(tmp_path / "x", "allegro")
    with pytest.raises(InputError, match="does not exist"):
        load_model(tmp_path / "missing.model", "mace")
    if importlib.util.find_spec("schnetpack") is None:
        pytest.skip("schnetpack is not installed")
    state = tmp_path / "state.pt"
    torch.save({"weights": torch.zeros(2)}, state)
    with pytest.raises(InputError, match="not a torch module"):
        load_model(state, "schnetpack")

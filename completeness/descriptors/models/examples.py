"""Small models built with each library's own constructors and trained on EMT energies.

No weights can be downloaded, so the tests and the study ``analyses/models/`` make their own
models: random H/C/O clusters labelled with ASE's EMT energies (:func:`emt_clusters`), a model
built by the library's constructors (:func:`build_mace`, :func:`build_schnet`,
:func:`build_nequip`), a few Adam steps on the energy loss (:func:`train_energies`), and
:func:`save_model`: ``torch.save(model, path)`` for MACE and SchNetPack, nequip's own deploy
step for NequIP, the file formats the adapters read. These models are tiny and barely trained:
they stand for "a model of this architecture after some training", not for a useful potential.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "build_mace",
    "build_nequip",
    "build_schnet",
    "emt_clusters",
    "save_model",
    "train_energies",
]


def emt_clusters(n_structures: int, *, species=(1, 6, 8), seed: int = 0, min_distance=1.0):
    """``n_structures`` random clusters of 4 to 7 atoms in a 5 Å box, with EMT energies in
    ``atoms.info["energy"]`` (eV)."""
    import ase
    from ase.calculators.emt import EMT

    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n_structures:
        n_atoms = int(rng.integers(4, 8))
        positions = rng.uniform(-2.5, 2.5, (n_atoms, 3))
        distances = np.linalg.norm(positions[:, None] - positions[None], axis=-1)
        if distances[np.triu_indices(n_atoms, 1)].min() < min_distance:
            continue
        atoms = ase.Atoms(numbers=rng.choice(species, n_atoms), positions=positions)
        atoms.calc = EMT()
        energy = float(atoms.get_potential_energy())
        atoms.calc = None
        atoms.info["energy"] = energy
        out.append(atoms)
    return out


def build_mace(
    *,
    cutoff=5.0,
    n_layers=2,
    correlation=2,
    max_angular=1,
    width=8,
    species=(1, 6, 8),
    seed=0,
):
    """A ``mace.modules.MACE`` (residual interaction blocks, Bessel radial basis) in float64."""
    import torch

    torch.serialization.add_safe_globals([slice])  # e3nn 0.4.4's constants (see mace.py)
    from e3nn import o3
    from mace import modules

    torch.manual_seed(seed)
    hidden = " + ".join(f"{width}x{l}{'e' if l % 2 == 0 else 'o'}" for l in range(max_angular + 1))
    interaction = modules.interaction_classes["RealAgnosticResidualInteractionBlock"]
    with _default_dtype(torch, torch.float64):
        model = modules.MACE(
            r_max=float(cutoff),
            num_bessel=6,
            num_polynomial_cutoff=5,
            max_ell=max(max_angular, 1),
            interaction_cls=interaction,
            interaction_cls_first=interaction,
            num_interactions=n_layers,
            num_elements=len(species),
            hidden_irreps=o3.Irreps(hidden),
            MLP_irreps=o3.Irreps(f"{width}x0e"),
            atomic_energies=np.zeros(len(species)),
            avg_num_neighbors=4.0,
            atomic_numbers=list(species),
            correlation=correlation,
            gate=torch.nn.functional.silu,
        )
    return model.double()


def build_schnet(*, cutoff=5.0, n_layers=3, width=16, n_radial=16, seed=0):
    """A ``schnetpack.model.NeuralNetworkPotential`` with a SchNet representation, float64."""
    import torch

    from .schnetpack import import_schnetpack

    spk = import_schnetpack(torch)
    torch.manual_seed(seed)
    representation = spk.representation.SchNet(
        n_atom_basis=width,
        n_interactions=n_layers,
        radial_basis=spk.nn.GaussianRBF(n_rbf=n_radial, cutoff=cutoff),
        cutoff_fn=spk.nn.CosineCutoff(cutoff),
    )
    model = spk.model.NeuralNetworkPotential(
        representation=representation,
        input_modules=[spk.atomistic.PairwiseDistances()],
        output_modules=[spk.atomistic.Atomwise(n_in=width, output_key="energy")],
    )
    return model.double()


def train_energies(model, structures, *, steps=10, learning_rate=1e-2, seed=0) -> list[float]:
    """A few full-batch Adam steps on the mean squared energy error; the losses, step by step.

    ``model`` is a MACE, SchNetPack or NequIP model (the batch is built by the library's own
    data pipeline); ``structures`` carry ``info["energy"]``.
    """
    import torch

    torch.manual_seed(seed)
    if _is_mace(model):
        forward = _mace_batch(model, structures)
    elif _is_nequip(model):
        forward = _nequip_batch(model, structures)
    else:
        forward = _schnet_batch(model, structures)
    target = torch.tensor([float(atoms.info["energy"]) for atoms in structures])
    optimiser = torch.optim.Adam(model.parameters(), lr=learning_rate)
    losses = []
    model.train()
    for _ in range(steps):
        optimiser.zero_grad()
        loss = ((forward() - target) ** 2).mean()
        loss.backward()
        optimiser.step()
        losses.append(float(loss.detach()))
    model.eval()
    return losses


def _is_mace(model) -> bool:
    return type(model).__module__.startswith("mace.")


def _is_nequip(model) -> bool:
    return type(model).__module__.startswith("nequip.")


def save_model(model, path) -> None:
    """Write ``model`` in the format its users hold it in: nequip's deployed TorchScript file for
    a NequIP model (:func:`deploy_nequip`), ``torch.save(model, path)`` otherwise."""
    import torch

    if _is_nequip(model):
        deploy_nequip(model, path)
    else:
        torch.save(model, path)


#: nequip's model builders for an energy model with forces (``ForceOutput``: the clusters have
#: no cell, so no stress), as in nequip's minimal example configuration
_NEQUIP_BUILDERS = [
    "SimpleIrrepsConfig",
    "EnergyModel",
    "PerSpeciesRescale",
    "ForceOutput",
    "RescaleEnergyEtc",
]


def build_nequip(
    *,
    cutoff=5.0,
    n_layers=2,
    max_angular=1,
    width=8,
    n_radial=8,
    species=(1, 6, 8),
    parity=True,
    model_dtype="float64",
    seed=0,
):
    """A NequIP ``EnergyModel`` (nequip 0.6, ``model_from_config``); ``model_dtype`` as in
    nequip's configuration (its own default is float32 weights with float64 energy sums).

    The configuration that ``nequip-deploy`` needs travels with the model as
    ``model.nequip_config`` (a plain dict: what ``nequip-train`` writes to ``config.yaml``).
    Per-species scales 1 and shifts 0 and an average of 4 neighbours stand in for the
    statistics nequip would compute from a training set.
    """
    import torch

    torch.serialization.add_safe_globals([slice])  # e3nn's constants (see mace.py)
    import warnings

    from ase.data import chemical_symbols

    with warnings.catch_warnings():  # nequip warns about every torch 2.x at import
        warnings.simplefilter("ignore", UserWarning)
        from nequip.model import model_from_config
        from nequip.scripts.train import default_config
        from nequip.utils import Config

    config = {
        **default_config,
        "root": "results",
        "run_name": "completeness-example",
        "seed": seed,
        "dataset_seed": seed,
        "default_dtype": "float64",
        "model_dtype": model_dtype,
        "model_builders": list(_NEQUIP_BUILDERS),
        "r_max": float(cutoff),
        "num_layers": int(n_layers),
        "l_max": int(max_angular),
        "parity": bool(parity),
        "num_features": int(width),
        "num_basis": int(n_radial),
        "chemical_symbols": [chemical_symbols[z] for z in species],
        "avg_num_neighbors": 4.0,
        "per_species_rescale_shifts": 0.0,
        "per_species_rescale_scales": 1.0,
        "global_rescale_scale": None,
        "global_rescale_shift": None,
    }
    torch.manual_seed(seed)
    with _default_dtype(torch, torch.float64):
        model = model_from_config(Config.from_dict(dict(config)), initialize=True)
    model.nequip_config = config
    return model


def deploy_nequip(model, path) -> None:
    """Deploy ``model`` (from :func:`build_nequip`) as ``nequip-deploy build --train-dir`` does
    after ``nequip-train``: its configuration and weights in a training directory, then nequip's
    own deploy step writes the TorchScript file with its metadata to ``path``."""
    import tempfile
    from pathlib import Path

    import torch
    from nequip.scripts.deploy import main as deploy
    from nequip.utils import Config

    with tempfile.TemporaryDirectory() as folder, _default_dtype(torch, torch.get_default_dtype()):
        Config.from_dict(dict(model.nequip_config)).save(str(Path(folder) / "config.yaml"))
        torch.save(model.state_dict(), Path(folder) / "best_model.pth")
        # nequip's command line (which also sets torch's default dtype, restored on exit);
        # --verbose WARNING: its logging.basicConfig would otherwise log INFO process-wide
        deploy(["--verbose", "WARNING", "build", "--train-dir", folder, str(path)])


def _mace_batch(model, structures):
    import torch
    from mace import data, tools
    from mace.tools import torch_geometric

    table = tools.AtomicNumberTable([int(z) for z in model.atomic_numbers])
    cutoff = float(model.r_max)
    with _default_dtype(torch, torch.float64):  # mace's data pipeline uses the default dtype
        graphs = [
            data.AtomicData.from_config(data.config_from_atoms(atoms), z_table=table, cutoff=cutoff)
            for atoms in structures
        ]
    loader = torch_geometric.dataloader.DataLoader(graphs, batch_size=len(graphs), shuffle=False)
    batch = next(iter(loader)).to_dict()
    return lambda: model(batch, training=True, compute_force=False)["energy"]


def _schnet_batch(model, structures):
    import torch

    from .schnetpack import import_schnetpack

    spk = import_schnetpack(torch)
    cutoff = float(model.representation.cutoff)
    converter = spk.interfaces.AtomsConverter(
        neighbor_list=spk.transform.ASENeighborList(cutoff=cutoff), dtype=torch.float64
    )
    inputs = converter(structures)
    return lambda: model(dict(inputs))["energy"]


def _nequip_batch(model, structures):
    import torch
    from nequip.data import AtomicData
    from nequip.data.transforms import TypeMapper
    from nequip.utils.torch_geometric import Batch

    config = model.nequip_config
    mapper = TypeMapper(chemical_symbols=config["chemical_symbols"])
    with _default_dtype(torch, torch.float64):
        graphs = [mapper(AtomicData.from_ase(a, r_max=config["r_max"])) for a in structures]
    batch = AtomicData.to_AtomicDataDict(Batch.from_data_list(graphs))

    def forward():
        with torch.jit.optimized_execution(False):  # e3nn's scripted kernels (see nequip.py)
            return model(dict(batch))["total_energy"].reshape(-1)

    return forward


class _default_dtype:
    def __init__(self, torch, dtype):
        self.torch, self.dtype = torch, dtype

    def __enter__(self):
        self.previous = self.torch.get_default_dtype()
        self.torch.set_default_dtype(self.dtype)

    def __exit__(self, *exc):
        self.torch.set_default_dtype(self.previous)


def build_metatomic(*, cutoff=5.0, width=8, n_radial=8, species=(1, 6, 8), seed=0):
    """A small distance-only model (one continuous-filter convolution, per-species embedding)
    written against metatomic's model interface: outputs ``feature`` and ``energy`` per atom
    or per system. Returns the plain torch module; :func:`export_metatomic` wraps and saves it.
    """
    import torch

    torch.manual_seed(seed)
    from ._metatomic_example import distance_convolution_class

    module = distance_convolution_class()
    return module(float(cutoff), int(width), int(n_radial), list(species))


def export_metatomic(module, path) -> None:
    """Wrap ``module`` in ``metatomic.torch.AtomisticModel`` (float64, CPU) and save it."""
    from metatomic.torch import AtomisticModel, ModelCapabilities, ModelMetadata, ModelOutput

    capabilities = ModelCapabilities(
        outputs={
            "energy": ModelOutput(unit="eV", sample_kind="atom"),  # per atom or per system
            "feature": ModelOutput(sample_kind="atom"),
        },
        atomic_types=[int(z) for z in module.species.tolist()],
        interaction_range=float(module.cutoff),
        length_unit="angstrom",
        supported_devices=["cpu"],
        dtype="float64",
    )
    metadata = ModelMetadata(name="completeness-example", authors=["completeness tests"])
    AtomisticModel(module.eval(), metadata, capabilities).save(str(path))


def train_metatomic(module, structures, *, steps=10, learning_rate=1e-2, seed=0) -> list[float]:
    """A few full-batch Adam steps of the eager module on EMT energies; the losses."""
    import torch
    from metatomic.torch import ModelOutput, systems_to_torch
    from vesin.metatomic import NeighborList

    torch.manual_seed(seed)
    options = module.requested_neighbor_lists()[0]
    calculator = NeighborList(options, length_unit="angstrom")
    systems = []
    for atoms in structures:
        system = systems_to_torch(atoms, dtype=torch.float64)
        system.add_neighbor_list(options, calculator.compute(system))
        systems.append(system)
    target = torch.tensor([float(atoms.info["energy"]) for atoms in structures])
    optimiser = torch.optim.Adam(module.parameters(), lr=learning_rate)
    outputs = {"energy": ModelOutput(sample_kind="system")}
    losses = []
    for _ in range(steps):
        optimiser.zero_grad()
        energy = module(systems, outputs, None)["energy"].block().values.reshape(-1)
        loss = ((energy - target) ** 2).mean()
        loss.backward()
        optimiser.step()
        losses.append(float(loss.detach()))
    return losses

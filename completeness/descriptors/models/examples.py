"""Small models built with each library's own constructors and trained on EMT energies.

No weights can be downloaded, so the tests and the study ``analyses/models/`` make their own
models: random H/C/O clusters labelled with ASE's EMT energies (:func:`emt_clusters`), a model
built by the library's constructors (:func:`build_mace`, :func:`build_schnet`), a few Adam steps
on the energy loss (:func:`train_energies`), and ``torch.save(model, path)``, the file format the
adapters read. These models are tiny and barely trained: they stand for "a model of this
architecture after some training", not for a useful potential.
"""

from __future__ import annotations

import numpy as np

__all__ = ["build_mace", "build_schnet", "emt_clusters", "train_energies"]


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

    ``model`` is a MACE or SchNetPack model (the batch is built by the library's own data
    pipeline); ``structures`` carry ``info["energy"]``.
    """
    import torch

    torch.manual_seed(seed)
    forward = (
        _mace_batch(model, structures) if _is_mace(model) else _schnet_batch(model, structures)
    )
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

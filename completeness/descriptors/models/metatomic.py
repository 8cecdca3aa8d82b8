"""Models in metatomic's exchange format (TorchScript ``.pt`` files of
``metatomic.torch.AtomisticModel``), read with ``metatomic.torch.load_atomistic_model``.

The model declares what it computes (``capabilities()``): its outputs, atomic types,
interaction range and dtype. The adapter asks for the standard per-atom output ``feature``
(``read_out="features"``; ``features`` in older files) or per-atom ``energy``
(``read_out="energy"``), with the neighbour lists the model requests computed by vesin
(which registers them for autograd, so gradients with respect to positions flow). An exported
model has no notion of layers: ``layer`` must stay None. The model runs in the dtype it
declares; a float32 model raises the audit's noise floor to ~1e-7 (see :mod:`.base`).
"""

from __future__ import annotations

from ...environments import InputError
from ...errors import first_line
from .base import ModelAdapter

__all__ = ["MetatomicModel"]


class MetatomicModel(ModelAdapter):
    """A metatomic model file as a descriptor; see the module docstring."""

    model_type = "metatomic"
    extra = "metatomic"
    library = "metatomic"

    def __init__(self, path, *, layer=None, read_out="features", dtype=None, device="cpu"):
        if layer is not None:
            raise InputError("a metatomic model exposes no layers; leave layer=None")
        self._requested_dtype = dtype
        super().__init__(path, read_out=read_out, dtype=dtype or "float64", device=device)

    @property
    def name(self) -> str:
        return f"metatomic:{self.read_out}"

    def _load(self) -> None:
        torch = self.torch
        from metatomic.torch import load_atomistic_model
        from vesin.metatomic import NeighborList

        try:
            self._model = self._given or load_atomistic_model(self.path)
        except (RuntimeError, ValueError) as error:
            raise InputError(
                f"cannot load metatomic model {self.path!r} ({first_line(error)}); "
                "give a file written by AtomisticModel.save"
            ) from None
        capabilities = self._model.capabilities()
        # the standard output "feature" (called "features" before metatomic-torch 0.1.19)
        names = ("feature", "features") if self.read_out == "features" else ("energy",)
        found = [name for name in names if name in capabilities.outputs]
        if not found:
            raise InputError(
                f"metatomic model {self.path!r} has no {names[0]!r} output (it has "
                f"{sorted(capabilities.outputs)}); use another read_out"
            )
        self._output = found[0]
        declared = capabilities.dtype
        if self._requested_dtype not in (None, declared):
            raise InputError(
                f"metatomic model {self.path!r} declares dtype {declared}; it runs only in it"
            )
        self.dtype = declared
        self._torch_dtype = getattr(torch, declared)
        self.species = tuple(int(z) for z in capabilities.atomic_types)
        self.cutoff = float(capabilities.interaction_range)
        self.n_layers = 1
        self._lists = [
            (options, NeighborList(options, length_unit="angstrom"))
            for options in self._model.requested_neighbor_lists()
        ]

    def _per_atom(self, systems, positions):
        torch = self.torch
        from metatomic.torch import ModelEvaluationOptions, ModelOutput, System

        inputs, start = [], 0
        for atoms in systems:
            system = System(
                types=torch.tensor(atoms.numbers, dtype=torch.int32),
                positions=positions[start : start + len(atoms)],
                cell=torch.tensor(atoms.cell.array, dtype=self._torch_dtype),
                pbc=torch.tensor(atoms.pbc),
            )
            start += len(atoms)
            for options, calculator in self._lists:
                system.add_neighbor_list(options, calculator.compute(system))
            inputs.append(system)
        options = ModelEvaluationOptions(
            length_unit="angstrom", outputs={self._output: ModelOutput(sample_kind="atom")}
        )
        block = self._model(inputs, options, check_consistency=True)[self._output].block()
        samples = block.samples.values.to(torch.int64)
        offsets = torch.tensor([0] + [len(a) for a in systems]).cumsum(0)
        order = torch.argsort(offsets[samples[:, 0]] + samples[:, 1])
        return block.values[order].reshape(start, -1)

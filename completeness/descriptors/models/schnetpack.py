"""SchNet models of SchNetPack (Schütt et al., JCTC 19, 2023; SchNet: JCP 148, 241722 (2018))
read from a saved model file.

The file is what ``torch.save(model, path)`` writes for a
``schnetpack.model.NeuralNetworkPotential`` whose representation is
``schnetpack.representation.SchNet`` (the format of SchNetPack's ``best_model`` files). The
structure goes through the library's own ``schnetpack.interfaces.AtomsConverter`` with its
``ASENeighborList`` at the representation's cutoff; the read-outs are the library's:

* ``features``: the representation's per-atom output after each interaction layer. SchNet updates
  ``x <- x + v_k`` with ``v_k`` the output of interaction block ``k``; forward hooks on the
  embedding and on each block give ``x_k`` (``x_T`` is the model's own
  ``scalar_representation``); ``layer=None`` concatenates ``x_1 .. x_T``;
* ``energy``: the per-atom output of the first ``Atomwise`` head (before aggregation and before
  the postprocessors' per-species offsets, which do not depend on positions).

Only distances enter SchNet: layer 1 is a function of the centre's neighbour distances (body
order 2); later layers see beyond the cutoff.
"""

from __future__ import annotations

from ...environments import InputError
from .base import ModelAdapter

__all__ = ["SchNetPackModel"]


class SchNetPackModel(ModelAdapter):
    """A saved SchNetPack SchNet model as a descriptor; see the module docstring."""

    model_type = "schnetpack"
    extra = "schnetpack"
    library = "schnetpack"

    def _load(self) -> None:
        torch = self.torch
        schnetpack = import_schnetpack(torch)
        model = self._pickled_model()
        representation = getattr(model, "representation", None)
        if not isinstance(representation, schnetpack.representation.SchNet):
            raise InputError(
                f"model file {self.path!r} is a {type(model).__name__} with representation "
                f"{type(representation).__name__}; the schnetpack adapter reads "
                "NeuralNetworkPotential models with a schnetpack.representation.SchNet"
            )
        self._model = model.to(device=self.device, dtype=self._torch_dtype).eval()
        self._representation = representation
        self.cutoff = float(representation.cutoff)
        self.species = None  # SchNet embeds every atomic number below its max_z
        self.n_layers = len(representation.interactions)
        heads = [m for m in model.output_modules if isinstance(m, schnetpack.atomistic.Atomwise)]
        self._head = heads[0] if heads else None
        if self.read_out == "energy" and self._head is None:
            raise InputError(
                f"model file {self.path!r} has no Atomwise output module; use read_out='features'"
            )
        self._converter = schnetpack.interfaces.AtomsConverter(
            neighbor_list=schnetpack.transform.ASENeighborList(cutoff=self.cutoff),
            dtype=self._torch_dtype,
            device=self.device,
        )

    def _layer_body_order(self):
        return 2

    def _per_atom(self, systems, positions):
        schnetpack = import_schnetpack(self.torch)
        inputs = self._converter(list(systems))
        inputs[schnetpack.properties.R] = positions
        captured = []
        modules = [self._representation.embedding, *self._representation.interactions]
        if self.read_out == "energy":
            modules = [self._head.outnet]
        hooks = [  # a shared interaction block is one module called n_layers times: hook it once
            m.register_forward_hook(lambda _m, _i, out: captured.append(out))
            for m in dict.fromkeys(modules)
        ]
        try:
            self._model(inputs)
        finally:
            for hook in hooks:
                hook.remove()
        if self.read_out == "energy":
            return captured[0].reshape(-1, 1)
        states = [captured[0]]
        for update in captured[1:]:
            states.append(states[-1] + update)
        layers = states[1:]
        if self.layer is not None:
            return layers[self.layer - 1]
        return self.torch.cat(layers, dim=1)


def import_schnetpack(torch):
    """``schnetpack``, importable beside torch >= 2.6.

    SchNetPack 2.0.4, the newest release that installs beside torch 2.13 on Python 3.11 (2.1
    pins sympy<=1.12, which torch 2.13 refuses; 2.2 needs Python 3.12), imports the type variable
    ``T_co`` from ``torch.utils.data.dataloader``, which torch no longer defines there. It is
    restored (the same covariant TypeVar) before the import.
    """
    import typing

    import torch.utils.data.dataloader as dataloader

    if not hasattr(dataloader, "T_co"):
        dataloader.T_co = typing.TypeVar("T_co", covariant=True)
    import schnetpack

    return schnetpack

"""The torch module of :func:`completeness.descriptors.models.examples.build_metatomic`.

A separate module without ``from __future__ import annotations``: metatomic checks the real
type annotations of ``forward`` before TorchScript compiles it. The class is built on first
use (it needs the optional torch, metatensor-torch and metatomic-torch); the names its methods
use are put in this module's globals, where TorchScript looks them up.
"""

# ruff: noqa: UP006, UP035, UP045 - TorchScript and metatomic read typing.List/Dict/Optional

__all__ = ["distance_convolution_class"]

_CLASS = []


def _import_names() -> None:
    """Put the names the class's methods use in this module's globals (TorchScript's lookup)."""
    from typing import Dict, List, Optional

    import torch
    from metatensor.torch import Labels, TensorBlock, TensorMap
    from metatomic.torch import ModelOutput, NeighborListOptions, System

    globals().update(
        Dict=Dict,
        List=List,
        Optional=Optional,
        torch=torch,
        Labels=Labels,
        TensorBlock=TensorBlock,
        TensorMap=TensorMap,
        ModelOutput=ModelOutput,
        NeighborListOptions=NeighborListOptions,
        System=System,
    )


def distance_convolution_class():
    """The ``DistanceConvolution`` module class (built once)."""
    if _CLASS:
        return _CLASS[0]
    _import_names()
    from typing import Dict, List, Optional

    import torch
    from metatensor.torch import Labels, TensorBlock, TensorMap
    from metatomic.torch import ModelOutput, NeighborListOptions, System

    class DistanceConvolution(torch.nn.Module):
        """h_i = e(Z_i) + sum_j [W(d_ij) f_c(d_ij)] * e(Z_j): one continuous-filter convolution;
        ``feature`` is h, ``energy`` a linear read-out of h (per atom or summed per system)."""

        def __init__(self, cutoff: float, width: int, n_radial: int, species: List[int]):
            super().__init__()
            self.cutoff = cutoff
            self.register_buffer("species", torch.tensor(species, dtype=torch.int64))
            self.register_buffer("centres", torch.linspace(0.5, cutoff, n_radial))
            self.embedding = torch.nn.Embedding(len(species), width)
            self.filter = torch.nn.Sequential(
                torch.nn.Linear(n_radial, width), torch.nn.SiLU(), torch.nn.Linear(width, width)
            )
            self.readout = torch.nn.Linear(width, 1)
            self.options = NeighborListOptions(cutoff=cutoff, full_list=True, strict=True)
            self.double()

        def requested_neighbor_lists(self) -> List[NeighborListOptions]:
            return [self.options]

        def _features(self, system: System) -> torch.Tensor:
            kind = (system.types.reshape(-1, 1) == self.species.reshape(1, -1)).nonzero()[:, 1]
            h = self.embedding(kind)
            neighbours = system.get_neighbor_list(self.options)
            pairs = neighbours.samples.values
            vectors = neighbours.values.reshape(-1, 3)
            distances = torch.linalg.vector_norm(vectors, dim=1)
            envelope = 0.5 * (torch.cos(torch.pi * distances / self.cutoff) + 1.0)
            radial = torch.exp(-((distances.reshape(-1, 1) - self.centres) ** 2))
            messages = self.filter(radial) * envelope.reshape(-1, 1) * h[pairs[:, 1]]
            out = torch.zeros_like(h)
            return h + out.index_add(0, pairs[:, 0], messages)

        def forward(
            self,
            systems: List[System],
            outputs: Dict[str, ModelOutput],
            selected_atoms: Optional[Labels] = None,
        ) -> Dict[str, TensorMap]:
            per_system = [self._features(system) for system in systems]
            results: Dict[str, TensorMap] = {}
            for name, output in outputs.items():
                rows: List[torch.Tensor] = []
                samples: List[torch.Tensor] = []
                for index, features in enumerate(per_system):
                    values = self.readout(features) if name == "energy" else features
                    if output.sample_kind == "atom":
                        rows.append(values)
                        atom = torch.arange(values.shape[0]).reshape(-1, 1)
                        samples.append(torch.cat([torch.full_like(atom, index), atom], dim=1))
                    else:
                        rows.append(values.sum(dim=0, keepdim=True))
                        samples.append(torch.tensor([[index]]))
                names = ["system", "atom"] if output.sample_kind == "atom" else ["system"]
                values = torch.cat(rows)
                block = TensorBlock(
                    values=values,
                    samples=Labels(names, torch.cat(samples).to(torch.int32)),
                    components=torch.jit.annotate(List[Labels], []),
                    properties=Labels([name], torch.arange(values.shape[1]).reshape(-1, 1)),
                )
                results[name] = TensorMap(Labels(["_"], torch.tensor([[0]])), [block])
            return results

    _CLASS.append(DistanceConvolution)
    return DistanceConvolution

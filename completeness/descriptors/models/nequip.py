"""NequIP models (``nequip`` 0.6; Batzner et al., Nat. Commun. 13, 2453 (2022)) read from a
deployed model file.

The file is what ``nequip-deploy build --train-dir DIR model.pth`` writes: the TorchScript model
with nequip's metadata (cutoff ``r_max``, ``type_names``, ``model_dtype``, the training
configuration), the way NequIP's users hold and share models (its ASE calculator, LAMMPS and
ASE/OpenMM interfaces read the same file). It is read with nequip's own
``load_deployed_model`` (unfrozen, so that the layers stay visible, and without changing
torch's process-wide options), and a structure goes through nequip's own conversion
(``AtomicData.from_ase`` at the model's ``r_max``, its ``TypeMapper``) as in
``NequIPCalculator``. The read-outs:

* ``features``: the invariant (``0e``) channels of the node features after each interaction
  (``ConvNetLayer``), taken by running the deployed network's modules in order; the ``0o``
  channels (pseudoscalars of a model with ``parity: true``) change sign under a mirror and are
  left out; ``layer=k`` keeps interaction ``k``'s block only;
* ``energy``: the per-atom energies ``atomic_energy`` with the model's global scale applied (what
  ``NequIPCalculator`` reports as ``energies``; a global energy shift, if the model has one, is
  applied to the total only and is not part of them).

Atomic numbers map to nequip's type indices through the configuration's
``type_to_chemical_symbol`` (else the type names are read as chemical symbols, nequip's own
default). ``dtype``: the deployed model runs in its ``model_dtype``; another dtype converts its
weights (``float64`` for the audit, as MACE's calculator does). Layer 1 reads only neighbour
distances and species (body order 2); the model's invariant features are O(3)-invariant when it
was trained with ``parity: true``, SO(3)-invariant otherwise.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from ...environments import InputError
from ...errors import first_line
from .base import ModelAdapter

__all__ = ["NequIPModel"]

_EVEN_SCALAR = (0, 1)  # e3nn's (l, parity) of a 0e irrep


class NequIPModel(ModelAdapter):
    """A deployed NequIP model file as a descriptor; see the module docstring."""

    model_type = "nequip"
    extra = "nequip"
    library = "nequip"

    def __init__(self, path, **options):
        if not isinstance(path, (str, Path)):
            raise InputError(
                f"a NequIP model is read from its deployed file, not a {type(path).__name__}; "
                "write it with nequip-deploy build and give the file's path"
            )
        super().__init__(path, **options)

    def _load(self) -> None:
        import warnings

        torch = self.torch
        torch.serialization.add_safe_globals([slice])  # e3nn's constants (see mace.py)
        with warnings.catch_warnings():  # nequip warns about every torch 2.x at import
            warnings.simplefilter("ignore", UserWarning)
            from nequip.scripts.deploy import load_deployed_model
        try:
            model, metadata = load_deployed_model(
                self.path, device=self.device, freeze=False, set_global_options=False
            )
        except (ValueError, RuntimeError) as error:
            raise InputError(
                f"cannot load NequIP model {self.path!r} ({first_line(error)[:200]}); give a "
                "file written by nequip-deploy build"
            ) from None
        self.declared_dtype = metadata["model_dtype"]
        if self.dtype != self.declared_dtype:
            model = model.to(self._torch_dtype)
        self._model = model.eval()
        self.cutoff = float(metadata["r_max"])
        config = _config(metadata)
        self._type_of = _type_map(metadata["type_names"].split(), config, self.path)
        from ase.data import atomic_numbers

        self.species = tuple(sorted(atomic_numbers[symbol] for symbol in self._type_of))
        self.parity = _parity(config)
        self._network, self._rescale = _parts(model, self.path)
        names = [name for name, _ in self._network.named_children()]
        self._convnets = [name for name in names if name.endswith("_convnet")]
        self.n_layers = len(self._convnets)
        self._scalars = {}  # convnet name -> index tensor of its 0e channels
        for name, following in itertools.pairwise(names):
            if name in self._convnets:
                columns = _even_scalar_columns(_irreps_read_by(getattr(self._network, following)))
                if columns:
                    self._scalars[name] = torch.as_tensor(columns, dtype=torch.long)
        if not self._convnets or sorted(self._scalars) != sorted(self._convnets):
            raise InputError(
                f"NequIP model {self.path!r} does not have the EnergyModel's layout (interaction "
                "layers followed by a linear read-out); the nequip adapter reads that layout"
            )

    def _layer_body_order(self):
        return 2

    def describe(self) -> dict:
        return {**super().describe(), "declared_dtype": self.declared_dtype}

    def _graph(self, systems, positions) -> dict:
        """nequip's own conversion of ``systems`` into one batch (its dict of tensors)."""
        from nequip.data import AtomicData
        from nequip.data.transforms import TypeMapper
        from nequip.utils.torch_geometric import Batch

        mapper = TypeMapper(chemical_symbol_to_type=self._type_of)
        graphs = [mapper(AtomicData.from_ase(atoms, r_max=self.cutoff)) for atoms in systems]
        batch = AtomicData.to_AtomicDataDict(Batch.from_data_list(graphs))
        fields = set(self._model.model_input_fields)
        data = {
            key: (value.to(self._torch_dtype) if value.is_floating_point() else value).to(
                self.device
            )
            for key, value in batch.items()
            if key in fields
        }
        data["pos"] = positions
        return data

    def _per_atom(self, systems, positions):
        # TorchScript's profiling executor re-specialises the graph for each new number of atoms
        # and edges (nequip tunes it process-wide when it loads a model); for the audit's many
        # small structures that costs more than it saves, and the process's options stay as set
        with self.torch.jit.optimized_execution(False):
            return self._read_out(self._graph(systems, positions))

    def _read_out(self, data):
        torch = self.torch
        if self.read_out == "energy":
            energies = self._network(data)["atomic_energy"]
            rescale = self._rescale
            if rescale is not None and rescale.has_scale and "atomic_energy" in rescale.scale_keys:
                energies = energies * rescale.scale_by.to(energies.dtype)
            return energies.reshape(-1, 1)
        blocks = []
        last = self._convnets[(self.layer or self.n_layers) - 1]
        for name, module in self._network.named_children():
            data = module(data)
            if name in self._scalars:
                features = data["node_features"]
                columns = self._scalars[name]
                if int(columns.max()) >= features.shape[1]:
                    raise InputError(
                        f"NequIP model {self.path!r}: the node features after {name} do not "
                        "match the irreps its read-out expects"
                    )
                blocks.append(features[:, columns.to(features.device)])
            if name == last:
                break
        if self.layer is not None:
            return blocks[-1]
        return torch.cat(blocks, dim=1)


def _config(metadata: dict) -> dict:
    """The training configuration stored in the deployed file (nequip writes it with yaml)."""
    import yaml

    text = metadata.get("config") or ""
    # nequip writes tuples as python/tuple tags; read only those beyond the safe loader
    loader = type("_Loader", (yaml.SafeLoader,), {})
    loader.add_constructor(
        "tag:yaml.org,2002:python/tuple", lambda load, node: tuple(load.construct_sequence(node))
    )
    config = yaml.load(text, Loader=loader) if text else {}
    return config if isinstance(config, dict) else {}


def _parity(config: dict) -> str:
    """``"O(3)"`` when the edge harmonics carry their true parity (``l`` odd: ``o``), as with
    ``parity: true``; ``"SO(3)"`` otherwise: an ``l = 1`` harmonic labelled even lets e3nn couple
    vectors into "0e" channels that change sign under a mirror."""
    import re

    terms = re.findall(r"(\d+)([eo])", str(config.get("irreps_edge_sh", "")).replace("x", " "))
    if not terms:
        return "O(3)" if config.get("parity", True) else "SO(3)"
    true_parity = all((int(l) % 2 == 1) == (p == "o") for l, p in terms)
    return "O(3)" if true_parity else "SO(3)"


def _type_map(type_names: list, config: dict, path) -> dict:
    """``{chemical symbol: nequip type index}``."""
    from ase.data import chemical_symbols

    symbols = config.get("type_to_chemical_symbol") or {}
    by_index = {int(k): v for k, v in symbols.items()}
    mapping = {by_index.get(index, name): index for index, name in enumerate(type_names)}
    unknown = sorted(set(mapping) - set(chemical_symbols[1:]))
    if unknown:
        raise InputError(
            f"NequIP model {path!r} has type names {unknown} that are not chemical symbols and "
            "no type_to_chemical_symbol in its configuration; deploy it from a configuration "
            "with chemical_symbols"
        )
    return mapping


def _parts(model, path):
    """The network of the deployed model (the ``SequentialGraphNetwork`` inside its force
    wrapper) and the ``RescaleOutput`` around it (None without one)."""
    network = rescale = None
    for _, module in model.named_modules():
        children = [name for name, _ in module.named_children()]
        if rescale is None and hasattr(module, "scale_keys"):
            rescale = module
        if any(name.endswith("_convnet") for name in children):
            network = module
            break
    if network is None:
        raise InputError(
            f"NequIP model {path!r} has no interaction layers (*_convnet modules); the nequip "
            "adapter reads models built by nequip's EnergyModel"
        )
    return network, rescale


def _irreps_read_by(module) -> tuple:
    """Irreps of the node features ``module`` reads: the input of its first linear layer
    (``conv.linear_1`` of an interaction, ``linear`` of an atom-wise read-out)."""
    for path in ("conv.linear_1", "linear"):
        current = module
        for part in path.split("."):
            current = getattr(current, part, None)
        irreps = getattr(current, "irreps_in", None)
        if irreps is not None:
            return tuple(irreps)
    return ()


def _even_scalar_columns(irreps) -> list[int]:
    """Columns of the ``0e`` channels in a feature vector laid out as ``irreps``
    (``((multiplicity, (l, parity)), ...)``)."""
    columns, start = [], 0
    for multiplicity, (degree, parity) in irreps:
        width = multiplicity * (2 * degree + 1)
        if (degree, parity) == _EVEN_SCALAR:
            columns += range(start, start + width)
        start += width
    return columns

"""MACE models (``mace-torch``, Batatia et al., NeurIPS 2022) read from a saved model file.

The file is what ``torch.save(model, path)`` writes for a ``mace.modules.MACE`` /
``ScaleShiftMACE`` (the format of ``mace_run_train``'s ``*.model`` files). It is loaded through
the library's own ASE calculator (:class:`mace.calculators.MACECalculator`, which converts the
model to the requested dtype), the structure goes through the calculator's own conversion to a
graph, and the read-outs are the library's:

* ``features``: the invariant (``0e``) channels of the node features after each interaction
  layer, taken with :func:`mace.modules.utils.extract_invariant` exactly as
  ``MACECalculator.get_descriptors(invariants_only=True)`` does; ``layer=k`` keeps layer ``k``'s
  block only;
* ``energy``: ``node_energy``, the per-atom energies (atomic reference energies included) whose
  sum is the model's energy.

Layer 1 with ``correlation`` ``nu`` is a function of the centre's ``(nu + 1)``-body density
correlations within the cutoff (its body order); later layers see beyond the cutoff.
"""

from __future__ import annotations

from .base import ModelAdapter

__all__ = ["MACEModel"]


class MACEModel(ModelAdapter):
    """A saved MACE model as a descriptor; see the module docstring."""

    model_type = "mace"
    extra = "mace"
    library = "mace"

    def _load(self) -> None:
        import contextlib
        import io

        torch = self.torch
        # e3nn 0.4.4 (which mace-torch pins) loads its constants with torch.load, whose default
        # became weights_only=True in torch 2.6; the constants hold slice objects
        torch.serialization.add_safe_globals([slice])
        from mace.calculators import MACECalculator

        model = self._pickled_model()
        with contextlib.redirect_stdout(io.StringIO()):  # it prints its dtype choice
            self._calculator = MACECalculator(
                models=model, device=self.device, default_dtype=self.dtype
            )
        self._model = self._calculator.models[0]
        self._model.eval()
        self.cutoff = float(self._calculator.r_max)
        self.species = tuple(int(z) for z in self._model.atomic_numbers)
        self.n_layers = int(self._model.num_interactions)
        from e3nn import o3

        irreps = o3.Irreps(str(self._model.products[0].linear.irreps_out))
        self._l_max = irreps.lmax
        self._n_invariant = irreps.dim // (self._l_max + 1) ** 2
        contractions = self._model.products[0].symmetric_contractions.contractions
        self._correlation = int(contractions[0].correlation)

    def _layer_body_order(self):
        return self._correlation + 1

    def _per_atom(self, systems, positions):
        from mace import data
        from mace.modules.utils import extract_invariant
        from mace.tools import torch_geometric, torch_tools

        calculator = self._calculator  # its own conversion, as in MACECalculator._atoms_to_batch
        keys = data.KeySpecification(
            info_keys=calculator.info_keys, arrays_keys=calculator.arrays_keys
        )
        with torch_tools.default_dtype(self.dtype):
            graphs = [
                data.AtomicData.from_config(
                    data.config_from_atoms(
                        atoms, key_specification=keys, head_name=calculator.head
                    ),
                    z_table=calculator.z_table,
                    cutoff=calculator.r_max,
                    heads=calculator.available_heads,
                )
                for atoms in systems
            ]
        batch = torch_geometric.Batch.from_data_list(graphs).to(self.device).to_dict()
        batch["positions"] = positions
        output = self._model(batch, training=False, compute_force=False)
        if self.read_out == "energy":
            return output["node_energy"].reshape(-1, 1)
        invariants = extract_invariant(
            output["node_feats"],
            num_layers=self.layer or self.n_layers,
            num_features=self._n_invariant,
            l_max=self._l_max,
        )
        if self.layer is not None:
            invariants = invariants[:, -self._n_invariant :]
        return invariants

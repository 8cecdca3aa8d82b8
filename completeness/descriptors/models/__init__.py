"""Trained machine-learning potentials as descriptors, through their own libraries.

``load_model(path, model_type)`` reads a model file written by the model's library and returns a
descriptor (``compute(systems, centers=..., gradients=...)``) that the audit, the verdicts and
the report cards accept like any other:

==============  ===========================  ==============================================
model_type      library (extra)              file
==============  ===========================  ==============================================
``mace``        mace-torch (``mace``)        ``torch.save(model, path)`` of a MACE model
``schnetpack``  schnetpack (``schnetpack``)  ``torch.save(model, path)`` of a SchNet
                                             ``NeuralNetworkPotential``
``metatomic``   metatomic-torch              ``AtomisticModel.save(path)`` (TorchScript)
                (``metatomic``)
``nequip``      nequip 0.6 (``nequip``)      ``nequip-deploy build`` (TorchScript and
                                             metadata)
==============  ===========================  ==============================================

A model object already in memory (a ``mace.modules`` model, a SchNetPack
``NeuralNetworkPotential``, a metatomic ``AtomisticModel``) is adapted the same way by
:func:`completeness.descriptors.adapt` (every layer's features; the adapter works on a copy).
A NequIP model is read from its deployed file only (its metadata maps species to types).

Each library is imported only when its adapter is used; install it with
``pip install torch==2.13.0 'completeness[mace]'`` (the CPU build of torch first, so that the
extra does not pull a CUDA build). See :mod:`.base` for the read-outs, dtype and gradients.
"""

from __future__ import annotations

from ...environments import InputError

__all__ = ["MODEL_TYPES", "adapter_rules", "load_model"]

MODEL_TYPES = ("mace", "schnetpack", "metatomic", "nequip")


def load_model(path, model_type: str, **options):
    """The model in ``path`` (written by ``model_type``'s library) as a descriptor; ``path`` may
    also be the model object itself.

    ``options``: ``layer`` (1-based interaction layer, None for all), ``read_out``
    (``"features"`` or ``"energy"``), ``dtype`` (``"float64"``, or ``"float32"``; a metatomic
    model runs only in the dtype it declares), ``device`` (``"cpu"``).
    """
    if model_type == "mace":
        from .mace import MACEModel

        return MACEModel(path, **options)
    if model_type == "schnetpack":
        from .schnetpack import SchNetPackModel

        return SchNetPackModel(path, **options)
    if model_type == "metatomic":
        from .metatomic import MetatomicModel

        return MetatomicModel(path, **options)
    if model_type == "nequip":
        from .nequip import NequIPModel

        return NequIPModel(path, **options)
    raise InputError(f"model type {model_type!r} is not one of {', '.join(MODEL_TYPES)}")


def adapter_rules() -> list:
    """``(test, build)`` rules for :func:`completeness.descriptors.adapters.register_adapter`:
    model objects recognised by their class's module, without importing any library."""

    def module_of(obj) -> str:
        return type(obj).__module__ or ""

    def is_torch_module(obj) -> bool:
        return any(cls.__name__ == "Module" for cls in type(obj).__mro__)

    def is_mace(obj) -> bool:
        return module_of(obj).startswith("mace.modules") and is_torch_module(obj)

    def is_schnetpack(obj) -> bool:
        return module_of(obj).startswith("schnetpack.model") and is_torch_module(obj)

    def is_metatomic(obj) -> bool:
        name = type(obj).__name__
        return module_of(obj).startswith("metatomic.torch") and name == "AtomisticModel"

    def is_nequip(obj) -> bool:  # refused with a line that says to deploy it and give the file
        return module_of(obj).startswith("nequip.") and is_torch_module(obj)

    return [
        (is_mace, lambda obj: load_model(obj, "mace")),
        (is_schnetpack, lambda obj: load_model(obj, "schnetpack")),
        (is_metatomic, lambda obj: load_model(obj, "metatomic")),
        (is_nequip, lambda obj: load_model(obj, "nequip")),
    ]

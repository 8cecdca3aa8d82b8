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
==============  ===========================  ==============================================

Each library is imported only when its adapter is used; install it with
``pip install torch==2.13.0 'completeness[mace]'`` (the CPU build of torch first, so that the
extra does not pull a CUDA build). See :mod:`.base` for the read-outs, dtype and gradients.
"""

from __future__ import annotations

from ...environments import InputError

__all__ = ["MODEL_TYPES", "load_model"]

MODEL_TYPES = ("mace", "schnetpack")


def load_model(path, model_type: str, **options):
    """The model in ``path`` (written by ``model_type``'s library) as a descriptor.

    ``options``: ``layer`` (1-based interaction layer, None for all), ``read_out``
    (``"features"`` or ``"energy"``), ``dtype`` (``"float64"``), ``device`` (``"cpu"``).
    """
    if model_type == "mace":
        from .mace import MACEModel

        return MACEModel(path, **options)
    if model_type == "schnetpack":
        from .schnetpack import SchNetPackModel

        return SchNetPackModel(path, **options)
    raise InputError(f"model type {model_type!r} is not one of {', '.join(MODEL_TYPES)}")

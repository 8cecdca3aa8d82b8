"""What every trained-model adapter shares: loading by path, dtype/device, the per-atom loop.

An adapter reads a model file written by the model's own library, runs the model on whole
systems (message passing sees every atom within ``n_layers`` hops, not only the centre's
neighbourhood, as for :mod:`completeness.descriptors.networks`) and returns the requested
centres' rows of one per-atom read-out:

* ``read_out="features"``: the library's own per-atom invariant features after interaction
  layer ``layer`` (1-based); ``layer=None`` concatenates every layer's features;
* ``read_out="energy"``: the model's per-atom energies (one feature).

Gradients with respect to positions come from torch's autograd (one backward pass per feature,
vectorised), so the audit's gradient checks and sensitivity analyses run on the model as it is.

The audit runs in float64 on the CPU: the noise floor of the verdict rule is the spread of the
features over random rotations and permutations, which in float32 is ~1e-7 relative instead of
~1e-15, so in float32 a pair has to be ~8 decades further apart before it reads as resolved.
``dtype="float32"`` is accepted to measure that.
"""

from __future__ import annotations

import numpy as np

from ...environments import InputError, centres_per_system, check_systems

__all__ = ["ModelAdapter", "import_torch", "load_pickled_model"]

DTYPES = ("float64", "float32")
READ_OUTS = ("features", "energy")
_BATCH = 64  # systems per forward pass without gradients


def import_torch(extra: str, library: str):
    """``torch``, after checking that ``library`` is installed (InputError naming the extra)."""
    import importlib
    import importlib.util

    missing = [name for name in ("torch", library) if importlib.util.find_spec(name) is None]
    if missing:
        raise InputError(
            f"{' and '.join(missing)} not installed; install the model extra with "
            f"pip install torch==2.13.0 'completeness[{extra}]'"
        )
    return importlib.import_module("torch")


def load_pickled_model(torch, path: str, device: str):
    """A whole ``torch.nn.Module`` saved with ``torch.save(model, path)``.

    Such files are pickles: loading one runs code from the file (``weights_only=False``, which
    torch >= 2.6 no longer does by default). Audit only model files you trust.
    """
    import pickle

    try:
        model = torch.load(path, map_location=device, weights_only=False)
    except (pickle.UnpicklingError, RuntimeError, EOFError, AttributeError) as error:
        raise InputError(
            f"cannot load model file {path!r} ({type(error).__name__}: {str(error)[:200]}); "
            "give a model saved with torch.save(model, path) by the library's own version"
        ) from None
    if not isinstance(model, torch.nn.Module):
        raise InputError(
            f"model file {path!r} holds a {type(model).__name__}, not a torch module; save the "
            "whole model with torch.save(model, path), not its state_dict"
        )
    return model


class ModelAdapter:
    """A trained model file (or model object) as a descriptor (``compute(systems, centers=...,
    gradients=...)``).

    Subclasses set ``model_type`` and ``extra`` and implement :meth:`_load` (read the file,
    set ``self.cutoff``, ``self.species``, ``self.n_layers``) and :meth:`_per_atom` (the
    per-atom read-out of one system as a ``(n_atoms, n_features)`` tensor, differentiable with
    respect to the ``positions`` tensor it is given).

    Attributes
    ----------
    path : str
        The model file (``"<Type in memory>"`` for a model object given directly; the adapter
        works on a copy of it).
    layer : int or None
    read_out : str
    dtype, device : str
    cutoff : float
        The model's own radial cutoff (Å); the audit scales environment pairs to it.
    species : tuple of int or None
        Atomic numbers the model was built for; other species are refused before the model runs
        (None: the model embeds any atomic number).
    n_layers : int
        Number of interaction layers of the model.
    parity : str
        ``"O(3)"``: every adapted model's invariant read-out is mirror-invariant.
    """

    model_type = ""
    extra = ""
    library = ""
    parity = "O(3)"
    has_gradients = True

    def __init__(self, model, *, layer=None, read_out="features", dtype="float64", device="cpu"):
        if read_out not in READ_OUTS:
            raise InputError(f"read_out={read_out!r} is not one of {READ_OUTS}")
        if dtype not in DTYPES:
            raise InputError(f"dtype={dtype!r} is not one of {DTYPES}; the audit wants float64")
        if read_out == "energy" and layer is not None:
            raise InputError("read_out='energy' is the whole model's output; leave layer=None")
        self.read_out = read_out
        self.dtype = dtype
        self.device = device
        from pathlib import Path

        self._given = None
        if isinstance(model, (str, Path)):
            self.path = str(model)
            if not Path(self.path).is_file():
                raise InputError(
                    f"model file {self.path!r} does not exist; give the saved model's path"
                )
        else:  # a model object in memory: a copy, so that dtype/device changes stay ours
            import copy

            self.path = f"<{type(model).__name__} in memory>"
            self._given = copy.deepcopy(model)
        self.torch = import_torch(self.extra, self.library)  # after the cheap checks
        self._torch_dtype = getattr(self.torch, dtype)
        self._load()
        if layer is not None and (
            isinstance(layer, bool)
            or not isinstance(layer, (int, np.integer))
            or not 1 <= layer <= self.n_layers
        ):
            raise InputError(
                f"layer={layer!r} is not an interaction layer of this {self.n_layers}-layer "
                f"model; give 1..{self.n_layers} or None (every layer)"
            )
        self.layer = None if layer is None else int(layer)

    # ---- what subclasses provide ---------------------------------------------------------------

    def _load(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _pickled_model(self):
        """The model object given, or the one pickled in the file."""
        if self._given is not None:
            return self._given
        return load_pickled_model(self.torch, self.path, self.device)

    def _per_atom(self, systems, positions):  # pragma: no cover - abstract
        """The per-atom read-out of ``systems`` (one batch) as one ``(total atoms, n_features)``
        tensor, atoms system by system; ``positions`` is the matching ``(total atoms, 3)``
        tensor the result must be differentiable with respect to."""
        raise NotImplementedError

    def _layer_body_order(self):
        """Body order of the first layer's read-out (None when unknown)."""
        return None

    # ---- the descriptor interface --------------------------------------------------------------

    @property
    def name(self) -> str:
        which = "energy" if self.read_out == "energy" else f"layer={self.layer or 'all'}"
        return f"{self.model_type}:{which}"

    @property
    def body_order(self):
        """Body order of the centre's read-out when finite: layer 1 of a one-layer read-out
        (features of the first interaction only); None once messages from beyond the cutoff
        enter (more layers, or the model's energy)."""
        if self.read_out == "features" and (self.layer == 1 or self.n_layers == 1):
            return self._layer_body_order()
        return None

    def describe(self) -> dict:
        """Device, dtype, layers and read-out: what a user of the library would check."""
        return {
            "model_type": self.model_type,
            "path": self.path,
            "device": self.device,
            "dtype": self.dtype,
            "cutoff": self.cutoff,
            "species": None if self.species is None else list(self.species),
            "n_layers": self.n_layers,
            "layer": self.layer,
            "read_out": self.read_out,
        }

    def compute(self, systems, *, centers=None, gradients: bool = False):
        """Rows of the requested centres (every atom when ``centers`` is None), system by system.

        Returns an object with ``values`` ``(n_samples, n_features)`` and, when asked,
        ``gradients`` ``(n_samples, max_atoms, 3, n_features)``.
        """
        from .. import Features

        systems = check_systems(systems)
        per_system = centres_per_system(systems, centers)
        for atoms in systems:
            self._check_species(atoms)
        max_atoms = max(len(atoms) for atoms in systems)
        if gradients:  # one system at a time: the Jacobian of its centres' rows
            values, grads = [], []
            for atoms, centres in zip(systems, per_system, strict=True):
                rows, jac = self._jacobian(atoms, centres)
                padded = np.zeros((len(centres), max_atoms, 3, rows.shape[1]))
                padded[:, : len(atoms)] = jac
                values.append(rows)
                grads.append(padded)
        else:  # every system in batches of the library's own graph batching
            values = []
            for start in range(0, len(systems), _BATCH):
                chunk = slice(start, start + _BATCH)
                values += self._values(systems[chunk], per_system[chunk])
        n_features = values[0].shape[1] if values else 0
        out = np.concatenate(values) if values else np.zeros((0, n_features))
        samples = np.array(
            [(s, c) for s, centres in enumerate(per_system) for c in centres], dtype=np.int64
        ).reshape(-1, 2)
        return Features(
            values=out,
            gradients=np.concatenate(grads) if gradients else None,
            samples=samples,
            feature_names=tuple(f"{self.read_out}_{k}" for k in range(n_features)),
            descriptor=self.name,
            hypers=self.describe(),
        )

    def _positions(self, systems):
        stacked = np.concatenate([atoms.positions for atoms in systems])
        return self.torch.tensor(stacked, dtype=self._torch_dtype, device=self.device)

    def _values(self, systems, per_system) -> list[np.ndarray]:
        torch = self.torch
        with torch.no_grad():
            rows = self._per_atom(systems, self._positions(systems))
        rows = rows.detach().to(torch.float64).cpu().numpy()
        offsets = np.concatenate([[0], np.cumsum([len(atoms) for atoms in systems])])
        return [rows[offsets[k] + centres] for k, centres in enumerate(per_system)]

    def _jacobian(self, atoms, centres):
        torch = self.torch
        positions = self._positions([atoms]).requires_grad_(True)
        index = torch.as_tensor(centres, dtype=torch.long, device=self.device)
        rows = self._per_atom([atoms], positions)[index]
        flat = rows.reshape(-1)
        basis = torch.eye(flat.numel(), dtype=flat.dtype, device=flat.device)
        (jac,) = torch.autograd.grad(flat, positions, basis, is_grads_batched=True)
        jac = jac.reshape(len(centres), rows.shape[1], len(atoms), 3).permute(0, 2, 3, 1)
        return (
            rows.detach().to(torch.float64).cpu().numpy(),
            jac.detach().to(torch.float64).cpu().numpy(),
        )

    def _check_species(self, atoms) -> None:
        if self.species is None:
            return
        unknown = sorted(set(atoms.numbers.tolist()) - set(self.species))
        if unknown:
            raise InputError(
                f"{self.model_type} model {self.path!r} was built for atomic numbers "
                f"{list(self.species)}, the structure has {unknown}; audit it on pairs of its "
                "species"
            )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.path!r}, layer={self.layer}, read_out={self.read_out!r})"
        )

"""What every wrapper of a peer library shares: :class:`PeerDescriptor`.

A wrapper is a :class:`~completeness.descriptors.Descriptor` (so ``get_params``, ``clone``,
``to_json``/``from_json``, ``fit``/``transform`` work) whose :meth:`PeerDescriptor.compute` hands
the ``ase.Atoms`` to the library as they are (its own neighbour lists, its own periodic images)
and converts the result to :class:`~completeness.descriptors.Features`: one row per requested
centre, system by system, and gradients in the dense layout ``(n_samples, n_atoms, 3,
n_features)``.

A wrapper never hides a library's failure: what the library raises propagates unchanged (its
type and its message), and a library run in a child process (:mod:`._runner`) that ends the
process raises :class:`~._runner.PeerCrash` with the library's stderr.
"""

from __future__ import annotations

import numpy as np

from ...environments import InputError, centres_per_system, check_systems
from ..base import Descriptor, Features
from ..hypers import Integer, Real, declare

__all__ = ["PeerDescriptor"]

# A line of atoms 1.5 Å apart: enough to make every library list its feature names.
_NAMING_SPACING = 1.5


class PeerDescriptor(Descriptor):
    """Base class of the wrappers: subclasses set ``library`` and ``peer_name`` and implement
    :meth:`_peer_compute`.

    Species follow the package's rule (:mod:`completeness.descriptors.base`): ``species``, else
    ``species_`` learned by ``fit``, else the atomic numbers present in one ``compute`` call.
    """

    abstract_base = True
    library: str = ""
    peer_name: str = ""
    # the package's vocabulary, as every wrapper takes it (each wrapper adds its own)
    hyper_constraints = declare(
        n_radial=Integer(1),
        max_angular=Integer(0),
        density_width=Real(0, low_open=True, unit="Å"),
        cutoff_width=Real(0, low_open=True, unit="Å"),
    )
    #: Whether the library provides position gradients at all.
    provides_gradients: bool = True

    # ---- to implement ------------------------------------------------------------------------

    def _peer_compute(self, systems, centres, species, gradients):
        """Return ``(values, gradients or None, feature_names)`` for the requested centres.

        ``centres[k]`` are the centre indices of ``systems[k]``; rows follow that order.
        ``gradients`` is dense ``(n_samples, max_atoms, 3, n_features)``.
        """
        raise NotImplementedError

    # ---- shared ------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return f"{self.library}:{self.peer_name}"

    def __getstate__(self):
        """Pickle without the cached library objects (``*_cache``: featomic's calculators hold
        a native pointer); they are rebuilt lazily on first use after unpickling."""
        state = super().__getstate__()
        return {key: value for key, value in state.items() if not key.endswith("_cache")}

    def _species_list(self, systems) -> list[int]:
        present = np.concatenate([atoms.numbers for atoms in systems])
        return [int(z) for z in self.species_channels(present)]

    def compute(self, systems, *, centers=None, gradients: bool = False) -> Features:
        """Compute the library's features of the centres of ``systems`` (see the class doc)."""
        self._check_hypers()
        _require(self.library)
        systems = check_systems(systems)
        centres = centres_per_system(systems, centers)
        species = self._species_list(systems)
        values, grads, names = self._peer_compute(systems, centres, species, bool(gradients))
        return peer_features(
            self, values, grads if gradients else None, sample_rows(centres), names
        )

    def compute_neighbourhoods(self, neighbourhoods, *, gradients: bool = False):
        raise InputError(
            f"{self.name} computes from ase.Atoms with the library's own neighbour lists; call "
            "compute(systems, centers=...) instead of compute_neighbourhoods"
        )

    def _feature_names(self, species) -> tuple[str, ...]:
        from sklearn.base import clone

        species = [int(z) for z in species]
        descriptor = (
            clone(self).set_params(species=species) if "species" in self.get_params() else self
        )
        return tuple(descriptor.compute(_naming_system(species), centers=[0]).feature_names)


def _require(library: str) -> None:
    """Fail early, with the install command, when the wrapped library is missing."""
    import importlib.util

    if importlib.util.find_spec(library) is None:
        raise InputError(
            f"{library} is not installed; install it with pip install 'completeness[{library}]'"
        )


def _naming_system(species):
    import ase

    positions = np.zeros((len(species), 3))
    positions[:, 0] = _NAMING_SPACING * np.arange(len(species))
    return ase.Atoms(numbers=species, positions=positions)


def sample_rows(centres) -> np.ndarray:
    """``(n_samples, 2)`` rows ``(system, centre)``: ``centres[k]`` of system ``k`` in order."""
    return np.array(
        [(k, int(c)) for k, cs in enumerate(centres) for c in cs], dtype=np.int64
    ).reshape(-1, 2)


def peer_features(descriptor, values, gradients, samples, names) -> Features:
    """The one place where wrappers build :class:`Features` (its layout may evolve)."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    if gradients is not None:
        gradients = np.ascontiguousarray(gradients, dtype=np.float64)
    return Features(
        values=values,
        gradients=gradients,
        samples=samples,
        feature_names=tuple(names),
        descriptor=descriptor.name,
        hypers=descriptor.get_params(),
    )

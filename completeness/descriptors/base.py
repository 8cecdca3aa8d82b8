"""The ``Descriptor`` base class and the ``Features`` it returns.

A descriptor maps each centred environment to a fixed-length vector. Subclasses implement one
method, :meth:`Descriptor._compute`, over a :class:`~completeness.environments.Neighbourhoods`
batch, returning the values and (on request) the derivative of each sample's features with respect
to each of its pair vectors ``r_ij = r_j - r_i``. The base class turns pair derivatives into
derivatives with respect to atom positions (``d/dr_j = d/dr_ij``, ``d/dr_i = -sum_j d/dr_ij``),
so translation invariance of gradients holds by construction.

Hyperparameters follow scikit-learn's rules: stored as given in ``__init__`` (no work, no
validation there), checked in :meth:`Descriptor.compute`, exposed by ``get_params`` /
``set_params`` and preserved by :func:`sklearn.base.clone`. A descriptor round-trips through JSON
with :meth:`Descriptor.to_json` and :func:`from_json`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from .. import __version__
from ..environments import InputError, Neighbourhoods, build_neighbourhoods, check_cutoff

__all__ = ["Descriptor", "Features", "from_json", "registered_descriptors"]

_REGISTRY: dict[str, type[Descriptor]] = {}


@dataclass(frozen=True, eq=False)
class Features:
    """The output of :meth:`Descriptor.compute`.

    Attributes
    ----------
    values : (n_samples, n_features) float array
    gradients : (n_samples, n_atoms, 3, n_features) float array or None
        ``gradients[s, a, x, f]`` is the derivative of feature ``f`` of sample ``s`` with respect
        to coordinate ``x`` of atom ``a`` of the sample's own system. When systems of different
        sizes are computed together, ``n_atoms`` is the largest size and the rows beyond a
        system's own atom count are zero.
    samples : (n_samples, 2) int array
        ``(system index, centre atom index)`` of each row.
    feature_names : tuple of str
    descriptor : str
        Class name of the descriptor that computed these features.
    hypers : dict
        The descriptor's hyperparameters.
    version : str
        Version of ``completeness`` that computed them.
    """

    values: np.ndarray
    gradients: np.ndarray | None
    samples: np.ndarray
    feature_names: tuple[str, ...]
    descriptor: str
    hypers: dict = field(default_factory=dict)
    version: str = __version__

    @property
    def n_samples(self) -> int:
        return self.values.shape[0]

    @property
    def n_features(self) -> int:
        return self.values.shape[1]


class Descriptor(TransformerMixin, BaseEstimator):
    """Base class of every descriptor of the package.

    Subclasses set the class attributes ``body_order`` (int: 2 for pair terms, 3 for angles, ...)
    and ``parity`` (``"O(3)"`` when the features are invariant under reflections, ``"SO(3)"``
    when some of them change sign), write an ``__init__`` that only stores its keyword arguments,
    and implement :meth:`_check_hypers`, :meth:`_feature_names` and :meth:`_compute`.
    """

    body_order: int = 0
    parity: str = "O(3)"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("_"):  # private bases are not user-facing descriptors
            _REGISTRY[cls.__name__] = cls

    # ---- to implement ------------------------------------------------------------------------

    def _check_hypers(self) -> None:
        """Raise :class:`InputError` naming the valid range for any bad hyperparameter."""
        check_cutoff(self.cutoff)

    def _feature_names(self, species: np.ndarray) -> tuple[str, ...]:
        """Names of the features for the given species (sorted unique atomic numbers)."""
        raise NotImplementedError

    def _compute(
        self, neighbourhoods: Neighbourhoods, species: np.ndarray, gradients: bool
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Return ``(values (n_samples, n_features), pair_gradients (n_pairs, 3, n_features))``.

        ``pair_gradients[p, x, f]`` is the derivative of feature ``f`` of the sample owning pair
        ``p`` with respect to component ``x`` of that pair's vector. Return None for it when
        ``gradients`` is False.
        """
        raise NotImplementedError

    # ---- public API --------------------------------------------------------------------------

    def species_for(self, neighbourhoods: Neighbourhoods) -> np.ndarray:
        """The species channels: the ``species`` hyperparameter, or those present in the input."""
        requested = getattr(self, "species", None)
        present = neighbourhoods.species
        if requested is None:
            return present
        requested = np.unique(np.asarray(requested, dtype=np.int64))
        unknown = np.setdiff1d(present, requested)
        if unknown.size:
            raise InputError(
                f"the input contains species {unknown.tolist()} that are not in the descriptor's "
                f"species={requested.tolist()}; add them to `species` or remove those atoms"
            )
        return requested

    def feature_names(self, species=None) -> tuple[str, ...]:
        """Feature names, for ``species`` (defaults to the ``species`` hyperparameter)."""
        self._check_hypers()
        if species is None:
            species = getattr(self, "species", None)
        if species is None:
            raise InputError(
                f"{type(self).__name__} has no fixed species list; pass species=[...] to the "
                "constructor or to feature_names()"
            )
        return self._feature_names(np.unique(np.asarray(species, dtype=np.int64)))

    def n_features(self, species=None) -> int:
        """Number of features for ``species`` (defaults to the ``species`` hyperparameter)."""
        return len(self.feature_names(species))

    def compute(self, systems, *, centers=None, gradients: bool = False) -> Features:
        """Compute the features of the centres of ``systems``.

        Parameters
        ----------
        systems : ase.Atoms or list of ase.Atoms
        centers : None or indices
            ``None`` for every atom, a flat list of indices used in every system, or one list
            per system.
        gradients : bool
            Also return the derivatives with respect to every atom position.
        """
        self._check_hypers()
        neighbourhoods = build_neighbourhoods(systems, self.cutoff, centers)
        return self.compute_neighbourhoods(neighbourhoods, gradients=gradients)

    def compute_neighbourhoods(
        self, neighbourhoods: Neighbourhoods, *, gradients: bool = False
    ) -> Features:
        """Compute from an already built :class:`Neighbourhoods` batch."""
        self._check_hypers()
        species = self.species_for(neighbourhoods)
        values, pair_gradients = self._compute(neighbourhoods, species, gradients)
        names = self._feature_names(species)
        atom_gradients = None
        if gradients:
            atom_gradients = _pair_to_atom_gradients(neighbourhoods, pair_gradients)
        return Features(
            values=values,
            gradients=atom_gradients,
            samples=neighbourhoods.samples.copy(),
            feature_names=names,
            descriptor=type(self).__name__,
            hypers=self.get_params(),
        )

    def __call__(self, systems, *, centers=None, gradients: bool = False) -> Features:
        return self.compute(systems, centers=centers, gradients=gradients)

    # ---- scikit-learn transformer ------------------------------------------------------------

    def fit(self, X=None, y=None):
        """No-op (descriptors learn nothing); present so descriptors drop into pipelines."""
        return self

    def transform(self, X) -> np.ndarray:
        """Feature values of ``X`` (a list of ase.Atoms): ``compute(X).values``."""
        return self.compute(X).values

    # ---- serialisation -----------------------------------------------------------------------

    def to_json(self) -> str:
        """The descriptor's class and hyperparameters as a JSON string."""
        hypers = _jsonable(self.get_params())
        return json.dumps({"descriptor": type(self).__name__, "hypers": hypers})

    @property
    def name(self) -> str:
        return type(self).__name__


def registered_descriptors() -> dict[str, type[Descriptor]]:
    """Every Descriptor subclass defined so far, by class name."""
    return dict(_REGISTRY)


def from_json(text: str) -> Descriptor:
    """Rebuild a descriptor from :meth:`Descriptor.to_json` output."""
    data = json.loads(text)
    name = data.get("descriptor")
    if name not in _REGISTRY:
        raise InputError(
            f"unknown descriptor {name!r} in JSON; known: {sorted(_REGISTRY)} (import the module "
            "that defines it first)"
        )
    return _REGISTRY[name](**data.get("hypers", {}))


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _pair_to_atom_gradients(neighbourhoods: Neighbourhoods, pair_gradients) -> np.ndarray:
    """Scatter ``d f_s / d r_ij`` to ``d f_s / d r_a`` in the dense layout of :class:`Features`.

    Neighbour ``j`` gets ``+d/dr_ij`` and the centre ``i`` gets ``-sum_j d/dr_ij`` (periodic
    images of one atom add up). When no (sample, neighbour) repeats (finite systems) the
    neighbour part is a plain indexed copy; otherwise, and for the centre sums, a sparse matrix
    product. Both are much faster than ``np.add.at``.
    """
    from scipy import sparse

    n_samples = neighbourhoods.n_samples
    n_features = pair_gradients.shape[-1]
    max_atoms = int(neighbourhoods.n_atoms.max()) if neighbourhoods.n_atoms.size else 0
    n_pairs = len(neighbourhoods.pair_sample)
    out = np.zeros((n_samples, max_atoms, 3, n_features))
    if n_pairs == 0 or n_samples == 0:
        return out
    sample = neighbourhoods.pair_sample
    flat_out = out.reshape(n_samples * max_atoms, 3 * n_features)
    flat_gradients = np.ascontiguousarray(pair_gradients).reshape(n_pairs, 3 * n_features)
    target = sample * max_atoms + neighbourhoods.pair_neighbour
    if np.unique(target).size == n_pairs:
        flat_out[target] = flat_gradients
    else:
        scatter = sparse.csr_matrix(
            (np.ones(n_pairs), (target, np.arange(n_pairs))),
            shape=(n_samples * max_atoms, n_pairs),
        )
        flat_out += scatter @ flat_gradients
    # centre: minus the sum over the pairs of its sample (pairs are grouped by sample)
    counts = np.diff(neighbourhoods.pair_offsets)
    if np.all(counts == counts[0]):
        # the same number of pairs in every sample: a reshape-sum, several times faster
        centre_sums = flat_gradients.reshape(n_samples, int(counts[0]), -1).sum(axis=1)
    else:
        sums = sparse.csr_matrix(
            (np.ones(n_pairs), np.arange(n_pairs), neighbourhoods.pair_offsets),
            shape=(n_samples, n_pairs),
        )
        centre_sums = sums @ flat_gradients
    flat_out[np.arange(n_samples) * max_atoms + neighbourhoods.samples[:, 1]] -= centre_sums
    return out

"""The ``Descriptor`` base class and the ``Features`` it returns.

A descriptor maps each centred environment to a fixed-length vector. Subclasses implement one
method, :meth:`Descriptor._compute`, over a :class:`~completeness.environments.Neighbourhoods`
batch, returning the values and (on request) the derivative of each sample's features with respect
to each of its pair vectors ``r_ij = r_j - r_i``; the base class turns them into the position
gradients of :class:`~completeness.descriptors.features.Features` (its own module).

Hyperparameters follow scikit-learn's rules: keyword-only arguments of ``__init__``, stored as
given (no work, no validation there), checked in :meth:`Descriptor.compute` against the
constraints the class declares once in ``hyper_constraints`` (see
:mod:`completeness.descriptors.hypers`), exposed by ``get_params`` / ``set_params`` and preserved
by :func:`sklearn.base.clone`. A descriptor round-trips through JSON
with :meth:`Descriptor.to_json` and :func:`from_json`.

Species are fixed, never re-inferred. Each element present gets its own feature channels, so
the columns only mean the same thing across calls when the list of elements is the same. The
channels are, in this order:

1. the ``species`` hyperparameter, when given;
2. ``species_``, learned by :meth:`Descriptor.fit` from the systems it saw (``species=None``);
3. for a descriptor that is neither (unfitted, ``species=None``), the elements present in the
   systems of that one :meth:`Descriptor.compute` call (every atom, inside the cutoff or not):
   rows of one call are comparable with each other (``Features.feature_names`` names the
   columns), rows of separate calls only when their elements agree.
   :meth:`Descriptor.transform`, the scikit-learn path, never does this: it needs fixed species
   (``fit`` first, or ``species=[...]``).

With fixed species, a system containing any other element is refused with a one-line
:class:`~completeness.environments.InputError` that names the element and the fix.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Mapping

import numpy as np
from ase import Atoms
from ase.data import chemical_symbols
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError

from ..environments import InputError, Neighbourhoods, build_neighbourhoods, check_systems
from ..io import json_safe
from ..threads import blas_threads_for_call
from .features import Features, centre_gradients_from_pairs
from .hypers import Constraint, Real, Species, check_value, declare

__all__ = [
    "Descriptor",
    "Features",
    "NotFittedDescriptorError",
    "from_json",
    "registered_descriptors",
]


class NotFittedDescriptorError(InputError, NotFittedError):
    """A descriptor without fixed species asked for species-dependent output: an
    :class:`InputError` (one line, with the fix) that scikit-learn also knows as
    :class:`~sklearn.exceptions.NotFittedError`."""


_REGISTRY: dict[str, type[Descriptor]] = {}
# per class: the (hyperparameter, constraint) pairs that Descriptor._check_hypers checks
_CHECKS: dict[type, list] = {}
_PARAM_NAMES: dict[type, list] = {}
_FEATURE_NAMES: dict = {}  # (class, hyperparameters, species) -> names, oldest dropped first
_FEATURE_NAMES_SIZE = 256
_CHECKED: set = set()  # Descriptor._hypers_key() of the hyperparameters that passed the checks
_MEMO_SIZE = 4096
#: Calls with fewer pairs than this and no gradients skip :func:`blas_threads_for_call`.
_BLAS_POLICY_MIN_PAIRS = 32
_PLAIN_SCALARS = (type(None), bool, int, float, str, np.bool_, np.integer, np.floating)
_PLAIN_TYPES = frozenset(_PLAIN_SCALARS[:5])  # the common exact types: one set look-up


def _plain_key(value):
    """``value`` as a hashable key tagged with its type (so that ``True``, ``1`` and ``1.0``
    differ) when it is a plain value: None, a bool, number or string, or a list or tuple of
    plain values; None for anything else (an array, an object, a function)."""
    kind = type(value)
    if kind in _PLAIN_TYPES or isinstance(value, _PLAIN_SCALARS):
        return (kind, value)
    if kind is list or kind is tuple:
        items = tuple(_plain_key(item) for item in value)
        return None if None in items else (type(value), items)
    return None


class Descriptor(TransformerMixin, BaseEstimator):
    """Base class of every descriptor of the package.

    Subclasses set the class attributes ``body_order`` (int: 2 for pair terms, 3 for angles, ...)
    and ``parity`` (``"O(3)"`` when the features are invariant under reflections, ``"SO(3)"``
    when some of them change sign), write an ``__init__`` that only stores its keyword-only
    arguments, declare the valid values of each in ``hyper_constraints`` (merged with those of
    the base classes; ``cutoff`` and ``species`` are declared here), and implement
    :meth:`_feature_names` and :meth:`_compute` (and :meth:`_check_hyper_relations` for rules
    that tie several hyperparameters together).
    """

    body_order: int = 0
    parity: str = "O(3)"
    hyper_constraints: Mapping[str, Constraint] = declare(
        cutoff=Real(0, low_open=True, unit="Å"),
        species=Species(),
    )

    #: Set to True in the body of a base class that is not a descriptor by itself (like a
    #: private base, it is not registered; its subclasses are unless they set it again).
    abstract_base: bool = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # private and abstract bases are not user-facing descriptors
        if not cls.__name__.startswith("_") and not cls.__dict__.get("abstract_base", False):
            _REGISTRY[cls.__name__] = cls

    # ---- to implement ------------------------------------------------------------------------

    def _check_hyper_relations(self) -> None:
        """Raise :class:`InputError` when hyperparameters that are valid one by one do not fit
        together (e.g. ``cutoff_width > cutoff``)."""

    # ---- hyperparameter checks (the contract) -------------------------------------------------

    @classmethod
    def constraints(cls) -> dict[str, Constraint]:
        """The declared constraint of each hyperparameter: ``hyper_constraints`` of the class and
        its bases, merged (subclasses win)."""
        merged: dict[str, Constraint] = {}
        for klass in reversed(cls.__mro__):
            merged.update(vars(klass).get("hyper_constraints", {}))
        return merged

    def _check_hypers(self):
        """Raise :class:`InputError` naming the valid range for any bad hyperparameter; return
        :meth:`_hypers_key`.

        Hyperparameters made of plain values (:func:`_plain_key`) that passed once (on any
        descriptor of the class) are not checked again: the checks depend on nothing else.
        """
        cls = type(self)
        key = self._hypers_key()
        if key is not None and key in _CHECKED:
            return key
        checks = _CHECKS.get(cls)
        if checks is None:  # the constructor arguments that have a constraint, once per class
            names = cls._get_param_names()
            checks = _CHECKS[cls] = [(n, c) for n, c in cls.constraints().items() if n in names]
        for name, constraint in checks:
            check_value(cls.__name__, name, constraint, getattr(self, name))
        self._check_hyper_relations()
        if key is not None:
            if len(_CHECKED) >= _MEMO_SIZE:
                _CHECKED.clear()
            _CHECKED.add(key)
        return key

    def _hypers_key(self):
        """``(class, hyperparameters)`` as a hashable key when every hyperparameter is a plain
        value (:func:`_plain_key`), else None."""
        values = []
        for name in type(self)._get_param_names():
            value = _plain_key(getattr(self, name))
            if value is None:
                return None
            values.append(value)
        return (type(self), tuple(values))

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

    def _compute_with_centres(self, neighbourhoods: Neighbourhoods, species, gradients: bool):
        """``(values, pair_gradients, centre_gradients)``: :meth:`_compute` and the centre
        gradients ``-sum`` of each sample's pair gradients (None without gradients). A descriptor
        that has them for less than that sum over its dense pair gradients overrides this."""
        values, pair_gradients = self._compute(neighbourhoods, species, gradients)
        if pair_gradients is None:
            return values, None, None
        return values, pair_gradients, centre_gradients_from_pairs(neighbourhoods, pair_gradients)

    # ---- public API --------------------------------------------------------------------------

    def check_hypers(self) -> None:
        """Raise :class:`InputError` for a bad hyperparameter (what :meth:`compute` checks)."""
        self._check_hypers()

    def compute_arrays(self, neighbourhoods: Neighbourhoods, species: np.ndarray, gradients=False):
        """``(values, pair_gradients)`` of :meth:`_compute` for fixed species channels, without
        the names and :class:`Features` of :meth:`compute_neighbourhoods`: for tight loops over
        many small batches. Hyperparameters are not re-checked: call :meth:`check_hypers` once."""
        return self._compute(neighbourhoods, species, gradients)

    def species_for(self, neighbourhoods: Neighbourhoods) -> np.ndarray:
        """The species channels for ``neighbourhoods`` (the rule of the module docstring)."""
        return self.species_channels(neighbourhoods.species)

    def fixed_species(self) -> np.ndarray | None:
        """The fixed species channels: ``species`` if given, else ``species_`` if fitted."""
        tables = self._species_tables()
        return None if tables is None else tables[0].copy()

    def _species_tables(self):
        """``(fixed species, table)`` (read-only; ``table[z]`` is True for the fixed species,
        from 0 to one past the largest; None if a fixed species is below 1), or None without
        fixed species."""
        requested = getattr(self, "species", None)
        if requested is None:
            requested = getattr(self, "species_", None)
        if requested is None:
            return None
        try:
            return _species_tables(tuple(requested))
        except TypeError:  # not a flat sequence of hashable values: no cache
            return _species_tables.__wrapped__(requested)

    def species_channels(self, present) -> np.ndarray:
        """The channels for input made of the elements ``present`` (atomic numbers).

        Raises :class:`InputError` naming the first element that is not in the fixed species.
        """
        present = np.asarray(present, dtype=np.int64).reshape(-1)
        tables = self._species_tables()
        if tables is None:
            return np.unique(present)
        fixed, known = tables
        # the common case: one look-up (out-of-range numbers land on the False ends)
        if known is not None and np.logical_and.reduce(known.take(present, mode="clip")):
            return fixed.copy()
        unknown = np.setdiff1d(present, fixed)
        if unknown.size:
            z = int(unknown[0])
            symbol = chemical_symbols[z] if 0 < z < len(chemical_symbols) else f"Z={z}"
            wanted = np.union1d(fixed, unknown).tolist()
            if getattr(self, "species", None) is not None:
                origin = f"has species={fixed.tolist()}"
            else:
                origin = f"was fitted on species {fixed.tolist()}"
            raise InputError(
                f"{symbol} (Z={z}) is not a species of this {type(self).__name__}, which "
                f"{origin}; fit it on systems that contain {symbol} or pass species={wanted} "
                "to the constructor"
            )
        return fixed

    def feature_names(self, species=None) -> tuple[str, ...]:
        """Feature names, for ``species`` (defaults to the fixed species, see :meth:`fit`)."""
        key = self._check_hypers()
        if species is None:
            species = self.fixed_species()
        if species is None:
            raise InputError(
                f"{type(self).__name__} has no fixed species list; pass species=[...] to the "
                "constructor or to feature_names(), or fit it on systems first"
            )
        return self._cached_feature_names(np.unique(np.asarray(species, dtype=np.int64)), key)

    def _cached_feature_names(self, species: np.ndarray, hypers_key=None) -> tuple[str, ...]:
        """:meth:`_feature_names`, built once per (class, hyperparameters, species).

        Names are immutable tuples, so descriptors with equal hyperparameters (clones, the
        many small calls of an audit) share one entry. ``hypers_key`` is :meth:`_hypers_key`
        when the caller has it.
        """
        hypers = hypers_key or (
            type(self),
            repr(sorted(self.get_params(deep=False).items())),
        )
        key = (hypers, np.asarray(species, dtype=np.int64).tobytes())
        names = _FEATURE_NAMES.get(key)
        if names is None:
            if len(_FEATURE_NAMES) >= _FEATURE_NAMES_SIZE:
                _FEATURE_NAMES.pop(next(iter(_FEATURE_NAMES)))
            names = _FEATURE_NAMES[key] = tuple(self._feature_names(species))
        return names

    @classmethod
    def _get_param_names(cls):
        # scikit-learn inspects the signature of __init__ on every get_params(); once per class
        names = _PARAM_NAMES.get(cls)
        if names is None:
            names = _PARAM_NAMES[cls] = super()._get_param_names()
        return names

    def n_features(self, species=None) -> int:
        """Number of features for ``species`` (defaults to the fixed species, see :meth:`fit`)."""
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
        key = self._check_hypers()
        neighbourhoods = build_neighbourhoods(systems, self.cutoff, centers)  # checks `systems`
        systems = [systems] if isinstance(systems, Atoms) else systems
        # every atom of the systems, not only those inside the cutoff of the centres: the
        # channels of an unfitted descriptor never depend on which atoms the cutoff reaches
        numbers = [atoms.arrays["numbers"] for atoms in systems]
        present = numbers[0] if len(numbers) == 1 else np.concatenate(numbers)
        species = self.species_channels(present)
        return self._compute_checked(neighbourhoods, species, gradients, key, private=True)

    def compute_neighbourhoods(
        self, neighbourhoods: Neighbourhoods, *, gradients: bool = False
    ) -> Features:
        """Compute from an already built :class:`Neighbourhoods` batch (unfitted and without
        ``species``: the channels are the elements of its centres and neighbours)."""
        key = self._check_hypers()
        species = self.species_for(neighbourhoods)
        return self._compute_checked(neighbourhoods, species, gradients, key)

    def _compute_checked(
        self, neighbourhoods: Neighbourhoods, species, gradients: bool, key, private=False
    ):
        """:meth:`compute_neighbourhoods` once the hyperparameters are checked (once per call:
        ``key`` is what :meth:`_check_hypers` returned), on the species channels ``species``.
        ``private``: ``neighbourhoods`` was built for this call only (its arrays are not
        copied into the features)."""
        # (one small environment without gradients: setting and restoring the pools would cost
        # a sixth of the call, and its products are far below the size BLAS threads)
        bulk = gradients or neighbourhoods.n_pairs >= _BLAS_POLICY_MIN_PAIRS
        with blas_threads_for_call() if bulk else contextlib.nullcontext():
            values, pair_gradients, centre_gradients = self._compute_with_centres(
                neighbourhoods, species, gradients
            )
        names = self._cached_feature_names(species, key)
        own = (lambda array: array) if private else np.copy
        sparse = {}
        if gradients:
            sparse = {
                "pair_gradients": pair_gradients,
                "pair_sample": own(neighbourhoods.pair_sample),
                "pair_neighbour": own(neighbourhoods.pair_neighbour),
                "centre_gradients": centre_gradients,
            }
        # plain hyperparameters hold no estimator: get_params(deep=True) is the shallow dict
        hypers = self._shallow_params() if key is not None else self.get_params()
        return Features(
            values=values,
            samples=own(neighbourhoods.samples),
            feature_names=names,
            descriptor=type(self).__name__,
            hypers=hypers,
            n_atoms=own(neighbourhoods.n_atoms),
            **sparse,
        )

    def _shallow_params(self) -> dict:
        return {name: getattr(self, name) for name in type(self)._get_param_names()}

    def __call__(self, systems, *, centers=None, gradients: bool = False) -> Features:
        return self.compute(systems, centers=centers, gradients=gradients)

    # ---- scikit-learn transformer ------------------------------------------------------------

    def fit(self, X, y=None):
        """Fix the species channels: learn ``species_`` from the systems ``X`` (ase.Atoms).

        With ``species=None`` the sorted atomic numbers present in ``X`` become ``species_``;
        with an explicit ``species`` that list is kept (and ``X`` must not contain other
        elements). Afterwards every :meth:`compute`/:meth:`transform` uses these channels and
        refuses systems with other elements. Also sets ``n_features_in_ = 1``: the input is one
        column of structures (as a column of texts for a text vectoriser), not a numeric table.
        """
        self._check_hypers()
        present = np.unique(np.concatenate([atoms.numbers for atoms in check_systems(X)]))
        self.species_ = self.species_channels(present)
        self.n_features_in_ = 1
        return self

    def transform(self, X) -> np.ndarray:
        """Feature values of ``X`` (a list of ase.Atoms) on the fixed species channels: one row
        per atom, system by system (see :class:`~completeness.descriptors.Pooling` for one row
        per structure). With ``set_output(transform="pandas")`` a DataFrame whose columns are
        :meth:`get_feature_names_out`."""
        self._require_fixed_species("transform")
        return self.compute(X).values

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """The names of the columns of :meth:`transform` (fixed species: ``fit`` first or
        ``species=[...]``); ``input_features`` is ignored (the input is structures)."""
        self._require_fixed_species("get_feature_names_out")
        return np.asarray(self.feature_names(), dtype=object)

    def __sklearn_is_fitted__(self) -> bool:
        """Fitted when the species are fixed (by ``fit`` or by the ``species`` hyperparameter)."""
        return self.fixed_species() is not None

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False  # the input is a list of ase.Atoms
        tags.target_tags.required = False
        return tags

    def _require_fixed_species(self, method: str) -> None:
        if self.fixed_species() is None:
            raise NotFittedDescriptorError(
                f"{type(self).__name__} with species=None must be fitted before {method}; call "
                "fit(systems) first or pass species=[...] to the constructor"
            )

    # ---- serialisation -----------------------------------------------------------------------

    def to_json(self) -> str:
        """The descriptor's class and hyperparameters as a JSON string."""
        hypers = json_safe(self.get_params())
        return json.dumps({"descriptor": type(self).__name__, "hypers": hypers})

    @property
    def name(self) -> str:
        return type(self).__name__


@functools.lru_cache(maxsize=64)
def _species_tables(requested):
    """``(fixed, table)`` of :meth:`Descriptor._species_tables` for the requested species."""
    fixed = np.unique(np.asarray(requested, dtype=np.int64))
    fixed.flags.writeable = False
    if not fixed.size or fixed[0] < 1:
        return fixed, None
    table = np.zeros(int(fixed[-1]) + 2, dtype=bool)
    table[fixed] = True
    table.flags.writeable = False
    return fixed, table


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

"""``adapt(obj)``: whatever descriptor a user holds, as an object the audit accepts.

The audit (:func:`completeness.descriptors.user.as_descriptor`) calls :func:`adapt` on whatever
it is given, so every function and every sub-command accepts these objects as they are:

=================================  ==============================================================
object                             adapted as
=================================  ==============================================================
a :class:`Descriptor`              itself
a configured dscribe descriptor    :class:`DscribeObject`: its ``create`` (values) and
(``SOAP``, ``ACSF``, ``LMBTR``...)  ``derivatives`` (gradients), its species and periodicity
a featomic calculator              :class:`FeatomicCalculator`: the TensorMap with the centre
(``SoapPowerSpectrum``, ...)       species moved to the rows and every other key to the
                                   columns (rotational invariants only: ``o3_lambda = 0``,
                                   ``o3_sigma = 1``), gradients when the calculator gives them
an ASE calculator                  :class:`AseCalculator`: per-atom energies (``energies``), or
                                   another per-atom property it implements (``property=``)
any other object with ``compute``  itself (the audit validates what it returns)
a callable                         itself: ``f(positions, numbers) -> vector``, row 0 the centre
=================================  ==============================================================

Body order and parity are declared where the library's documentation fixes them (dscribe's
SOAP: 3-body, O(3); featomic's power spectrum: 3-body, O(3)); where nothing fixes them (an ASE
calculator, a callable) they stay None and the audit infers them from the verdicts on the
catalog, marked "inferred" on the report card (:mod:`completeness.analysis.inference`).

The dispatch is a list of ``(test, build)`` rules tried in order: :func:`register_adapter` adds
one (the trained-model adapters of :mod:`completeness.descriptors.models` plug in this way).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np

from ..environments import InputError, check_systems
from .base import Descriptor, Features
from .wrappers._base import peer_features, sample_rows
from .wrappers.dscribe import DscribeBase

__all__ = ["AseCalculator", "DscribeObject", "FeatomicCalculator", "adapt", "register_adapter"]

_RULES: list[tuple[Callable[[object], bool], Callable[[object], object]]] = []


def register_adapter(test: Callable[[object], bool], build: Callable[[object], object]) -> None:
    """Add a rule: objects for which ``test(obj)`` is true are adapted as ``build(obj)``.

    Rules registered later are tried first (a specific rule can override a general one).
    """
    _RULES.insert(0, (test, build))


def adapt(obj):
    """``obj`` as an object the audit accepts (see the module docstring for what is adapted).

    Raises :class:`InputError` naming what is accepted when nothing fits.
    """
    if isinstance(obj, Descriptor):
        return obj
    for test, build in _RULES:
        if test(obj):
            return build(obj)
    if callable(getattr(obj, "compute", None)) or callable(obj):
        return obj
    raise InputError(
        f"{type(obj).__name__!r} is not a descriptor: give a Descriptor, a configured dscribe "
        "descriptor, a featomic calculator, an ASE calculator, an object with compute(systems, "
        "centers=..., gradients=...) or a callable (positions, numbers) -> vector; or name a "
        "wrapper, e.g. --descriptor dscribe:SOAP or featomic:SoapPowerSpectrum"
    )


def _module(obj) -> str:
    return type(obj).__module__ or ""


# ---- dscribe ---------------------------------------------------------------------------------


def _is_dscribe(obj) -> bool:
    return _module(obj).startswith("dscribe.descriptors") and callable(getattr(obj, "create", None))


def _dscribe_body_order(obj) -> int | None:
    kind = type(obj).__name__
    if kind == "SOAP":
        return 3
    if kind == "ACSF":
        return 3 if (len(obj.g4_params or []) or len(obj.g5_params or [])) else 2
    if kind in ("MBTR", "LMBTR"):
        function = (getattr(obj, "geometry", None) or {}).get("function", "")
        return 2 if function in ("distance", "inverse_distance", "atomic_number") else 3
    return None


class _DscribeObject(DscribeBase):
    """A configured dscribe descriptor object behind the package's API (see :func:`adapt`).

    Values come from its ``create``, gradients from its ``derivatives`` (``attach=True``), laid
    out exactly as the ``dscribe:`` wrappers lay them out; species and periodicity are the
    object's own. (A private name: it is not a registered descriptor class.)
    """

    parity = "O(3)"

    def __init__(self, *, dscribe_object=None):
        self.dscribe_object = dscribe_object

    @property
    def peer_name(self) -> str:
        return type(self.dscribe_object).__name__

    @property
    def name(self) -> str:
        return f"dscribe.{self.peer_name} object"

    @property
    def local(self) -> bool:
        return self.peer_name not in ("MBTR", "ValleOganov", "CoulombMatrix", "SineMatrix")

    @property
    def derivative_method(self) -> str:
        return "auto" if self.peer_name == "SOAP" else "numerical"

    @property
    def cutoff(self):
        value = getattr(self.dscribe_object, "_r_cut", None)
        return None if value is None else float(value)

    @property
    def body_order(self):
        return _dscribe_body_order(self.dscribe_object)

    def fixed_species(self) -> np.ndarray:
        """The object's own species (dscribe fixes them at construction)."""
        return np.unique(np.asarray(self.dscribe_object._atomic_numbers, dtype=np.int64))

    def _species_list(self, systems) -> list[int]:
        own = [int(z) for z in self.fixed_species()]
        present = np.unique(np.concatenate([atoms.numbers for atoms in systems]))
        unknown = [int(z) for z in np.setdiff1d(present, own)]
        if unknown:
            raise InputError(
                f"{self.name} was configured with species {own}; the input also has "
                f"{unknown}: configure it with species={sorted({*own, *unknown})}"
            )
        return own

    def _dscribe_object(self, species, periodic):
        if bool(periodic) != bool(self.dscribe_object.periodic):
            raise InputError(
                f"{self.name} was configured with periodic={self.dscribe_object.periodic} and "
                f"got a {'periodic' if periodic else 'finite'} system; configure it with "
                f"periodic={bool(periodic)} for such systems"
            )
        return self.dscribe_object


DscribeObject = _DscribeObject


def _adapt_dscribe(obj) -> _DscribeObject:
    return _DscribeObject(dscribe_object=obj)


# ---- featomic --------------------------------------------------------------------------------

#: body order of featomic's invariant calculators (featomic's documentation)
_FEATOMIC_BODY_ORDER = {"SoapRadialSpectrum": 2, "SoapPowerSpectrum": 3, "SphericalExpansion": 2}


def _is_featomic(obj) -> bool:
    return _module(obj).startswith("featomic") and hasattr(obj, "parameters")


class FeatomicCalculator:
    """A featomic calculator behind the package's API (see :func:`adapt`).

    The calculator is kept as its class name and JSON parameters and rebuilt lazily, so the
    adapter pickles (featomic calculators hold a native pointer). Keys: ``center_type`` goes to
    the rows; only rotational invariants are kept (``o3_lambda = 0``, ``o3_sigma = 1`` when
    those keys exist); every other key goes to the columns, for every combination the
    calculator produces on the species of the input, so the length is fixed for fixed species.
    """

    parity = "O(3)"

    def __init__(self, calculator):
        self.calculator_class = type(calculator).__name__
        self.parameters = calculator.parameters
        self.__dict__["_calculator"] = calculator

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k not in ("_calculator", "_keys_cache")}

    @property
    def name(self) -> str:
        return f"featomic.{self.calculator_class} object"

    @property
    def body_order(self):
        return _FEATOMIC_BODY_ORDER.get(self.calculator_class)

    @property
    def cutoff(self):
        radius = json.loads(self.parameters).get("cutoff", {})
        return float(radius["radius"]) if isinstance(radius, dict) and "radius" in radius else None

    def calculator(self):
        """The featomic calculator (rebuilt from its parameters after unpickling)."""
        if "_calculator" not in self.__dict__:
            import featomic

            built = getattr(featomic, self.calculator_class)(**json.loads(self.parameters))
            self.__dict__["_calculator"] = built
        return self.__dict__["_calculator"]

    def _keys(self, species):
        """Every invariant key the calculator produces for ``species`` (cached per species)."""
        cache = self.__dict__.setdefault("_keys_cache", {})
        if tuple(species) not in cache:
            cache[tuple(species)] = self._compute_keys(species)
        return cache[tuple(species)]

    def _compute_keys(self, species):
        """Computed on a ring of two atoms of each species, all within each other's cutoff (so
        every neighbour combination, same-species pairs included, appears)."""
        import ase

        numbers = [z for z in species for _ in range(2)]
        radius = min(1.2, 0.4 * (self.cutoff or 3.0))
        angles = 2 * np.pi * np.arange(len(numbers)) / len(numbers)
        ring = np.column_stack([np.cos(angles), np.sin(angles), 0.1 * np.cos(3 * angles)])
        tensor = self.calculator().compute(ase.Atoms(numbers=numbers, positions=radius * ring))
        names = list(tensor.keys.names)
        rows = tensor.keys.values.tolist()
        if "o3_lambda" in names:
            rows = [r for r in rows if r[names.index("o3_lambda")] == 0]
        if "o3_sigma" in names:
            rows = [r for r in rows if r[names.index("o3_sigma")] == 1]
        return names, rows

    def compute(self, systems, *, centers=None, gradients: bool = False) -> Features:
        from ..environments import centres_per_system
        from .wrappers.featomic import compute_selected, to_dense

        systems = check_systems(systems)
        centres = centres_per_system(systems, centers)
        species = [int(z) for z in np.unique(np.concatenate([a.numbers for a in systems]))]
        names, rows = self._keys(species)
        tensor = compute_selected(self.calculator(), names, rows, systems, centres, gradients)
        values, grads, feature_names = to_dense(tensor, centres, systems, gradients)
        return peer_features(self, values, grads, sample_rows(centres), feature_names)

    def get_params(self, deep: bool = True) -> dict:
        return {"calculator": self.calculator_class, "parameters": self.parameters}


# ---- ASE calculators -------------------------------------------------------------------------


def _is_ase_calculator(obj) -> bool:
    from ase.calculators.calculator import BaseCalculator

    return isinstance(obj, BaseCalculator)


class AseCalculator:
    """An ASE calculator as a descriptor: the per-atom ``property`` of each centre (one feature).

    ``property`` defaults to ``"energies"`` (per-atom energies) when the calculator implements
    it, else the first per-atom property it implements (``"charges"``, ``"magmoms"``). Each
    system is computed whole (the calculator sees every atom, its cell and periodicity); no
    analytic gradients (ASE has no per-atom energy derivatives).
    """

    parity = "O(3)"
    body_order = None
    cutoff = None
    has_gradients = False
    _PER_ATOM = ("energies", "charges", "magmoms")

    def __init__(self, calculator, property: str | None = None):
        implemented = list(getattr(calculator, "implemented_properties", []))
        if property is None:
            available = [p for p in self._PER_ATOM if p in implemented]
            if not available:
                raise InputError(
                    f"ASE calculator {type(calculator).__name__} implements no per-atom "
                    f"property ({', '.join(self._PER_ATOM)}); it implements {implemented}"
                )
            property = available[0]
        elif property not in self._PER_ATOM:
            raise InputError(
                f"property must be an invariant per-atom property ({', '.join(self._PER_ATOM)}), "
                f"got {property!r}"
            )
        elif property not in implemented:
            raise InputError(
                f"ASE calculator {type(calculator).__name__} does not implement {property!r}; "
                f"it implements {implemented}"
            )
        self.calculator = calculator
        self.property = property
        self.name = f"ase.{type(calculator).__name__} {property}"

    def compute(self, systems, *, centers=None, gradients: bool = False) -> Features:
        from ..environments import centres_per_system

        if gradients:
            raise InputError(
                f"{self.name} has no analytic gradients (ASE gives no per-atom energy "
                "derivatives); the audit uses finite differences"
            )
        systems = check_systems(systems)
        centres = centres_per_system(systems, centers)
        rows = []
        for atoms, cs in zip(systems, centres, strict=True):
            copy = atoms.copy()
            self.calculator.reset()  # no state carried over from a system of another size
            per_atom = np.asarray(self.calculator.get_property(self.property, copy), dtype=float)
            rows.append(per_atom.reshape(len(copy), -1)[np.asarray(cs, dtype=np.int64)])
        values = np.concatenate(rows) if rows else np.zeros((0, 1))
        names = tuple(f"{self.property}[{k}]" for k in range(values.shape[1]))
        return Features(
            values=values, samples=sample_rows(centres), feature_names=names, descriptor=self.name
        )


register_adapter(_is_ase_calculator, AseCalculator)
register_adapter(_is_featomic, FeatomicCalculator)
register_adapter(_is_dscribe, _adapt_dscribe)


def _register_model_adapters() -> None:
    from .models import adapter_rules

    for test, build in adapter_rules():
        register_adapter(test, build)


_register_model_adapters()

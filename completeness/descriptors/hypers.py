"""Hyperparameter constraints, declared once per descriptor class and checked by the base.

A descriptor class lists its constraints in the class attribute ``hyper_constraints``, a table
``{name: constraint}`` made by :func:`declare`; the tables of the base classes are merged (a
subclass adds or overrides entries). :meth:`completeness.descriptors.Descriptor.compute` checks
every constructor argument that has a constraint, then calls the class's
``_check_hyper_relations`` for the rules that tie several arguments together (``cutoff_width <=
cutoff``). A failed check raises :class:`~completeness.environments.InputError` with one line
naming the argument, the valid range and the value given::

    class MyDescriptor(Descriptor):
        hyper_constraints = declare(n_radial=Integer(1, 30), radial_basis=Choice(("gto",)))

Each constraint also lists a few values it rejects (:meth:`Constraint.invalid_examples`), which
the package's contract test feeds to every descriptor.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from ..environments import InputError

__all__ = [
    "Boolean",
    "Choice",
    "Constraint",
    "Integer",
    "Real",
    "Rule",
    "Species",
    "check_cutoff_width",
    "check_value",
    "declare",
]


def declare(**constraints: Constraint) -> Mapping[str, Constraint]:
    """A class's constraint table, ``{hyperparameter: constraint}`` (read-only)."""
    return MappingProxyType(constraints)


class Constraint:
    """What one hyperparameter may be: :meth:`describe` (the valid range, in words),
    :meth:`accepts` and :meth:`invalid_examples`."""

    optional: bool = False

    def describe(self) -> str:
        raise NotImplementedError

    def accepts(self, value) -> bool:
        raise NotImplementedError

    def invalid_examples(self) -> list:
        raise NotImplementedError

    def _or_none(self, text: str) -> str:
        return f"{text} or None" if self.optional else text


def _is_integer(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _as_float(value) -> float:
    if isinstance(value, (bool, np.bool_, str, bytes)):
        return np.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan


def _one_bound(noun: str, low, high, spec: str, low_open=False, high_open=False) -> str:
    """``noun`` bounded on at most one side: ``>= low`` or ``<= high`` (``>``/``<`` when open),
    the bound formatted with ``spec``."""
    if low is not None:
        return f"{noun} {'>' if low_open else '>='} {low:{spec}}"
    if high is not None:
        return f"{noun} {'<' if high_open else '<='} {high:{spec}}"
    return noun


@dataclass(frozen=True)
class Integer(Constraint):
    """An integer in ``low..high`` (either bound may be None)."""

    low: int | None = None
    high: int | None = None
    optional: bool = False

    def describe(self) -> str:
        if self.low is not None and self.high is not None:
            return self._or_none(f"an integer in {self.low}..{self.high}")
        return self._or_none(_one_bound("an integer", self.low, self.high, ""))

    def accepts(self, value) -> bool:
        if value is None:
            return self.optional
        if not _is_integer(value):
            return False
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def invalid_examples(self) -> list:
        examples = ["3", 2.5]
        if self.low is not None:
            examples.append(self.low - 1)
        if self.high is not None:
            examples.append(self.high + 1)
        return examples


@dataclass(frozen=True)
class Real(Constraint):
    """A finite number with optional bounds (``open``: the bound itself is excluded)."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    unit: str = ""
    optional: bool = False

    def describe(self) -> str:
        unit = f" of {self.unit}" if self.unit else ""
        if self.low == 0 and self.low_open and self.high is None:
            text = f"a positive finite number{unit}"
        elif self.low is not None and self.high is not None:
            left = "(" if self.low_open else "["
            right = ")" if self.high_open else "]"
            text = f"a number{unit} in {left}{self.low:g}, {self.high:g}{right}"
        else:
            noun = f"a finite number{unit}"
            text = _one_bound(noun, self.low, self.high, "g", self.low_open, self.high_open)
        return self._or_none(text)

    def accepts(self, value) -> bool:
        if value is None:
            return self.optional
        number = _as_float(value)
        if not np.isfinite(number):
            return False
        if self.low is not None and (number <= self.low if self.low_open else number < self.low):
            return False
        if self.high is not None and (
            number >= self.high if self.high_open else number > self.high
        ):
            return False
        return True

    def invalid_examples(self) -> list:
        examples = ["five", float("nan")]
        if self.low is not None:
            examples.append(self.low if self.low_open else self.low - 1.0)
        if self.high is not None:
            examples.append(self.high if self.high_open else self.high + 1.0)
        return examples


@dataclass(frozen=True)
class Choice(Constraint):
    """One of a fixed set of values (None allowed with ``optional``)."""

    values: tuple = ()
    optional: bool = False

    def describe(self) -> str:
        listed = ", ".join(repr(v) for v in self.values)
        return self._or_none(f"one of {listed}")

    def accepts(self, value) -> bool:
        if value is None:
            return self.optional
        return any(value == v and type(value) is type(v) for v in self.values)

    def invalid_examples(self) -> list:
        return ["not-a-choice", 3]


@dataclass(frozen=True)
class Boolean(Constraint):
    """True or False."""

    def describe(self) -> str:
        return "True or False"

    def accepts(self, value) -> bool:
        return isinstance(value, (bool, np.bool_))

    def invalid_examples(self) -> list:
        return ["yes", 2]


@dataclass(frozen=True)
class Species(Constraint):
    """None (the species of the input) or a non-empty list of atomic numbers (ints >= 1)."""

    optional: bool = True

    def describe(self) -> str:
        return "None or a non-empty list of atomic numbers (integers >= 1)"

    def accepts(self, value) -> bool:
        if value is None:
            return True
        if isinstance(value, (str, bytes, dict)):
            return False
        try:
            items = list(value)
        except TypeError:
            return False
        return bool(items) and all(_is_integer(z) and z >= 1 for z in items)

    def invalid_examples(self) -> list:
        return [[], [0, 1], ["H"], 6]


@dataclass(frozen=True)
class Rule(Constraint):
    """Any other rule: a description of the valid values and a predicate."""

    description: str = ""
    predicate: Callable[[Any], bool] = field(default=lambda value: True)
    examples: tuple = ()

    def describe(self) -> str:
        return self.description

    def accepts(self, value) -> bool:
        try:
            return bool(self.predicate(value))
        except (TypeError, ValueError, KeyError, IndexError, AttributeError):
            return False

    def invalid_examples(self) -> list:
        return list(self.examples)


def check_value(owner: str, name: str, constraint: Constraint, value) -> None:
    """Raise :class:`InputError` (one line, with the valid range) unless ``value`` fits."""
    if not constraint.accepts(value):
        raise InputError(f"{owner}: {name} must be {constraint.describe()}, got {_short(value)}")


def check_cutoff_width(owner: str, cutoff, cutoff_width) -> None:
    """The switching region must fit inside the cutoff sphere (``0 <= cutoff_width <= cutoff``)."""
    if float(cutoff_width) > float(cutoff):
        raise InputError(
            f"{owner}: cutoff_width must be in [0, cutoff={float(cutoff):g}] Å, got "
            f"{cutoff_width!r}"
        )


def _short(value) -> str:
    text = repr(value).replace("\n", " ")
    return text if len(text) <= 80 else text[:77] + "..."

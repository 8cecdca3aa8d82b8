"""Exact proofs with sympy that two environments have equal (:func:`certify_equal_signatures`) or
different (:func:`certify_different_signatures`) k-body multisets."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from ..environments import InputError
from .signatures import triples
from .tolerance import check_body_order


@dataclass(frozen=True)
class Certificate:
    """An exact (symbolic) comparison of two k-body multisets.

    Attributes
    ----------
    body_order : int
    oriented : bool
        Whether signed volumes (triple products) were part of each tuple.
    equal : bool
        Whether the multisets of tuples of (expanded) squared distances agree exactly.
    symbols : tuple of sympy.Symbol
        Free symbols of the coordinates: with symbols, ``equal`` holds for all their values.
    matching : tuple of (plus tuple, minus tuple) or None
        When equal: a bijection between ordered neighbour tuples (0-based neighbour indices) of
        ``plus`` and ``minus`` whose squared-distance polynomials are identical.
    witness : dict or None
        When different: ``{"tuple": neighbour indices, "member": "plus" or "minus", "values":
        tuple of sympy expressions, "count_plus": int, "count_minus": int}`` for the first tuple
        whose multiplicity differs.
    statement : str
        Human-readable statement of what was proven.
    """

    body_order: int
    oriented: bool
    equal: bool
    symbols: tuple = ()
    matching: tuple | None = field(default=None, repr=False)
    witness: dict | None = None
    statement: str = ""


def _sympy_coordinates(value, name: str):
    import sympy

    try:
        matrix = sympy.Matrix(value)
    except (TypeError, ValueError, sympy.SympifyError) as error:
        raise InputError(
            f"{name} must be a sympy Matrix of shape (n_neighbours, 3), got "
            f"{type(value).__name__} ({error})"
        ) from None
    if matrix.shape[1] != 3 or matrix.shape[0] == 0:
        raise InputError(
            f"{name} has shape {matrix.shape}, expected (n_neighbours, 3) with n_neighbours >= 1"
        )
    if any(entry.has(sympy.Float) for entry in matrix):
        raise InputError(
            f"{name} contains floating-point numbers; certificates need exact values: use "
            "sympy.Rational(5, 2) or symbols instead of 2.5"
        )
    return matrix


def _sympy_species(species, n: int, name: str) -> list[int]:
    if species is None:
        return [0] * n
    values = [int(z) for z in np.asarray(species).reshape(-1)]
    if len(values) != n:
        raise InputError(f"{name} has {len(values)} entries for {n} neighbours; give one each")
    return values


def _symbolic_tuples(matrix, species: list[int], body_order: int, oriented: bool):
    """(tuple of neighbour indices, tuple of expanded polynomials) for every ordered tuple."""
    import sympy

    n = matrix.shape[0]
    rows = [matrix.row(j) for j in range(n)]
    points = [sympy.zeros(1, 3), *rows]
    squared = {}
    for i in range(n + 1):
        for j in range(i, n + 1):
            difference = points[i] - points[j]
            squared[i, j] = squared[j, i] = sympy.expand((difference * difference.T)[0, 0])
    volume = {}
    m = body_order - 1
    if oriented and m >= 3:
        for i, j, k in itertools.product(range(n), repeat=3):
            volume[i, j, k] = sympy.expand(sympy.Matrix.vstack(rows[i], rows[j], rows[k]).det())
    out = []
    for neighbours in itertools.product(range(n), repeat=m):
        chosen = (0, *(j + 1 for j in neighbours))
        values = [sympy.Integer(species[j]) for j in neighbours]
        values += [
            squared[chosen[x], chosen[y]] for x, y in itertools.combinations(range(m + 1), 2)
        ]
        if oriented and m >= 3:
            values += [volume[tuple(neighbours[t] for t in triple)] for triple in triples(m)]
        out.append((neighbours, tuple(values)))
    return out


def _polynomial_key(expression, generators):
    """Canonical, hashable form of an expanded polynomial (terms sorted by monomial)."""
    import sympy

    if generators:
        try:
            polynomial = sympy.Poly(expression, *generators)
        except sympy.PolynomialError:
            raise InputError(
                f"coordinates must be polynomial in their symbols; got {expression}"
            ) from None
        return tuple(sorted((monomial, str(c)) for monomial, c in polynomial.terms()))
    return sympy.srepr(sympy.expand(expression))


def _certify(plus, minus, body_order, oriented, plus_species, minus_species, exact_numbers):
    body_order = check_body_order(body_order, minimum=2)
    plus = _sympy_coordinates(plus, "plus")
    minus = _sympy_coordinates(minus, "minus")
    if plus.shape != minus.shape:
        raise InputError(
            f"plus has {plus.shape[0]} neighbours and minus {minus.shape[0]}; certificates compare "
            "environments with the same number of neighbours"
        )
    n = plus.shape[0]
    if n ** (body_order - 1) > 100_000:
        raise InputError(
            f"{n} neighbours at body order {body_order} is too many symbolic tuples; lower it"
        )
    symbols = tuple(sorted(plus.free_symbols | minus.free_symbols, key=str))
    if exact_numbers and (symbols or not all(entry.is_Rational for entry in (*plus, *minus))):
        raise InputError(
            "certify_different_signatures needs exact rational coordinates (sympy.Rational or "
            "int), no symbols: a difference of polynomials is not a difference for all values"
        )
    species = (
        _sympy_species(plus_species, n, "plus_species"),
        _sympy_species(minus_species, n, "minus_species"),
    )
    tuples = [
        _symbolic_tuples(matrix, z, body_order, bool(oriented))
        for matrix, z in zip((plus, minus), species, strict=True)
    ]
    keyed = [
        [
            (neighbours, values, tuple(_polynomial_key(v, symbols) for v in values))
            for neighbours, values in member
        ]
        for member in tuples
    ]
    counts = [Counter(key for _, _, key in member) for member in keyed]
    what = (
        f"{'oriented ' if oriented else ''}{body_order}-body tuples of squared distances"
        f"{' and signed volumes' if oriented and body_order >= 4 else ''}"
        f" over the {n ** (body_order - 1)} ordered neighbour tuples"
    )
    scope = (
        f"for all values of {', '.join(map(str, symbols))}" if symbols else "for these coordinates"
    )
    if counts[0] == counts[1]:
        pool: dict = {}
        for neighbours, _, key in keyed[1]:
            pool.setdefault(key, []).append(neighbours)
        matching = tuple((neighbours, pool[key].pop(0)) for neighbours, _, key in keyed[0])
        statement = (
            f"The multisets of {what} of plus and minus are identical {scope}: each tuple of "
            f"plus is matched to a tuple of minus with identical expanded polynomials."
        )
        return Certificate(body_order, bool(oriented), True, symbols, matching, None, statement)
    witness = _first_witness(keyed, counts)
    scope = (
        "as polynomials in " + ", ".join(map(str, symbols)) + " (a difference for generic "
        "values, not proven for every value)"
        if symbols
        else "for these exact coordinates"
    )
    statement = (
        f"The multisets of {what} of plus and minus differ {scope}: the tuple "
        f"{witness['values']} (neighbours {witness['tuple']} of {witness['member']}) occurs "
        f"{witness['count_plus']} times in plus and {witness['count_minus']} times in minus."
    )
    return Certificate(body_order, bool(oriented), False, symbols, None, witness, statement)


def _first_witness(keyed, counts) -> dict:
    """The first tuple (of plus, then of minus) whose multiplicity differs between the two."""
    for member_index, member in enumerate(keyed):
        for neighbours, values, key in member:
            if counts[0][key] != counts[1][key]:
                return {
                    "tuple": neighbours,
                    "member": ("plus", "minus")[member_index],
                    "values": values,
                    "count_plus": counts[0][key],
                    "count_minus": counts[1][key],
                }
    raise AssertionError("the multisets differ, so some tuple's multiplicity differs")


def certify_equal_signatures(
    plus,
    minus,
    body_order: int = 3,
    *,
    oriented: bool = False,
    plus_species=None,
    minus_species=None,
) -> Certificate:
    """Prove with sympy that two environments have the same k-body multiset for all parameters.

    Each ordered tuple of neighbours gives the tuple of expanded squared distances of the
    distance matrix of (centre, tuple) (polynomials in the coordinates' symbols; squared so that
    everything stays polynomial), plus the species and, if ``oriented``, the triple products.
    Two multisets of polynomial tuples that are identical as polynomials agree for every value
    of the symbols, which proves the degeneracy on the whole family (e.g. the manifold of
    Pozdnyakov et al., PRL 125, 166001 (2020), doi:10.1103/PhysRevLett.125.166001).

    Parameters
    ----------
    plus, minus : sympy.Matrix of shape (n_neighbours, 3)
        Exact entries: integers, rationals, symbols and polynomial expressions (no floats).
    body_order : int
        ``k >= 2``; ``n^(k-1)`` tuples are built.
    oriented : bool
    plus_species, minus_species : sequence of int, optional
        Neighbour species; default all equal.

    Returns
    -------
    Certificate
        ``equal`` is True with the matching, or False with a witness (then the multisets differ
        as polynomials, which does *not* prove a difference at every parameter value).
    """
    return _certify(plus, minus, body_order, oriented, plus_species, minus_species, False)


def certify_different_signatures(
    plus,
    minus,
    body_order: int = 4,
    *,
    oriented: bool = False,
    plus_species=None,
    minus_species=None,
) -> Certificate:
    """Prove with exact rational arithmetic that two environments' k-body multisets differ.

    Same tuples as :func:`certify_equal_signatures`, but coordinates must be rational numbers
    (no symbols), so a tuple whose multiplicity differs is an exact witness of the difference.

    Returns
    -------
    Certificate
        ``equal`` False with a ``witness`` when the multisets differ; ``equal`` True (with the
        matching) when they do not, in which case nothing different was certified.
    """
    return _certify(plus, minus, body_order, oriented, plus_species, minus_species, True)

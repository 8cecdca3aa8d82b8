"""Pairs a user gives: two structures (or two frames of one file), judged by the oracle.

:func:`user_pair` turns two ``ase.Atoms`` into a :class:`~completeness.structures.DegeneratePair`
of ``kind="user"`` whose claim the oracle measures at the pair's resolution:

* environment scope (default): site ``centres[0]`` of the first structure against site
  ``centres[1]`` of the second. With a ``cutoff`` the neighbourhood is every atom closer than the
  cutoff, periodic images included (the same neighbour list the descriptors build), and the
  oracle judges exactly that sphere; atoms beyond it are not part of the pair, so a far
  spectator changes nothing. Atoms within ``shell`` Å of the cutoff, where smooth cutoff
  functions weigh them down, are named in ``pair.notes``. Without a cutoff every atom of a
  finite structure is a neighbour. The members are stored as finite clusters, centre first, at
  their original coordinates.
* global scope: the whole finite structures (distance multisets and geometric 1-WL, on the
  complete graph when every interatomic distance is below the cutoff, else on the cutoff
  graph).

Members with different species are refused unless ``allow_composition_change=True``. The pair is
never rescaled.

Resolution of coordinates read from a file (:func:`file_resolution`): for (extended) XYZ files the
position columns are read as text. When every coordinate is written as the shortest string that
rounds back to its float64 value (Python's ``repr``), the file holds full float64 precision and
the resolution is float64 round-off (:func:`completeness.oracle.float64_resolution`). Otherwise
the resolution is the place value of the last written digit of the coarsest coordinate (``ase``
writes 8 decimals: 1e-8 Å), which bounds the rounding error by a factor of two. Other formats
get the conservative ``1e-8 * max(1 Å, largest |coordinate|)``; ``resolution=`` (``--resolution``)
overrides either.
"""

from __future__ import annotations

import math
import re
from collections import Counter

import ase
import numpy as np

from .. import oracle
from ..environments import InputError, check_cutoff, environment, read_structures
from .pair import Claim, DegeneratePair, extent_of

__all__ = ["CONSERVATIVE_RESOLUTION", "file_resolution", "read_pair", "user_pair"]

#: Relative resolution assumed for coordinates of files whose digits cannot be read.
CONSERVATIVE_RESOLUTION = 1e-8
# Tuples of a k-body signature the oracle may enumerate for a user pair (n^(k-1) per member).
_MAX_ORACLE_TUPLES = 2_000_000


def _check_resolution(resolution) -> float | None:
    if resolution is None:
        return None
    try:
        value = float(resolution)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise InputError(f"resolution must be a positive number of Å, got {resolution!r}")
    return value


def _composition(atoms: ase.Atoms) -> str:
    return atoms.get_chemical_formula(mode="hill") or "no atoms"


def _site(atoms: ase.Atoms, centre, cutoff, label: str):
    """The environment of ``centre`` as a finite cluster (centre first) and its distances."""
    n = len(atoms)
    if isinstance(centre, bool) or not isinstance(centre, (int, np.integer)):
        raise InputError(f"the centre of the {label} structure must be an atom index, got {centre}")
    if not -n <= centre < n:
        raise InputError(
            f"centre {centre} is not an atom of the {label} structure ({n} atoms: 0..{n - 1})"
        )
    centre = int(centre) % n
    if cutoff is None and np.any(atoms.pbc):
        raise InputError(
            f"the {label} structure is periodic: its environments need a cutoff; audit it with "
            "descriptors that have one, or pass cutoff="
        )
    env = environment(atoms, centre=centre, cutoff=cutoff)
    origin = atoms.positions[centre]
    cluster = ase.Atoms(
        numbers=[env.centre_species, *env.species.tolist()],
        positions=np.vstack([origin, origin + env.vectors]),
    )
    return cluster, env


def _oracle_orders(a, b, tolerance, max_body_order):
    """``(fine, coarse)`` DegeneracyOrders at the tolerance and at MARGINAL_FACTOR times it."""
    fine = oracle.degeneracy_order(a, b, max_body_order, tolerance=tolerance)
    if min(fine.o3, fine.so3) >= fine.max_checked:
        return fine, fine
    coarse = oracle.degeneracy_order(
        a, b, max_body_order, tolerance=oracle.MARGINAL_FACTOR * tolerance
    )
    return fine, coarse


def _environment_claim(env_a, env_b, tolerance, resolution, max_body_order) -> Claim:
    n = max(env_a.n_neighbours, env_b.n_neighbours, 1)
    limit = max(1, min(max_body_order, 1 + int(math.log(_MAX_ORACLE_TUPLES) / math.log(n + 1))))
    fine, coarse = _oracle_orders(env_a, env_b, tolerance, limit)
    congruence = fine.congruence
    if congruence.congruent is None:
        head = "congruence undecided (too many neighbours for the exact test)"
    elif congruence.congruent:
        how = "a rotation" if congruence.proper else "a reflection"
        head = f"congruent (by {how}, rmsd {congruence.rmsd:.2g} Å): not a degeneracy"
    else:
        head = "not congruent"

    def at_least(k):
        return f">= {k}" if k >= fine.max_checked else f"{k}"

    statement = (
        f"{head}; at resolution {resolution:.2g} Å the k-body signatures coincide up to body "
        f"order {at_least(fine.o3)} (O(3)) and {at_least(fine.so3)} (SO(3), oriented), checked "
        f"up to {fine.max_checked}"
    )
    if (coarse.o3, coarse.so3) != (fine.o3, fine.so3):
        statement += (
            f"; within {oracle.MARGINAL_FACTOR:g} times that tolerance up to {coarse.o3} (O(3)) "
            f"and {coarse.so3} (SO(3)): differences there are comparable to the resolution"
        )
    return Claim(
        scope="environment",
        equal_up_to_o3=int(fine.o3),
        equal_up_to_so3=int(fine.so3),
        statement=statement,
        max_checked=int(fine.max_checked),
        marginal_o3=int(coarse.o3),
        marginal_so3=int(coarse.so3),
    )


def _global_claim(a, b, cutoff, tolerance, resolution) -> Claim:
    extent = max(extent_of(a, "global"), extent_of(b, "global"))
    graph_cutoff = None if cutoff is None or extent < cutoff else float(cutoff)
    equal = oracle.global_distances_equal(a, b, tolerance=tolerance)
    near = equal or oracle.global_distances_equal(
        a, b, tolerance=oracle.MARGINAL_FACTOR * tolerance
    )
    iteration = oracle.wl_distinguishing_iteration(a, b, cutoff=graph_cutoff, tolerance=tolerance)
    graph = "the complete graph" if graph_cutoff is None else f"the {graph_cutoff:g} Å graph"
    congruence = oracle.congruent(_cloud_environment(a), _cloud_environment(b), tolerance=tolerance)
    head = "congruent: not a degeneracy" if congruence.congruent else "not congruent"
    if congruence.congruent is None:
        head = "congruence undecided"
    wl = "never" if iteration is None else f"at iteration {iteration}"
    statement = (
        f"{head}; at resolution {resolution:.2g} Å the multisets of interatomic distances "
        f"{'coincide' if equal else 'differ'}"
        + ("" if equal or not near else " (by an amount comparable to the resolution)")
        + f"; distance-only 1-WL on {graph} separates the structures {wl}"
    )
    return Claim(
        scope="global",
        equal_up_to_o3=2 if equal else 1,
        equal_up_to_so3=2 if equal else 1,
        statement=statement,
        wl_iteration=iteration,
        wl_cutoff=graph_cutoff,
        marginal_o3=2 if near else 1,
        marginal_so3=2 if near else 1,
    )


def _cloud_environment(atoms):
    from . import cloud_environment

    return cloud_environment(atoms)


def _check_composition(plus, minus, allow: bool, what: str) -> None:
    if allow or Counter(plus.numbers.tolist()) == Counter(minus.numbers.tolist()):
        return
    counts = f", different numbers of atoms {len(plus)} and {len(minus)}"
    raise InputError(
        f"the two members have different species ({what}: {_composition(plus)} and "
        f"{_composition(minus)}{counts if len(plus) != len(minus) else ''}); a degenerate "
        "pair has the same atoms in both members (allow_composition_change=True, "
        "--allow-composition-change, compares them anyway)"
    )


def user_pair(
    first: ase.Atoms,
    second: ase.Atoms,
    *,
    centres=(0, 0),
    cutoff: float | None = None,
    scope: str = "environment",
    resolution: float | None = None,
    allow_composition_change: bool = False,
    shell: float = 0.0,
    max_body_order: int = 5,
    name: str = "user-pair",
) -> DegeneratePair:
    """A user's pair with the oracle's claim at its resolution (see the module docstring).

    Parameters
    ----------
    first, second : ase.Atoms
    centres : (int, int)
        Centre atom of each structure (environment scope).
    cutoff : float, optional
        The descriptors' cutoff (Å): the neighbourhood judged (environment scope) or the graph of
        the 1-WL test (global scope, when some distance reaches it). Needed for periodic input.
    scope : {"environment", "global"}
    resolution : float, optional
        Coordinate resolution (Å); default float64 round-off of the coordinates.
    allow_composition_change : bool
        Accept members with different species.
    shell : float
        Width (Å) of the smoothing shell below the cutoff whose atoms are named in ``notes``.
    """
    for label, atoms in (("first", first), ("second", second)):
        if not isinstance(atoms, ase.Atoms) or len(atoms) == 0:
            raise InputError(f"the {label} structure of the pair has no atoms; give a structure")
    if scope not in ("environment", "global"):
        raise InputError(f"scope must be 'environment' or 'global', got {scope!r}")
    cutoff = None if cutoff is None else check_cutoff(cutoff)
    resolution = _check_resolution(resolution)
    plus, minus, environments = _members(first, second, scope, centres, cutoff)
    where = "whole structures" if environments is None else "inside the cutoff"
    _check_composition(plus, minus, allow_composition_change, where)
    if resolution is None:
        resolution = oracle.float64_resolution(plus, minus)
    tolerance = oracle.tolerance_at(resolution)
    params = {"composition_change": bool(allow_composition_change), "cutoff": cutoff}
    params["scope"] = scope
    notes = ()
    if environments is None:
        claim = _global_claim(plus, minus, cutoff, tolerance, resolution)
    else:
        params["centres"] = [int(env.centre_index) for env in environments]
        claim = _environment_claim(*environments, tolerance, resolution, max_body_order)
        if cutoff is not None:
            notes = tuple(_outside_notes((first, second), environments, cutoff))
        if cutoff is not None and shell > 0:
            notes += tuple(_shell_notes(environments, cutoff, shell))
    return DegeneratePair(
        name=name,
        plus=plus,
        minus=minus,
        claim=claim,
        params=params,
        reference="user input",
        family="user",
        kind="user",
        resolution=resolution,
        notes=notes,
    )


def _members(first, second, scope: str, centres, cutoff):
    """``(plus, minus, environments)``: the finite members and, in environment scope, the
    environments of the centres (None in global scope)."""
    structures = (("first", first), ("second", second))
    if scope == "global":
        for label, atoms in structures:
            if np.any(atoms.pbc):
                raise InputError(
                    f"the {label} structure is periodic; a whole-structure (global) pair "
                    "compares finite structures: give finite clusters, or compare sites"
                )
        plus, minus = (ase.Atoms(numbers=a.numbers, positions=a.positions) for _, a in structures)
        return plus, minus, None
    if len(centres) != 2:
        raise InputError(f"centres must be two atom indices, got {centres!r}")
    (plus, env_a), (minus, env_b) = (
        _site(atoms, centre, cutoff, label)
        for (label, atoms), centre in zip(structures, centres, strict=True)
    )
    return plus, minus, (env_a, env_b)


def _outside_notes(structures, environments, cutoff: float) -> list[str]:
    """Finite structures whose atoms are not all inside the cutoff of the centre: say so."""
    notes = []
    for label, atoms, env in zip(("first", "second"), structures, environments, strict=True):
        outside = len(atoms) - 1 - env.n_neighbours
        if not np.any(atoms.pbc) and outside > 0:
            lie, are = ("lies", "is") if outside == 1 else ("lie", "are")
            notes.append(
                f"{label} structure: {outside} of its {len(atoms)} atoms {lie} beyond the "
                f"{cutoff:g} Å cutoff of atom {env.centre_index} and {are} not part of the pair"
            )
    return notes


def _shell_notes(environments, cutoff: float, shell: float) -> list[str]:
    notes = []
    for label, env in zip(("first", "second"), environments, strict=True):
        distances = env.distances
        inside = np.flatnonzero(distances >= cutoff - shell)
        if inside.size:
            atoms = ", ".join(
                f"{int(env.neighbour_index[k])} ({distances[k]:.3f} Å)" for k in inside
            )
            notes.append(
                f"{label} structure: atoms in the smoothing shell ({cutoff - shell:g}-{cutoff:g} "
                f"Å, weighed down by smooth cutoffs): {atoms}"
            )
    return notes


# --------------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------------

_FLOAT = re.compile(r"^[+-]?(\d*)\.?(\d*)(?:[eE]([+-]?\d+))?$")


def _place_value(token: str) -> float | None:
    """Place value of the last written digit of a number written as ``token`` (None: no float)."""
    match = _FLOAT.match(token)
    if match is None or not (match.group(1) or match.group(2)):
        return None
    exponent = int(match.group(3) or 0)
    return 10.0 ** (exponent - len(match.group(2)))


def _xyz_position_tokens(text: str) -> list[str] | None:
    """The position fields of every frame of an (extended) XYZ file, or None if unreadable."""
    lines = text.splitlines()
    tokens: list[str] = []
    k = 0
    while k < len(lines):
        if not lines[k].strip():
            k += 1
            continue
        try:
            n = int(lines[k].split()[0])
        except ValueError:
            return None
        comment = lines[k + 1] if k + 1 < len(lines) else ""
        offset = 1
        found = re.search(r"Properties=(\S+)", comment)
        if found:
            fields = found.group(1).split(":")
            offset = None
            column = 0
            for key, _, count in zip(fields[::3], fields[1::3], fields[2::3], strict=False):
                if key == "pos":
                    offset = column
                    break
                column += int(count)
            if offset is None:
                return None
        for line in lines[k + 2 : k + 2 + n]:
            parts = line.split()
            tokens += parts[offset : offset + 3]
        k += 2 + n
    return tokens


def file_resolution(path, frames) -> float:
    """The coordinate resolution (Å) of ``frames`` read from ``path`` (module docstring)."""
    positions = np.concatenate([atoms.positions.ravel() for atoms in frames])
    largest = max(1.0, float(np.max(np.abs(positions)))) if positions.size else 1.0
    conservative = CONSERVATIVE_RESOLUTION * largest
    if not str(path).lower().endswith((".xyz", ".extxyz")):
        return conservative
    with open(path, encoding="utf-8", errors="replace") as handle:
        tokens = _xyz_position_tokens(handle.read())
    if not tokens:
        return conservative
    places = [_place_value(token) for token in tokens]
    if any(place is None for place in places):
        return conservative
    round_off = oracle.float64_resolution(positions)
    if all(repr(float(token)) == token.lstrip("+") for token in tokens):
        return round_off  # shortest round-trip strings: full float64 precision
    return max(max(places), round_off)


def read_pair(paths):
    """Two structures and their resolution from one file with two frames or two files.

    Returns ``(first, second, resolution)``.
    """
    paths = [str(path) for path in paths]
    if len(paths) not in (1, 2):
        raise InputError(f"a pair is one file with two frames or two files, got {len(paths)} paths")
    frames, resolutions = [], []
    for path in paths:
        read = read_structures(path)
        wanted = 3 - len(paths)  # two files: one frame each; one file: two frames
        if len(read) != wanted:
            raise InputError(
                f"{path!r} holds {len(read)} frames; give two files with one structure each, "
                "or one file with exactly two frames"
            )
        frames += read
        resolutions.append(file_resolution(path, read))
    return frames[0], frames[1], max(resolutions)

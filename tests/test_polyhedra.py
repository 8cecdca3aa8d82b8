"""The polyhedral 1-WL pairs: the symmetry groups, the enumerator against the oracle, the registry.

Expected values are independent of the enumerator: group orders of the solids (textbook point
groups), the oracle's 1-WL and congruence tests, brute-force orbit bookkeeping with Python sets.
"""

from __future__ import annotations

from itertools import combinations
from math import comb

import ase
import pytest

from completeness import oracle, structures
from completeness.environments import InputError
from completeness.structures import cloud_environment, polyhedra


@pytest.mark.parametrize(
    ("name", "order"),
    [
        ("tetrahedron", 24),  # T_d
        ("cube", 48),  # O_h
        ("octahedron", 48),
        ("icosahedron", 120),  # I_h
        ("dodecahedron", 120),
        ("polygon-7", 14),  # D_7 acting on the vertices (the mirror plane acts trivially)
        ("prism-6", 24),  # D_6h
        ("cube-octahedron", 48),
    ],
)
def test_symmetry_group_orders(name, order):
    perms = polyhedra.symmetry_permutations(polyhedra.point_set(name))
    assert len(perms) == order
    assert all(sorted(p) == list(range(len(p))) for p in perms.tolist())


def _oracle_pair(points, a, b):
    members = [ase.Atoms("C" * len(a), positions=points[list(v)]) for v in (a, b)]
    wl = oracle.wl_distinguishing_iteration(*members)
    congruent = oracle.congruent(*(cloud_environment(m) for m in members)).congruent
    return wl, congruent


def test_icosahedron_six_subsets_agree_with_the_oracle_exhaustively():
    points = polyhedra.point_set("icosahedron")
    perms = polyhedra.symmetry_permutations(points).tolist()
    orbits = {}
    for subset in combinations(range(12), 6):
        key = min(tuple(sorted(p[i] for i in subset)) for p in perms)
        orbits.setdefault(key, []).append(subset)
    assert sum(len(v) for v in orbits.values()) == comb(12, 6)
    result = polyhedra.enumerate_pairs("icosahedron", sizes=[6])
    assert result.sizes[0].orbits == len(orbits)
    found = {
        tuple(sorted((tuple(polyhedra._members(a, 12)), tuple(polyhedra._members(b, 12)))))
        for _k, a, b in result.pairs
    }
    canon = {tuple(sorted(s)): key for key, subsets in orbits.items() for s in subsets}
    found = {tuple(sorted((canon[a], canon[b]))) for a, b in found}
    expected = set()
    for a, b in combinations(sorted(orbits), 2):
        wl, congruent = _oracle_pair(points, a, b)
        if wl is None and congruent is False:
            expected.add((a, b))
        assert congruent is not None
    assert found == expected and len(expected) == 1
    a, b = next(iter(expected))
    assert result.sizes[0].pairs == len(orbits[a]) * len(orbits[b])


def test_homometric_octagon_sets_are_separated_by_wl_and_the_polygon_has_no_pair():
    # equal distance multisets ({0,1,2,5} vs {0,1,3,4}, Patterson) are not enough for 1-WL
    points = polyhedra.point_set("polygon-8")
    plus, minus = (ase.Atoms("C4", positions=points[list(v)]) for v in ((0, 1, 2, 5), (0, 1, 3, 4)))
    assert oracle.global_distances_equal(plus, minus)
    assert oracle.wl_distinguishing_iteration(plus, minus) is not None
    result = polyhedra.enumerate_pairs("polygon-8")
    assert result.pairs == [] and all(s.pairs == 0 for s in result.sizes)


def test_every_registered_polyhedral_pair_is_found_by_the_enumerator():
    names = [n for n in structures.names() if n.startswith("li2023-")]
    assert {"li2023-icosahedron-6", "li2023-dodecahedron-6"} <= set(names)
    for name in names:
        pair = structures.load(name)
        solid, plus, minus = (pair.params[k] for k in ("solid", "plus_vertices", "minus_vertices"))
        points = polyhedra.point_set(solid)
        perms = polyhedra.symmetry_permutations(points).tolist()

        def canonical(vertices, perms=perms):
            return min(tuple(sorted(p[i] for i in vertices)) for p in perms)

        result = polyhedra.enumerate_pairs(solid, sizes=[len(plus)])
        n = len(points)
        found = {
            tuple(
                sorted((canonical(polyhedra._members(a, n)), canonical(polyhedra._members(b, n))))
            )
            for _k, a, b in result.pairs
        }
        assert tuple(sorted((canonical(plus), canonical(minus)))) in found


def test_complement_identification_on_the_cube_octahedron():
    result = polyhedra.enumerate_pairs("cube-octahedron")
    by_size = {s.size: s.pairs_up_to_symmetry for s in result.sizes}
    assert by_size[6] == by_size[8] == 1 and sum(by_size.values()) == 2
    # the complements of the 6-vertex pair are the 8-vertex pair: checked with the oracle
    _k, a, b = result.pairs[0]
    points = polyhedra.point_set("cube-octahedron")
    complements = [sorted(set(range(14)) - set(polyhedra._members(m, 14))) for m in (a, b)]
    assert _oracle_pair(points, *complements) == (None, False)
    assert result.pairs_up_to_complement == 1


def test_bad_input_is_refused():
    with pytest.raises(InputError, match="unknown point set"):
        polyhedra.point_set("football")
    with pytest.raises(InputError, match="same size"):
        polyhedra.polyhedral_pair("cube", (0, 1), (0, 1, 2))
    with pytest.raises(InputError, match="distinct indices"):
        polyhedra.polyhedral_pair("cube", (0, 0), (0, 1))
    with pytest.raises(InputError, match="3 <= n"):
        polyhedra.enumerate_pairs([[0.0, 0.0, float(i)] for i in range(30)])

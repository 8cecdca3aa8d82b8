"""Surviving degrees on symmetric structures: characters, invariant counts, measured vs predicted.

Expected counts are textbook values (multiplicity of the totally symmetric representation of O_h
and I_h in degree l, the cubic and icosahedral harmonics) or derived by hand (C_n: the
components with m a multiple of n).
"""

from __future__ import annotations

import numpy as np
import pytest

from completeness.analysis import symmetry
from completeness.environments import InputError
from completeness.structures.polyhedra import point_group


@pytest.mark.parametrize("l", range(6))
def test_characters_of_identity_inversion_and_half_turn(l):
    half_turn = np.diag([-1.0, -1.0, 1.0])
    assert symmetry.character(np.eye(3), l) == pytest.approx(2 * l + 1)
    assert symmetry.character(-np.eye(3), l) == pytest.approx((-1) ** l * (2 * l + 1))
    assert symmetry.character(half_turn, l) == pytest.approx((-1) ** l)


def test_invariant_counts_of_the_cubic_and_icosahedral_groups():
    octahedral, _ = point_group(symmetry.symmetric_environment("octahedron").positions[1:])
    icosahedral, _ = point_group(symmetry.symmetric_environment("icosahedron").positions[1:])
    cubic = [1, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 2]
    assert [symmetry.invariant_count(octahedral, l) for l in range(13)] == cubic
    icosahedral_degrees = {0, 6, 10, 12}
    counts = [symmetry.invariant_count(icosahedral, l) for l in range(13)]
    assert counts == [int(l in icosahedral_degrees) for l in range(13)]


@pytest.mark.parametrize("n", [3, 4, 5])
def test_cyclic_groups_count_the_m_multiples_and_the_axis_sees_l_from_n(n):
    matrices, _ = point_group(symmetry.symmetric_environment(f"twisted-{n}").positions[1:])
    assert len(matrices) == n
    for l in range(10):
        assert symmetry.invariant_count(matrices, l) == 1 + 2 * (l // n)
        # only m = 0 survives every axial rotation
        assert symmetry.invariant_count(matrices, l, axial=True) == 1


def test_measured_degrees_agree_with_the_prediction_on_every_structure():
    rows = symmetry.symmetry_table(max_angular=8, network_max=4)
    assert [row.name for row in rows] == list(symmetry.STRUCTURES)
    for row in rows:
        assert row.agrees, row
    by_name = {row.name: row for row in rows}
    assert by_name["icosahedron"].expansion == [0, 6]  # nothing between 1 and 5
    assert by_name["ring-5"].orientation_measured[0] == 5  # an L-fold axis is seen from l = L


def test_unknown_structure_is_refused():
    with pytest.raises(InputError, match="unknown symmetric structure"):
        symmetry.symmetric_environment("hexadecagon")

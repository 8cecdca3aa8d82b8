"""The report card: every criterion measured, failures become findings, never crashes.

Broken descriptors are built on purpose (not rotation invariant, a hard cutoff, wrong gradients,
a plain callable) and the card must name each problem.
"""

import json

import ase
import numpy as np
import pytest
from test_distance import DistanceHistogram

from completeness import structures
from completeness.analysis.report import report_card, run_audit
from completeness.descriptors.defaults import builtin_descriptors


@pytest.fixture(scope="module")
def small_catalog():
    names = ["joshi2023-two-body", "pozdnyakov2020-fig1b", "enantiomers-chbrclf", "bloom-1d"]
    return [structures.load(name) for name in names]


def findings(card, criterion=None):
    return [m for c, m in card.findings if criterion is None or c == criterion]


def test_card_of_a_good_descriptor(small_catalog):
    card = report_card(DistanceHistogram(), pairs=small_catalog, timings=False)
    assert findings(card) == []
    s = card.sections
    assert set(s) == {"invariance", "uniqueness", "continuity", "structure", "generality"}
    for kind in ("rotation", "permutation", "translation", "mirror"):
        assert s["invariance"][kind] < 1e-13
    assert s["uniqueness"]["counts"]["degenerate"] == 3  # 2-body pair, PRL, mirror images
    assert s["uniqueness"]["first_missed_o3"] == 3
    assert s["continuity"]["cutoff_reading"] == "continuous"
    assert s["continuity"]["gradient_error"] < 1e-6
    # C off the axis by delta changes |C| = sqrt(z^2 + delta^2) by ~delta^2/(2z): quadratic
    assert s["continuity"]["fold_exponent"] == pytest.approx(2.0, abs=0.05)
    assert s["structure"]["fixed_length"] is True
    # n_bins (12) per species channel: 12, 24, 36, 48, i.e. linear growth
    assert s["structure"]["n_features_by_species"] == [12, 24, 36, 48]
    assert s["structure"]["species_exponent"] == pytest.approx(1.0)
    assert all(s["generality"].values())
    assert card.timings == {}


def test_card_of_the_bispectrum_with_pseudoscalars(small_catalog):
    card = report_card(
        builtin_descriptors()["bispectrum-pseudoscalar"], pairs=small_catalog, timings=False
    )
    inv = card.sections["invariance"]
    assert inv["mirror"] > 1e-3 and inv["mirror_reading"].startswith("changes")
    uni = card.sections["uniqueness"]
    # resolves the PRL pair (equal up to 3-body) and the mirror images (SO(3) equal up to 3)
    assert uni["highest_resolved_o3"] == 4 and uni["highest_resolved_so3"] == 4
    # 4-body terms see the tetrahedra through C change sign at first order: linear
    assert card.sections["continuity"]["fold_exponent"] == pytest.approx(1.0, abs=0.05)
    assert findings(card) == []


class NotRotationInvariant:
    """Features are the raw coordinates of the first neighbour (plus its distance)."""

    body_order = 2
    parity = "O(3)"
    cutoff = 5.0

    def compute(self, systems, centers=None, gradients=False):
        systems = [systems] if isinstance(systems, ase.Atoms) else systems
        rows = []
        for atoms in systems:
            for centre in centers if centers is not None else range(len(atoms)):
                vectors = atoms.positions - atoms.positions[centre]
                others = np.delete(vectors, centre, axis=0)
                first = others[0] if len(others) else np.zeros(3)
                rows.append([*first, np.linalg.norm(first)])
        return np.array(rows)


class HardCutoffCount:
    """Number of neighbours inside the cutoff (a step function), with zero 'gradients'."""

    body_order = 2
    parity = "O(3)"
    cutoff = 3.0

    def compute(self, systems, centers=None, gradients=False):
        systems = [systems] if isinstance(systems, ase.Atoms) else systems
        rows, n_atoms = [], max(len(a) for a in systems)
        for atoms in systems:
            for centre in centers if centers is not None else range(len(atoms)):
                d = np.linalg.norm(atoms.positions - atoms.positions[centre], axis=1)
                rows.append([np.sum((d > 0) & (d < self.cutoff)), 1.0])
        values = np.array(rows, dtype=float)

        class Result:
            pass

        result = Result()
        result.values = values
        result.gradients = np.zeros((len(rows), n_atoms, 3, 2)) if gradients else None
        return result


def test_broken_invariance_is_a_finding(small_catalog):
    card = report_card(NotRotationInvariant(), pairs=small_catalog, timings=False)
    messages = findings(card, "invariance")
    assert any("not rotation invariant" in m for m in messages)
    assert any("not permutation invariant" in m for m in messages)
    assert any("declared O(3) but a mirror" in m for m in messages)


def test_hard_cutoff_is_discontinuous(small_catalog):
    card = report_card(HardCutoffCount(), pairs=small_catalog, timings=False)
    assert card.sections["continuity"]["cutoff_reading"] == "DISCONTINUOUS"
    assert any("crosses the cutoff" in m for m in findings(card, "continuity"))


def _angle_at_the_nearest_pair(positions, numbers):
    """cos of the angle at neighbour j between the centre and j's nearest neighbour k, for
    the closest (j, k): undefined where j and k meet, its limit set by the direction."""
    neighbours = positions[1:]
    gaps = np.linalg.norm(neighbours[:, None] - neighbours[None], axis=-1)
    gaps[np.diag_indices(len(neighbours))] = np.inf
    j, k = np.unravel_index(np.argmin(gaps), gaps.shape)
    to_centre, to_other = positions[0] - neighbours[j], neighbours[k] - neighbours[j]
    cosine = to_centre @ to_other / np.linalg.norm(to_centre) / np.linalg.norm(to_other)
    return np.array([cosine, np.linalg.norm(neighbours, axis=1).sum()])


def test_a_direction_dependent_meeting_of_two_neighbours_is_a_finding(small_catalog):
    card = report_card(_angle_at_the_nearest_pair, pairs=small_catalog, timings=False)
    section = card.sections["continuity"]
    assert section["coincidence_reading"] == "DISCONTINUOUS"
    assert section["coincidence_jump"] > 1e-2  # cosines of different directions: O(1) apart
    assert any(
        "direction from which two neighbours meet" in m for m in findings(card, "continuity")
    )
    assert "two neighbours meeting" in "\n".join(card.summary_lines(timings=False))


@pytest.mark.parametrize(
    "key, reading",
    [
        ("power-spectrum", "continuous"),
        ("lmbtr-k3", "DISCONTINUOUS"),
        ("tensor-product-net", "DISCONTINUOUS"),
    ],
)
def test_meeting_neighbours_on_the_built_in_descriptors(small_catalog, key, reading):
    """LMBTR k=3 and the tensor-product network inherit the jump from their published
    definitions (documented in their docstrings); the spectra are continuous there."""
    card = report_card(builtin_descriptors()[key], pairs=small_catalog, timings=False)
    section = card.sections["continuity"]
    assert section["coincidence_reading"] == reading
    if reading == "continuous":  # the spread shrinks with the distance: O(eps)
        assert section["coincidence_jump"] <= section["coincidence_jump_1e-3"] / 10


def test_callable_card_reports_missing_gradients_and_periodic_cells(small_catalog):
    def sorted_distances(positions, numbers):
        d = np.sort(np.linalg.norm(positions[1:] - positions[0], axis=1))
        out = np.zeros(8)
        out[: min(8, len(d))] = d[:8]
        return out

    card = report_card(sorted_distances, pairs=small_catalog, timings=False)
    assert card.kind == "callable" and card.body_order is None
    assert any("no analytic gradients" in m for m in findings(card, "continuity"))
    assert card.sections["generality"]["periodic cell"] is False
    assert any("periodic" in m for m in findings(card, "generality"))
    assert card.sections["generality"]["empty environment"] is True
    # verdicts are still measured; without a declared body order the expectation is unknown
    assert {v.expected for v in card.verdicts} == {"unknown"}
    assert card.verdicts[0].verdict == "degenerate"  # the 2-body pair, equal distances


def test_descriptor_that_raises_everywhere_still_gets_a_card(small_catalog):
    class Broken:
        body_order = 3
        parity = "O(3)"

        def compute(self, systems, centers=None, gradients=False):
            raise RuntimeError("backend not installed")

    card = report_card(Broken(), pairs=small_catalog, timings=True)
    assert card.sections["uniqueness"]["counts"]["error"] == len(small_catalog)
    assert any("backend not installed" in m for m in findings(card, "invariance"))
    assert any("backend not installed" in m for m in findings(card, "efficiency"))
    json.dumps(card.to_dict())  # still serialisable


def test_timings_are_separate_and_measured(small_catalog):
    card = report_card(DistanceHistogram(), pairs=small_catalog, timings=True)
    assert card.timings["values_per_second"] > 0
    assert card.timings["gradients_per_second"] > 0
    assert card.timings["neighbour_exponent"] is not None
    record = card.to_dict(timings=False)
    assert "timings" not in record
    without = report_card(DistanceHistogram(), pairs=small_catalog, timings=False)
    assert without.to_dict(timings=False) == record  # timings change nothing else


def test_audit_table_glyphs_and_markdown(small_catalog):
    audit = run_audit(
        {"histogram": DistanceHistogram(), "power": builtin_descriptors()["power-spectrum"]},
        small_catalog,
        timings=False,
    )
    lines = audit.table_lines()
    row = next(line for line in lines if line.startswith("joshi2023-two-body"))
    assert row.split()[-2:] == ["x", "o"]  # 2-body fails, 3-body resolves
    assert any(line.startswith("x degenerate") for line in lines)
    markdown = audit.markdown()
    assert "| joshi2023-two-body | 2/2 | x | o |" in markdown
    record = audit.to_dict()
    assert len(record["verdicts"]) == 2 * len(small_catalog)
    keys = {"descriptor", "body_order", "parity", "pair", "distance", "noise_floor", "verdict"}
    assert keys <= set(record["verdicts"][0])
    json.dumps(record)


def test_both_two_step_continuity_checks_share_one_round_off_floor():
    from completeness.analysis.criteria import ROUNDOFF_JUMP, _two_step_reading

    section = {}
    # at round-off nothing can shrink: continuous, for the cutoff and the meeting check alike
    for name in ("cutoff", "coincidence"):
        assert _two_step_reading(section, name, ROUNDOFF_JUMP, ROUNDOFF_JUMP, "1e-3")
        assert section[f"{name}_reading"] == "continuous"
    assert _two_step_reading(section, "coincidence", 1e-6, 1e-7, "1e-3")  # shrinks tenfold
    assert not _two_step_reading(section, "coincidence", 1e-6, 5e-7, "1e-3")
    assert section == {
        "cutoff_jump": ROUNDOFF_JUMP,
        "cutoff_jump_1e-3": ROUNDOFF_JUMP,
        "cutoff_reading": "continuous",
        "coincidence_jump": 5e-7,
        "coincidence_jump_1e-3": 1e-6,
        "coincidence_reading": "DISCONTINUOUS",
    }

"""No "degenerate" verdict on random pairs that differ at an order the descriptor sees.

The shipped radial spectrum (2-body), power spectrum (3-body) and bispectrum (4-body) judge
random pairs drawn from several families (multi-species environments with 10-30 neighbours):

* ``independent``: two unrelated environments of one composition;
* ``radial``: one neighbour moved along its bond by 1e-4..1e-2 Å;
* ``jitter``: every neighbour displaced by a Gaussian of 1e-5..1e-3 Å rms;
* ``tangential``: one neighbour turned about the centre by 1e-4..1e-2 Å (its distance to the
  centre kept exactly: equal at 2-body, different at 3-body);
* ``near-cutoff``: one neighbour 0.1..0.6 Å inside the cutoff moved by 1e-3..1e-2 Å, along the
  bond or across it, staying inside.

Every pair is checked by the oracle (exact k-body signatures, :mod:`completeness.oracle`): the
lowest body order at which its members differ. A descriptor of body order ``nu`` must not call
"degenerate" a pair that differs at an order ``<= nu``; the test prints, per descriptor, the
number of oracle-checked pairs, how many of them the descriptor can see, and the number of
false "degenerate" verdicts (required: 0). The expected values come from the oracle, never
from the descriptors under test.
"""

from __future__ import annotations

from collections import Counter

import ase
import numpy as np
import pytest

from completeness import oracle
from completeness.analysis.distance import unclaimed_pair, verdicts
from completeness.descriptors.defaults import builtin_descriptors

DESCRIPTORS = ("radial-spectrum", "power-spectrum", "bispectrum")
FAMILIES = ("independent", "radial", "jitter", "tangential", "near-cutoff")
SPECIES = (1, 6, 8)
CUTOFF = 5.0  # the shipped descriptors' cutoff (checked below)


def _random_environment(rng, n_neighbours, species, max_radius=4.0, min_gap=0.7):
    """Centre (C) at the origin and ``n_neighbours`` at 1..max_radius Å, no two closer than
    ``min_gap``."""
    points = []
    while len(points) < n_neighbours:
        direction = rng.normal(size=3)
        point = direction / np.linalg.norm(direction) * rng.uniform(1.0, max_radius)
        if all(np.linalg.norm(point - other) >= min_gap for other in points):
            points.append(point)
    return ase.Atoms(numbers=[6, *species], positions=np.vstack([np.zeros(3), points]))


def _unit_perpendicular(rng, vector):
    other = rng.normal(size=3)
    other -= other.dot(vector) / vector.dot(vector) * vector
    return other / np.linalg.norm(other)


def _turned(position, rng, arc):
    """``position`` turned about the centre by an arc length ``arc`` (distance kept)."""
    radius = np.linalg.norm(position)
    axis = _unit_perpendicular(rng, position)
    angle = arc / radius
    return position * np.cos(angle) + axis * radius * np.sin(angle)


def _pair(rng, family: str):
    n = int(rng.integers(10, 31))
    species = rng.choice(SPECIES, size=n)
    a = _random_environment(rng, n, species)
    if family == "independent":
        return a, _random_environment(rng, n, species)
    b = a.copy()
    j = int(rng.integers(1, n + 1))
    if family == "radial":
        r = b.positions[j]
        b.positions[j] = r + 10 ** rng.uniform(-4, -2) * r / np.linalg.norm(r)
    elif family == "jitter":
        b.positions[1:] += rng.normal(size=(n, 3)) * 10 ** rng.uniform(-5, -3)
    elif family == "tangential":
        b.positions[j] = _turned(b.positions[j], rng, 10 ** rng.uniform(-4, -2))
    else:  # near the cutoff: put neighbour j there in both members, then move it in one
        direction = a.positions[j] / np.linalg.norm(a.positions[j])
        a.positions[j] = direction * (CUTOFF - rng.uniform(0.1, 0.6))
        b = a.copy()
        step = 10 ** rng.uniform(-3, -2)
        if rng.random() < 0.5:
            b.positions[j] = a.positions[j] - step * direction  # along the bond, inward
        else:
            b.positions[j] = _turned(a.positions[j], rng, step)
    return a, b


def _first_difference(a, b) -> int:
    """The lowest body order (2, 3, 4) at which the oracle's O(3) signatures differ."""
    for order in (2, 3, 4):
        if not oracle.signatures_equal(a, b, order):
            return order
    raise AssertionError("a random pair coincides up to 4-body")  # never drawn by chance


def _pairs(n_pairs: int, seed: int):
    rng = np.random.default_rng(seed)
    pairs, orders, families = [], [], []
    for k in range(n_pairs):
        family = FAMILIES[k % len(FAMILIES)]
        a, b = _pair(rng, family)
        orders.append(_first_difference(a, b))
        families.append(family)
        pairs.append(unclaimed_pair(f"{family}-{k}", a, b))
    return pairs, np.asarray(orders), families


def _check(n_pairs: int, seed: int, report) -> None:
    pairs, orders, families = _pairs(n_pairs, seed)
    assert len(orders) == len(pairs) == n_pairs  # every pair checked by the oracle
    # the families do what they say: radial moves differ at 2-body, tangential ones at 3-body
    by_family = {
        f: Counter(int(o) for o, g in zip(orders, families, strict=True) if g == f)
        for f in FAMILIES
    }
    assert set(by_family["radial"]) == {2} and set(by_family["tangential"]) == {3}
    lines = [
        f"{n_pairs} random pairs, every one checked by the oracle; first differing order "
        f"by family: { {f: dict(c) for f, c in by_family.items()} }"
    ]
    failures = []
    for key in DESCRIPTORS:
        descriptor = builtin_descriptors()[key]
        assert descriptor.cutoff == CUTOFF
        results = verdicts(descriptor, pairs, n_transforms=2, rescale=False)
        seen = orders <= descriptor.body_order
        got = np.array([r.verdict for r in results])
        false_degenerate = int(np.sum(seen & (got == "degenerate")))
        errors = int(np.sum(got == "error"))
        lines.append(
            f"{key} (body order {descriptor.body_order}): {len(pairs)} oracle-checked pairs, "
            f"{int(seen.sum())} differ at an order it sees; false 'degenerate' {false_degenerate}"
            f", errors {errors}; verdicts on those pairs {dict(Counter(got[seen].tolist()))}"
        )
        if false_degenerate or errors:
            bad = next(
                r
                for r, s in zip(results, seen, strict=True)
                if s and r.verdict in ("degenerate", "error")
            )
            failures.append(f"{key}: {bad.pair}: {bad.verdict} ({bad.reading})")
    report("\n".join(lines))
    assert not failures, failures


def test_no_degenerate_verdict_on_random_non_congruent_pairs(capsys):
    with capsys.disabled():
        _check(150, seed=1, report=lambda text: print("\n" + text))


@pytest.mark.slow
def test_no_degenerate_verdict_on_10000_random_non_congruent_pairs(capsys):
    with capsys.disabled():
        _check(10_000, seed=2, report=lambda text: print("\n" + text))

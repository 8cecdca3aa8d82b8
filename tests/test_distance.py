"""Feature distance, noise floor, verdict rule, calibration, scans, and the catalog claims.

Expected verdicts come from the oracle's claims (claim fields, or the oracle run here), never from
a stored answer; expected distances are computed by hand.
"""

import ase
import numpy as np
import pytest

from completeness import oracle, structures
from completeness.analysis.calibration import NEAR_MISS_DISPLACEMENTS, calibrate
from completeness.analysis.distance import (
    DEGENERATE_DECADES,
    RESOLVED_DECADES,
    ROUND_OFF_FLOOR,
    classify,
    expected_verdict,
    feature_distance,
    noise_floor,
    unclaimed_pair,
    verdict,
    verdicts,
)
from completeness.analysis.scan import fold_scan, power_law_exponent, prl_scan
from completeness.descriptors import Descriptor
from completeness.descriptors.defaults import builtin_descriptors
from completeness.descriptors.user import as_descriptor
from completeness.environments import InputError
from completeness.errors import one_line

# --------------------------------------------------------------------------------------------
# a small descriptor written for these tests: smooth histogram of neighbour distances
# --------------------------------------------------------------------------------------------


class DistanceHistogram(Descriptor):
    """sum_j exp(-(r_j - mu_k)^2 / (2 w^2)) fc(r_j) per neighbour species (2-body, O(3))."""

    body_order = 2
    parity = "O(3)"

    def __init__(self, cutoff=5.0, n_bins=12, width=0.4, species=None):
        self.cutoff = cutoff
        self.n_bins = n_bins
        self.width = width
        self.species = species

    def _feature_names(self, species):
        return tuple(f"a{a}_k{k}" for a in species for k in range(self.n_bins))

    def _compute(self, neighbourhoods, species, gradients):
        centres = np.linspace(0.0, self.cutoff, self.n_bins)
        r = neighbourhoods.pair_distances[:, None]
        gauss = np.exp(-((r - centres) ** 2) / (2 * self.width**2))
        fc = 0.5 * (np.cos(np.pi * r / self.cutoff) + 1.0)
        terms = gauss * fc
        channel = np.searchsorted(species, neighbourhoods.pair_species)
        n_samples = neighbourhoods.n_samples
        values = np.zeros((n_samples, len(species), self.n_bins))
        np.add.at(values, (neighbourhoods.pair_sample, channel), terms)
        values = values.reshape(n_samples, -1)
        if not gradients:
            return values, None
        dfc = -0.5 * np.pi / self.cutoff * np.sin(np.pi * r / self.cutoff)
        dterms = gauss * (-(r - centres) / self.width**2) * fc + gauss * dfc  # d/dr
        unit = neighbourhoods.pair_vectors / neighbourhoods.pair_distances[:, None]
        n_pairs = neighbourhoods.n_pairs
        out = np.zeros((n_pairs, 3, len(species), self.n_bins))
        out[np.arange(n_pairs), :, channel, :] = unit[:, :, None] * dterms[:, None, :]
        return values, out.reshape(n_pairs, 3, -1)


def random_environment(rng, n=6, radius=3.5, species=(1,)):
    while True:
        vectors = rng.uniform(-radius, radius, size=(n, 3)) / np.sqrt(3)
        gaps = np.linalg.norm(vectors[:, None] - vectors[None], axis=-1)
        norms = np.linalg.norm(vectors, axis=1)
        if gaps[np.triu_indices(n, 1)].min() > 0.7 and norms.min() > 0.7:
            break
    numbers = [6] + [species[k % len(species)] for k in range(n)]
    return ase.Atoms(numbers=numbers, positions=np.vstack([np.zeros(3), vectors]))


def claim(o3, so3, max_checked=5):
    return structures.Claim("environment", o3, so3, statement="", max_checked=max_checked)


def claim_of(a, b):
    """The oracle's claim for a pair (environment scope)."""
    order = oracle.degeneracy_order(a, b, max_body_order=4)
    return claim(order.o3, order.so3, max_checked=order.max_checked)


# --------------------------------------------------------------------------------------------
# distances and the rule, against hand-computed values
# --------------------------------------------------------------------------------------------


def test_feature_distance_by_hand():
    assert feature_distance([3.0, 4.0], [0.0, 0.0]) == 1.0
    assert feature_distance([1.0, 0.0], [0.0, 1.0]) == pytest.approx(np.sqrt(2.0))
    assert feature_distance([0.0, 0.0], [0.0, 0.0]) == 0.0
    # ||(1,1) - (1,2)|| / ||(1,2)|| = 1 / sqrt(5)
    assert feature_distance([1.0, 1.0], [1.0, 2.0]) == pytest.approx(1 / np.sqrt(5))


def test_global_distance_is_a_multiset_distance():
    rows = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 1.0]])
    assert feature_distance(rows, rows[[2, 0, 1]]) == 0.0
    # best matching pairs (1,0)->(1,0), (0,2)->(0,2), (3,1)->(3,0): only 1 unit of difference
    other = np.array([[0.0, 2.0], [3.0, 0.0], [1.0, 0.0]])
    scale = max(np.linalg.norm(rows), np.linalg.norm(other))
    assert feature_distance(rows, other) == pytest.approx(1.0 / scale)
    # matching is within species: swapping rows across species is not free
    numbers = np.array([1, 1, 8])
    swapped = rows[[2, 1, 0]]
    assert feature_distance(rows, swapped, numbers_a=numbers, numbers_b=numbers) > 0.5
    with pytest.raises(InputError, match="compositions"):
        feature_distance(rows, rows, numbers_a=numbers, numbers_b=np.array([1, 8, 8]))


def test_classify_follows_the_documented_thresholds():
    floor = 1e-14
    assert classify(0.0, floor)[0] == "degenerate"
    assert classify(floor * 10**DEGENERATE_DECADES * 0.99, floor)[0] == "degenerate"
    assert classify(floor * 10**1.5, floor)[0] == "inconclusive"
    assert classify(floor * 10**RESOLVED_DECADES * 1.01, floor) == pytest.approx(
        ("resolved", RESOLVED_DECADES + np.log10(1.01))
    )
    # a floor below the round-off floor is raised to it
    assert classify(ROUND_OFF_FLOOR * 50, 1e-20)[0] == "inconclusive"
    assert ROUND_OFF_FLOOR == pytest.approx(16 * 2.220446049250313e-16)


def test_expected_verdict_reads_the_claim():
    prl = claim(3, 3)
    assert expected_verdict(3, "O(3)", prl) == "degenerate"
    assert expected_verdict(4, "O(3)", prl) == "resolvable"
    mirror = claim(5, 3)
    assert expected_verdict(4, "O(3)", mirror) == "degenerate"
    assert expected_verdict(4, "SO(3)", mirror) == "resolvable"
    assert expected_verdict(7, "O(3)", mirror) == "degenerate"  # mirror images: every order
    above = claim(5, 5)
    assert expected_verdict(6, "O(3)", above) == "unknown"
    assert expected_verdict(None, "O(3)", prl) == "unknown"


def test_catalog_pairs_are_fitted_once_user_pairs_never():
    pair = structures.load("pozdnyakov2020-fig1b")
    fitted = pair.fitted(5.0)
    farthest = max(
        np.linalg.norm(a.positions[1:] - a.positions[0], axis=1).max() for a in fitted.members
    )
    assert farthest == pytest.approx(4.0)
    factor = 4.0 / (5 * np.sqrt(3))
    assert fitted.scale_factor == pytest.approx(factor)  # recorded
    np.testing.assert_allclose(fitted.plus.positions, pair.plus.positions * factor)
    small = structures.load("nigam2024-b8-0000")  # bonds of 1.5-1.8 Å: already inside
    assert small.fitted(5.0) is small
    user = unclaimed_pair("user", pair.plus.copy(), pair.minus.copy())
    assert user.fitted(5.0) is user
    assert verdict(builtin_descriptors()["bispectrum"], user).scale == 1.0


def test_noise_floor_is_round_off_and_grows_with_the_resolution():
    rng = np.random.default_rng(0)
    envs = [random_environment(rng, species=(1, 8)) for _ in range(4)]
    floor = noise_floor(DistanceHistogram(), envs)
    assert 0 <= floor < 1e-13
    # a linear response: perturbations within +-1e-8 Å give relative changes of that order
    coarse = noise_floor(DistanceHistogram(), envs, resolution=1e-8)
    assert 1e-11 < coarse < 1e-7


# --------------------------------------------------------------------------------------------
# the rule's calibration: round-off never resolved, near misses never degenerate
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key", ["radial-spectrum", "power-spectrum", "acsf-g2-g4", "chebyshev", "lmbtr-k3"]
)
def test_calibration_round_off_and_near_misses(key):
    result = calibrate(
        builtin_descriptors()[key], n_round_off=8, displacements=(1e-6, 1e-5, 1e-4, 1e-3, 1e-2)
    )
    # members that are rotated/permuted/translated copies: degenerate, never beyond the floor's
    # decade
    assert set(result.verdicts["round-off"]) == {"degenerate"}
    assert result.round_off.max() <= DEGENERATE_DECADES
    # near misses from 1e-6 to 1e-2 Å: never degenerate; generic ones resolved
    assert "degenerate" not in result.verdicts["fold"]
    assert set(result.verdicts["generic"]) == {"resolved"}
    # the response at the fold is quadratic, the generic one linear (slopes in decades/decade)
    slope_fold = np.polyfit(np.log10(result.displacements), result.fold, 1)[0]
    slope_generic = np.polyfit(np.log10(result.displacements), result.generic, 1)[0]
    assert slope_fold == pytest.approx(2.0, abs=0.1)
    assert slope_generic == pytest.approx(1.0, abs=0.1)


def test_calibration_with_the_test_descriptor():
    result = calibrate(
        DistanceHistogram(), n_round_off=8, displacements=(1e-6, 1e-5, 1e-4, 1e-3, 1e-2)
    )
    assert set(result.verdicts["round-off"]) == {"degenerate"}
    assert "degenerate" not in result.verdicts["fold"]
    assert set(result.verdicts["generic"]) == {"resolved"}


@pytest.mark.parametrize("key", ["radial-spectrum", "power-spectrum", "bispectrum"])
@pytest.mark.parametrize("resolution", [None, 1e-8])
def test_near_miss_sweep_is_monotone_and_nothing_below_the_resolution_is_resolved(key, resolution):
    result = calibrate(builtin_descriptors()[key], n_round_off=2, resolution=resolution)
    displacements = np.asarray(NEAR_MISS_DISPLACEMENTS)
    for kind in ("generic", "fold"):
        margins = getattr(result, kind)
        # above the floor (margin > -1: below it the distance is round-off, not a response) the
        # margin grows with the displacement, by at most 1.5 decades per half decade
        seen = margins > -1
        steps = np.diff(margins[seen])
        assert np.all(steps > 0), (kind, margins)
        assert np.all(steps <= 1.5), (kind, margins)
        assert np.all(np.diff(np.flatnonzero(seen)) == 1)  # once seen, always seen
        if resolution is not None:
            below = displacements < resolution
            assert "resolved" not in np.asarray(result.verdicts[kind])[below], kind


# --------------------------------------------------------------------------------------------
# random pairs (seeded): never "degenerate" when different, never "resolved" when equal
# --------------------------------------------------------------------------------------------


def _non_congruent_pairs(n_pairs, seed):
    """Independent random environments, and environments against a copy with one neighbour
    moved by 10**U(-6, -2) Å: all differ in their 2-body signature (checked by the oracle)."""
    rng = np.random.default_rng(seed)
    pairs = []
    for k in range(n_pairs):
        a = random_environment(rng, n=int(rng.integers(3, 9)), species=(1, 8))
        if k % 2 == 0:
            b = random_environment(rng, n=len(a) - 1, species=(1, 8))
            b.numbers = a.numbers
        else:
            b = a.copy()
            step = 10 ** rng.uniform(-6, -2)
            direction = a.positions[1] / np.linalg.norm(a.positions[1])  # radial: 2-body visible
            b.positions[1] += step * direction
        pairs.append(unclaimed_pair(f"random-{k}", a, b))
    return pairs


def _assert_never_degenerate(pairs, descriptor):
    for pair in pairs:  # the oracle (exact) on every pair: members differ at 2-body
        assert not oracle.signatures_equal(pair.plus, pair.minus, 2)
    results = verdicts(descriptor, pairs, n_transforms=2)
    bad = [r for r in results if r.verdict == "degenerate"]
    assert not bad, bad[0]


def test_no_degenerate_verdict_on_random_non_congruent_pairs():
    _assert_never_degenerate(_non_congruent_pairs(300, seed=1), DistanceHistogram())


# (the shipped descriptors on 10,000 pairs of several families: tests/test_honest_verdicts.py)


def test_no_resolved_verdict_when_the_oracle_says_the_members_coincide():
    # 2-body: equal-distance pairs; 3-body: the PRL family; each claim measured by the oracle
    two_body = [structures.load("two-body-random", seed=s) for s in range(15)]
    prl = [structures.load("prl-family", seed=s) for s in range(8)]
    prl += [structures.load("prl-equal-bond", seed=s) for s in range(7)]
    cases = [
        (DistanceHistogram(), two_body),
        (builtin_descriptors()["radial-spectrum"], two_body + prl),
        (builtin_descriptors()["power-spectrum"], prl),
        (builtin_descriptors()["acsf-g2-g4"], prl),
    ]
    for descriptor, pairs in cases:
        user_pairs = [
            unclaimed_pair(p.name, p.plus, p.minus, claim=claim_of(p.plus, p.minus)) for p in pairs
        ]
        for pair in user_pairs:
            assert pair.claim.equal_up_to_o3 >= descriptor.body_order
        results = verdicts(descriptor, user_pairs)
        assert all(r.expected == "degenerate" for r in results)
        assert not [r for r in results if r.verdict == "resolved"], results


# --------------------------------------------------------------------------------------------
# the catalog: each verdict against the claim's fields
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def catalog_verdicts():
    # environment-scope pairs: every statement of the issue is about them (and they are cheap)
    pairs = {name: structures.load(name) for name in structures.names()}
    pairs = {name: pair for name, pair in pairs.items() if pair.claim.scope == "environment"}
    results = {}
    for key, descriptor in builtin_descriptors().items():
        results[key] = {v.pair: v for v in verdicts(descriptor, list(pairs.values()), name=key)}
    return pairs, results


def _claimed_equal(pair, descriptor):
    claim = pair.claim
    return claim.equal_up_to_o3 if descriptor.parity == "O(3)" else claim.equal_up_to_so3


def test_two_body_descriptors_fail_the_two_body_pair(catalog_verdicts):
    pairs, results = catalog_verdicts
    pair = pairs["joshi2023-two-body"]
    for key in ("radial-spectrum", "acsf-g2", "lmbtr-k2"):
        descriptor = builtin_descriptors()[key]
        assert descriptor.body_order == 2
        assert _claimed_equal(pair, descriptor) >= descriptor.body_order
        assert results[key][pair.name].verdict == "degenerate"


@pytest.mark.parametrize("key", ["power-spectrum", "acsf-g2-g4", "lmbtr-k3", "chebyshev"])
def test_three_body_descriptors_resolve_two_body_and_fail_prl(catalog_verdicts, key):
    pairs, results = catalog_verdicts
    descriptor = builtin_descriptors()[key]
    assert descriptor.body_order == 3
    two_body, prl = pairs["joshi2023-two-body"], pairs["pozdnyakov2020-fig1b"]
    assert _claimed_equal(two_body, descriptor) < descriptor.body_order
    assert results[key][two_body.name].verdict == "resolved"
    assert _claimed_equal(prl, descriptor) >= descriptor.body_order
    assert results[key][prl.name].verdict == "degenerate"


def test_bispectrum_resolves_prl_and_fails_b8(catalog_verdicts):
    pairs, results = catalog_verdicts
    descriptor = builtin_descriptors()["bispectrum"]
    for name in ("pozdnyakov2020-fig1b", "prl-family", "prl-equal-bond", "prl-fold"):
        assert _claimed_equal(pairs[name], descriptor) < descriptor.body_order
        assert results["bispectrum"][name].verdict == "resolved"
    b8 = [name for name in pairs if name.startswith("nigam2024-b8")]
    assert b8
    for name in b8:
        assert _claimed_equal(pairs[name], descriptor) >= descriptor.body_order
        assert results["bispectrum"][name].verdict == "degenerate"


def test_nu4_resolves_b8(catalog_verdicts):
    pairs, results = catalog_verdicts
    descriptor = builtin_descriptors()["density-correlations-nu4"]
    assert descriptor.body_order == 5
    for name in (n for n in pairs if n.startswith("nigam2024-b8")):
        assert _claimed_equal(pairs[name], descriptor) < descriptor.body_order
        assert results["density-correlations-nu4"][name].verdict == "resolved"


def test_only_pseudoscalar_terms_resolve_enantiomers(catalog_verdicts):
    pairs, results = catalog_verdicts
    enantiomers = [name for name in pairs if pairs[name].claim.parity_only]
    assert len(enantiomers) >= 2
    for key, descriptor in builtin_descriptors().items():
        for name in enantiomers:
            resolved = results[key][name].verdict == "resolved"
            assert resolved == (descriptor.parity == "SO(3)"), (key, name)
            if descriptor.body_order is None:  # message passing: no finite body order
                continue
            assert resolved == (_claimed_equal(pairs[name], descriptor) < descriptor.body_order)


def test_no_contradiction_on_the_catalog(catalog_verdicts):
    _, results = catalog_verdicts
    for by_pair in results.values():
        for result in by_pair.values():
            assert result.status not in ("contradiction", "error"), result.reading


# --------------------------------------------------------------------------------------------
# user descriptors through the adapter
# --------------------------------------------------------------------------------------------


def test_callable_descriptor_gives_the_same_verdicts_as_the_class():
    histogram = DistanceHistogram(species=[1, 6])

    def as_function(positions, numbers):
        atoms = ase.Atoms(numbers=numbers, positions=positions)
        return histogram.compute(atoms, centers=[0]).values[0]

    as_function.body_order = 2
    as_function.parity = "O(3)"
    pairs = [structures.load("joshi2023-two-body"), structures.load("pozdnyakov2020-fig1b")]
    a = verdicts(histogram, pairs)
    b = verdicts(as_function, pairs)
    assert [r.verdict for r in a] == [r.verdict for r in b]
    assert [r.distance for r in a] == pytest.approx([r.distance for r in b], abs=1e-15)


def test_callable_with_wrong_shape_is_rejected_in_one_line():
    user = as_descriptor(lambda positions, numbers: np.ones((3, 2)), name="bad")
    with pytest.raises(InputError, match=r"shape \(3, 2\)") as error:
        user.compute(structures.load("joshi2023-two-body").plus, centers=[0])
    assert "\n" not in str(error.value)
    ragged = as_descriptor(lambda positions, numbers: np.ones(len(positions)), name="ragged")
    small = ase.Atoms("H2", positions=[[0, 0, 0], [1, 0, 0]])
    large = ase.Atoms("H3", positions=[[0, 0, 0], [1, 0, 0], [0, 1, 0]])
    with pytest.raises(InputError, match="fixed length"):
        ragged.compute([small, large], centers=[0])


def test_object_returning_wrong_number_of_rows_is_rejected():
    class TooFew:
        def compute(self, systems, centers=None, gradients=False):
            return np.zeros((1, 4))

    pair = structures.load("joshi2023-two-body")
    with pytest.raises(InputError, match=r"expected \(2, n_features\)"):
        as_descriptor(TooFew()).compute([pair.plus, pair.minus], centers=[0])
    # inside verdicts a failing descriptor is a per-pair error, not a crash
    result = verdict(TooFew(), pair)
    assert result.verdict == "error" and "shape" in result.error


def test_not_a_descriptor_is_rejected():
    with pytest.raises(InputError, match="not a descriptor"):
        as_descriptor(42)

    class NoCentres:
        def compute(self, systems):
            return np.zeros((1, 1))

    with pytest.raises(InputError, match="centers"):
        as_descriptor(NoCentres())


# --------------------------------------------------------------------------------------------
# scans
# --------------------------------------------------------------------------------------------


def test_fold_scan_is_quadratic_and_pairs_stay_degenerate():
    result = fold_scan(builtin_descriptors()["power-spectrum"], np.logspace(-4, -1, 4))
    assert set(result.verdicts) == {"degenerate"}  # PRL partners at every delta (3-body)
    assert result.exponent == pytest.approx(2.0, abs=0.05)
    assert np.all(np.diff(result.response) > 0)


def test_prl_scan_separates_3_and_4_body():
    for key, expected in (("power-spectrum", "degenerate"), ("bispectrum", "resolved")):
        result = prl_scan(builtin_descriptors()[key], "y_c", seed=3)
        assert set(result.verdicts) == {expected}, (key, result.verdicts)


def test_power_law_exponent_by_hand():
    x = np.array([1e-3, 1e-2, 1e-1])
    assert power_law_exponent(x, 5 * x**2) == pytest.approx(2.0)
    assert power_law_exponent(x, x, floor=1.0) is None


def test_one_line_messages():
    assert one_line(ValueError("first\nsecond")) == "ValueError: first"


def test_global_pairs_against_the_message_passing_claim():
    # 1-WL's first iteration is the multiset of atom-centred 2-body environments: a 2-body
    # descriptor that sees the whole cloud is degenerate exactly when 1-WL (complete graph)
    # does not separate the clouds at iteration 1
    pairs = [structures.load(n) for n in structures.names()]
    pairs = [p for p in pairs if p.claim.scope == "global" and p.claim.wl_cutoff is None]
    assert {p.claim.wl_iteration for p in pairs} >= {None, 1}
    descriptor = builtin_descriptors()["radial-spectrum"]
    for result, pair in zip(verdicts(descriptor, pairs), pairs, strict=True):
        separated_at_once = pair.claim.wl_iteration == 1
        assert result.expected == ("resolvable" if separated_at_once else "degenerate")
        assert result.verdict == ("resolved" if separated_at_once else "degenerate")

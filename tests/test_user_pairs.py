"""User pairs: from files (two files or one two-frame file), sites of crystals, whole structures,
spectators, composition changes and the coordinates' resolution.

The reference verdicts are the in-memory verdicts of the same pairs; the claims come from the
oracle, run here on the environments the descriptors see.
"""

import contextlib
import io
import json

import ase
import ase.io
import numpy as np
import pytest

from completeness import oracle, structures
from completeness.analysis.distance import verdicts
from completeness.cli import main
from completeness.descriptors.defaults import AUDIT_CUTOFF, builtin_descriptors
from completeness.environments import InputError, environment

BUILTIN = builtin_descriptors()
SPECTRA = ["--descriptor", "radial-spectrum", "--descriptor", "power-spectrum"]
SPECTRA += ["--descriptor", "bispectrum"]


def audit_json(arguments) -> dict:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["audit", "--no-timings", "--json", *arguments]) == 0
    return json.loads(out.getvalue())


def clean(atoms: ase.Atoms) -> ase.Atoms:
    return ase.Atoms(numbers=atoms.numbers, positions=atoms.positions)


def write_pair(pair, directory):
    """Both members as two extxyz files and as one two-frame file (ase.io.write: 8 decimals)."""
    plus, minus = (clean(atoms) for atoms in pair.fitted(AUDIT_CUTOFF).members)
    paths = [directory / "plus.xyz", directory / "minus.xyz"]
    ase.io.write(paths[0], plus)
    ase.io.write(paths[1], minus)
    ase.io.write(directory / "pair.xyz", [plus, minus])
    return [str(p) for p in paths], [str(directory / "pair.xyz")]


def assert_files_give_the_memory_verdicts(name, directory):
    pair = structures.load(name)
    memory = {key: verdicts(d, [pair], name=key)[0].verdict for key, d in BUILTIN.items()}
    extra = ["--global"] if pair.claim.scope == "global" else []
    for paths in write_pair(pair, directory):
        record = audit_json(["--pair", *paths, *extra])
        from_files = {v["descriptor"]: v["verdict"] for v in record["verdicts"]}
        assert from_files == memory, (name, paths)
        assert {v["resolution"] for v in record["verdicts"]} == {1e-8}  # ase's 8 decimals


# a representative subset: 2-body, 3-body (PRL, rings), 4-body (B8), mirror images, global
@pytest.mark.parametrize(
    "name",
    [
        "two-body-random",
        "pozdnyakov2020-fig1b",
        "nigam2024-b8-0000",
        "enantiomers-chbrclf",
        "homometric-uv-1d",
    ],
)
def test_catalog_pairs_through_files_keep_their_verdicts(name, tmp_path):
    assert_files_give_the_memory_verdicts(name, tmp_path)


@pytest.mark.slow
def test_every_catalog_pair_through_files_keeps_every_verdict(tmp_path):
    for name in structures.names():
        assert_files_give_the_memory_verdicts(name, tmp_path)


# --------------------------------------------------------------------------------------------
# the pair as the descriptor sees it: spectators, sites of crystals, whole structures
# --------------------------------------------------------------------------------------------


def prl_pair():
    return structures.load("pozdnyakov2020-fig1b").fitted(AUDIT_CUTOFF)


@pytest.mark.parametrize("distance", [10.0, 100.0, 1000.0])
def test_a_far_spectator_changes_no_verdict(distance):
    pair = prl_pair()
    reference = structures.user_pair(*map(clean, pair.members), cutoff=AUDIT_CUTOFF)
    # one atom shared by both members, on the mirror plane x = 0 of the published structure
    spectator = ase.Atom("C", pair.plus.positions[0] + distance * np.array([0.0, 0.6, 0.8]))
    with_spectator = structures.user_pair(
        clean(pair.plus) + spectator, clean(pair.minus) + spectator, cutoff=AUDIT_CUTOFF
    )
    assert with_spectator.claim == reference.claim
    before = [v.verdict for v in verdicts(BUILTIN["bispectrum"], [reference])]
    for key, descriptor in BUILTIN.items():
        expected = [v.verdict for v in verdicts(descriptor, [reference])]
        after = [v.verdict for v in verdicts(descriptor, [with_spectator])]
        assert after == expected, (key, distance)
    assert before == ["resolved"]


def periodic_prl_pair(cell=9.5):
    """Two crystals, a cubic cell of ``cell`` Å holding the PRL members (fitted to 4 Å) wrapped
    into the cell and shuffled: site I of the first and site J of the second have the PRL
    environments, several neighbours of each reached only through periodic images. Every other
    image is at least ``cell - 4 > 5`` Å away, so the cutoff sphere holds exactly the PRL
    environment."""
    pair = prl_pair()
    crystals, centres = [], []
    rng = np.random.default_rng(7)
    for atoms in pair.members:
        crystal = clean(atoms)
        crystal.positions += 0.9 * cell - atoms.positions[0]  # centre near a corner
        crystal.cell = [cell, cell, cell]
        crystal.pbc = True
        crystal.wrap()
        order = rng.permutation(len(crystal))
        crystals.append(crystal[order])
        centres.append(int(np.flatnonzero(order == 0)[0]))
    return crystals, centres


def test_periodic_sites_are_judged_on_the_cutoff_sphere(tmp_path, capsys):
    crystals, centres = periodic_prl_pair()
    assert centres != [0, 0]
    # the claim, from the oracle on the cutoff spheres (periodic images included)
    spheres = [
        environment(atoms, centre=c, cutoff=AUDIT_CUTOFF)
        for atoms, c in zip(crystals, centres, strict=True)
    ]
    assert [s.n_neighbours for s in spheres] == [4, 4]  # the PRL neighbours, nothing more
    wrapped_away = np.linalg.norm(
        crystals[0].positions[spheres[0].neighbour_index] - crystals[0].positions[centres[0]],
        axis=1,
    )
    assert np.any(wrapped_away > AUDIT_CUTOFF)  # some neighbours come through images
    order = oracle.degeneracy_order(*spheres)
    assert (order.o3, order.so3) == (3, 3) and order.congruence.congruent is False
    paths = [tmp_path / "a.xyz", tmp_path / "b.xyz"]
    for path, atoms in zip(paths, crystals, strict=True):
        ase.io.write(path, atoms)
    arguments = ["audit", *SPECTRA, "--pair", *map(str, paths), "--centre", *map(str, centres)]
    assert main(arguments) == 0
    out = capsys.readouterr().out
    oracle_line = next(line for line in out.splitlines() if line.startswith("oracle:"))
    assert "coincide up to body order 3 (O(3)) and 3 (SO(3)" in oracle_line
    assert out.index("oracle:") < out.index("radial-spectrum: O(3)")
    for key, verdict in (("radial-spectrum", "degenerate"), ("power-spectrum", "degenerate")):
        assert f"{key}: O(3)" in out and f"measured {verdict}" in out
    assert "bispectrum: O(3) 4-body descriptor" in out
    bispectrum = next(line for line in out.splitlines() if line.startswith("bispectrum:"))
    assert "measured resolved" in bispectrum and "-> as expected" in bispectrum


def test_whole_structures_are_compared_as_feature_multisets(tmp_path, capsys):
    pair = structures.load("homometric-uv-2d").fitted(AUDIT_CUTOFF)
    path = tmp_path / "pair.xyz"
    ase.io.write(path, [clean(a) for a in pair.members])
    assert oracle.global_distances_equal(*pair.members)
    assert main(["audit", *SPECTRA, "--pair", str(path), "--global"]) == 0
    out = capsys.readouterr().out
    assert "oracle: not congruent; at resolution 1e-08 Å the multisets of interatomic" in out
    radial = next(line for line in out.splitlines() if line.startswith("radial-spectrum:"))
    expected = verdicts(BUILTIN["radial-spectrum"], [structures.load("homometric-uv-2d")])[0]
    assert f"measured {expected.verdict}" in radial


def test_smoothing_shell_atoms_are_named(tmp_path, capsys):
    atoms = ase.Atoms("CH2", positions=[[0, 0, 0], [1.1, 0, 0], [0, 0, AUDIT_CUTOFF - 0.05]])
    other = ase.Atoms("CH2", positions=[[0, 0, 0], [1.2, 0, 0], [0, 0, AUDIT_CUTOFF - 0.05]])
    paths = [tmp_path / "a.xyz", tmp_path / "b.xyz"]
    ase.io.write(paths[0], atoms)
    ase.io.write(paths[1], other)
    assert main(["audit", *SPECTRA, "--pair", *map(str, paths)]) == 0
    out = capsys.readouterr().out
    assert "atoms in the smoothing shell" in out and "2 (4.950 Å)" in out


# --------------------------------------------------------------------------------------------
# bad input: one line
# --------------------------------------------------------------------------------------------


def test_different_species_are_refused_unless_allowed(tmp_path, capsys):
    atoms = ase.Atoms("CH2", positions=[[0, 0, 0], [1.1, 0, 0], [0, 1.0, 0]])
    other = ase.Atoms("COH", positions=[[0, 0, 0], [1.1, 0, 0], [0, 1.0, 0]])
    paths = [tmp_path / "a.xyz", tmp_path / "b.xyz"]
    ase.io.write(paths[0], atoms)
    ase.io.write(paths[1], other)
    assert main(["audit", *SPECTRA, "--pair", *map(str, paths)]) == 2
    err = capsys.readouterr().err
    assert "different species" in err and "--allow-composition-change" in err
    assert len(err.strip().splitlines()) == 1
    arguments = ["audit", *SPECTRA, "--pair", *map(str, paths), "--allow-composition-change"]
    assert main(arguments) == 0
    assert "measured resolved" in capsys.readouterr().out


def test_pair_options_need_a_pair_and_a_file_needs_two_frames(tmp_path, capsys):
    assert main(["audit", *SPECTRA, "--centre", "1"]) == 2
    assert "--centre applies to a user pair" in capsys.readouterr().err
    path = tmp_path / "one.xyz"
    ase.io.write(path, ase.Atoms("CH", positions=[[0, 0, 0], [1, 0, 0]]))
    assert main(["audit", *SPECTRA, "--pair", str(path)]) == 2
    assert "holds 1 frames" in capsys.readouterr().err
    assert main(["audit", *SPECTRA, "--pair", str(path), str(path), "--centre", "5"]) == 2
    assert "centre 5 is not an atom of the first structure" in capsys.readouterr().err


def test_periodic_site_needs_a_cutoff():
    crystals, centres = periodic_prl_pair()
    with pytest.raises(InputError, match="periodic: its environments need a cutoff"):
        structures.user_pair(*crystals, centres=centres)
    with pytest.raises(InputError, match="whole-structure"):
        structures.user_pair(*crystals, scope="global", cutoff=5.0)


# --------------------------------------------------------------------------------------------
# resolution: read from the written digits, stated once, shared by the oracle and the floor
# --------------------------------------------------------------------------------------------


def test_resolution_is_read_from_the_written_digits(tmp_path):
    pair = prl_pair()
    plus, minus = (clean(a) for a in pair.members)
    fixed = tmp_path / "fixed.xyz"
    ase.io.write(fixed, [plus, minus])  # "%16.8f"
    assert structures.read_pair([fixed])[2] == 1e-8
    full = tmp_path / "full.xyz"
    lines = []
    for atoms in (plus, minus):
        lines += [str(len(atoms)), 'Properties=species:S:1:pos:R:3 pbc="F F F"']
        lines += [
            f"{s} " + " ".join(repr(float(x)) for x in p)
            for s, p in zip(atoms.get_chemical_symbols(), atoms.positions, strict=True)
        ]
    full.write_text("\n".join(lines) + "\n")
    first, second, resolution = structures.read_pair([full])
    np.testing.assert_array_equal(first.positions, plus.positions)  # repr round-trips
    assert resolution == oracle.float64_resolution(first, second)
    assert resolution < 1e-14


def test_differences_below_the_resolution_are_not_findings(tmp_path):
    """Moving one neighbour by 3e-9 Å (below ase's 1e-8 Å) is no finding; 1e-3 Å is."""
    base = prl_pair().plus
    for step, expected in ((3e-9, "degenerate"), (1e-3, "resolved")):
        moved = clean(base)
        moved.positions[2] += step * np.array([0.6, 0.0, 0.8])
        path = tmp_path / "pair.xyz"
        ase.io.write(path, [clean(base), moved])
        record = audit_json([*SPECTRA, "--pair", str(path)])
        assert {v["verdict"] for v in record["verdicts"]} == {expected}, record["oracle"]
        assert not [v for v in record["verdicts"] if v["status"] == "contradiction"]


def test_resolution_override_changes_the_scale_of_the_question(tmp_path):
    base = prl_pair().plus
    moved = clean(base)
    moved.positions[2] += 1e-6 * np.array([0.6, 0.0, 0.8])
    path = tmp_path / "pair.xyz"
    ase.io.write(path, [clean(base), moved])
    # at the file's 1e-8 Å a 1e-6 Å move is 100 resolutions; at 1e-4 Å it is below resolution
    fine = audit_json([*SPECTRA, "--pair", str(path)])
    coarse = audit_json([*SPECTRA, "--pair", str(path), "--resolution", "1e-4"])
    assert "degenerate" not in {v["verdict"] for v in fine["verdicts"]}
    assert {v["verdict"] for v in coarse["verdicts"]} == {"degenerate"}
    assert "congruent" in coarse["oracle"]


def _tangential_pairs(n_pairs, seed, resolution):
    """Random environments against a copy with one neighbour moved tangentially (its distance
    to the centre changes only by ~step^2 / 2r) or in a random direction, by 10**U(-10, -2) Å."""
    rng = np.random.default_rng(seed)
    pairs = []
    for k in range(n_pairs):
        n = int(rng.integers(3, 7))
        while True:
            vectors = rng.normal(size=(n, 3))
            vectors *= (rng.uniform(1.0, 3.5, n) / np.linalg.norm(vectors, axis=1))[:, None]
            gaps = np.linalg.norm(vectors[:, None] - vectors[None], axis=-1)
            if gaps[np.triu_indices(n, 1)].min() > 0.8:
                break
        atoms = ase.Atoms(
            numbers=[6, *rng.choice([1, 8], n)], positions=np.vstack([np.zeros(3), vectors])
        )
        moved = atoms.copy()
        direction = rng.normal(size=3)
        if k % 2 == 0:  # tangential
            direction -= direction @ vectors[0] * vectors[0] / (vectors[0] @ vectors[0])
        moved.positions[1] += 10 ** rng.uniform(-10, -2) * direction / np.linalg.norm(direction)
        pairs.append(structures.user_pair(atoms, moved, resolution=resolution, max_body_order=3))
    return pairs


@pytest.mark.parametrize("resolution", [None, 1e-8])
def test_near_misses_never_contradict_the_oracle_at_their_resolution(resolution):
    pairs = _tangential_pairs(60, seed=11, resolution=resolution)
    for key in ("radial-spectrum", "power-spectrum"):
        results = verdicts(BUILTIN[key], pairs, n_transforms=2)
        assert not [r for r in results if r.status in ("contradiction", "error")], [
            r.reading for r in results if r.status == "contradiction"
        ][:3]

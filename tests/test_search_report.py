"""What search prints and exports: named hits, centre elements, the outlier rule, extxyz and
chemiscope files."""

from __future__ import annotations

import gzip
import json

import ase
import ase.io
import numpy as np
import pytest
from ase.build import bulk
from ase.collections import g2

from completeness import structures
from completeness.analysis import search_report
from completeness.analysis.search import search
from completeness.cli import main
from completeness.descriptors import PowerSpectrum, RadialSpectrum

RADIAL = RadialSpectrum(cutoff=5.0, n_radial=6, density_width=0.5)


def molecules() -> list[ase.Atoms]:
    """Twenty molecules of ase's G2 collection made of H, C, N, O, named by their formula."""
    frames = []
    for name in g2.names:
        atoms = g2[name]
        if set(atoms.get_chemical_symbols()) <= {"H", "C", "N", "O"} and len(atoms) > 1:
            atoms.info["name"] = name
            frames.append(atoms)
    return frames[:20]


@pytest.fixture(scope="module")
def with_pair():
    """The molecules plus a 2-body-degenerate pair: the radial spectrum's false negative."""
    pair = structures.load("joshi2023-two-body").scaled(4.0)
    plus, minus = pair.plus.copy(), pair.minus.copy()
    plus.info = {"name": "joshi-plus"}
    minus.info = {}  # no name: shown as file:frame
    systems = [*molecules(), plus, minus]
    return systems, search(systems, RADIAL, k=3, progress=False)


def test_structure_names_use_info_name_else_file_and_frame():
    named = ase.Atoms("H", info={"name": "water-1"})
    assert search_report.structure_names([named, ase.Atoms("H")], "data/set.xyz") == [
        "water-1",
        "set.xyz:1",
    ]
    assert search_report.structure_names([ase.Atoms("H")]) == ["frame 0"]


def test_a_degenerate_pair_stands_out_and_is_named(with_pair):
    systems, result = with_pair
    records = search_report.hits(result, systems, "data.xyz", n=5)
    top = records[0]
    assert {top["first"], top["second"]} == {"joshi-plus", "data.xyz:21"}
    assert top["first_element"] == top["second_element"] == systems[20].get_chemical_symbols()[0]
    assert top["stands_out"] and search_report.stands_out(records)
    assert not all(r["stands_out"] for r in records)  # the rule is not "everything"
    text = search_report.hits_text(result, systems, "data.xyz", n=5)
    assert "stand out (!)" in text and "joshi-plus:0" in text and "nothing stands out" not in text


def test_typical_data_says_nothing_stands_out():
    # rattled copies of one crystal: every close pair in feature space is close structurally
    rng = np.random.default_rng(0)
    systems = []
    for _ in range(4):
        atoms = bulk("Si", "diamond", a=5.43, cubic=True)
        atoms.positions += rng.normal(scale=0.05, size=atoms.positions.shape)
        systems.append(atoms)
    descriptor = PowerSpectrum(cutoff=4.0, n_radial=4, max_angular=4, density_width=0.5)
    result = search(systems, descriptor, cutoff=4.0, k=5, progress=False)
    records = search_report.hits(result, systems, n=5)
    assert records and not search_report.stands_out(records)
    assert "nothing stands out" in search_report.hits_text(result, systems, n=5)


def test_hits_are_written_as_centred_environments(with_pair, tmp_path):
    systems, result = with_pair
    records = search_report.hits(result, systems, n=2)
    out = tmp_path / "hits.extxyz"
    search_report.write_hits(out, result, systems, records)
    frames = ase.io.read(out, index=":")
    assert [f.info["member"] for f in frames] == ["first", "second", "first", "second"]
    first = frames[0]
    np.testing.assert_allclose(first.positions[0], 0.0)  # centre at the origin
    source = systems[records[0]["first_structure"]]
    centre = records[0]["first_centre"]
    distances = np.sort(np.linalg.norm(first.positions[1:], axis=1))
    expected = np.sort(
        [d for d in source.get_distances(centre, range(len(source))) if 0 < d <= RADIAL.cutoff]
    )
    np.testing.assert_allclose(distances, expected, atol=1e-9)


def test_cli_search_writes_names_hits_and_chemiscope(with_pair, tmp_path, capsys):
    pytest.importorskip("chemiscope")
    systems, _ = with_pair
    data = tmp_path / "data.extxyz"
    ase.io.write(data, systems)
    out, hits, dataset = (tmp_path / n for n in ("r.json", "hits.extxyz", "hits.json.gz"))
    status = main(
        ["search", str(data), "--descriptor", "radial-spectrum", "--k", "3", "--top", "3",
         "--json", str(out), "--hits", str(hits), "--chemiscope", str(dataset)]
    )  # fmt: skip
    assert status == 0
    printed = capsys.readouterr().out
    assert "joshi-plus:0" in printed and "data.extxyz:21:0" in printed
    record = json.loads(out.read_text())
    assert record["stands_out"] is True
    assert record["false_negatives"][0]["first"] in ("joshi-plus", "data.extxyz:21")
    assert len(ase.io.read(hits, index=":")) == 6
    chemiscope = json.loads(gzip.decompress(dataset.read_bytes()))
    assert len(chemiscope["structures"]) == 6
    assert chemiscope["properties"]["stands out"]["values"][:2] == ["yes", "yes"]


def test_audit_chemiscope_dataset(tmp_path):
    pytest.importorskip("chemiscope")
    out = tmp_path / "audit.json"
    status = main(
        ["audit", "--descriptor", "radial-spectrum", "--no-timings", "--quiet",
         "--chemiscope", str(out)]
    )  # fmt: skip
    assert status == 0
    data = json.loads(out.read_text())
    n_pairs = len(structures.names())
    assert len(data["structures"]) == 2 * n_pairs
    properties = data["properties"]
    assert properties["pair"]["values"][:2] == [structures.names()[0]] * 2
    assert properties["member"]["values"][:2] == ["X+", "X-"]
    verdicts = properties["radial-spectrum: verdict"]["values"]
    assert set(verdicts) <= {"degenerate", "resolved", "inconclusive", "error"}
    assert verdicts[0] == verdicts[1]  # one verdict per pair, on both members
    assert len(properties["radial-spectrum: PC1"]["values"]) == 2 * n_pairs

"""The catalog writer and ``completeness catalog``: reproducibility, round trip, atomicity."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import ase.io
import numpy as np
import pytest

from completeness import structures
from completeness.cli import main
from completeness.environments import InputError
from completeness.structures import catalog

COMMITTED = Path(__file__).resolve().parents[1] / "structures"


def _tree(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("catalog") / "structures"
    assert main(["catalog", "--out", str(out)]) == 0
    return out


def test_catalog_command_reproduces_the_committed_catalog_byte_for_byte(written):
    committed = _tree(COMMITTED)
    fresh = _tree(written)
    assert sorted(fresh) == sorted(committed)
    different = [name for name in fresh if fresh[name] != committed[name]]
    assert different == [], f"regenerate with `completeness catalog`: {different} changed"


def test_running_twice_gives_identical_files(written, tmp_path):
    out = tmp_path / "again"
    catalog.write_catalog(out)
    catalog.write_catalog(out)  # replaces an existing catalog
    assert _tree(out) == _tree(written)
    assert [p.name for p in tmp_path.iterdir()] == ["again"]  # no staging leftovers


def test_every_registered_pair_is_in_the_index(written):
    index = json.loads((written / "index.json").read_text())
    assert [entry["name"] for entry in index["pairs"]] == structures.names()
    text = (written / "index.json").read_text()
    assert text == json.dumps(index, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    for entry in index["pairs"]:
        assert (written / entry["file"]).exists()
        assert entry["dois"], f"{entry['name']} has no DOI in its reference"


def test_readme_table_lists_every_pair_with_a_doi(written):
    readme = (written / "README.md").read_text()
    assert "| name | class | atoms | claim | source |" in readme
    for name in structures.names():
        row = next(line for line in readme.splitlines() if line.startswith(f"| `{name}` |"))
        assert "https://doi.org/10." in row


def test_extxyz_round_trip_keeps_info_and_positions(written):
    for name in structures.names():
        frames = ase.io.read(written / f"{name}.extxyz", index=":")
        assert len(frames) == 2
        pair = structures.load(name)
        for atoms, reference, member in zip(frames, pair.members, "+-", strict=True):
            assert atoms.info["member"] == member
            assert atoms.info["pair"] == name
            assert atoms.info["family"] == pair.family
            assert atoms.info["claim_scope"] == pair.claim.scope
            assert atoms.info["claim_equal_up_to_o3"] == pair.claim.equal_up_to_o3
            assert atoms.info["claim_equal_up_to_so3"] == pair.claim.equal_up_to_so3
            assert atoms.info["claim_statement"] == pair.claim.statement
            assert json.loads(atoms.info["params"]) == pair.params
            assert atoms.info["reference"] == pair.reference
            assert atoms.get_chemical_symbols() == reference.get_chemical_symbols()
            np.testing.assert_allclose(atoms.positions, reference.positions, atol=1e-8)


def test_pairs_read_back_from_files_still_verify(written):
    for name in ["pozdnyakov2020-fig1b", "nigam2024-b8-0001", "enantiomers-random", "bloom-1d"]:
        plus, minus = ase.io.read(written / f"{name}.extxyz", index=":")
        pair = structures.load(name)
        from_file = structures.DegeneratePair(
            name, plus, minus, pair.claim, pair.params, pair.reference, pair.family
        )
        structures.verify(from_file)


def test_a_failing_pair_leaves_no_output(tmp_path, monkeypatch):
    out = tmp_path / "structures"
    real_verify = catalog.verify

    def failing(pair):
        if pair.name == "bloom-1d":
            raise structures.ClaimError("bloom-1d: simulated failure")
        return real_verify(pair)

    monkeypatch.setattr(catalog, "verify", failing)
    with pytest.raises(structures.ClaimError):
        catalog.write_catalog(out)
    assert list(tmp_path.iterdir()) == []


def test_a_failing_write_keeps_the_previous_catalog(tmp_path, monkeypatch):
    out = tmp_path / "structures"
    catalog.write_catalog(out, pair_names=["joshi2023-two-body"])
    before = _tree(out)

    def broken(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(catalog.ase.io, "write", broken)
    with pytest.raises(OSError, match="disk full"):
        catalog.write_catalog(out, pair_names=["joshi2023-two-body", "bloom-1d"])
    assert _tree(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["structures"]


def test_refuses_to_replace_a_directory_with_other_files(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(InputError, match="not part of a catalog"):
        catalog.write_catalog(out)
    assert main(["catalog", "--out", str(out)]) == 2
    assert "not part of a catalog" in capsys.readouterr().err
    assert (out / "notes.txt").read_text() == "keep me"


SMALL = ["joshi2023-two-body"]


def _dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_out_dot_writes_into_the_working_directory(tmp_path, monkeypatch):
    here = tmp_path / "catalog"
    here.mkdir()
    monkeypatch.chdir(here)
    assert main(["catalog", "--out", "."]) == 0
    first = _tree(here)
    assert "index.json" in first and len(first) == len(structures.names()) + 2
    catalog.write_catalog(".", pair_names=SMALL)  # a smaller catalog replaces it in place
    assert sorted(_tree(here)) == sorted(["index.json", "README.md", f"{SMALL[0]}.extxyz"])
    assert [p.name for p in tmp_path.iterdir()] == ["catalog"]  # no staging left beside it


def test_stale_staging_of_killed_runs_is_removed_and_a_stranded_catalog_restored(tmp_path):
    out = tmp_path / "structures"
    catalog.write_catalog(out, pair_names=SMALL)
    before = _tree(out)
    dead = _dead_pid()
    staging = tmp_path / f".structures-staging-{dead}-abc"
    staging.mkdir()
    (staging / "index.json").write_text("{}")
    # killed between the two renames of the fallback: the catalog sits in the retired directory
    retired = tmp_path / f".structures-old-{dead}-def"
    retired.mkdir()
    os.rename(out, retired / "structures")
    mine = tmp_path / f".structures-staging-{os.getpid()}-ghi"  # a live writer's: kept
    mine.mkdir()
    catalog._clean_stale(out)
    assert _tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [mine.name, "structures"]
    catalog.write_catalog(out, pair_names=SMALL)
    assert _tree(out) == before


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_replacing_a_catalog_never_leaves_the_target_missing(tmp_path, monkeypatch, exchange):
    out = tmp_path / "structures"
    catalog.write_catalog(out, pair_names=SMALL)
    seen = []
    real_rename = os.rename

    def watching(source, destination):
        real_rename(source, destination)
        seen.append(out.is_dir())

    if not exchange:
        monkeypatch.setattr(catalog, "_exchange", lambda a, b: False)
    else:
        real_exchange = catalog._exchange

        def watched(a, b):
            done = real_exchange(a, b)
            seen.append(out.is_dir())
            return done

        monkeypatch.setattr(catalog, "_exchange", watched)
    monkeypatch.setattr(catalog.os, "rename", watching)
    catalog.write_catalog(out, pair_names=[*SMALL, "bloom-1d"])
    assert "bloom-1d.extxyz" in _tree(out)
    assert [p.name for p in tmp_path.iterdir()] == ["structures"]
    if exchange:
        assert seen == [True]  # one atomic exchange, the target present before and after
    else:
        assert seen == [False, True]  # the documented window, repaired by the next run


def test_two_concurrent_writers_leave_one_complete_catalog(tmp_path):
    out = tmp_path / "structures"
    errors = []

    def write(names):
        try:
            catalog.write_catalog(out, pair_names=names)
        except Exception as error:  # collected and asserted below
            errors.append(error)

    threads = [
        threading.Thread(target=write, args=(names,))
        for names in (SMALL, [*SMALL, "bloom-1d"], SMALL, [*SMALL, "bloom-1d"])
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    files = _tree(out)
    index = json.loads(files["index.json"])
    assert sorted(files) == sorted(
        ["index.json", "README.md", *(e["file"] for e in index["pairs"])]
    )
    assert [p.name for p in tmp_path.iterdir()] == ["structures"]

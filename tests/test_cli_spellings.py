"""Every sub-command that takes a descriptor accepts every spelling of ``--descriptor``
(built-in key, class name, library:Name, module:attr) and writes its JSON with ``--json``."""

from __future__ import annotations

import json

import ase.io
import pytest

from completeness import structures
from completeness.cli import main

SPELLINGS = [
    "radial-spectrum",  # built-in key
    "RadialSpectrum",  # class name (its own defaults)
    "featomic:SoapRadialSpectrum",  # a wrapped library
    "spelling_descriptor:DESCRIPTOR",  # module:attr (written by the fixture)
]

MODULE = """
from completeness.descriptors.spectra import RadialSpectrum

DESCRIPTOR = RadialSpectrum(cutoff=5.0, n_radial=4)
"""


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    pytest.importorskip("featomic")  # a peer library (extra), not the package itself
    root = tmp_path_factory.mktemp("spellings")
    (root / "spelling_descriptor.py").write_text(MODULE)
    pair = structures.load("joshi2023-two-body")
    ase.io.write(root / "a.xyz", pair.plus)
    ase.io.write(root / "b.xyz", pair.minus)
    prl = structures.load("prl-family")
    ase.io.write(root / "prl.xyz", prl.plus)
    ase.io.write(root / "data.xyz", [pair.plus, pair.minus, prl.plus, prl.minus])
    config = {
        "descriptor": "PowerSpectrum",  # overridden by --descriptor
        "pairs": ["joshi2023-two-body"],
        "backend": "serial",
        "grid": {"cutoff": [4.5]},
        "output": {"table": "scan.csv"},
    }
    (root / "scan.json").write_text(json.dumps(config))
    return root


def _commands(root):
    return {
        "audit": ["audit", "--pair", f"{root}/a.xyz", f"{root}/b.xyz", "--no-timings"],
        "learn": ["learn", "--family", "prl", "--n-pairs", "10", "--seeds", "0"],
        "sensitivity": [
            "sensitivity",
            "--structure",
            f"{root}/prl.xyz",
            "--path",
            "radial",
            "--n-t",
            "3",
            "--t-min",
            "1e-3",
            "--t-max",
            "1e-2",
        ],
        "scan": ["scan", f"{root}/scan.json"],
        "search": ["search", f"{root}/data.xyz", "--k", "2", "--components", "0"],
        "discover": ["discover", "--neighbours", "3", "--restarts", "1", "--max-iterations", "3"],
    }


@pytest.mark.parametrize("spelling", SPELLINGS)
@pytest.mark.parametrize("command", list(_commands("")))
def test_every_command_accepts_every_spelling(files, command, spelling, monkeypatch, capsys):
    monkeypatch.chdir(files)  # module:attr is found in the current directory
    out = files / f"{command}-{spelling.replace(':', '_')}.json"
    argv = [*_commands(files)[command], "--descriptor", spelling, "--quiet", "--json", str(out)]
    assert main(argv) == 0, capsys.readouterr().err
    data = json.loads(out.read_text())
    assert data, f"{command} wrote an empty result for {spelling}"


@pytest.mark.parametrize("command", ["learn", "sensitivity", "search", "discover"])
def test_a_hyperparameter_the_descriptor_does_not_take_is_an_error(files, command, capsys):
    argv = [*_commands(files)[command], "--descriptor", "acsf-g2", "--n-radial", "3"]
    assert main(argv) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "has no hyperparameter(s) ['n_radial']" in line


def test_an_unknown_spelling_is_one_line_naming_every_kind(capsys):
    assert main(["sensitivity", "--descriptor", "nope", "--structure", "x.xyz"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "built-in key" in line and "class name" in line and "module:attr" in line

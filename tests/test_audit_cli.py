"""`completeness audit` end to end: user pairs from files, user descriptors as module:attr,
outputs (JSON, Markdown, PNG), determinism, and bad input (one line, nothing half-written)."""

import json
import os
import subprocess
import sys
import textwrap

import ase
import ase.io
import numpy as np
import pytest

from completeness import oracle, structures
from completeness.cli import main

FAST = ["--descriptor", "radial-spectrum", "--descriptor", "power-spectrum"]


@pytest.fixture
def pair_files(tmp_path):
    pair = structures.load("joshi2023-two-body").fitted(5.0)  # the audit's scale
    paths = []
    for label, atoms in (("a", pair.plus), ("b", pair.minus)):
        path = tmp_path / f"{label}.xyz"
        clean = ase.Atoms(numbers=atoms.numbers, positions=atoms.positions)
        ase.io.write(path, clean, format="extxyz")
        paths.append(str(path))
    return pair, paths


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """A user's module next to their data: a callable and an object with compute()."""
    name = f"user_descriptors_{os.getpid()}_{abs(hash(str(tmp_path))) % 10**8}"
    (tmp_path / f"{name}.py").write_text(
        textwrap.dedent(
            """
            import numpy as np

            def sorted_distances(positions, numbers):
                d = np.sort(np.linalg.norm(positions[1:] - positions[0], axis=1))
                out = np.zeros(6)
                out[: min(6, len(d))] = d[:6]
                return out

            sorted_distances.body_order = 2
            sorted_distances.parity = "O(3)"

            def wrong_shape(positions, numbers):
                return np.ones((2, 2))

            class Angles:
                body_order = 3
                parity = "O(3)"

                def compute(self, systems, centers=None, gradients=False):
                    rows = []
                    for atoms in systems:
                        for c in centers:
                            v = np.delete(atoms.positions - atoms.positions[c], c, axis=0)
                            u = v / np.linalg.norm(v, axis=1)[:, None]
                            cos = np.sort((u @ u.T)[np.triu_indices(len(v), 1)])
                            row = np.zeros(10)
                            row[: min(10, cos.size)] = cos[:10]
                            rows.append(row)
                    return np.array(rows)
            """
        )
    )
    monkeypatch.chdir(tmp_path)
    return name


def run(argv, capsys):
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_user_pair_from_extxyz_files(pair_files, capsys, tmp_path):
    pair, paths = pair_files
    out_json = tmp_path / "out.json"
    status, out, err = run(["audit", *FAST, "--pair", *paths, "--json", str(out_json)], capsys)
    assert status == 0, err
    order = oracle.degeneracy_order(pair.plus, pair.minus)
    assert order.congruence.congruent is False
    assert "not congruent" in out and f"up to body order {order.o3} (O(3))" in out
    record = json.loads(out_json.read_text())
    by_name = {v["descriptor"]: v for v in record["verdicts"]}
    # the oracle's claim decides: coincide at 2-body -> the radial spectrum cannot separate
    assert by_name["radial-spectrum"]["verdict"] == "degenerate"
    assert by_name["power-spectrum"]["verdict"] == "resolved"
    assert by_name["power-spectrum"]["expected"] == "resolvable"
    for key in ("descriptor", "body_order", "parity", "pair", "distance", "noise_floor"):
        assert key in by_name["radial-spectrum"]
    assert record["oracle"].startswith("not congruent")


def test_user_descriptor_as_module_attr(pair_files, user_module, capsys, tmp_path):
    _, paths = pair_files
    argv = ["audit", "--descriptor", f"{user_module}:sorted_distances"]
    argv += ["--descriptor", f"{user_module}:Angles", "--pair", *paths, "--json"]
    status, out, err = run(argv, capsys)
    assert status == 0, err
    record = json.loads(out)
    verdict = {v["descriptor"].split(":")[1]: v["verdict"] for v in record["verdicts"]}
    assert verdict == {"sorted_distances": "degenerate", "Angles": "resolved"}


def test_user_descriptor_on_the_catalog_gets_a_card(user_module, capsys):
    status, out, err = run(
        ["audit", "--descriptor", f"{user_module}:sorted_distances", "--no-timings"], capsys
    )
    assert status == 0, err
    assert "Report cards" in out and "no analytic gradients" in out
    assert "joshi2023-two-body" in out


def test_outputs_json_markdown_figure_and_determinism(capsys, tmp_path):
    paths = {k: tmp_path / f"run{k}.json" for k in (1, 2)}
    for k in (1, 2):
        status, _, err = run(
            ["audit", *FAST, "--no-timings", "--quiet", "--json", str(paths[k])], capsys
        )
        assert status == 0, err
    assert paths[1].read_bytes() == paths[2].read_bytes()
    record = json.loads(paths[1].read_text())
    assert "timings" not in record
    assert len(record["verdicts"]) == 2 * len(structures.names())

    markdown, figure = tmp_path / "audit.md", tmp_path / "audit.png"
    status, out, _ = run(
        ["audit", *FAST, "--markdown", str(markdown), "--figure", str(figure)], capsys
    )
    assert status == 0
    assert markdown.read_text().startswith("# completeness audit")
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Report cards" in out and "efficiency:" in out
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".completeness-")]


def test_quiet_prints_nothing(capsys):
    status, out, err = run(["audit", "--descriptor", "acsf-g2", "--quiet", "--no-timings"], capsys)
    assert status == 0 and out == "" and err == ""


def test_subprocess_run(pair_files, tmp_path):
    _, paths = pair_files
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "completeness.cli",
            "audit",
            "--descriptor",
            "acsf-g2-g4",
            "--pair",
            *paths,
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    (record,) = json.loads(result.stdout)["verdicts"]
    assert record["verdict"] == "resolved" and record["body_order"] == 3


# --------------------------------------------------------------------------------------------
# bad input: exit status 2, one line on stderr, nothing written
# --------------------------------------------------------------------------------------------


def bad(argv, capsys, tmp_path, match):
    out_json = tmp_path / "never.json"
    status, _, err = run([*argv, "--json", str(out_json)], capsys)
    assert status == 2
    assert err.count("\n") == 1 and match in err, err
    assert not out_json.exists()
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".completeness-")]


def test_missing_file(pair_files, capsys, tmp_path):
    _, paths = pair_files
    bad(
        ["audit", *FAST, "--pair", paths[0], str(tmp_path / "nope.xyz")],
        capsys,
        tmp_path,
        "does not exist",
    )


def test_unreadable_file(pair_files, capsys, tmp_path):
    _, paths = pair_files
    garbage = tmp_path / "garbage.xyz"
    garbage.write_text("this is not\nan xyz file\n")
    bad(["audit", *FAST, "--pair", paths[0], str(garbage)], capsys, tmp_path, "cannot read")


def test_different_numbers_of_atoms(pair_files, capsys, tmp_path):
    _, paths = pair_files
    bigger = tmp_path / "bigger.xyz"
    atoms = ase.io.read(paths[0])
    atoms += ase.Atom("H", (0.0, 2.0, 0.0))
    ase.io.write(bigger, atoms, format="extxyz")
    bad(
        ["audit", *FAST, "--pair", paths[0], str(bigger)],
        capsys,
        tmp_path,
        "different numbers of atoms 3 and 4",
    )


def test_no_atoms(pair_files, capsys, tmp_path):
    _, paths = pair_files
    empty = tmp_path / "empty.xyz"
    empty.write_text("0\n\n")
    bad(["audit", *FAST, "--pair", paths[0], str(empty)], capsys, tmp_path, "no atoms")


def test_callable_with_wrong_shape(user_module, capsys, tmp_path):
    bad(["audit", "--descriptor", f"{user_module}:wrong_shape"], capsys, tmp_path, "shape (2, 2)")


def test_module_attr_not_found(user_module, capsys, tmp_path):
    bad(["audit", "--descriptor", f"{user_module}:missing"], capsys, tmp_path, "no attribute")
    bad(
        ["audit", "--descriptor", "no_such_module_xyz:thing"],
        capsys,
        tmp_path,
        "cannot import module",
    )
    bad(["audit", "--descriptor", "NoSuchDescriptor"], capsys, tmp_path, "unknown descriptor")


def test_unwritable_output_directory(capsys, tmp_path):
    status, _, err = run(
        [
            "audit",
            "--descriptor",
            "acsf-g2",
            "--no-timings",
            "--json",
            str(tmp_path / "missing-dir" / "out.json"),
        ],
        capsys,
    )
    assert status == 2 and "does not exist" in err


@pytest.mark.slow
def test_full_default_audit_is_deterministic(tmp_path, capsys):
    outputs = []
    for k in range(2):
        path = tmp_path / f"full{k}.json"
        assert main(["audit", "--no-timings", "--quiet", "--json", str(path)]) == 0
        outputs.append(path.read_bytes())
    assert outputs[0] == outputs[1]
    record = json.loads(outputs[0])
    assert not [v for v in record["verdicts"] if v["status"] in ("contradiction", "error")]
    np.testing.assert_equal(len(record["cards"]), len(record["descriptors"]))


def test_congruent_user_pair_is_called_congruent(tmp_path, capsys):
    rng = np.random.default_rng(3)
    atoms = ase.Atoms("CH4", positions=np.vstack([np.zeros(3), rng.normal(size=(4, 3))]))
    turned = atoms.copy()
    turned.rotate(40, "z", center=(0, 0, 0))
    turned = turned[[0, 3, 1, 4, 2]]
    paths = [tmp_path / "a.xyz", tmp_path / "b.xyz"]
    ase.io.write(paths[0], atoms, format="extxyz")
    ase.io.write(paths[1], turned, format="extxyz")
    status, out, err = run(["audit", *FAST, "--pair", *map(str, paths)], capsys)
    assert status == 0, err
    assert "oracle: congruent (by a rotation" in out
    assert "measured degenerate" in out and "measured resolved" not in out


def test_periodic_whole_structure_pair_is_refused(pair_files, capsys, tmp_path):
    _, paths = pair_files
    periodic = ase.io.read(paths[1])
    periodic.cell = [10.0, 10.0, 10.0]
    periodic.pbc = True
    path = tmp_path / "periodic.xyz"
    ase.io.write(path, periodic, format="extxyz")
    bad(["audit", *FAST, "--pair", paths[0], str(path), "--global"], capsys, tmp_path, "periodic")


def test_descriptor_that_raises_gets_a_one_line_error(tmp_path, monkeypatch, capsys):
    (tmp_path / "raising_descriptor.py").write_text(
        "def broken(positions, numbers):\n    raise ZeroDivisionError('oops\\nmore')\n"
    )
    monkeypatch.chdir(tmp_path)
    bad(
        ["audit", "--descriptor", "raising_descriptor:broken"],
        capsys,
        tmp_path,
        "raised ZeroDivisionError: oops",
    )

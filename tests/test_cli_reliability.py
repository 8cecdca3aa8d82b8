"""Every bad input of a hostile user: exit 2 (or a clean stop), one line, and no file left.

Each case runs ``completeness`` in this process against a fresh directory and checks the exit
status, that stderr is one line naming the problem, and that the directory holds afterwards
exactly what it held before (nothing written half-way, no temporary files)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import ase
import ase.io
import numpy as np
import pytest

from completeness.cli import _common, build_parser, main


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A directory with a structure, a tiny-cell structure and a study config; the user's
    descriptors are those of ``tests/fenced_descriptors.py`` (importable here, like any module on
    the path)."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    positions = np.vstack([[0, 0, 0], rng.normal(size=(5, 3))])
    positions[1:] *= 1.6 / np.linalg.norm(positions[1:], axis=1)[:, None]
    ase.io.write("ch5.xyz", ase.Atoms("CH5", positions=positions))
    tiny = ase.Atoms("H2", positions=[[0, 0, 0], [0.002, 0.003, 0.004]], cell=np.eye(3) * 0.01)
    tiny.pbc = True
    ase.io.write("tiny.extxyz", tiny)
    flat = ase.Atoms("H4", positions=rng.uniform(0, 3, (4, 3)), cell=np.diag([4, 4, 1e-5]))
    flat.pbc = True
    ase.io.write("flat.extxyz", flat)
    Path("z.extxyz").write_text(
        '2\nProperties=species:S:1:pos:R:3:Z:I:1 pbc="F F F"\nH 0 0 0 {}\nH 1 0 0 1\n'
    )
    Path("symbol.xyz").write_text("2\n\nXx 0 0 0\nH 1 0 0\n")
    Path("study.toml").write_text(
        'descriptor = "PowerSpectrum"\npairs = ["joshi2023-two-body"]\n'
        "[fixed]\ncutoff = 5.0\ndensity_width = 0.5\n[grid]\nn_radial = [2]\nmax_angular = [1]\n"
    )
    Path("adir").mkdir()
    return tmp_path, "fenced_descriptors"


def run(argv, capsys, workdir):
    directory, _ = workdir
    before = sorted(p.name for p in directory.iterdir())
    code = main(argv)
    captured = capsys.readouterr()
    after = sorted(p.name for p in directory.iterdir())
    return code, captured.out, captured.err, sorted(set(after) - set(before))


CASES = {
    # output paths: checked before any work, nothing written when one of them is bad
    "audit --json .": (["audit", "--json", "."], r"--json \.: is a directory"),
    "audit --figure /proc/f.png": (
        ["audit", "--figure", "/proc/f.png"],
        r"--figure /proc/f\.png: cannot create files in '/proc'",
    ),
    "audit --json ok.json --figure /proc/f.png": (
        ["audit", "--json", "ok.json", "--figure", "/proc/f.png"],
        "--figure /proc/f.png: cannot create files",
    ),
    "audit --json missing/x.json": (
        ["audit", "--json", "missing/x.json"],
        "directory .* does not exist",
    ),
    "sensitivity --modes m.xyz --json /proc/x.json": (
        [
            "sensitivity",
            "--descriptor",
            "power-spectrum",
            "--structure",
            "ch5.xyz",
            "--modes",
            "m.xyz",
            "--json",
            "/proc/x.json",
        ],
        "--json /proc/x.json: cannot create files",
    ),
    "scan --table t.csv --figure /proc/f.png": (
        ["scan", "study.toml", "--table", "t.csv", "--figure", "/proc/f.png"],
        "figure /proc/f.png: cannot create files",
    ),
    "search --json .": (["search", "ch5.xyz", "--json", "."], r"--json \.: is a directory"),
    "learn --json .": (["learn", "--json", "."], r"--json \.: is a directory"),
    "discover --out ch5.xyz": (
        ["discover", "--descriptor", "power-spectrum", "--neighbours", "4", "--out", "ch5.xyz"],
        "is a file, not a directory",
    ),
    # resource guards
    "sensitivity on a 0.01 Å periodic cell": (
        ["sensitivity", "--descriptor", "power-spectrum", "--structure", "tiny.extxyz"],
        "neighbour pairs .*--max-pairs",
    ),
    "search on a 0.01 Å periodic cell": (
        ["search", "tiny.extxyz", "--cutoff", "5"],
        "neighbour pairs .*--max-pairs",
    ),
    "search on a cell with a 1e-5 Å vector": (
        ["search", "flat.extxyz", "--cutoff", "5"],
        "neighbour pairs .*--max-pairs",
    ),
    "sensitivity --cutoff 1e-9": (
        [
            "sensitivity",
            "--descriptor",
            "power-spectrum",
            "--structure",
            "ch5.xyz",
            "--cutoff",
            "1e-9",
        ],
        r"shorter than 0\.001 Å",
    ),
    "search --cutoff 1e-9": (["search", "ch5.xyz", "--cutoff", "1e-9"], r"shorter than 0\.001"),
    # numbers on the command line
    "search --top -1": (["search", "ch5.xyz", "--top", "-1"], "--top: must be an integer >= 1"),
    "search --max-alignments 0": (
        ["search", "ch5.xyz", "--max-alignments", "0"],
        "--max-alignments: must be an integer >= 1",
    ),
    "search --min-structural nan": (
        ["search", "ch5.xyz", "--min-structural", "nan"],
        "--min-structural: must be a finite number >= 0",
    ),
    "search --components -1": (
        ["search", "ch5.xyz", "--components", "-1"],
        "--components: must be an integer >= 0",
    ),
    "discover --n-workers 0": (
        ["discover", "--descriptor", "power-spectrum", "--neighbours", "4", "--n-workers", "0"],
        "--n-workers: must be an integer >= 1",
    ),
    "discover --n-radial 0": (
        ["discover", "--descriptor", "power-spectrum", "--neighbours", "4", "--n-radial", "0"],
        "--n-radial: must be an integer >= 1",
    ),
    "scan --n-workers 0": (["scan", "study.toml", "--n-workers", "0"], "must be an integer >= 1"),
    # structure files
    "a directory as structure file": (
        ["audit", "--pair", "adir", "ch5.xyz"],
        "'adir' is a directory; give a structure file",
    ),
    "an unknown chemical symbol": (
        ["search", "symbol.xyz"],
        "unknown chemical symbol 'Xx'",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_exits_2_with_one_line_and_leaves_nothing(case, capsys, workdir):
    argv, message = CASES[case]
    code, _, err, new_files = run(argv, capsys, workdir)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert re.search(message, err), err
    assert new_files == []


@pytest.mark.parametrize("number", [0, 200, -1])
def test_atomic_numbers_outside_the_table_are_refused(number, capsys, workdir):
    directory, _ = workdir
    text = (directory / "z.extxyz").read_text().replace("{}", str(number))
    (directory / "z.extxyz").write_text(text)
    code, _, err, new_files = run(["audit", "--pair", "z.extxyz", "z.extxyz"], capsys, workdir)
    assert code == 2 and f"atomic number {number} at atom 0, outside 1..118" in err
    assert len(err.strip().splitlines()) == 1 and new_files == []


def test_a_printing_descriptor_keeps_json_on_stdout_valid(capfd, workdir):
    _, module = workdir
    code = main(["audit", "--descriptor", f"{module}:printing", "--no-timings", "--json", "-"])
    out, err = capfd.readouterr()
    assert code == 0
    data = json.loads(out)  # valid JSON: the descriptor's prints went to stderr
    assert data["cards"] or data["verdicts"]
    assert "python print" in err


@pytest.mark.parametrize(
    "attr, options, code, message",
    [
        ("exiting", [], 2, r"called sys\.exit\(3\)"),
        ("sleeping", ["--timeout", "0.5"], 2, r"did not return within 0\.5 s"),
        ("interrupted", [], 130, "interrupted"),
    ],
)
def test_a_misbehaving_descriptor_stops_cleanly(attr, options, code, message, capsys, workdir):
    _, module = workdir
    argv = ["audit", "--descriptor", f"{module}:{attr}", "--no-timings", "--json", "out.json"]
    got, _, err, new_files = run([*argv, *options], capsys, workdir)
    assert got == code, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert re.search(message, err), err
    assert new_files == []


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie waiting to be reaped does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_a_timeout_kills_the_descriptor_and_what_it_started(capsys, workdir):
    """A descriptor that swallows every exception (so no signal handler could stop it) and has
    started a process of its own: the timeout kills both, nothing survives the audit."""
    _, module = workdir
    argv = ["audit", "--descriptor", f"{module}:stubborn", "--no-timings", "--timeout", "2"]
    code, _, err, new_files = run(argv, capsys, workdir)
    assert code == 2 and re.search(r"did not return within 2 s", err), err
    assert new_files == ["pids.txt"]
    pids = [int(pid) for pid in Path("pids.txt").read_text().split()]
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in pids), pids


def test_catalog_out_dot_in_an_empty_directory(capsys, tmp_path, monkeypatch):
    here = tmp_path / "catalog"
    here.mkdir()
    monkeypatch.chdir(here)
    assert main(["catalog", "--out", "."]) == 0
    assert (here / "index.json").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["catalog"]  # no .-old-* or staging beside


def test_every_numeric_flag_of_every_command_has_a_rule():
    """A new int/float flag without an entry in NUMBER_FLAGS fails at parser build time."""
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    checked = 0
    for name, sub in commands.items():
        for action in sub._actions:
            if action.type in (int, float):
                pytest.fail(f"completeness {name} --{action.dest} has no number rule")
            if action.type in _common.NUMBER_FLAGS.values():
                checked += 1
    assert checked >= 40


def test_max_pairs_sets_the_limit(capsys, workdir, monkeypatch):
    from ase.build import bulk

    monkeypatch.delenv("COMPLETENESS_MAX_PAIRS", raising=False)
    ase.io.write("si.extxyz", bulk("Si", "diamond", a=5.43))  # 2 atoms, 32 pairs within 4 Å
    argv = ["search", "si.extxyz", "--cutoff", "4", "--quiet"]
    assert run(argv, capsys, workdir)[0] == 0
    code, _, err, _ = run([*argv, "--max-pairs", "10"], capsys, workdir)
    assert code == 2 and "neighbour pairs (limit 10)" in err

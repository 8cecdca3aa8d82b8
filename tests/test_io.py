"""The single homes for writing files, JSON-safe values and errors (completeness.io/.errors)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from completeness.cli import main
from completeness.descriptors.wrappers import PeerCrash, PeerError
from completeness.environments import InputError as EnvironmentsInputError
from completeness.errors import CompletenessError, InputError, first_line
from completeness.io import fill_generated, json_safe, write_atomically, write_json, write_text
from completeness.parallel import ParallelInputError, TaskFailed


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_atomic_writes_respect_the_umask(tmp_path, umask):
    previous = os.umask(umask)
    try:
        write_text(tmp_path / "a.txt", "text\n")
        write_json(tmp_path / "b.json", {"x": 1})
    finally:
        os.umask(previous)
    for name in ("a.txt", "b.json"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~umask
    assert json.loads((tmp_path / "b.json").read_text()) == {"x": 1}


def test_a_failing_writer_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")

    def fail(temporary):
        with open(temporary, "w") as stream:
            stream.write("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(target, fail)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_writing_into_a_missing_directory_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        write_text(tmp_path / "missing" / "a.txt", "x")


def test_json_safe_converts_numpy_and_non_finite_values():
    value = {
        1: np.float32(0.5),
        "a": np.arange(3),
        "b": (np.int64(2), np.bool_(True)),
        "c": [float("nan"), -np.inf],
    }
    assert json_safe(value) == {"1": 0.5, "a": [0, 1, 2], "b": [2, True], "c": [None, None]}
    json.dumps(json_safe(value), allow_nan=False)  # strict JSON


def test_first_line():
    assert first_line(ValueError("one\ntwo")) == "one"
    assert first_line(ValueError("  \n")) == "ValueError"
    assert first_line(ValueError(""), default="") == ""


def test_every_error_raised_on_purpose_is_one_type():
    assert EnvironmentsInputError is InputError
    for error_type in (InputError, ParallelInputError, TaskFailed, PeerError, PeerCrash):
        assert issubclass(error_type, CompletenessError)
    assert issubclass(ParallelInputError, ValueError)  # existing `except ValueError` still work


def test_the_command_line_ends_a_parallel_input_error_with_one_line(capsys):
    argv = ["discover", "--descriptor", "radial-spectrum", "--neighbours", "3"]
    assert main([*argv, "--restarts", "1", "--backend", "processes", "--n-workers", "0"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("completeness discover: error: ") and "workers" in line


def test_fill_generated_replaces_only_the_marked_sections(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "intro\n<!-- generated: a -->\nold a\n<!-- end: a -->\nmiddle\n"
        "<!-- generated: b -->\n<!-- end: b -->\n"
    )
    fill_generated(page, {"a": "new a\n", "b": "| b |\n"})
    assert page.read_text() == (
        "intro\n<!-- generated: a -->\nnew a\n<!-- end: a -->\nmiddle\n"
        "<!-- generated: b -->\n| b |\n<!-- end: b -->\n"
    )
    with pytest.raises(InputError, match="no '<!-- generated: c -->'"):
        fill_generated(page, {"c": "x"})

"""The notebooks: each runs in quick mode, each .ipynb matches its jupytext source, no outputs.

The ``.py`` files (jupytext percent format) are the source of truth; the ``.ipynb`` files are
regenerated with ``jupytext --to ipynb notebooks/*.py`` and committed without outputs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from completeness.analysis import plotting
from completeness.environments import InputError

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
SOURCES = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py"))
EXPECTED = [
    "01_tour",
    "02_manifolds",
    "03_sensitivity",
    "04_learning",
    "05_design_study",
    "06_benchmark",
]


def test_every_notebook_has_a_source_and_a_paired_ipynb():
    assert [path.stem for path in SOURCES] == EXPECTED
    for source in SOURCES:
        assert source.with_suffix(".ipynb").is_file(), f"{source.name} has no paired .ipynb"


# Runs a notebook's source and records, for every plt.show(), how many new figures with data it
# shows (the figures a reader sees), then prints them as the last line of stdout.
_COUNT_OUTPUTS = """
import json, runpy, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
shown, counted = [], set()
def show(*args, **kwargs):
    new = [plt.figure(n) for n in plt.get_fignums() if n not in counted]
    counted.update(plt.get_fignums())
    shown.append(sum(any(axis.has_data() for axis in figure.axes) for figure in new))
plt.show = show
source = sys.argv.pop(1)
runpy.run_path(source, run_name="__main__")
print("figures shown: " + json.dumps(shown))
"""


@pytest.mark.parametrize("source", SOURCES, ids=[path.stem for path in SOURCES])
def test_notebook_runs_in_quick_mode(source):
    # a fresh interpreter per notebook: no matplotlib or module state leaks between them
    env = {**os.environ, "MPLBACKEND": "Agg", "COMPLETENESS_QUICK": "1"}
    result = subprocess.run(
        [sys.executable, "-c", _COUNT_OUTPUTS, source.name],
        cwd=NOTEBOOKS,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"{source.name} failed:\n{result.stderr[-3000:]}"
    assert "Traceback" not in result.stderr
    # the outputs a reader sees: a figure with data at every unconditional plt.show(), and text
    *printed, last = result.stdout.strip().splitlines()
    shown = json.loads(last.removeprefix("figures shown: "))
    unconditional = sum(line == "plt.show()" for line in source.read_text().splitlines())
    assert len(shown) >= unconditional >= 1, (source.name, shown)
    assert all(count >= 1 for count in shown), f"{source.name}: a plt.show() without a figure"
    assert printed, f"{source.name} printed nothing"


@pytest.mark.parametrize("source", SOURCES, ids=[path.stem for path in SOURCES])
def test_ipynb_has_no_outputs(source):
    notebook = json.loads(source.with_suffix(".ipynb").read_text())
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{source.stem} cell {index} has outputs: strip them"
            assert cell["execution_count"] is None, f"{source.stem} cell {index} was executed"


@pytest.mark.parametrize("source", SOURCES, ids=[path.stem for path in SOURCES])
def test_ipynb_in_sync_with_its_source(source):
    jupytext = pytest.importorskip("jupytext")
    expected = jupytext.read(source)
    committed = json.loads(source.with_suffix(".ipynb").read_text())

    def cells(notebook_cells):
        return [
            (cell["cell_type"], "".join(cell["source"]) if isinstance(cell["source"], list)
             else cell["source"])
            for cell in notebook_cells
        ]  # fmt: skip

    assert cells(committed["cells"]) == cells(expected["cells"]), (
        f"{source.with_suffix('.ipynb').name} is out of date: run "
        f"`jupytext --to ipynb notebooks/{source.name}`"
    )
    assert committed["metadata"]["jupytext"]["formats"] == "ipynb,py:percent"


@pytest.mark.parametrize(
    ("value", "expected"), [("", False), ("0", False), ("no", False), ("1", True), ("TRUE", True)]
)
def test_quick_mode_reads_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv("COMPLETENESS_QUICK", value)
    assert plotting.quick_mode() is expected


def test_quick_mode_rejects_an_unknown_value(monkeypatch):
    monkeypatch.setenv("COMPLETENESS_QUICK", "fast")
    with pytest.raises(InputError, match="COMPLETENESS_QUICK"):
        plotting.quick_mode()


def test_pair_figure_draws_every_atom_relative_to_the_centre():
    import ase
    import matplotlib

    matplotlib.use("Agg")
    from types import SimpleNamespace

    plus = ase.Atoms("CH2", positions=[[1.0, 1.0, 1.0], [2.0, 1.0, 1.0], [1.0, 3.0, 1.0]])
    minus = ase.Atoms("CH2", positions=[[0.0, 0.0, 0.0], [0.0, 0.0, -1.5], [0.5, 0.0, 0.0]])
    pair = SimpleNamespace(name="toy", plus=plus, minus=minus)
    fig = plotting.pair_figure(pair)
    axes = [ax for ax in fig.axes if ax.name == "3d"]
    assert len(axes) == 2
    # positions relative to the centre, written by hand
    expected = {
        0: np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 2.0, 0.0]]),
        1: np.array([[0.0, 0.0, 0.0], [0.0, 0.0, -1.5], [0.5, 0.0, 0.0]]),
    }
    for index, ax in enumerate(axes):
        (points,) = ax.collections
        x, y, z = points._offsets3d
        np.testing.assert_allclose(np.column_stack([x, y, z]), expected[index])
        assert ax.get_xlabel() == "x (Å)"
    assert "toy: plus" in axes[0].get_title()


def test_read_results_names_the_missing_file():
    with pytest.raises(InputError, match="available"):
        plotting.read_results("learning", "no-such-result")
    with pytest.raises(InputError, match=r"run\.py"):
        plotting.results_dir("no-such-study")


#: Figures each notebook draws (counted by hand from its source: every ``plt.show()`` of a
#: matplotlib figure; 02's slider adds none to the cell outputs, its figures live in a widget;
#: 05 draws one more heat map when a peer library is installed).
FIGURES = {
    "01_tour": 3,
    "02_manifolds": 2,
    "03_sensitivity": 3,
    "04_learning": 2,
    "05_design_study": 1,
    "06_benchmark": 1,
}


def _peer_library_installed() -> bool:
    from completeness.descriptors import wrappers

    return any(wrappers.library_available(name) for name in ("featomic", "dscribe", "quippy"))


@pytest.mark.slow  # .ci/run runs it (in the notebooks step): the five notebooks in a kernel
@pytest.mark.parametrize("source", SOURCES, ids=[path.stem for path in SOURCES])
def test_notebook_shows_its_figures_in_a_live_kernel(source, monkeypatch):
    """Executed by nbclient in an ipykernel with the kernel's own (inline) backend: every figure
    reaches the notebook as an image output (MPLBACKEND=Agg would hide them)."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.delenv("MPLBACKEND", raising=False)
    monkeypatch.setenv("COMPLETENESS_QUICK", "1")
    notebook = nbformat.read(source.with_suffix(".ipynb"), as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()
    images = sum(
        "image/png" in output.get("data", {})
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    expected = FIGURES[source.stem]
    if source.stem == "05_design_study" and _peer_library_installed():
        expected += 1
    assert images == expected, f"{source.stem}: {images} image outputs, expected {expected}"

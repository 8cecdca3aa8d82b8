"""The paper's quick build: every figure written, paper.md quoting the result files (~12 s)."""

import contextlib
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from completeness.analysis import paper
from completeness.cli import main
from completeness.environments import InputError

ROOT = Path(__file__).resolve().parents[1]
ANALYSES = ROOT / "analyses"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("paper")
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        status = main(["paper", "--quick", "--quiet", "--out", str(out)])
    assert status == 0
    return out, (out / "paper.md").read_text(), stderr.getvalue()


def test_quiet_build_shows_nothing(built):
    assert built[2] == ""


def test_every_figure_is_a_png(built):
    out, _, _ = built
    assert len(paper.FIGURES) == 7
    for name in paper.FIGURES:
        path = out / "figures" / name
        assert path.is_file(), name
        with path.open("rb") as handle:
            assert handle.read(8) == PNG_MAGIC, name
        assert path.stat().st_size > 20_000, name  # a drawn figure, not an empty canvas


def test_paper_md_references_every_figure(built):
    _, text, _ = built
    for name in paper.FIGURES:
        assert f"](figures/{name})" in text


def test_paper_md_quotes_the_result_files(built):
    _, text, _ = built
    results = ANALYSES / "sensitivity" / "results"
    onat = json.loads((results / "onat.json").read_text())
    for key in ("perfect_tangential", "jitter_tangential"):
        assert f"| {onat[key]['exponent']:.4f} |" in text
    manifold = json.loads((results / "manifold.json").read_text())
    assert f"| {manifold['power_spectrum']['end_to_end']:.3f} |" in text
    summary = json.loads((ANALYSES / "learning" / "results" / "summary.json").read_text())
    for row in summary:
        assert f"| {row['test_pair_rmse']:.4f} ± {row['test_pair_rmse_std']:.4f} |" in text
    # the published numbers sit next to ours
    for published in ("| 0.1 | 0.18 |", "| 0.0125 | 0.0029 |", "even 0.006, odd 1.65"):
        assert published in text


def test_fold_table_halves_to_a_quarter(built):
    """Ours, parsed from paper.md: halving delta divides the distance by 4 (exponent 2)."""
    _, text, _ = built
    rows = re.findall(r"^\| (0\.1|0\.05|0\.025|0\.0125) \| [0-9.]+ \| ([0-9.e+-]+) \|$", text, re.M)
    assert [r[0] for r in rows] == ["0.1", "0.05", "0.025", "0.0125"]
    ours = np.array([float(r[1]) for r in rows])
    np.testing.assert_allclose(ours[:-1] / ours[1:], 4.0, rtol=0.02)


def test_palette_covers_every_builtin_descriptor():
    from completeness.descriptors.defaults import builtin_descriptors

    assert set(builtin_descriptors()) <= set(paper.PALETTE)


def test_missing_analyses_fails_early(tmp_path):
    with pytest.raises(InputError, match=r"analyses directory .* --analyses DIR"):
        paper.build_figures(tmp_path, quick=True, analyses=tmp_path / "nowhere")


def test_missing_result_file_names_the_study(tmp_path):
    (tmp_path / "learning" / "results").mkdir(parents=True)
    with pytest.raises(InputError, match=r"run\.py"):
        paper.figure_learning(tmp_path, tmp_path)


@pytest.mark.slow
def test_make_quick_target(tmp_path):
    """``make -C paper quick`` (the CI command) runs the same build."""
    subprocess.run(
        ["make", "-C", str(ROOT / "paper"), "quick", f"PYTHON={sys.executable}"], check=True
    )
    assert (ROOT / "paper" / "build" / "quick" / "paper.md").is_file()

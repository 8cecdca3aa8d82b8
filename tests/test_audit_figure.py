"""The audit's figures: what each mark means, readable from 1 to 20 descriptors, no backend."""

from __future__ import annotations

import itertools
import math
from types import SimpleNamespace

import matplotlib
import matplotlib.pyplot as plt
import pytest

from completeness.analysis.audit_figure import IDENTICAL, audit_figure, cell_label
from completeness.analysis.report import Audit
from completeness.analysis.style import VERDICT_COLOURS


def _verdict(verdict="resolved", margin=12.3, distance=1e-3, status="as expected"):
    return SimpleNamespace(verdict=verdict, margin=margin, distance=distance, status=status)


def _pair(name, scope="environment"):
    claim = SimpleNamespace(scope=scope, equal_up_to_o3=3, equal_up_to_so3=2, statement="a claim")
    return SimpleNamespace(name=name, claim=claim)


def _audit(n_descriptors, pairs, verdict=_verdict):
    names = [f"descriptor-with-a-long-name-{k}" for k in range(n_descriptors)]
    return Audit(
        descriptors={name: None for name in names},
        pairs=pairs,
        verdicts={name: [verdict() for _ in pairs] for name in names},
        cards={},
        seed=0,
        timings=False,
    )


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_cell_labels_say_margin_identity_error_and_finding():
    assert cell_label(_verdict(margin=12.3)) == "12"
    assert cell_label(_verdict("degenerate", margin=-0.4)) == "0"
    assert cell_label(_verdict("degenerate", -math.inf, 0.0)) == IDENTICAL
    assert cell_label(_verdict("error", math.nan, math.nan)) == "!"
    assert cell_label(_verdict("degenerate", -1.6, 1e-16, "basis-limited")) == "-2*"


def test_figures_never_select_a_backend(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("library code selected a matplotlib backend")

    monkeypatch.setattr(matplotlib, "use", refuse)
    audit_figure(_audit(3, [_pair("a"), _pair("b", "global")]))
    audit_figure(_audit(3, [_pair("a")]))


def test_heat_map_has_the_oracle_column_a_scope_separator_and_framed_findings():
    pairs = [_pair("a"), _pair("b"), _pair("c", "global")]
    audit = _audit(2, pairs)
    audit.verdicts["descriptor-with-a-long-name-0"][1] = _verdict(
        "degenerate", -1.0, 1e-16, "basis-limited"
    )
    fig = audit.figure()
    (ax,) = fig.axes
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[0] == "O3/SO3"
    texts = [t.get_text() for t in ax.texts]
    assert texts.count("3/2") == 3
    assert "-1*" in texts
    assert "whole structures" in texts and "environment pairs" in texts
    separators = [line for line in ax.lines if list(line.get_ydata()) == [1.5, 1.5]]
    assert len(separators) == 1  # between the last environment pair and the first global one
    frames = [p for p in ax.patches if not p.get_fill()]
    assert [(f.get_x(), f.get_y()) for f in frames] == [(-0.46, 1 - 0.46)]
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == [
        "degenerate",
        "inconclusive",
        "resolved",
        "error",
    ]
    assert IDENTICAL in legend.get_title().get_text()
    assert matplotlib.colors.to_hex(legend.legend_handles[2].get_facecolor()) == (
        VERDICT_COLOURS["resolved"].lower()
    )


@pytest.mark.parametrize("n_descriptors", [1, 5, 20])
def test_single_pair_figure_fits_every_label(n_descriptors):
    fig = _audit(n_descriptors, [_pair("user-pair")]).figure()
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = fig.bbox
    (ax,) = fig.axes
    labels = [t for t in ax.get_yticklabels() if t.get_text()]
    assert len(labels) == n_descriptors
    for text in [*labels, ax.title, ax.xaxis.label]:
        extent = text.get_window_extent(renderer)
        assert extent.x0 >= box.x0 - 1 and extent.x1 <= box.x1 + 1, text.get_text()
        assert extent.y0 >= box.y0 - 1 and extent.y1 <= box.y1 + 1, text.get_text()
    # labels do not overlap: at least one label height apart
    ys = sorted(t.get_window_extent(renderer).y0 for t in labels)
    heights = min(t.get_window_extent(renderer).height for t in labels)
    assert all(b - a >= heights for a, b in itertools.pairwise(ys))

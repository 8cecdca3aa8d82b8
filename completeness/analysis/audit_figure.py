"""The figures of an audit: a verdict heat map (several pairs) or margin bars (one pair).

Both use the package's palette (:mod:`completeness.analysis.style`, Okabe-Ito) and say on the
figure what every mark means: the number in a cell is the margin in decades above the noise
floor; ``≡`` marks features equal bit for bit (distance exactly 0, which has no margin on a log
scale); ``*`` and a black frame mark a finding (the verdict is not what the oracle's claim
predicts for the declared body order); ``!`` an error. Nothing here selects a matplotlib
backend: in a notebook the figure shows inline, in a script it is saved by the caller.
"""

from __future__ import annotations

import math
import textwrap

import numpy as np

from .style import VERDICT_COLOURS, VERDICT_TEXT, use

__all__ = ["FINDINGS", "IDENTICAL", "audit_figure", "cell_label"]

_ORDER = ("degenerate", "inconclusive", "resolved", "error")
#: Verdict statuses that are findings (the verdict is not what the claim predicts).
FINDINGS = ("basis-limited", "contradiction")
IDENTICAL = "\u2261"


def cell_label(result) -> str:
    """The text of one verdict: rounded margin, ``≡`` (identical features), ``!`` (error), with
    ``*`` appended for a finding."""
    if result.verdict == "error":
        label = "!"
    elif result.distance == 0.0:
        label = IDENTICAL
    elif math.isfinite(result.margin):
        label = str(round(result.margin))  # an int: never "-0"
    else:
        label = "?"
    return label + ("*" if result.status in FINDINGS else "")


def _legend_text(degenerate: float, resolved: float) -> str:
    return (
        f"degenerate: distance <= {degenerate:g}x the noise floor; resolved: >= {resolved:g}x. "
        f"Numbers: margin in decades above the floor. {IDENTICAL}: features identical bit for "
        "bit (distance 0, no margin). * and frame: a finding (verdict differs from the oracle's "
        "prediction for the declared body order). !: error."
    )


def _verdict_handles():
    from matplotlib.patches import Patch

    return [Patch(facecolor=VERDICT_COLOURS[k], edgecolor="#555555", label=k) for k in _ORDER]


def audit_figure(audit):
    """The heat map of ``audit`` (pairs x descriptors), or for a single pair a bar chart of the
    margins, one bar per descriptor (readable from 1 to 20+ descriptors)."""
    from .distance import DEGENERATE_DECADES, RESOLVED_DECADES

    thresholds = (10**DEGENERATE_DECADES, 10**RESOLVED_DECADES)
    with use():
        if len(audit.pairs) == 1:
            return _pair_bars(audit, thresholds)
        return _heat_map(audit, thresholds)


def _heat_map(audit, thresholds):
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Rectangle

    names = list(audit.descriptors)
    pairs = audit.pairs
    n_rows, n_cols = len(pairs), len(names)
    codes = {kind: k for k, kind in enumerate(_ORDER)}
    matrix = np.array([[codes[audit.verdicts[n][i].verdict] for n in names] for i in range(n_rows)])
    width = 2.6 + 0.42 * (n_cols + 1)
    height = 2.2 + 0.24 * n_rows
    fig, ax = plt.subplots(figsize=(width, height), layout="constrained")
    colours = ListedColormap([VERDICT_COLOURS[k] for k in _ORDER])
    ax.imshow(matrix, cmap=colours, vmin=-0.5, vmax=len(_ORDER) - 0.5, aspect="auto")
    for i in range(n_rows):
        claim = pairs[i].claim
        ax.text(-1, i, f"{claim.equal_up_to_o3}/{claim.equal_up_to_so3}", ha="center",
                va="center", fontsize=7)  # fmt: skip
        for j, name in enumerate(names):
            result = audit.verdicts[name][i]
            ax.text(j, i, cell_label(result), ha="center", va="center", fontsize=7,
                    color=VERDICT_TEXT[result.verdict])  # fmt: skip
            if result.status in FINDINGS:
                ax.add_patch(Rectangle((j - 0.46, i - 0.46), 0.92, 0.92, fill=False, lw=1.6,
                                       edgecolor="black"))  # fmt: skip
    ax.add_patch(Rectangle((-1.5, -0.5), 1.0, n_rows, color="#f2f2f2", zorder=0))
    ax.set_xlim(-1.5, n_cols - 0.5)
    ax.set_ylim(n_rows - 0.5, -0.5)
    ax.set_xticks([-1, *range(n_cols)], ["O3/SO3", *names], rotation=50, ha="right")
    ax.set_yticks(range(n_rows), [pair.name for pair in pairs])
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    scopes = [getattr(pair.claim, "scope", "environment") for pair in pairs]
    for i in range(1, n_rows):
        if scopes[i] != scopes[i - 1]:
            ax.axhline(i - 0.5, color="black", lw=1.5)
    for scope, label in (("environment", "environment pairs"), ("global", "whole structures")):
        rows = [i for i, s in enumerate(scopes) if s == scope]
        if rows:
            ax.text(n_cols - 0.35, (rows[0] + rows[-1]) / 2, label, rotation=-90, ha="left",
                    va="center", fontsize=7, style="italic")  # fmt: skip
    ax.set_title("Audit verdicts: relative feature distance of the members against the noise floor")
    fig.legend(
        handles=_verdict_handles(),
        loc="outside lower center",
        ncol=len(_ORDER),
        title="\n".join(textwrap.wrap(_legend_text(*thresholds), 110)),
        title_fontsize=6.5,
    )
    return fig


def _pair_bars(audit, thresholds):
    import matplotlib.pyplot as plt

    names = list(audit.descriptors)
    pair = audit.pairs[0]
    results = [audit.verdicts[name][0] for name in names]
    margins = np.array(
        [r.margin if math.isfinite(r.margin) else np.nan for r in results], dtype=float
    )
    finite = margins[np.isfinite(margins)]
    low = min(-1.0, float(finite.min()) - 1.0) if finite.size else -1.0
    high = max(3.0, float(finite.max()) + 1.5) if finite.size else 3.0
    fig, ax = plt.subplots(figsize=(6.0, 1.9 + 0.26 * len(names)), layout="constrained")
    y = np.arange(len(names))
    for k, result in enumerate(results):
        colour = VERDICT_COLOURS[result.verdict]
        label = cell_label(result)
        if np.isfinite(margins[k]):
            ax.barh(k, margins[k], color=colour, edgecolor="#333333", lw=0.5)
            side = 0.15 if margins[k] >= 0 else -0.15
            ax.text(margins[k] + side, k, label, va="center", ha="left" if side > 0 else "right",
                    fontsize=7)  # fmt: skip
        else:
            text = "identical features (distance 0)" if result.distance == 0.0 else "error"
            ax.text(0.15, k, f"{label} {text}", va="center", fontsize=7, color="#333333")
    ax.axvline(0.0, color="black", lw=0.6)
    degenerate, resolved = (math.log10(t) for t in thresholds)
    ax.axvspan(low, degenerate, color=VERDICT_COLOURS["degenerate"], alpha=0.12, lw=0)
    ax.axvspan(resolved, high, color=VERDICT_COLOURS["resolved"], alpha=0.12, lw=0)
    ax.set_xlabel(
        f"margin: log10(distance / noise floor), decades\n(shaded: degenerate <= "
        f"{degenerate:g}, resolved >= {resolved:g}; {IDENTICAL}: distance exactly 0)"
    )
    ax.set_yticks(y, names)
    ax.set_ylim(len(names) - 0.4, -1.0)
    ax.set_xlim(low, high)
    statement = getattr(audit, "pair_statement", None) or getattr(pair.claim, "statement", "")
    ax.set_title("\n".join(textwrap.wrap(f"{pair.name}: {statement}", 90)), loc="left")
    fig.legend(handles=_verdict_handles(), loc="outside lower center", ncol=len(_ORDER))
    return fig

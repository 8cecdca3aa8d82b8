"""The paper's figures and ``paper.md``, regenerated from the package and ``analyses/*/results``.

One function per figure (``figure_prl`` ... ``figure_onat``); each writes one PNG at a single
column's width (3.4 in, except the audit heat map, which spans two columns) and returns the
numbers the text quotes. :func:`build_figures` runs them all; the paper's text, with the
published numbers next to ours, is ``paper/`` 's own (``paper/paper_text.py``).
``quick=True`` uses fewer scan points (for CI); the numbers quoted come from the same code.

Descriptors keep one colour in every figure (:data:`PALETTE`, keyed by the names of
:func:`completeness.descriptors.defaults.builtin_descriptors`).
"""

from __future__ import annotations

import csv
import json
import math
import time
from pathlib import Path

import numpy as np

from ..environments import InputError
from .style import DESCRIPTOR_COLOURS

__all__ = [
    "FIGURES",
    "FOLD_DELTAS",
    "PALETTE",
    "build_figures",
    "default_analyses",
    "read_result",
]

#: One colour per descriptor, shared by every figure (:mod:`completeness.analysis.style`).
PALETTE = DESCRIPTOR_COLOURS

#: Class name -> palette key (the learning study stores class names).
_CLASS_KEY = {
    "RadialSpectrum": "radial-spectrum",
    "PowerSpectrum": "power-spectrum",
    "Bispectrum": "bispectrum",
    "DensityCorrelations": "density-correlations-nu4",
}

#: Published numbers we reproduce (typed from the cited sources; ours are never typed).
#: The values of delta (Å) at which Fig. 3 evaluates the fold scan (those of the published
#: comparison, see ``paper/paper_text.py``).
FOLD_DELTAS = [0.1, 0.05, 0.025, 0.0125]

COLUMN_WIDTH = 3.4  # inches
PAGE_WIDTH = 7.0


def default_analyses() -> Path:
    """``analyses/`` of the source tree this package was imported from."""
    return Path(__file__).resolve().parents[2] / "analyses"


def _pyplot():
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "font.size": 8,
            "axes.labelsize": 8,
            "axes.titlesize": 8,
            "legend.fontsize": 6.5,
            "xtick.labelsize": 7,
            "ytick.labelsize": 7,
            "lines.linewidth": 1.2,
            "lines.markersize": 3.5,
            "savefig.dpi": 200,
        }
    )
    return plt


def read_result(path: Path) -> dict:
    """One JSON result file of ``analyses/``; InputError naming the study to run if missing."""
    if not path.is_file():
        raise InputError(
            f"result file {path} is missing; run the study's run.py (see its README) first"
        )
    return json.loads(path.read_text())


def _save(fig, path: Path) -> None:
    fig.savefig(path)
    import matplotlib.pyplot as plt

    plt.close(fig)


def _draw_pair(ax, pair, title: str) -> None:
    """Both members of a pair in one 3D view: centre black, X+ filled, X- open."""
    plus, minus = pair.plus.positions, pair.minus.positions
    ax.scatter(*plus[0], color="black", s=25, depthshade=False)
    same = np.all(np.isclose(plus[1:, None], minus[None, 1:], atol=1e-9), axis=-1).any(axis=1)
    ax.scatter(*plus[1:][same].T, color="#444444", s=16, depthshade=False, label="shared")
    ax.scatter(*plus[1:][~same].T, color="#2166ac", s=22, depthshade=False, label="X+ only")
    other = ~np.all(np.isclose(minus[1:, None], plus[None, 1:], atol=1e-9), axis=-1).any(axis=1)
    ax.scatter(
        *minus[1:][other].T,
        facecolor="none",
        edgecolor="#b2182b",
        s=22,
        depthshade=False,
        label="X- only",
    )
    for members, colour, mask in ((plus, "#2166ac", ~same), (minus, "#b2182b", other)):
        for point, moved in zip(members[1:], mask, strict=True):
            ax.plot(
                *np.array([members[0], point]).T,
                color=colour if moved else "#999999",
                lw=0.6,
                ls="-" if colour == "#2166ac" or moved else ":",
            )
    ax.set_xlabel("x (Å)", labelpad=-6)
    ax.set_ylabel("y (Å)", labelpad=-6)
    ax.set_zlabel("z (Å)", labelpad=-6)
    ax.tick_params(pad=-3, labelsize=6)
    from matplotlib.ticker import MaxNLocator

    for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
        axis.set_major_locator(MaxNLocator(4))
    ax.set_title(title)
    ax.legend(
        loc="upper left", fontsize=6, frameon=False, handletextpad=0.2, bbox_to_anchor=(-0.1, 1.0)
    )


def _scan_panel(ax, scans: dict, xlabel: str) -> None:
    floor = 0.0
    for key, (label, result) in scans.items():
        ax.semilogy(
            result.values, np.maximum(result.distance, 1e-18), "o-", color=PALETTE[key], label=label
        )
        floor = max(floor, float(np.max(result.noise_floor)))
    ax.axhspan(2e-19, floor, color="#dddddd", zorder=0, label="noise floor (0 drawn at 1e-18)")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("relative feature distance")
    ax.set_ylim(2e-19, 10)


def figure_prl(out: Path, quick: bool = False) -> dict:
    """Fig. 1: the PRL 3-body pair and its distance along y_C for 2-, 3- and 4-body spectra."""
    from .. import structures
    from ..descriptors.defaults import builtin_descriptors
    from ..structures.prl import prl_family
    from .scan import prl_scan

    plt = _pyplot()
    descriptors = builtin_descriptors()
    start = float(prl_family(seed=0).params["y_c"])
    values = start + np.sign(start or 1.0) * np.linspace(0.0, 1.0, 5 if quick else 11)
    labels = {
        "radial-spectrum": "2-body (radial)",
        "power-spectrum": "3-body (power)",
        "bispectrum": "4-body (bispectrum)",
    }
    scans = {k: (labels[k], prl_scan(descriptors[k], "y_c", values, seed=0)) for k in labels}
    fig = plt.figure(figsize=(COLUMN_WIDTH, 4.6), layout="constrained")
    ax3d = fig.add_subplot(2, 1, 1, projection="3d")
    _draw_pair(ax3d, structures.load("pozdnyakov2020-fig1b"), "(a) PRL Fig. 1(b) pair")
    ax = fig.add_subplot(2, 1, 2)
    _scan_panel(ax, scans, "$y_C$ of the PRL family (Å)")
    ax.set_title("(b) distance of the pair along its family")
    ax.legend(loc="center right", ncol=1, frameon=False)
    _save(fig, out / "fig1_prl.png")
    return {key: result.to_dict() for key, (_, result) in scans.items()}


def _b8_descriptor(nu: int, pseudoscalar: bool = False):
    from ..descriptors import DensityCorrelations

    return DensityCorrelations(
        correlation_order=nu,
        cutoff=4.0,
        n_radial=4,
        max_angular=4,
        density_width=0.3,
        include_pseudoscalar=pseudoscalar,
    )


def figure_b8(out: Path, quick: bool = False) -> dict:
    """Fig. 2: a B8 two-ring pair and the nu = 1..4 density-correlation distances along psi."""
    from .. import structures
    from .distance import verdicts
    from .scan import b8_scan

    plt = _pyplot()
    values = np.linspace(0.3, 2.8, 4 if quick else 8)
    scans = {
        f"density-correlations-nu{nu}": (
            f"$\\nu$ = {nu} ({nu + 1}-body)",
            b8_scan(_b8_descriptor(nu), "psi", values, seed=0),
        )
        for nu in (1, 2, 3, 4)
    }
    pair = structures.load("nigam2024-b8-0000")
    single = {}
    for nu in (1, 2, 3, 4):
        for odd in (False, True):
            result = verdicts(_b8_descriptor(nu, odd), [pair])[0]
            single[f"nu={nu} {'even+odd' if odd else 'even'}"] = {
                "distance": float(result.distance),
                "noise_floor": float(result.noise_floor),
                "verdict": result.verdict,
            }
    fig = plt.figure(figsize=(COLUMN_WIDTH, 4.6), layout="constrained")
    ax3d = fig.add_subplot(2, 1, 1, projection="3d")
    _draw_pair(ax3d, pair, "(a) B8 pair nigam2024-b8-0000")
    ax = fig.add_subplot(2, 1, 2)
    _scan_panel(ax, scans, "ring twist $\\psi$ (rad)")
    ax.set_title("(b) density correlations along the B8 family")
    ax.legend(loc="center right", frameon=False)
    _save(fig, out / "fig2_b8.png")
    return {"scans": {k: r.to_dict() for k, (_, r) in scans.items()}, "pair": single}


def figure_fold(out: Path, quick: bool = False) -> dict:
    """Fig. 3: response at the PRL fold (delta**2) and along a generic direction (linear)."""
    from ..descriptors.defaults import builtin_descriptors
    from .calibration import fold_structure
    from .scan import fold_scan, power_law_exponent
    from .sensitivity import response

    plt = _pyplot()
    descriptors = builtin_descriptors()
    grid = np.logspace(-4, -1, 4 if quick else 10)
    deltas = np.unique(np.concatenate([grid, FOLD_DELTAS]))
    folds = {k: fold_scan(descriptors[k], deltas) for k in ("power-spectrum", "bispectrum")}
    power = descriptors["power-spectrum"]
    on_axis = fold_structure(0.0, power.cutoff)
    t, generic, _ = response(power, on_axis, 0, deltas, path="linear", seed=1)
    generic_exponent = power_law_exponent(t, generic, folds["power-spectrum"].response_floor)
    fig, ax = plt.subplots(figsize=(COLUMN_WIDTH, 2.8), layout="constrained")
    for key, result in folds.items():
        ax.loglog(
            deltas,
            result.response,
            "o-",
            color=PALETTE[key],
            label=f"{key}, fold direction: slope {result.exponent:.2f}",
        )
    ax.loglog(
        t,
        generic,
        "s--",
        color=PALETTE["power-spectrum"],
        mfc="none",
        label=f"power-spectrum, generic direction: slope {generic_exponent:.2f}",
    )
    ax.set_xlabel("displacement $\\delta$ of C off the axis (Å)")
    ax.set_ylabel("relative distance from X(0)")
    ax.set_title("PRL fold point ($y_C$ = 0)")
    ax.legend(loc="lower right", frameon=False)
    _save(fig, out / "fig3_fold.png")
    ps = folds["power-spectrum"]
    table = [
        {"delta": float(d), "distance": float(ps.response[np.argmin(abs(deltas - d))])}
        for d in FOLD_DELTAS
    ]
    return {
        "exponents": {k: r.exponent for k, r in folds.items()},
        "generic_exponent": generic_exponent,
        "pair_distance_max": {k: float(np.max(r.distance)) for k, r in folds.items()},
        "table": table,
    }


def figure_learning(out: Path, analyses: Path) -> dict:
    """Fig. 4: learning curves (test RMSE) and within-pair errors, kernel ridge, PRL and B8."""
    plt = _pyplot()
    results = analyses / "learning" / "results"
    summary = read_result(results / "summary.json")
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(COLUMN_WIDTH, 5.6), sharex=True, layout="constrained"
    )
    # PRL filled circles on solid lines, B8 open squares on dashed lines, shifted sideways by
    # 6 % so that coinciding curves (both blind descriptors sit at exactly 1 in (b)) stay visible
    studies = {"prl": ("-", "o", "full", 0.94), "b8": ("--", "s", "none", 1.06)}
    for study, (line, marker, fill, shift) in studies.items():
        for role in ("blind", "resolving"):
            curve = read_result(results / f"curve_{study}_{role}_krr.json")
            name = curve["descriptor"]
            body = next(
                row["body_order"]
                for row in summary
                if row["study"] == study and row["descriptor"] == name
            )
            colour = PALETTE[_CLASS_KEY[name]]
            label = f"{study.upper()}: {name} ({body}-body)"
            n = np.asarray(curve["train_pairs"]) * shift
            test = np.asarray(curve["test_rmse"]) / curve["target_std"]
            pair = np.asarray(curve["test_pair_rmse"])
            for ax, values in ((top, test), (bottom, pair)):
                mean = values.mean(axis=1)  # seeds in columns; bars: min-max over the seeds
                spread = [mean - values.min(axis=1), values.max(axis=1) - mean]
                ax.errorbar(n, mean, yerr=spread, ls=line, marker=marker, fillstyle=fill,
                            color=colour, capsize=1.5, elinewidth=0.8, label=label)  # fmt: skip
            if role == "blind":  # the lowest error any model blind to the pairs can reach
                top.axhline(
                    curve["floor"] / curve["target_std"],
                    color=colour,
                    linestyle=":",
                    linewidth=1,
                    label=f"{study.upper()}: floor of a pair-blind model",
                )
    n_seeds = np.asarray(curve["test_rmse"]).shape[1]
    top.set_xscale("log")
    top.set_yscale("log")
    top.set_ylabel("test RMSE / target std")
    top.set_title(f"(a) learning curves, kernel ridge\n(bars: min-max over {n_seeds} seeds)")
    handles, labels = top.get_legend_handles_labels()
    fig.legend(handles, labels, frameon=False, loc="outside lower center", fontsize="small")
    bottom.set_ylabel("within-pair relative RMSE")
    bottom.set_xlabel("training pairs")
    bottom.set_title("(b) error on the difference within a pair\n(blind descriptors: exactly 1)")
    top_value = max(float(np.max(line.get_ydata())) for line in bottom.get_lines())
    bottom.set_ylim(-0.05, max(1.15, 1.05 * top_value))
    _save(fig, out / "fig4_learning.png")
    return {"summary": summary}


def figure_audit(out: Path, *, progress: bool = True) -> dict:
    """Fig. 5: verdict heat map, every built-in descriptor x every catalog pair (two columns);
    ``progress``: the audit's progress bar."""
    from ..descriptors.defaults import builtin_descriptors
    from .report import run_audit

    _pyplot()
    audit = run_audit(builtin_descriptors(), cards=False, timings=False, progress=progress)
    fig = audit.figure()
    fig.set_size_inches(PAGE_WIDTH, fig.get_size_inches()[1])  # two columns wide
    _save(fig, out / "fig5_audit.png")
    counts = {}
    for name, results in audit.verdicts.items():
        counts[name] = {
            v: sum(r.verdict == v for r in results)
            for v in ("degenerate", "resolved", "inconclusive", "error")
        }
    return {"counts": counts, "n_pairs": len(audit.pairs)}


def figure_resolution(out: Path, analyses: Path) -> dict:
    """Fig. 6: power spectrum resolution against its basis size (analyses/resolution)."""
    plt = _pyplot()
    path = analyses / "resolution" / "results" / "summary.csv"
    if not path.is_file():
        raise InputError(f"result file {path} is missing; run analyses/resolution/run.py first")
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    widths = sorted({float(r["density_width"]) for r in rows})
    width = 0.5 if 0.5 in widths else widths[0]
    rows = [r for r in rows if float(r["density_width"]) == width]
    # one panel: the weakest margins of the configurations that resolve every resolvable pair
    # span 12.0-12.9 decades, a variation at round-off that carries no information; their range
    # is stated on the figure instead of plotted
    fig, top = plt.subplots(figsize=(COLUMN_WIDTH, 2.6), layout="constrained")
    cmap = plt.get_cmap("viridis")
    radial = sorted({int(r["n_radial"]) for r in rows})
    for i, n in enumerate(radial):
        sub = sorted(
            (r for r in rows if int(r["n_radial"]) == n), key=lambda r: int(r["max_angular"])
        )
        lmax = [int(r["max_angular"]) for r in sub]
        fraction = [int(r["n_resolvable_resolved"]) / int(r["n_resolvable"]) for r in sub]
        colour = cmap(i / max(1, len(radial) - 1))
        offset = 0.08 * (i - (len(radial) - 1) / 2)  # side by side: the curves coincide
        top.plot(np.asarray(lmax) + offset, fraction, "o-", color=colour, label=f"n_radial = {n}")
    complete = [
        float(r["weakest_margin"])
        for r in rows
        if r["n_resolvable_resolved"] == r["n_resolvable"]
        and math.isfinite(float(r["weakest_margin"]))
    ]
    if complete:
        top.text(
            0.98,
            0.35,
            f"where all are resolved, the weakest\nmargin is {min(complete):.1f}-"
            f"{max(complete):.1f} decades; the spread\nfollows the round-off floor, not the basis",
            transform=top.transAxes,
            ha="right",
            fontsize=6.5,
        )
    top.set_ylabel("fraction of resolvable\npairs resolved")
    top.set_xlabel("max_angular $l_{max}$")
    top.set_title(f"power spectrum, cutoff 5 Å, width {width:g} Å")
    top.legend(
        frameon=False,
        loc="lower right",
        ncol=2,
        title_fontsize=6.5,
        title="curves coincide: shifted sideways",
    )
    _save(fig, out / "fig6_resolution.png")
    return {"rows": rows, "width": width}


def figure_onat(out: Path, analyses: Path) -> dict:
    """Fig. 7: Onat et al.'s radial and tangential response on diamond Si (analyses/sensitivity)."""
    plt = _pyplot()
    onat = read_result(analyses / "sensitivity" / "results" / "onat.json")
    fig, ax = plt.subplots(figsize=(COLUMN_WIDTH, 2.8), layout="constrained")
    colour = PALETTE["power-spectrum"]
    styles = {
        "perfect_radial": ("o-", "full"),
        "perfect_tangential": ("s-", "full"),
        "jitter_radial": ("o--", "none"),
        "jitter_tangential": ("s--", "none"),
    }
    for key, (style, fill) in styles.items():
        entry = onat[key]
        label = f"{key.replace('_', ', ')}: slope {entry['exponent']:.3f}"
        if key == "jitter_radial":
            label += " (on top of perfect)"
        ax.loglog(
            entry["t"],
            entry["distance"],
            style,
            color=colour,
            fillstyle=fill,
            alpha=1.0 if "perfect" in key else 0.6,
            label=label,
            markersize=3 if "perfect" in key else 5,
        )
    roundoff = onat["perfect_radial"]["roundoff"]
    ax.axhline(roundoff, color="#999999", lw=0.8, ls=":", label="round-off")
    ax.set_xlabel("displacement t of a first-shell neighbour (Å)")
    ax.set_ylabel("$\\|V(t)-V(0)\\| / \\|V(0)\\|$")
    ax.set_title(f"diamond Si, {onat['n_atoms']} atoms, power spectrum")
    ax.legend(frameon=False, loc="upper left")
    _save(fig, out / "fig7_onat.png")
    return {k: onat[k]["exponent"] for k in styles}


#: (file name, builder) in paper order; the builder's arguments are filled by :func:`build`.
FIGURES = [
    "fig1_prl.png",
    "fig2_b8.png",
    "fig3_fold.png",
    "fig4_learning.png",
    "fig5_audit.png",
    "fig6_resolution.png",
    "fig7_onat.png",
]


def build_figures(out_dir, *, quick: bool = False, analyses=None, progress=None) -> dict:
    """Write every figure into ``out_dir/figures``; return the numbers the text quotes.

    ``analyses``: the ``analyses/`` directory holding the studies' results (default: the source
    tree's). ``progress``: optional callable receiving one line per figure; without it nothing
    is shown (no progress bar either).
    """
    out_dir = Path(out_dir)
    analyses = Path(analyses) if analyses is not None else default_analyses()
    if not analyses.is_dir():
        raise InputError(
            f"analyses directory {analyses} does not exist (an installed wheel carries no study "
            "results): point `completeness paper --analyses DIR` (or build_figures(analyses=DIR)) "
            "at the analyses/ folder of a clone of the repository"
        )
    figures = out_dir / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    steps = [
        ("prl", lambda: figure_prl(figures, quick)),
        ("b8", lambda: figure_b8(figures, quick)),
        ("fold", lambda: figure_fold(figures, quick)),
        ("learning", lambda: figure_learning(figures, analyses)),
        ("audit", lambda: figure_audit(figures, progress=progress is not None)),
        ("resolution", lambda: figure_resolution(figures, analyses)),
        ("onat", lambda: figure_onat(figures, analyses)),
    ]
    numbers = {}
    for name, step in steps:
        tick = time.perf_counter()
        numbers[name] = step()
        if progress is not None:
            progress(f"{name}: {time.perf_counter() - tick:.1f} s")
    numbers["seconds"] = time.perf_counter() - start
    return numbers

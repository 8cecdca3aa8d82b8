"""The paper's figures and ``paper.md``, regenerated from the package and ``analyses/*/results``.

One function per figure (``figure_prl`` ... ``figure_onat``); each writes one PNG at a single
column's width (3.4 in, except the audit heat map, which spans two columns) and returns the
numbers the text quotes. :func:`build` runs them all and writes ``paper.md``, where every
published number we reproduce sits next to ours, read from the result files or computed here.
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

__all__ = ["FIGURES", "PALETTE", "PUBLISHED", "build", "default_analyses"]

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
PUBLISHED = {
    "fold_deltas": [0.1, 0.05, 0.025, 0.0125],
    "fold_distances": [0.180, 0.046, 0.0116, 0.0029],
    "fold_source": (
        "docs/science.md §2.3 (one SOAP-like implementation; PRL 125, 166001 (2020) family)"
    ),
    "within_pair_rmse": 1.000,
    "within_pair_source": "Nigam et al., APL Mach. Learn. 2, 016110 (2024), bispectrum on B8",
    "tangential_perfect": 2.0,
    "tangential_jitter": 1.0,
    "onat_source": "Onat, Ortner, Kermode, J. Chem. Phys. 153, 144106 (2020)",
    "b8_featomic": {
        "nu=2": 2e-17,
        "nu=3 even": 2e-17,
        "nu=3 odd": 5e-15,
        "nu=4 even": 6e-3,
        "nu=4 odd": 1.65,
    },
    "b8_source": "featomic density correlations (4 radial, l <= 4, width 0.3 Å, cutoff 4 Å), "
    "docs/science.md §2.5",
    "ch4_bonds": (1.086, 1.094),
    "ch4_target": (0.92, 1.23),
    "ch4_featomic_end_to_end": 0.267,
    "ch4_featomic_bonds": (1.089, 1.092),
    "ch4_featomic_ratio": 0.003,
    "ch4_source": "Parsaeifard & Goedecker, J. Chem. Phys. 156, 034302 (2022); featomic "
    "reproduction in docs/science.md §3",
}

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


def _read_json(path: Path) -> dict:
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
    deltas = np.unique(np.concatenate([grid, PUBLISHED["fold_deltas"]]))
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
        for d in PUBLISHED["fold_deltas"]
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
    summary = _read_json(results / "summary.json")
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(COLUMN_WIDTH, 5.6), sharex=True, layout="constrained"
    )
    # PRL filled circles on solid lines, B8 open squares on dashed lines, shifted sideways by
    # 6 % so that coinciding curves (both blind descriptors sit at exactly 1 in (b)) stay visible
    studies = {"prl": ("-", "o", "full", 0.94), "b8": ("--", "s", "none", 1.06)}
    for study, (line, marker, fill, shift) in studies.items():
        for role in ("blind", "resolving"):
            curve = _read_json(results / f"curve_{study}_{role}_krr.json")
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


def figure_audit(out: Path) -> dict:
    """Fig. 5: verdict heat map, every built-in descriptor x every catalog pair (two columns)."""
    from ..descriptors.defaults import builtin_descriptors
    from .report import run_audit

    _pyplot()
    audit = run_audit(builtin_descriptors(), cards=False, timings=False)
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
    onat = _read_json(analyses / "sensitivity" / "results" / "onat.json")
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


def _agreement(agrees: bool, what: str) -> str:
    """One sentence from a computed comparison (never typed as a conclusion)."""
    return f"Ours agrees ({what})." if agrees else f"**Ours differs** ({what}): see the text."


def _fmt(value: float) -> str:
    return f"{value:.2g}" if value != 0 else "0"


def _markdown(numbers: dict, analyses: Path, quick: bool) -> str:
    fold, b8, onat = numbers["fold"], numbers["b8"], numbers["onat"]
    learning = numbers["learning"]["summary"]
    manifold = _read_json(analyses / "sensitivity" / "results" / "manifold.json")
    fold_json = _read_json(analyses / "sensitivity" / "results" / "fold.json")
    p = PUBLISHED
    lines = [
        "# Completeness of atomic descriptors: figures and reproduced numbers",
        "",
        "Generated by `make -C paper` (`completeness paper`) from `completeness.analysis.paper`"
        + (" in **quick** mode (fewer scan points)" if quick else "")
        + "; every number in the 'ours' columns is read from `analyses/*/results` or computed "
        "by the build. Do not edit by hand.",
        "",
        "## Figures",
        "",
        "1. ![PRL pair](figures/fig1_prl.png) The PRL 3-body pair and the distance of the pair "
        "along $y_C$ of its family for 2-, 3- and 4-body descriptors.",
        "2. ![B8 pair](figures/fig2_b8.png) A B8 two-ring pair and density correlations "
        "nu = 1..4 along the ring twist psi.",
        "3. ![fold](figures/fig3_fold.png) Distance against displacement at the PRL fold point "
        "(fold direction and a generic direction).",
        "4. ![learning](figures/fig4_learning.png) Learning curves and within-pair errors.",
        "5. ![audit](figures/fig5_audit.png) Verdicts of every built-in descriptor on every "
        "catalog pair.",
        "6. ![resolution](figures/fig6_resolution.png) Resolution of the power spectrum against "
        "its basis size.",
        "7. ![onat](figures/fig7_onat.png) Radial and tangential sensitivity on diamond Si.",
        "",
        "## Published numbers next to ours",
        "",
        "### Fold law (PRL family at y_C = 0)",
        "",
        f"Published: {p['fold_source']}. Ours: power spectrum of the audit (cutoff 5 Å, "
        "6 radial, l <= 4, width 0.5 Å), fold structure scaled to 0.8 cutoff "
        "(`completeness.analysis.scan.fold_scan`).",
        "",
        "| delta (Å) | published distance | ours |",
        "|---|---|---|",
    ]
    for delta, published, row in zip(
        p["fold_deltas"], p["fold_distances"], fold["table"], strict=True
    ):
        lines.append(f"| {delta:g} | {published:g} | {row['distance']:.3g} |")
    published_slope = float(np.polyfit(np.log(p["fold_deltas"]), np.log(p["fold_distances"]), 1)[0])
    lines += [
        "",
        f"Exponent: published {published_slope:.2f} (fit to the four numbers above), ours "
        f"{fold['exponents']['power-spectrum']:.3f} (power spectrum) and "
        f"{fold['exponents']['bispectrum']:.3f} (bispectrum) along the fold direction, "
        f"{fold['generic_exponent']:.3f} along a generic direction; the Jacobian study "
        f"(`analyses/sensitivity/results/fold.json`, PowerSpectrum n_radial 8, l <= 6) gives "
        f"{fold_json['fold']['exponent_fold_direction']['exponent']:.4f} / "
        f"{fold_json['fold']['exponent_generic_direction']['exponent']:.4f} and an extra null "
        f"singular value (s_min/s_max = "
        f"{fold_json['fold']['relative_singular_values'][-1]:.1e}). "
        + _agreement(
            abs(fold["exponents"]["power-spectrum"] - 2) < 0.05,
            "3-body fold exponent within 0.05 of 2",
        )
        + " **Where ours differs:** the prefactor (ours is "
        f"{p['fold_distances'][0] / fold['table'][0]['distance']:.0f} times smaller at delta = "
        "0.1 Å). The absolute distances depend on the implementation, the basis, the "
        "normalisation and the scale of the structure; only the exponent is universal. The "
        "bispectrum's response is linear: it resolves the pairs X+(delta), X-(delta) "
        "(4-body), so the fold is a fold of descriptors of body order <= 3 only.",
        "",
        "### Within-pair error (degenerate pairs cannot be learned apart)",
        "",
        f"Published: {p['within_pair_rmse']:.3f} ({p['within_pair_source']}).",
        "",
        "| data set | descriptor (body order) | model | within-pair rel. RMSE, test (ours) |",
        "|---|---|---|---|",
    ]
    for row in learning:
        lines.append(
            f"| {row['study']} ({row['n_pairs']} pairs) | {row['descriptor']} "
            f"({row['body_order']}) | {row['model']} | {row['test_pair_rmse']:.4f} "
            f"± {row['test_pair_rmse_std']:.4f} |"
        )
    b8_blind = [r for r in learning if r["study"] == "b8" and r["role"] == "blind"]
    lines += [
        "",
        _agreement(
            all(abs(r["test_pair_rmse"] - p["within_pair_rmse"]) < 1e-3 for r in b8_blind),
            "B8 bispectrum: "
            + ", ".join(f"{r['model']} {r['test_pair_rmse']:.4f}" for r in b8_blind),
        )
        + " A descriptor blind to a family predicts the same value for both members, so the "
        "within-pair relative RMSE is 1 to round-off; the next body order learns the difference.",
        "",
        "### Tangential exponent on diamond Si",
        "",
        f"Published ({p['onat_source']}): {p['tangential_perfect']:g} at the perfect crystal, "
        f"{p['tangential_jitter']:g} with ±2 % radial jitter (radial exponent 1). Ours "
        "(power spectrum, cutoff 6.5 Å, 512 atoms, `analyses/sensitivity/results/onat.json`):",
        "",
        "| path | published | ours |",
        "|---|---|---|",
        f"| perfect, radial | 1 | {onat['perfect_radial']:.4f} |",
        f"| perfect, tangential | {p['tangential_perfect']:g} | {onat['perfect_tangential']:.4f} |",
        f"| jitter, radial | 1 | {onat['jitter_radial']:.4f} |",
        f"| jitter, tangential | {p['tangential_jitter']:g} | {onat['jitter_tangential']:.4f} |",
        "",
        _agreement(
            abs(onat["perfect_tangential"] - p["tangential_perfect"]) < 0.05
            and abs(onat["jitter_tangential"] - p["tangential_jitter"]) < 0.05,
            "tangential exponents within 0.05",
        ),
        "",
        "### B8 pair: density correlations nu = 1..4",
        "",
        f"Published: {p['b8_source']}, on one B8 pair. Ours: the package's `DensityCorrelations`"
        " with the same hypers on `nigam2024-b8-0000` (relative distance; noise floor from "
        "rotated copies).",
        "",
        "| order | featomic (published) | ours: even | ours: even + odd |",
        "|---|---|---|---|",
    ]
    pair = b8["pair"]
    featomic = p["b8_featomic"]
    for nu in (1, 2, 3, 4):
        even = pair[f"nu={nu} even"]["distance"]
        both = pair[f"nu={nu} even+odd"]["distance"]
        published = (
            ", ".join(
                f"{k.split(' ', 1)[1] if ' ' in k else 'even'} {v:g}"
                for k, v in featomic.items()
                if k.startswith(f"nu={nu}")
            )
            or "-"
        )
        lines.append(f"| nu = {nu} | {published} | {_fmt(even)} | {_fmt(both)} |")
    floor = pair["nu=4 even"]["noise_floor"]
    same_pattern = all(
        pair[f"nu={nu} {kind}"]["verdict"] == ("resolved" if nu == 4 else "degenerate")
        for nu in (1, 2, 3, 4)
        for kind in ("even", "even+odd")
    )
    lines += [
        "",
        _agreement(same_pattern, f"nu <= 3 at the noise floor {floor:.1e}, nu = 4 resolved")
        + " **Where ours differs:** the nu = 4 numbers (ours "
        f"{pair['nu=4 even']['distance']:.2g} even vs featomic 6e-3). The published pair is "
        "'one such pair' of the B8 sampling, not necessarily ours, and featomic normalises and "
        "selects its nu = 4 features differently (23,296 features), so the size of the "
        "difference is not comparable; our odd terms are reported together with the even ones, "
        "not alone.",
        "",
        "### CH4 quasi-constant manifold of the power spectrum",
        "",
        f"Published: {p['ch4_source']}.",
        "",
        "| quantity | published | featomic reproduction | ours |",
        "|---|---|---|---|",
    ]
    ps = manifold["power_spectrum"]
    lines += [
        f"| steps x step | 20,000 x 1e-4 Å | 20,000 x 1e-4 Å | {ps['n_steps']:,} x "
        f"{ps['step']:g} Å |",
        f"| end-to-end (Å) | - | {p['ch4_featomic_end_to_end']:g} | {ps['end_to_end']:.3f} |",
        f"| C-H range (Å) | {p['ch4_bonds'][0]}-{p['ch4_bonds'][1]} | "
        f"{p['ch4_featomic_bonds'][0]}-{p['ch4_featomic_bonds'][1]} | "
        f"{ps['distance_range'][0]:.3f}-{ps['distance_range'][1]:.3f} |",
        f"| four-body target range | {p['ch4_target'][0]}-{p['ch4_target'][1]} | 0.94-1.25 | "
        f"{ps['target_range'][0]:.2f}-{ps['target_range'][1]:.2f} |",
        f"| PS change / random straight change | - | {p['ch4_featomic_ratio']:g} | "
        f"{ps['ratio']:.4f} |",
        f"| bispectrum change / random straight change | - | - | "
        f"{manifold['bispectrum']['ratio']:.3f} |",
        "",
        _agreement(
            ps["distance_range"][1] / ps["distance_range"][0] < 1.01
            and ps["target_range"][1] - ps["target_range"][0]
            > 0.8 * (p["ch4_target"][1] - p["ch4_target"][0])
            and ps["ratio"] < 0.01,
            "bonds within 1 %, target span at least 80 % of the published one, power spectrum "
            "change below 1 % of a random one",
        )
        + " The bispectrum changes far more along the same path. **Where ours differs:** the "
        "end-to-end distance and the exact ranges depend on the descriptor implementation "
        "(radial basis, normalisation), which sets the least sensitive direction followed at "
        "every step.",
        "",
        "## Other numbers in the figures",
        "",
        f"- Audit (Fig. 5): {numbers['audit']['n_pairs']} catalog pairs; degenerate / resolved "
        "per descriptor: "
        + "; ".join(
            f"{k} {v['degenerate']}/{v['resolved']}" for k, v in numbers["audit"]["counts"].items()
        )
        + ".",
        "",
    ]
    return "\n".join(lines)


def build(out_dir, *, quick: bool = False, analyses=None, progress=None) -> dict:
    """Write every figure into ``out_dir/figures`` and ``out_dir/paper.md``; return the numbers.

    ``analyses``: the ``analyses/`` directory holding the studies' results (default: the source
    tree's). ``progress``: optional callable receiving one line per figure.
    """
    out_dir = Path(out_dir)
    analyses = Path(analyses) if analyses is not None else default_analyses()
    if not analyses.is_dir():
        raise InputError(
            f"analyses directory {analyses} does not exist (an installed wheel carries no study "
            "results): point `completeness paper --analyses DIR` (or build(analyses=DIR)) at the "
            "analyses/ folder of a clone of the repository"
        )
    figures = out_dir / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    steps = [
        ("prl", lambda: figure_prl(figures, quick)),
        ("b8", lambda: figure_b8(figures, quick)),
        ("fold", lambda: figure_fold(figures, quick)),
        ("learning", lambda: figure_learning(figures, analyses)),
        ("audit", lambda: figure_audit(figures)),
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
    (out_dir / "paper.md").write_text(_markdown(numbers, analyses, quick))
    return numbers

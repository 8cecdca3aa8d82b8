"""Does uniqueness predict learning? Rank correlations, the results table and the figure."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["MEASURES", "PERFORMANCE", "correlations", "figure", "markdown"]

#: Audit measures (record["measures"] keys) and what a better descriptor is expected to show.
MEASURES = {
    "resolved": "catalog pairs resolved",
    "fold_exponent": "fold exponent",
    "smallest_relative_singular_value": "smallest relative singular value (task)",
    "sensitive_mode_fraction": "fraction of sensitive modes (task)",
    "noise_floor": "median noise floor",
}

#: Learning performance read off a record (lower is better for both).
PERFORMANCE = {
    "relative_error": lambda r: r["energy"]["rmse_mean"][-1] / r["energy"]["test_std"],
    "slope": lambda r: r["energy"]["slope"],
}


def _spearman(x, y) -> float:
    from scipy.stats import spearmanr

    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    return float(spearmanr(x, y).statistic)


def _bootstrap(x, y, seed: int, n: int = 2000) -> tuple[float, float]:
    """95 % percentile interval of Spearman's rho over descriptors resampled with replacement."""
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n):
        index = rng.integers(len(x), size=len(x))
        rho = _spearman(x[index], y[index])
        if math.isfinite(rho):
            values.append(rho)
    if len(values) < n // 2:
        return math.nan, math.nan
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


def correlations(records: list, *, seed: int = 0) -> dict:
    """Spearman's rho between every audit measure and every performance number, per task, over
    the descriptors, with a bootstrap 95 % interval and the number of descriptors used."""
    out = {}
    for task in sorted({r["task"] for r in records}):
        rows = [r for r in records if r["task"] == task and "measures" in r]
        for measure in MEASURES:
            for performance, read in PERFORMANCE.items():
                pairs = [(r["measures"][measure], read(r)) for r in rows]
                pairs = [
                    (a, b)
                    for a, b in pairs
                    if a is not None and b is not None and math.isfinite(a) and math.isfinite(b)
                ]
                x = np.array([a for a, _ in pairs], dtype=float)
                y = np.array([b for _, b in pairs], dtype=float)
                rho = _spearman(x, y)
                low, high = _bootstrap(x, y, seed) if math.isfinite(rho) else (math.nan,) * 2
                out[f"{task}/{measure}/{performance}"] = {
                    "rho": rho,
                    "low": low,
                    "high": high,
                    "n": len(pairs),
                }
    return out


def _fmt(value, spec="{:.3g}") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return spec.format(value)


def markdown(result: dict) -> str:
    """The results as Markdown: one row per (task, descriptor), then the correlations."""
    lines = ["# Representation benchmark", ""]
    for name, description in result["tasks"].items():
        lines.append(f"- **{name}**: {description}")
    lines += [
        "",
        "| task | descriptor | tuned | features | energy RMSE (eV) | / test std | slope | "
        "force RMSE (eV/Å) | resolved | fold exp. | min rel. s.v. | FN error pct. |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["records"]:
        energy, forces = r["energy"], r["forces"]
        tuned = ", ".join(f"{k}={v}" for k, v in (r["tuning"] or {}).get("params", {}).items())
        m, s = r.get("measures", {}), r.get("search", {})
        force = forces.get("skipped") or _fmt(forces["rmse_mean"][-1])
        lines.append(
            f"| {r['task']} | {r['descriptor']} | {tuned or '—'} | {r['n_features']} | "
            f"{_fmt(energy['rmse_mean'][-1])} | {_fmt(PERFORMANCE['relative_error'](r))} | "
            f"{_fmt(energy['slope'], '{:.2f}')} | {force} | {_fmt(m.get('resolved'), '{}')} | "
            f"{_fmt(m.get('fold_exponent'), '{:.2f}')} | "
            f"{_fmt(m.get('smallest_relative_singular_value'), '{:.1e}')} | "
            f"{_fmt(s.get('mean_error_percentile'), '{:.2f}')} |"
        )
    if result.get("correlations"):
        lines += [
            "",
            "## Rank correlation (Spearman) of audit measures with learning performance",
            "",
            "| task | measure | performance | rho | 95 % interval | descriptors |",
            "|---|---|---|---|---|---|",
        ]
        for key, c in result["correlations"].items():
            task, measure, performance = key.split("/")
            lines.append(
                f"| {task} | {MEASURES[measure]} | {performance} | {_fmt(c['rho'], '{:+.2f}')} "
                f"| [{_fmt(c['low'], '{:+.2f}')}, {_fmt(c['high'], '{:+.2f}')}] | {c['n']} |"
            )
    return "\n".join(lines) + "\n"


def figure(result: dict):
    """Learning curves (test RMSE / test std against training size), one panel per task, with
    the min-max band over seeds; the package's colour per descriptor (:mod:`..style`)."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    from ..style import DESCRIPTOR_COLOURS, use

    tasks = list(result["tasks"])
    with use():
        fig, axes = plt.subplots(1, len(tasks), figsize=(5.2 * len(tasks), 4.2), squeeze=False)
        for ax, task in zip(axes[0], tasks, strict=True):
            for r in (r for r in result["records"] if r["task"] == task):
                e, colour = r["energy"], DESCRIPTOR_COLOURS.get(r["descriptor"])
                scale = e["test_std"] or 1.0
                sizes = np.array(e["sizes"])
                low, high = np.array(e["rmse_min"]) / scale, np.array(e["rmse_max"]) / scale
                ax.fill_between(sizes, low, high, color=colour, alpha=0.12, linewidth=0)
                ax.plot(
                    sizes,
                    np.array(e["rmse_mean"]) / scale,
                    "o-",
                    ms=3,
                    color=colour,
                    label=r["descriptor"],
                )
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xticks(e["sizes"])
            ax.xaxis.set_major_formatter(ScalarFormatter())
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.set_xlabel("training structures")
            ax.set_ylabel("energy test RMSE / test-set std")
            ax.set_title(task)
        axes[0][-1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
        fig.tight_layout()
    return fig

"""What degeneracy costs a model: learning curves, within-pair errors and GFRE tables.

Run from the repository root::

    python3 analyses/learning/run.py            # full study (4000-pair data sets), ~1 h
    python3 analyses/learning/run.py --quick    # smoke run (200 pairs) into results/quick/

Reads ``analyses/learning/config.json`` and writes into ``analyses/learning/results/``:

* ``curve_<study>_<role>_<model>.json``: :class:`completeness.analysis.learning.LearningCurve`
  (``role`` is ``blind``: a descriptor the pairs are degenerate for, or ``resolving``: the next
  body order);
* ``summary.json`` / ``summary.md``: within-pair relative RMSE (train and test, mean and std
  over seeds) at the largest training size, test RMSE and the degenerate error floor;
* ``gfre.json`` / ``gfre.md``: GFRE between radial spectrum, power spectrum and bispectrum in
  both directions, on random environments and on PRL-family pairs, and GFRE(power spectrum ->
  bispectrum) against the number of structures;
* ``learning_curves.png``: the figure.

Targets are classical functions of the geometry (``completeness.analysis.targets``): no
quantum-chemistry data is used.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from completeness.analysis import learning, reconstruction
from completeness.analysis.targets import TARGET_UNITS
from completeness.descriptors import correlations, spectra  # noqa: F401  (registers classes)
from completeness.descriptors.base import registered_descriptors
from completeness.structures import enantiomers

HERE = Path(__file__).resolve().parent


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def make_descriptor(name: str, hypers: dict):
    classes = registered_descriptors()
    if name not in classes:
        raise SystemExit(f"unknown descriptor {name!r}; known: {sorted(classes)}")
    return classes[name](**hypers)


# --------------------------------------------------------------------------------------------
# learning curves
# --------------------------------------------------------------------------------------------


def run_study(study: dict, config: dict, out: Path, quick: bool) -> list[dict]:
    n_pairs = config["quick"]["n_pairs"] if quick else study["n_pairs"]
    seeds = config["quick"]["seeds"] if quick else config["seeds"]
    n_sizes = config["quick"]["n_sizes"] if quick else config["n_sizes"]
    log(f"{study['name']}: generating {n_pairs} {study['family']} pairs")
    pairs = learning.family_pairs(study["family"], n_pairs)
    n_test = round(config["test_fraction"] * n_pairs)
    sizes = learning.log_training_sizes(
        min(config["smallest_train_pairs"], n_pairs - n_test), n_pairs - n_test, n_sizes
    )
    rows = []
    for role in ("blind", "resolving"):
        spec = study[role]
        descriptor = make_descriptor(spec["descriptor"], spec["hypers"])
        log(f"{study['name']}/{role}: computing {spec['descriptor']} features")
        dataset = learning.pair_dataset(pairs, descriptor, study["target"], name=study["name"])
        distance = dataset.feature_distance()
        log(
            f"{study['name']}/{role}: {dataset.features_plus.shape[1]} non-zero features, "
            f"pair feature distance median {np.median(distance):.2e}, max {distance.max():.2e}"
        )
        for model in config["models"]:
            model_sizes = sizes
            if model == "krr":
                model_sizes = sizes[sizes <= config["krr_max_train_pairs"]]
            log(f"{study['name']}/{role}/{model}: sizes {model_sizes.tolist()}")
            curve = learning.pair_learning_curve(
                dataset,
                model=model,
                train_pairs=model_sizes,
                seeds=seeds,
                test_fraction=config["test_fraction"],
            )
            curve.save(out / f"curve_{study['name']}_{role}_{model}.json")
            rows.append(
                {
                    "study": study["name"],
                    "family": study["family"],
                    "n_pairs": n_pairs,
                    "target": study["target"],
                    "role": role,
                    "descriptor": spec["descriptor"],
                    "body_order": int(descriptor.body_order),
                    "model": model,
                    "train_pairs": int(curve.train_pairs[-1]),
                    "test_pair_rmse": float(curve.test_pair_rmse[-1].mean()),
                    "test_pair_rmse_std": float(curve.test_pair_rmse[-1].std()),
                    "train_pair_rmse": float(curve.train_pair_rmse[-1].mean()),
                    "test_rmse": float(curve.test_rmse[-1].mean()),
                    "floor": curve.floor,
                    "target_std": curve.target_std,
                    "pair_distance_median": float(np.median(distance)),
                }
            )
            log(
                f"  within-pair relative RMSE test {rows[-1]['test_pair_rmse']:.4f} +- "
                f"{rows[-1]['test_pair_rmse_std']:.4f}, train {rows[-1]['train_pair_rmse']:.4f}; "
                f"test RMSE {rows[-1]['test_rmse']:.4g} (floor {curve.floor:.4g})"
            )
    return rows


def write_summary(rows: list[dict], out: Path) -> None:
    (out / "summary.json").write_text(json.dumps(rows, indent=1))
    lines = [
        "| data set | target | descriptor (body order) | model | train pairs | within-pair "
        "rel. RMSE test | train | test RMSE | degenerate floor |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['family']} ({r['n_pairs']} pairs) | {r['target']} | {r['descriptor']} "
            f"({r['body_order']}) | {r['model']} | {r['train_pairs']} | "
            f"{r['test_pair_rmse']:.4f} ± {r['test_pair_rmse_std']:.4f} | "
            f"{r['train_pair_rmse']:.4f} | {r['test_rmse']:.4g} | {r['floor']:.4g} |"
        )
    (out / "summary.md").write_text("\n".join(lines) + "\n")


# --------------------------------------------------------------------------------------------
# GFRE
# --------------------------------------------------------------------------------------------


def run_gfre(config: dict, out: Path, quick: bool) -> dict:
    spec = config["gfre"]
    sizes = config["quick"]["gfre_n_structures"] if quick else spec["n_structures"]
    n_max = max(sizes)
    log(f"GFRE: {n_max} random environments and {n_max // 2} PRL pairs")
    random_systems = [
        enantiomers.random_chiral(seed=i, **spec["random"]).plus for i in range(n_max)
    ]
    pairs = learning.family_pairs("prl", n_max // 2)
    pair_systems = [p.plus for p in pairs] + [p.minus for p in pairs]
    features = {"random": {}, "pairs": {}}
    for name, hypers in spec["descriptors"].items():
        descriptor = make_descriptor(name, hypers)
        for label, systems in (("random", random_systems), ("pairs", pair_systems)):
            values = descriptor.compute(systems, centers=[0]).values
            features[label][name] = values[:, np.any(values != 0.0, axis=0)]
    result = {"n_structures": sizes, "tables": {}, "power_to_bispectrum": {}}
    for label in ("random", "pairs"):
        log(f"GFRE table on {label} data ({n_max} structures)")
        table = reconstruction.reconstruction_table(features[label], measure="gfre")
        gfrd = reconstruction.reconstruction_table(features[label], measure="gfrd")
        result["tables"][label] = {
            f"{a} -> {b}": {"gfre": table[(a, b)], "gfrd": gfrd[(a, b)]} for (a, b) in table
        }
        curve = []
        for n in sizes:
            if label == "random":
                index = np.arange(n)
            else:  # the first n/2 pairs, both members
                index = np.concatenate([np.arange(n // 2), n_max // 2 + np.arange(n // 2)])
            curve.append(
                reconstruction.gfre(
                    features[label]["PowerSpectrum"][index], features[label]["Bispectrum"][index]
                )
            )
        result["power_to_bispectrum"][label] = curve
        kernel_curve = []
        for n in sizes:
            if label == "random":
                index = np.arange(n)
            else:
                index = np.concatenate([np.arange(n // 2), n_max // 2 + np.arange(n // 2)])
            kernel_curve.append(
                reconstruction.kernel_reconstruction_error(
                    features[label]["PowerSpectrum"][index], features[label]["Bispectrum"][index]
                )
            )
        result.setdefault("kernel_power_to_bispectrum", {})[label] = kernel_curve
        log(f"  linear {np.round(curve, 3).tolist()}, kernel {np.round(kernel_curve, 3).tolist()}")
        result.setdefault("lfre_power_to_bispectrum", {})[label] = reconstruction.lfre(
            features[label]["PowerSpectrum"],
            features[label]["Bispectrum"],
            n_local_points=spec["n_local_points"],
        )
    bispectrum = features["pairs"]["Bispectrum"]
    half = n_max // 2
    result["degenerate_floor_power_to_bispectrum"] = reconstruction.degenerate_gfre_floor(
        bispectrum[:half], bispectrum[half : 2 * half]
    )
    (out / "gfre.json").write_text(json.dumps(result, indent=1))
    names = list(spec["descriptors"])
    lines = [
        f"GFRE (GFRD in brackets), source (row) -> target (column), {n_max} structures, "
        "half train / half test.",
        "",
    ]
    for label, title in (
        ("random", "random environments (random_chiral, 4 neighbours, 1-3 Å)"),
        ("pairs", f"PRL-family degenerate pairs ({half} pairs, both members)"),
    ):
        lines += [f"**{title}**", "", "| source \\ target | " + " | ".join(names) + " |"]
        lines.append("|---" * (len(names) + 1) + "|")
        for a in names:
            cells = []
            for b in names:
                if a == b:
                    cells.append("-")
                else:
                    entry = result["tables"][label][f"{a} -> {b}"]
                    cells.append(f"{entry['gfre']:.3f} ({entry['gfrd']:.3f})")
            lines.append(f"| {a} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += [
        "GFRE(PowerSpectrum -> Bispectrum) against the number of structures:",
        "",
        "| structures | " + " | ".join(str(n) for n in sizes) + " |",
        "|---" * (len(sizes) + 1) + "|",
    ]
    for label in ("random", "pairs"):
        values = " | ".join(f"{v:.3f}" for v in result["power_to_bispectrum"][label])
        lines.append(f"| {label}, linear (GFRE) | {values} |")
    for label in ("random", "pairs"):
        values = " | ".join(f"{v:.3f}" for v in result["kernel_power_to_bispectrum"][label])
        lines.append(f"| {label}, Gaussian kernel ridge | {values} |")
    lines += [
        "",
        "Lower bound for any pair-blind source on the pairs data (degenerate_gfre_floor): "
        f"{result['degenerate_floor_power_to_bispectrum']:.3f}.",
        "LFRE(PowerSpectrum -> Bispectrum, "
        f"{spec['n_local_points']} neighbours): random "
        f"{result['lfre_power_to_bispectrum']['random']:.3f}, pairs "
        f"{result['lfre_power_to_bispectrum']['pairs']:.3f}.",
    ]
    (out / "gfre.md").write_text("\n".join(lines) + "\n")
    return result


# --------------------------------------------------------------------------------------------
# CH4 along and off the insensitive manifold
# --------------------------------------------------------------------------------------------


def run_ch4(config: dict, out: Path, quick: bool) -> dict:
    from completeness.analysis.sensitivity import ch4_four_body_target, follow_insensitive_mode
    from completeness.analysis.targets import triangle_normal_target
    from completeness.structures.pair import make_atoms

    spec = config["ch4"]
    n_steps = config["quick"]["ch4_n_steps"] if quick else spec["n_steps"]
    n_off = config["quick"]["ch4_n_off"] if quick else spec["n_off"]
    seeds = config["quick"]["seeds"] if quick else config["seeds"]
    start = make_atoms("CH4", np.vstack([np.zeros(3), spec["start"]]))
    followed = make_descriptor(spec["followed"], spec["descriptors"][spec["followed"]])
    log(f"CH4: following the least sensitive mode of {spec['followed']} for {n_steps} steps")
    path = follow_insensitive_mode(
        followed, start, n_steps=n_steps, step=spec["step"], target=ch4_four_body_target
    )
    summary = path.summary()
    log(f"CH4 path: {summary}")
    along = path.vectors[:: spec["every"]]
    length = path.end_to_end
    rng = np.random.default_rng(spec["off_seed"])
    fields = rng.normal(size=(n_off, 4, 3))
    fields /= np.linalg.norm(fields.reshape(n_off, -1), axis=1)[:, None, None]
    off = along[0][None] + rng.uniform(0, length, size=(n_off, 1, 1)) * fields
    result = {"path": summary, "n_along": len(along), "n_off": n_off, "curves": {}}
    datasets = {}
    for label, vectors in (("along", along), ("off", off)):
        systems = [make_atoms("CH4", np.vstack([np.zeros(3), v])) for v in vectors]
        y = np.array([triangle_normal_target(a) for a in systems])
        result.setdefault("target_std", {})[label] = float(np.std(y))
        result.setdefault("target_range", {})[label] = [float(y.min()), float(y.max())]
        features = {}
        for name, hypers in spec["descriptors"].items():
            values = make_descriptor(name, hypers).compute(systems, centers=[0]).values
            features[name] = values
        datasets[label] = (features, y)
    # off: random displacements (train and test within); transfer: train on random
    # displacements, test along the manifold (Parsaeifard & Goedecker's failure mode)
    for label in ("off", "transfer"):
        features, y = datasets["off"]
        for name in spec["descriptors"]:
            keep = np.any(features[name] != 0.0, axis=0)
            extra = {}
            if label == "transfer":
                along_features, along_y = datasets["along"]
                extra = {"X_test": along_features[name][:, keep], "y_test": along_y}
            for model in config["models"]:
                curve = learning.learning_curve(
                    features[name][:, keep],
                    y,
                    model=model,
                    seeds=seeds,
                    test_fraction=config["test_fraction"],
                    name=f"ch4-{label}",
                    descriptor=name,
                    target="triangle_normals",
                    **extra,
                )
                curve.save(out / f"curve_ch4_{label}_{name}_{model}.json")
                relative = curve.test_rmse[-1].mean() / curve.target_std
                result["curves"][f"{label}/{name}/{model}"] = {
                    "train_size": int(curve.train_pairs[-1]),
                    "test_rmse": float(curve.test_rmse[-1].mean()),
                    "test_rmse_over_std": float(relative),
                }
                log(
                    f"CH4 {label} {name} {model}: test RMSE {curve.test_rmse[-1].mean():.4g} "
                    f"= {relative:.3f} of the test-target std, at {curve.train_pairs[-1]} "
                    "training structures"
                )
    (out / "ch4.json").write_text(json.dumps(result, indent=1))
    return result


def integer_log_axis(ax, ticks) -> None:
    """Log x axis with plain integer labels at ``ticks`` only (no overlapping minor labels)."""
    from matplotlib.ticker import FixedLocator, NullFormatter, ScalarFormatter

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator(list(ticks)))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())


def make_ch4_figure(config: dict, out: Path) -> Path | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
    found = False
    for ax, label, title in zip(
        axes,
        ("off", "transfer"),
        (
            "train and test on random displacements",
            "train on random displacements,\ntest along the power-spectrum insensitive manifold",
        ),
        strict=True,
    ):
        ticks = set()
        for name, colour in (("PowerSpectrum", "tab:red"), ("Bispectrum", "tab:blue")):
            for model, line in (("krr", "-"), ("ridge", "--")):
                path = out / f"curve_ch4_{label}_{name}_{model}.json"
                if not path.exists():
                    continue
                found = True
                curve = learning.LearningCurve.load(path)
                ticks.update(curve.train_pairs.tolist())
                ax.errorbar(
                    curve.train_pairs,
                    curve.test_rmse.mean(1) / curve.target_std,
                    yerr=curve.test_rmse.std(1) / curve.target_std,
                    color=colour,
                    linestyle=line,
                    marker="o",
                    capsize=2,
                    label=f"{name}, {model}",
                )
        integer_log_axis(ax, sorted(ticks))
        ax.set_yscale("log")
        ax.set_xlabel("training structures")
        ax.set_ylabel("test RMSE / std of test target (dimensionless)")
        ax.set_title(f"CH$_4$ four-body target: {title}", fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    if not found:
        plt.close(fig)
        return None
    fig.tight_layout()
    path = out / "ch4_learning.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


# --------------------------------------------------------------------------------------------
# figure
# --------------------------------------------------------------------------------------------


def make_figure(config: dict, out: Path, gfre_result: dict | None) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    studies = config["studies"]
    n_columns = 3 if gfre_result else 2
    fig, axes = plt.subplots(
        len(studies), n_columns, figsize=(5.0 * n_columns, 4.2 * len(studies)), squeeze=False
    )
    styles = {"blind": ("tab:red", "o"), "resolving": ("tab:blue", "s")}
    for row, study in enumerate(studies):
        ax_rmse, ax_pair = axes[row, 0], axes[row, 1]
        floor, ticks = None, set()
        for role in ("blind", "resolving"):
            for model in config["models"]:
                path = out / f"curve_{study['name']}_{role}_{model}.json"
                if not path.exists():
                    continue
                curve = learning.LearningCurve.load(path)
                colour, marker = styles[role]
                line = "-" if model == "krr" else "--"
                label = f"{study[role]['descriptor']} ({role}), {model}"
                x = curve.train_pairs
                ticks.update(x.tolist())
                ax_rmse.errorbar(
                    x,
                    curve.test_rmse.mean(1),
                    yerr=curve.test_rmse.std(1),
                    color=colour,
                    marker=marker,
                    linestyle=line,
                    label=label,
                    capsize=2,
                )
                ax_pair.errorbar(
                    x,
                    curve.test_pair_rmse.mean(1),
                    yerr=curve.test_pair_rmse.std(1),
                    color=colour,
                    marker=marker,
                    linestyle=line,
                    label=label,
                    capsize=2,
                )
                floor = curve.floor
        if floor is not None:
            ax_rmse.axhline(floor, color="grey", linestyle=":", label="degenerate error floor")
        unit = TARGET_UNITS.get(study["target"], "")
        title = f"{study['family']} pairs, target: {study['target']}"
        for ax in (ax_rmse, ax_pair):
            integer_log_axis(ax, sorted(ticks))
            ax.set_xlabel("training pairs (2 structures each)")
            ax.set_title(title, fontsize=10)
            ax.grid(True, which="both", alpha=0.3)
        ax_rmse.set_yscale("log")
        ax_rmse.set_ylabel(f"test RMSE per structure ({unit})")
        ax_pair.set_ylabel("within-pair relative RMSE of y+ − y− (dimensionless)")
        ax_pair.set_ylim(0, 1.3)
        ax_rmse.legend(fontsize=7)
        ax_pair.legend(fontsize=7)
    if gfre_result:
        ax = axes[0, 2]
        sizes = gfre_result["n_structures"]
        for label, colour, marker, text in (
            ("random", "tab:green", "o", "random environments"),
            ("pairs", "tab:purple", "s", "PRL pairs (both members)"),
        ):
            ax.plot(
                sizes,
                gfre_result["power_to_bispectrum"][label],
                marker=marker,
                color=colour,
                linestyle="--",
                label=f"{text}, linear (GFRE)",
            )
            if "kernel_power_to_bispectrum" in gfre_result:
                ax.plot(
                    sizes,
                    gfre_result["kernel_power_to_bispectrum"][label],
                    marker=marker,
                    color=colour,
                    linestyle="-",
                    label=f"{text}, kernel ridge",
                )
        ax.axhline(
            gfre_result["degenerate_floor_power_to_bispectrum"],
            color="grey",
            linestyle=":",
            label="bound for pair-blind source",
        )
        integer_log_axis(ax, sizes)
        ax.set_xlabel("structures (half train, half test)")
        ax.set_ylabel(
            "reconstruction error, power spectrum → bispectrum\n(standardised, dimensionless)"
        )
        ax.set_title("3-body → 4-body feature reconstruction error", fontsize=10)
        ax.set_ylim(0, None)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        for extra in range(1, len(studies)):
            axes[extra, 2].axis("off")
    fig.tight_layout()
    path = out / "learning_curves.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run into results/quick")
    parser.add_argument("--config", default=str(HERE / "config.json"))
    parser.add_argument("--only", choices=["learning", "gfre", "ch4", "figure"], default=None)
    args = parser.parse_args(argv)
    config = json.loads(Path(args.config).read_text())
    out = HERE / "results" / ("quick" if args.quick else "")
    out.mkdir(parents=True, exist_ok=True)
    if args.only in (None, "learning"):
        rows = []
        for study in config["studies"]:
            rows += run_study(study, config, out, args.quick)
            write_summary(rows, out)
    gfre_result = None
    if args.only in (None, "gfre"):
        gfre_result = run_gfre(config, out, args.quick)
    elif (out / "gfre.json").exists():
        gfre_result = json.loads((out / "gfre.json").read_text())
    if args.only in (None, "ch4"):
        run_ch4(config, out, args.quick)
    path = make_figure(config, out, gfre_result)
    log(f"wrote {path}")
    ch4_path = make_ch4_figure(config, out)
    if ch4_path is not None:
        log(f"wrote {ch4_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Sensitivity study: Onat et al.'s radial/tangential exponents, fold points, manifold following.

Run from the repository root::

    python3 analyses/sensitivity/run.py            # full study (20,000 following steps), minutes
    python3 analyses/sensitivity/run.py --quick    # 1,000 following steps, into results/quick/

Reads ``analyses/sensitivity/config.json`` and writes into ``analyses/sensitivity/results/``:

* ``onat.json``: power spectrum on diamond Si (conventional cell x (4, 4, 4) = 512 atoms, cutoff
  6.5 Å), centre 0, nearest neighbour: ``||V(t) - V(0)|| / ||V(0)||`` along the radial
  (t = 1e-8..1e-1 Å) and tangential (t = 1e-7..10 Å) paths, perfect and with +-2 % seeded radial
  jitter of every neighbour, the exponents fitted on t = 1e-6..1e-3 Å, and the rotation test
  (distance vs rotation angle 0-90 degrees). Protocol of Onat, Ortner, Kermode, J. Chem. Phys.
  153, 144106 (2020), doi:10.1063/5.0016005.
* ``fold.json``: the PRL family (docs/science.md §2.2-3, scaled by 0.4) at its fold (y_C = 0)
  and away from it (y_C = 2): singular values, exponents along the fold direction and a generic
  one, and the feature distance for y_C = +-delta.
* ``manifold.json``: Parsaeifard & Goedecker's protocol (J. Chem. Phys. 156, 034302 (2022),
  doi:10.1063/5.0070488) on CH4: follow the least sensitive mode of the power spectrum (cutoff
  2.5, 8 radial, l <= 8, width 0.3) for 20,000 steps of 1e-4 Å; change of the power spectrum,
  of the bispectrum and (when installed) of featomic's power spectrum along the path versus
  straight random displacements of the same end-to-end length; the four-body target's range.
  ``manifold_path.extxyz`` holds every 500th structure (info: step, target).
* ``timings.json``: the power spectrum's Jacobian for a centre of the 512-atom cell.
* ``summary.md``: the numbers above in one table; ``sensitivity.png``: a figure (generated, not
  committed).
"""

from __future__ import annotations

import os

# sphericart's OpenMP threads cost more than they save on a handful of neighbours, and the
# machine is shared: one thread per process (set before numpy/sphericart are imported)
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import time
from pathlib import Path

import ase
import ase.io
import numpy as np
from ase.build import bulk
from scipy.spatial.transform import Rotation

from completeness.analysis import sensitivity as S
from completeness.descriptors.correlations import Bispectrum
from completeness.descriptors.spectra import PowerSpectrum

HERE = Path(__file__).resolve().parent


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def logspace(spec) -> np.ndarray:
    low, high, count = spec
    return np.logspace(low, high, int(count))


def fit_dict(fit: S.ScalingFit) -> dict:
    return {
        "exponent": fit.exponent,
        "standard_error": fit.standard_error,
        "points_used": int(fit.used.sum()),
        "t_fit": [float(fit.t[fit.used].min()), float(fit.t[fit.used].max())],
        "roundoff": fit.roundoff,
    }


# --------------------------------------------------------------------------------------------


def onat(config: dict) -> dict:
    ps = PowerSpectrum(**config["power_spectrum"])
    cutoff = config["power_spectrum"]["cutoff"]
    perfect = bulk("Si", "diamond", a=config["lattice_constant"], cubic=True) * tuple(
        config["supercell"]
    )
    centre = config["centre"]
    jittered = S.radial_jitter(
        perfect, centre, cutoff=cutoff, amplitude=config["jitter"], seed=config["seed"]
    )
    env = S.jacobian(ps, perfect, centre).environment
    nearest = int(np.argmin(env.distances))
    out = {
        "n_atoms": len(perfect),
        "n_neighbours": env.n_neighbours,
        "neighbour": nearest,
        "neighbour_distance": float(env.distances[nearest]),
        "descriptor": {"name": "PowerSpectrum", **config["power_spectrum"]},
    }
    for label, atoms in (("perfect", perfect), ("jitter", jittered)):
        for path, key in (("radial", "radial_t"), ("tangential", "tangential_t")):
            t, distance, _ = S.response(
                ps, atoms, centre, logspace(config[key]), path=path, neighbour=nearest
            )
            fit = S.scaling_exponent(
                ps, atoms, centre, t_values=logspace(config["fit_t"]), path=path,
                neighbour=nearest,
            )  # fmt: skip
            out[f"{label}_{path}"] = {
                **fit_dict(fit),
                "t": t.tolist(),
                "distance": distance.tolist(),
            }
            log(f"  {label:8s} {path:10s} k = {fit.exponent:.4f} ± {fit.standard_error:.1e}")
    # rotation test: the whole environment rotated about a seeded random axis
    rng = np.random.default_rng(config["seed"])
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    vectors = env.vectors
    reference = PowerSpectrum(**config["power_spectrum"], species=[14])
    batch = [
        Rotation.from_rotvec(np.radians(angle) * axis).apply(vectors)
        for angle in config["rotation_angles_degrees"]
    ]
    clusters = [
        ase.Atoms(numbers=[14] * (len(v) + 1), positions=np.vstack([[0, 0, 0], v])) for v in batch
    ]
    values = reference.compute(clusters, centers=[0]).values
    distances = np.linalg.norm(values - values[0], axis=1) / np.linalg.norm(values[0])
    out["rotation"] = {
        "angles_degrees": config["rotation_angles_degrees"],
        "distance": distances.tolist(),
    }
    log(f"  rotation test: max relative change {distances.max():.1e}")
    return out


def prl_member(y_c: float, scale: float) -> ase.Atoms:
    positions = [[0, 0, 0], [5, 0, 5], [5, 5, 5], [-5, -5, 5], [0, y_c, 5]]
    return ase.Atoms("H5", positions=scale * np.asarray(positions, dtype=float))


def fold(config: dict) -> dict:
    ps = PowerSpectrum(**config["power_spectrum"])
    scale = config["scale"]
    direction = np.zeros((4, 3))
    direction[3, 1] = 1.0  # C moves off the axis
    t = logspace(config["fit_t"])
    out = {"descriptor": {"name": "PowerSpectrum", **config["power_spectrum"]}, "scale": scale}
    for label, y_c in (("fold", 0.0), ("away", config["y_away"])):
        atoms = prl_member(y_c, scale)
        jac = S.jacobian(ps, atoms, 0)
        along = S.scaling_exponent(ps, atoms, 0, direction, t)
        generic = S.scaling_exponent(ps, atoms, 0, None, t, seed=config["seed"])
        out[label] = {
            "y_c": y_c * scale,
            "method": jac.method,
            "singular_values": jac.singular_values.tolist(),
            "relative_singular_values": (jac.singular_values / jac.singular_values[0]).tolist(),
            "condition_number": jac.condition_number,
            "n_insensitive_1e-8": jac.n_insensitive(1e-8),
            "exponent_fold_direction": fit_dict(along),
            "exponent_generic_direction": fit_dict(generic),
        }
        log(
            f"  {label}: s_min/s_max = {jac.singular_values[-1] / jac.singular_values[0]:.2e}, "
            f"k(fold dir) = {along.exponent:.4f}, k(generic) = {generic.exponent:.4f}"
        )
    base = ps.compute(prl_member(0.0, scale), centers=[0]).values[0]
    table = []
    for delta in config["deltas"]:
        plus = ps.compute(prl_member(delta / scale, scale), centers=[0]).values[0]
        minus = ps.compute(prl_member(-delta / scale, scale), centers=[0]).values[0]
        table.append(
            {
                "delta": delta,
                "distance_from_fold": float(np.linalg.norm(plus - base) / np.linalg.norm(base)),
                "plus_minus_distance": float(np.linalg.norm(plus - minus) / np.linalg.norm(base)),
            }
        )
    out["delta_table"] = table
    return out


def featomic_change(path: S.ManifoldPath, config: dict, every: int) -> dict | None:
    """featomic's power spectrum (centre weight 0) along the same path, if featomic is here."""
    try:
        import featomic
        import metatensor
    except ImportError:
        return None
    hypers = config["power_spectrum"]
    calculator = featomic.SoapPowerSpectrum(
        cutoff={"radius": hypers["cutoff"], "smoothing": {"type": "ShiftedCosine", "width": 0.5}},
        density={"type": "Gaussian", "width": hypers["density_width"], "center_atom_weight": 0.0},
        basis={
            "type": "TensorProduct",
            "max_angular": hypers["max_angular"],
            "radial": {"type": "Gto", "max_radial": hypers["n_radial"] - 1},
        },
    )

    def values(batch):
        frames = [ase.Atoms("CH4", positions=np.vstack([[0, 0, 0], v])) for v in batch]
        tensor = calculator.compute(
            frames, selected_samples=metatensor.Labels(["atom"], np.array([[0]]))
        )
        tensor = tensor.keys_to_properties(["neighbor_1_type", "neighbor_2_type"])
        return np.vstack([block.values for block in tensor.blocks()])

    vectors = path.vectors
    indices = np.unique(np.concatenate([np.arange(0, len(vectors), every), [len(vectors) - 1]]))
    start = vectors[0]
    length = float(np.linalg.norm(vectors[-1] - start))
    directions = S._random_directions(start, config["n_random"], config["seed"])
    along = values(vectors[indices])
    random = values(start[None] + length * directions)
    scale = np.linalg.norm(along[0])
    change = np.linalg.norm(along - along[0], axis=1) / scale
    random_change = np.linalg.norm(random - along[0], axis=1) / scale
    return {
        "along": float(change[-1]),
        "maximum_along": float(change.max()),
        "random_median": float(np.median(random_change)),
        "ratio": float(change[-1] / np.median(random_change)),
    }


def manifold(config: dict, n_steps: int, out_dir: Path) -> dict:
    ps = PowerSpectrum(**config["power_spectrum"])
    ch4 = ase.Atoms("CH4", positions=np.vstack([[0, 0, 0], config["hydrogens"]]))
    start = time.perf_counter()
    path = S.follow_insensitive_mode(
        ps, ch4, 0, n_steps=n_steps, step=config["step"], target=S.ch4_four_body_target,
        n_random=config["n_random"], seed=config["seed"],
    )  # fmt: skip
    elapsed = time.perf_counter() - start
    summary = path.summary()
    summary["seconds"] = elapsed
    summary["seconds_per_step"] = elapsed / n_steps
    log(
        f"  followed {n_steps} steps in {elapsed:.1f} s: end-to-end {summary['end_to_end']:.4f} "
        f"Å, PS change ratio {summary['ratio']:.4f}, target {summary['target_range']}"
    )
    every = max(n_steps // 200, 1)
    bispectrum = Bispectrum(**config["bispectrum"])
    other = S.path_feature_change(
        bispectrum, path, every=every, n_random=config["n_random"], seed=config["seed"]
    )
    result = {
        "descriptor": {"name": "PowerSpectrum", **config["power_spectrum"]},
        "power_spectrum": summary,
        "bispectrum": {
            "descriptor": {"name": "Bispectrum", **config["bispectrum"]},
            "along": other.along,
            "maximum_along": other.maximum_along,
            "random_median": float(np.median(other.random)),
            "ratio": other.ratio,
        },
        "featomic_power_spectrum": featomic_change(path, config, every),
        "feature_change": path.feature_change[:: config["every"]].tolist(),
        "target": path.target[:: config["every"]].tolist(),
        "smallest_singular_value": path.smallest_singular_value[:: config["every"]].tolist(),
    }
    log(f"  bispectrum change ratio along the same path {other.ratio:.4f}")
    if result["featomic_power_spectrum"] is not None:
        log(f"  featomic power spectrum ratio {result['featomic_power_spectrum']['ratio']:.4f}")
    frames = []
    for k in range(0, n_steps + 1, max(n_steps // 40, 1)):
        atoms = ase.Atoms("CH4", positions=np.vstack([[0, 0, 0], path.vectors[k]]))
        atoms.info.update(step=k, target=float(path.target[k]),
                          feature_change=float(path.feature_change[k]))  # fmt: skip
        frames.append(atoms)
    ase.io.write(out_dir / "manifold_path.extxyz", frames, format="extxyz")
    return result


def timings(config: dict) -> dict:
    ps = PowerSpectrum(**config["power_spectrum"])
    si = bulk("Si", "diamond", a=config["lattice_constant"], cubic=True) * tuple(
        config["supercell"]
    )
    out = {}
    for method in ("analytic", "finite-difference"):
        best = np.inf
        for _ in range(3):
            start = time.perf_counter()
            jac = S.jacobian(ps, si, config["centre"], method=method)
            best = min(best, time.perf_counter() - start)
        out[f"jacobian_{method}_seconds"] = best
        out["jacobian_shape"] = list(jac.matrix.shape)
    best = np.inf
    for _ in range(3):
        start = time.perf_counter()
        ps.compute(si, centers=[config["centre"]], gradients=True)
        best = min(best, time.perf_counter() - start)
    out["compute_512_atoms_one_centre_with_gradients_seconds"] = best
    log(
        f"  Jacobian {out['jacobian_shape']}: analytic {out['jacobian_analytic_seconds']:.3f} s, "
        f"finite differences {out['jacobian_finite-difference_seconds']:.3f} s"
    )
    return out


def write_summary(results: dict, path: Path) -> None:
    onat_, fold_, man = results["onat"], results["fold"], results["manifold"]
    lines = [
        "# Sensitivity study (generated by analyses/sensitivity/run.py)",
        "",
        "| quantity | value |",
        "|---|---|",
    ]
    for label in ("perfect", "jitter"):
        for path_ in ("radial", "tangential"):
            fit = onat_[f"{label}_{path_}"]
            lines.append(
                f"| Si {label}, {path_} exponent | {fit['exponent']:.4f} ± "
                f"{fit['standard_error']:.1e} |"
            )
    lines.append(f"| Si rotation test, max change | {max(onat_['rotation']['distance']):.1e} |")
    for label in ("fold", "away"):
        entry = fold_[label]
        lines.append(
            f"| PRL {label} (y_C = {entry['y_c']:g} Å): s_min / s_max | "
            f"{entry['relative_singular_values'][-1]:.2e} |"
        )
        lines.append(
            f"| PRL {label}: exponent along fold / generic | "
            f"{entry['exponent_fold_direction']['exponent']:.4f} / "
            f"{entry['exponent_generic_direction']['exponent']:.4f} |"
        )
    ps = man["power_spectrum"]
    lines += [
        f"| CH4 following: steps x step | {ps['n_steps']} x {ps['step']:g} Å |",
        f"| CH4 following: end-to-end | {ps['end_to_end']:.4f} Å |",
        f"| CH4 following: C-H range | {ps['distance_range'][0]:.4f}-"
        f"{ps['distance_range'][1]:.4f} Å |",
        f"| CH4 following: target range | {ps['target_range'][0]:.4f}-"
        f"{ps['target_range'][1]:.4f} |",
        f"| power spectrum change / random straight change | {ps['ratio']:.4f} |",
        f"| bispectrum change / random straight change | {man['bispectrum']['ratio']:.4f} |",
    ]
    if man["featomic_power_spectrum"] is not None:
        lines.append(
            "| featomic power spectrum change / random straight change | "
            f"{man['featomic_power_spectrum']['ratio']:.4f} |"
        )
    lines.append(f"| following time | {ps['seconds']:.1f} s ({ps['seconds_per_step'] * 1e3:.2f} "
                 "ms/step) |")  # fmt: skip
    t = results["timings"]
    lines.append(
        f"| PS Jacobian, centre of 512-atom Si cell (analytic / finite differences) | "
        f"{t['jacobian_analytic_seconds']:.3f} s / {t['jacobian_finite-difference_seconds']:.3f}"
        " s |"
    )
    path.write_text("\n".join(lines) + "\n")


def figure(results: dict, path: Path) -> None:
    """Three panels: Onat curves, fold vs generic response, the CH4 path (not committed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    onat_ = results["onat"]
    for label, style in (("perfect", "-"), ("jitter", "--")):
        for path_, colour in (("radial", "C0"), ("tangential", "C1")):
            entry = onat_[f"{label}_{path_}"]
            axes[0].loglog(entry["t"], entry["distance"], style, color=colour,
                           label=f"{path_}, {label} (k = {entry['exponent']:.2f})")  # fmt: skip
    axes[0].set(xlabel="t (Å)", ylabel="||V(t) - V(0)|| / ||V(0)||", title="diamond Si, PS")
    axes[0].legend(fontsize=7)
    table = results["fold"]["delta_table"]
    deltas = [row["delta"] for row in table]
    axes[1].loglog(deltas, [row["distance_from_fold"] for row in table], "o-",
                   label="C off the axis by delta (k = 2)")  # fmt: skip
    axes[1].loglog(deltas, np.asarray(deltas) ** 2 * table[0]["distance_from_fold"] / 0.01, ":",
                   color="grey", label="delta^2")  # fmt: skip
    axes[1].set(xlabel="delta (Å)", ylabel="relative feature distance", title="PRL fold")
    axes[1].legend(fontsize=7)
    manifold_ = results["manifold"]
    every = json.loads((HERE / "config.json").read_text())["manifold"]["every"]
    steps = np.arange(len(manifold_["target"])) * every
    axes[2].plot(steps, manifold_["target"], color="C2", label="four-body target")
    twin = axes[2].twinx()
    twin.plot(steps, np.asarray(manifold_["feature_change"]) * 100, color="C3",
              label="PS change (%)")  # fmt: skip
    axes[2].set(xlabel="step", ylabel="target", title="CH4 along the PS manifold")
    twin.set_ylabel("PS change (%)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer following steps")
    args = parser.parse_args()
    config = json.loads((HERE / "config.json").read_text())
    out_dir = HERE / "results" / ("quick" if args.quick else "")
    out_dir.mkdir(parents=True, exist_ok=True)
    n_steps = config["quick"]["n_steps"] if args.quick else config["manifold"]["n_steps"]
    results = {}
    log("timings")
    results["timings"] = timings(config["onat"])
    log("Onat et al. radial / tangential paths on diamond Si")
    results["onat"] = onat(config["onat"])
    log("PRL fold points")
    results["fold"] = fold(config["fold"])
    log("Parsaeifard-Goedecker manifold following on CH4")
    results["manifold"] = manifold(config["manifold"], n_steps, out_dir)
    for key, value in results.items():
        (out_dir / f"{key}.json").write_text(json.dumps(value, indent=1))
    write_summary(results, out_dir / "summary.md")
    figure(results, out_dir / "sensitivity.png")
    log(f"wrote {out_dir}")


if __name__ == "__main__":
    main()

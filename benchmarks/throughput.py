"""Throughput of the descriptors against featomic and dscribe, and against the hardware.

Every section times its contenders round-robin in one process (one run of each, repeated; the
best run of each counts), so that a change of machine load hits all of them alike. Reported:
environments per second of CPU time (``time.process_time``: every thread of the process, so a
library running on several cores pays for all of them) and the ratio ours / peer. Wall-clock
numbers are not used: on a shared machine they measure the neighbours. The load average is
printed with each section.

Thread policy: ``--threads 1`` (default) applies :func:`completeness.threads.apply_thread_policy`
with one thread before anything is loaded, for every library (featomic's rayon pool included);
``--threads default`` applies nothing: every library runs at its own default, as in a script that
never touches threads (the package's own default for long runs of small kernels, manifold
following, is one thread: :func:`completeness.threads.thread_policy_for_run`).

Sections
    power spectrum (1 species)  1,000 and 10,000 environments: a centre plus 12 neighbours
        uniform in a 4 Å ball, carbon; cutoff 5 Å, 8 radial functions (featomic ``max_radial=7``,
        dscribe ``n_max=8``), max_angular 6, density width 0.5 Å; values, and values + position
        gradients in each library's own format (ours: sparse pair + centre rows; featomic:
        gradient blocks; dscribe: dense ``attach=True`` array).
    power spectrum (4 species)  the same with H, C, N, O drawn at random, with gradients.
    bispectrum                  ours (n_radial 4, max_angular 4) values + gradients against
        featomic's ``DensityCorrelations(n_correlations=2)`` nu = 3 invariants, values only, at
        200, 1,000, 4,000 and 10,000 environments.
    nu = 4                      ``DensityCorrelations(correlation_order=4)`` at the B8 settings
        (cutoff 4, n_radial 4, max_angular 4, density width 0.3) on B8 structures, with
        gradients: environments per CPU second.
    one environment             one power-spectrum values call on one environment (µs of CPU;
        the best of at least 10 interleaved batches of 400 calls).
    CH4 following               :func:`~completeness.analysis.sensitivity.
        follow_insensitive_mode` on CH4 at the published settings (20,000 steps of 1e-4 Å from
        Parsaeifard & Goedecker's start point; power spectrum cutoff 2.5 Å, 8 radial,
        max_angular 8, width 0.3 Å; values + Jacobian + SVD per step) against the same loop with
        featomic computing the values and gradients; CPU time per step, one run of each (20,000
        steps average over themselves).
    hardware                    the single-core DGEMM rate (a 1000 x 1000 product, best of 5)
        as the peak, and each stage of our power spectrum at 1,000 environments (neighbour list,
        expansion, values, gradients; best of at least 10 runs in a row) as a fraction of it;
        the useful flops of each stage are counted as described in :func:`stage_flops`. The
        gradient stage is timed twice: as a repeated call (its 73 MB output is the memory of the
        previous call's, dropped and recycled: :mod:`completeness.descriptors.outputs`), which
        the overall figure uses, and with fresh memory (recycling off), as a first call gets it.

Run::

    python3 benchmarks/throughput.py                    # everything; rewrites benchmarks/README.md
    python3 benchmarks/throughput.py --quick            # small sizes, no README
    python3 benchmarks/throughput.py --threads default  # the libraries' own thread defaults

A full run (every section) rewrites its own table in ``benchmarks/README.md``: one for
``--threads 1`` and one for ``--threads default``.

A missing peer library is reported ("not available") and the rest still runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import time
from pathlib import Path
from unittest import mock

import numpy as np

CUTOFF = 5.0
CUTOFF_WIDTH = 0.5
DENSITY_WIDTH = 0.5
N_RADIAL = 8
MAX_ANGULAR = 6
N_NEIGHBOURS = 12
BALL_RADIUS = 4.0
N_RADIAL_4 = 4  # bispectrum section
MAX_ANGULAR_4 = 4
FOUR_SPECIES = (1, 6, 7, 8)
README = Path(__file__).with_name("README.md")
MANIFOLD_CONFIG = Path(__file__).parents[1] / "analyses" / "sensitivity" / "config.json"
TABLE_MARKERS = {
    "1": ("<!-- throughput table: start -->", "<!-- throughput table: end -->"),
    "default": (
        "<!-- throughput table (default threads): start -->",
        "<!-- throughput table (default threads): end -->",
    ),
}


def make_environments(n_environments: int, seed: int = 0, species=(6,)):
    """Centre at the origin plus 12 neighbours uniform in a 4 Å ball; species drawn from
    ``species`` (the centre too)."""
    import ase

    rng = np.random.default_rng(seed)
    systems = []
    for _ in range(n_environments):
        direction = rng.normal(size=(N_NEIGHBOURS, 3))
        direction /= np.linalg.norm(direction, axis=1, keepdims=True)
        radius = BALL_RADIUS * rng.uniform(size=(N_NEIGHBOURS, 1)) ** (1 / 3)
        positions = np.vstack([np.zeros((1, 3)), direction * radius])
        numbers = rng.choice(species, size=N_NEIGHBOURS + 1)
        systems.append(ase.Atoms(numbers=numbers, positions=positions))
    return systems


def cpu_time(function) -> float:
    start = time.process_time()
    function()
    return time.process_time() - start


# --------------------------------------------------------------------------------------------
# contenders: factory(systems, species) -> {"values": callable or None, "gradients": ...}
# --------------------------------------------------------------------------------------------


def _our_calls(descriptor, systems) -> dict:
    return {
        "values": lambda: descriptor.compute(systems, centers=[0]),
        "gradients": lambda: descriptor.compute(systems, centers=[0], gradients=True),
    }


def featomic_hypers(n_radial, max_angular, cutoff=CUTOFF, density_width=DENSITY_WIDTH) -> dict:
    """featomic's hyperparameters equal to ours (``max_radial = n_radial - 1``)."""
    return {
        "cutoff": {"radius": cutoff, "smoothing": {"type": "ShiftedCosine", "width": CUTOFF_WIDTH}},
        "density": {"type": "Gaussian", "width": density_width},
        "basis": {
            "type": "TensorProduct",
            "max_angular": max_angular,
            "radial": {"type": "Gto", "max_radial": n_radial - 1},
        },
    }


def ours_power_spectrum(systems, species):
    from completeness.descriptors import PowerSpectrum

    descriptor = PowerSpectrum(
        cutoff=CUTOFF,
        n_radial=N_RADIAL,
        max_angular=MAX_ANGULAR,
        density_width=DENSITY_WIDTH,
        cutoff_width=CUTOFF_WIDTH,
        species=list(species),
    )
    return _our_calls(descriptor, systems)


def featomic_power_spectrum(systems, species):
    import featomic
    import metatensor

    calculator = featomic.SoapPowerSpectrum(**featomic_hypers(N_RADIAL, MAX_ANGULAR))
    centre = metatensor.Labels(["atom"], np.array([[0]], dtype=np.int32))
    return {
        "values": lambda: calculator.compute(systems, selected_samples=centre),
        "gradients": lambda: calculator.compute(
            systems, selected_samples=centre, gradients=["positions"]
        ),
    }


def dscribe_power_spectrum(systems, species):
    from ase.data import chemical_symbols
    from dscribe.descriptors import SOAP

    soap = SOAP(
        species=[chemical_symbols[z] for z in species],
        r_cut=CUTOFF,
        n_max=N_RADIAL,
        l_max=MAX_ANGULAR,
        sigma=DENSITY_WIDTH,
        rbf="gto",
        periodic=False,
    )
    centres = [[0]] * len(systems)
    return {
        "values": lambda: soap.create(systems, centers=centres, n_jobs=1),
        "gradients": lambda: soap.derivatives(
            systems, centers=centres, attach=True, method="analytical", n_jobs=1
        ),
    }


def ours_bispectrum(systems, species):
    from completeness.descriptors import Bispectrum

    descriptor = Bispectrum(
        cutoff=CUTOFF,
        n_radial=N_RADIAL_4,
        max_angular=MAX_ANGULAR_4,
        density_width=DENSITY_WIDTH,
        cutoff_width=CUTOFF_WIDTH,
    )
    return _our_calls(descriptor, systems)


def featomic_bispectrum(systems, species):
    import featomic
    import metatensor
    from featomic.clebsch_gordan import DensityCorrelations

    expansion = featomic.SphericalExpansion(**featomic_hypers(N_RADIAL_4, MAX_ANGULAR_4))
    correlations = DensityCorrelations(n_correlations=2, max_angular=MAX_ANGULAR_4)
    centre = metatensor.Labels(["atom"], np.array([[0]], dtype=np.int32))
    invariant = metatensor.Labels(["o3_lambda", "o3_sigma"], np.array([[0, 1]], dtype=np.int32))

    def values():
        density = expansion.compute(systems, selected_samples=centre)
        density = density.keys_to_properties("neighbor_type")
        return correlations.compute(density, angular_cutoff=MAX_ANGULAR_4, selected_keys=invariant)

    return {"values": values, "gradients": None}


def measure(contenders, systems, species, repeats) -> dict:
    """Best CPU seconds of each (label, kind), contenders interleaved round-robin."""
    calls, best = {}, {}
    for label, factory in contenders:
        try:
            calls[label] = factory(systems, species)
            small = factory(systems[:4], species)  # warm-up: tables, caches, compilation
            for kind in ("values", "gradients"):
                if small[kind] is not None:
                    small[kind]()
        except ImportError as error:
            print(f"  {label}: not available ({error})")
    for _ in range(repeats):
        for label, call in calls.items():
            for kind in ("values", "gradients"):
                if call[kind] is not None:
                    seconds = cpu_time(call[kind])
                    best[label, kind] = min(best.get((label, kind), np.inf), seconds)
    return best


# --------------------------------------------------------------------------------------------
# sections; each returns rows (label, quantity, value, note) for the README table
# --------------------------------------------------------------------------------------------


def load() -> str:
    return f"load average {os.getloadavg()[0]:.1f}"


def power_spectrum_section(n_environments, species, repeats, kinds=("values", "gradients")):
    systems = make_environments(n_environments, species=species)
    contenders = [
        ("completeness", ours_power_spectrum),
        ("featomic", featomic_power_spectrum),
        ("dscribe", dscribe_power_spectrum),
    ]
    label = f"power spectrum, {len(species)} species, {n_environments} env"
    print(f"\n## {label} ({load()})")
    best = measure(contenders, systems, species, repeats)
    rows = []
    for kind in kinds:
        ours = best.get(("completeness", kind))
        line = f"  {kind:<10s} ours {n_environments / ours:9.0f} env/cpu-s"
        for peer in ("featomic", "dscribe"):
            if (peer, kind) in best:
                ratio = best[peer, kind] / ours
                line += f"   / {peer} {ratio:5.2f}x"
                rows.append((label, f"{kind}: ours / {peer}", f"{ratio:.2f}x"))
        print(line)
    return rows


def bispectrum_section(n_environments, repeats):
    systems = make_environments(n_environments)
    label = f"bispectrum, {n_environments} env"
    print(f"\n## {label} ({load()})")
    contenders = [("completeness", ours_bispectrum), ("featomic", featomic_bispectrum)]
    best = measure(contenders, systems, (6,), repeats)
    ours_values = best[("completeness", "values")]
    ours_gradients = best[("completeness", "gradients")]
    print(
        f"  ours values {n_environments / ours_values:.0f} env/cpu-s, values + gradients "
        f"{n_environments / ours_gradients:.0f} env/cpu-s"
    )
    if ("featomic", "values") not in best:
        return []
    featomic = best["featomic", "values"]
    ratio_values, ratio_gradients = featomic / ours_values, featomic / ours_gradients
    print(
        f"  featomic nu=3 values {n_environments / featomic:.0f} env/cpu-s; ours values / "
        f"featomic {ratio_values:.2f}x, ours values+gradients / featomic values "
        f"{ratio_gradients:.2f}x"
    )
    return [
        (label, "values: ours / featomic nu=3", f"{ratio_values:.2f}x"),
        (label, "ours values+gradients / featomic nu=3 values", f"{ratio_gradients:.2f}x"),
    ]


def nu4_section(n_environments):
    from completeness.descriptors import DensityCorrelations
    from completeness.structures.b8 import b8_pairs

    pairs = b8_pairs(max(1, n_environments // 2))
    systems = [atoms for pair in pairs for atoms in (pair.plus, pair.minus)][:n_environments]
    descriptor = DensityCorrelations(
        correlation_order=4, cutoff=4.0, n_radial=4, max_angular=4, density_width=0.3
    )
    print(f"\n## nu = 4 at the B8 settings, {len(systems)} env ({load()})")
    # warm-up: the structure of the selection, and the compiled kernels (loaded once a process)
    descriptor.compute(systems, centers=[0], gradients=True)
    result = {}

    def run():
        result["features"] = descriptor.compute(systems, centers=[0], gradients=True)

    rate = len(systems) / min(cpu_time(run) for _ in range(3))
    n_features = result["features"].values.shape[1]
    print(f"  {n_features} features (C + 7 H); values + gradients {rate:.2f} env/cpu-s")
    return [
        (f"nu = 4, B8 settings ({n_features} features)", "values+gradients", f"{rate:.2f} env/s")
    ]


def one_environment_section(repeats):
    systems = make_environments(1)
    print(f"\n## one environment, power spectrum values ({load()})")
    contenders = [
        ("completeness", ours_power_spectrum),
        ("featomic", featomic_power_spectrum),
        ("dscribe", dscribe_power_spectrum),
    ]
    calls = {}
    for label, factory in contenders:
        try:
            calls[label] = factory(systems, (6,))["values"]
        except ImportError as error:
            print(f"  {label}: not available ({error})")
    # the per-call cost is a floor with bursts from the rest of the machine on top (batches of
    # 400 calls on one process, idle: 130-136 µs, with bursts of 150-250 µs lasting a second or
    # so): at least 10 batches of each contender, interleaved, so the best one finds the floor
    n_calls = 400
    best = {}
    for _ in range(max(repeats, 10)):
        for label, call in calls.items():
            call()

            def many(call=call):
                for _ in range(n_calls):
                    call()

            best[label] = min(best.get(label, np.inf), cpu_time(many) / n_calls)
    rows = []
    for label, seconds in best.items():
        print(f"  {label:<14s} {seconds * 1e6:8.0f} µs")
        rows.append(("one environment, power spectrum values", label, f"{seconds * 1e6:.0f} µs"))
    return rows


def ch4_section(n_steps, repeats):
    """Per-step CPU time of the manifold following, ours against the same loop with featomic, at
    the published settings (``analyses/sensitivity/config.json``, "manifold": Parsaeifard &
    Goedecker's CH4 start point, cutoff 2.5 Å, 8 radial, max_angular 8, width 0.3 Å)."""
    import ase

    from completeness.analysis import sensitivity
    from completeness.descriptors import PowerSpectrum

    config = json.loads(MANIFOLD_CONFIG.read_text())["manifold"]
    hypers = config["power_spectrum"]
    positions = np.vstack([np.zeros((1, 3)), np.array(config["hydrogens"])])
    ch4 = ase.Atoms("CH4", positions=positions)
    step = config["step"]
    print(f"\n## CH4 manifold following, {n_steps} steps of {step} Å ({load()})")

    def ours():
        sensitivity.follow_insensitive_mode(
            PowerSpectrum(**hypers), ch4, 0, n_steps=n_steps, step=step, n_random=1
        )

    runs = {"completeness": ours}
    try:
        featomic_step = _featomic_following(hypers, ch4, step)
        runs["featomic"] = lambda: featomic_step(n_steps)
    except ImportError as error:
        print(f"  featomic: not available ({error})")
    best = {}
    for _ in range(repeats):
        for label, run in runs.items():
            best[label] = min(best.get(label, np.inf), cpu_time(run) / n_steps)
    for label, seconds in best.items():
        print(f"  {label:<14s} {seconds * 1e6:8.0f} µs per step")
    if "featomic" not in best:
        return []
    ratio = best["featomic"] / best["completeness"]
    print(f"  per step: ours / featomic {ratio:.2f}x")
    label = f"CH4 following, {n_steps} steps (per step)"
    return [(label, "ours / featomic loop", f"{ratio:.2f}x")]


def _featomic_following(hypers, ch4, step):
    """The following loop with featomic's values and gradients (same linear algebra as ours)."""
    import featomic
    import metatensor

    from completeness.analysis.sensitivity.evaluator import orthogonal_complement, rotation_basis

    featomic_settings = featomic_hypers(
        hypers["n_radial"], hypers["max_angular"], hypers["cutoff"], hypers["density_width"]
    )
    featomic_settings["density"]["center_atom_weight"] = 0.0  # as ours
    calculator = featomic.SoapPowerSpectrum(**featomic_settings)
    centre = metatensor.Labels(["atom"], np.array([[0]], dtype=np.int32))

    def run(n_steps):
        atoms = ch4.copy()
        previous = None
        for _ in range(n_steps):
            tensor = calculator.compute(atoms, selected_samples=centre, gradients=["positions"])
            tensor = tensor.keys_to_properties(["neighbor_1_type", "neighbor_2_type"])
            block = tensor.block(center_type=6)
            gradient = block.gradient("positions")
            jacobian = np.zeros((len(atoms), 3, block.values.shape[1]))
            np.add.at(jacobian, gradient.samples.values[:, 2], gradient.values)
            x = atoms.positions[1:] - atoms.positions[0]
            matrix = jacobian[1:].reshape(-1, block.values.shape[1]).T
            complement = orthogonal_complement(rotation_basis(x), x.size)
            _, _, vt = np.linalg.svd(matrix @ complement, full_matrices=False)
            direction = complement @ vt[-1]
            if previous is not None and direction @ previous < 0:
                direction = -direction
            previous = direction
            atoms.positions[1:] += step * direction.reshape(-1, 3)

    return run


def dgemm_peak() -> float:
    """Single-core DGEMM rate (FLOP/s): best of 5 products of 1000 x 1000 matrices."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(1000, 1000)), rng.normal(size=(1000, 1000))
    a @ b
    best = min(cpu_time(lambda: a @ b) for _ in range(5))
    return 2 * 1000**3 / best


def stage_flops(n_pairs, n_samples, n_channels, max_angular) -> dict:
    """Useful floating-point operations of each stage of the power spectrum (one species).

    expansion: ``c_{nlm} = sum_p R_{nl} Y_{lm}``, 2 per (pair, n, lm); values: ``sum_m c c`` for
    every (l, i <= j), 2 per (sample, pair of channels, lm); gradients: ``u, v`` (4 sums of
    ``Y c`` per (pair, channel, lm): 8 flops) and per (pair, l, i <= j, x) the two product-rule
    terms (about 6 flops).
    """
    n_lm = (max_angular + 1) ** 2
    n_half = n_channels * (n_channels + 1) // 2
    return {
        "expansion": 2.0 * n_pairs * n_channels * n_lm,
        "values": 2.0 * n_samples * n_half * n_lm,
        "gradients": 8.0 * n_pairs * n_channels * n_lm
        + 6.0 * 3 * n_pairs * (max_angular + 1) * n_half,
    }


def hardware_section(n_environments, repeats):
    from completeness.descriptors import PowerSpectrum
    from completeness.descriptors._kernels import power_spectrum_pair_gradients, use_compiled
    from completeness.descriptors.outputs import RECYCLE_VARIABLE
    from completeness.descriptors.spectra import _power_spectrum_values
    from completeness.environments import build_neighbourhoods

    peak = dgemm_peak()
    print(f"\n## hardware: single-core DGEMM {peak / 1e9:.1f} GFLOP/s ({load()})")
    systems = make_environments(n_environments)
    descriptor = PowerSpectrum(
        cutoff=CUTOFF, n_radial=N_RADIAL, max_angular=MAX_ANGULAR, density_width=DENSITY_WIDTH
    )
    expansion = descriptor._expansion()
    neighbourhoods = build_neighbourhoods(systems, CUTOFF, [0])
    species = np.array([6])
    dense, species_index, terms, _ = expansion.dense(neighbourhoods, species, True)
    channels = dense.reshape(n_environments, N_RADIAL, -1)

    def gradients():
        if use_compiled(neighbourhoods.n_pairs, 7 * N_RADIAL * (N_RADIAL + 1) // 2):
            return power_spectrum_pair_gradients(
                channels, terms.harmonics, terms.harmonics_gradient, terms.radial,
                terms.radial_derivative, terms.directions, neighbourhoods.pair_sample,
                species_index, N_RADIAL, MAX_ANGULAR,
            )  # fmt: skip
        return descriptor._compute(neighbourhoods, species, True)[1]

    def gradients_in_fresh_memory():
        with mock.patch.dict(os.environ, {RECYCLE_VARIABLE: "0"}):
            return gradients()

    stages = {
        "neighbour list": lambda: build_neighbourhoods(systems, CUTOFF, [0]),
        "expansion": lambda: expansion.dense(neighbourhoods, species, True),
        "values": lambda: _power_spectrum_values(channels, MAX_ANGULAR),
        "gradients": gradients,
        "gradients, fresh memory": gradients_in_fresh_memory,
    }
    for call in stages.values():  # warm-up (compiled kernels load on first use)
        call()
    # each stage takes milliseconds: the best of at least 10 runs in a row, so that a burst of
    # the machine's other work does not decide the figure
    runs = max(repeats, 10)
    best = {name: min(cpu_time(call) for _ in range(runs)) for name, call in stages.items()}
    flops = stage_flops(neighbourhoods.n_pairs, n_environments, N_RADIAL, MAX_ANGULAR)
    flops["gradients, fresh memory"] = flops["gradients"]
    rows = [("hardware", "single-core DGEMM", f"{peak / 1e9:.1f} GFLOP/s")]
    total_time, total_flops = 0.0, 0.0
    for name, seconds in best.items():
        if name != "gradients, fresh memory":  # the overall figure counts the repeated call
            total_time += seconds
            total_flops += flops.get(name, 0.0)
        if name in flops:
            fraction = flops[name] / seconds / peak
            print(f"  {name:<24s} {seconds * 1e3:8.2f} ms   {100 * fraction:5.1f} % of peak")
            rows.append(
                (
                    f"power spectrum stages, {n_environments} env",
                    name,
                    f"{seconds * 1e3:.1f} ms, {100 * fraction:.1f} % of peak",
                )
            )
        else:
            print(f"  {name:<24s} {seconds * 1e3:8.2f} ms   (no floating-point work counted)")
            rows.append(
                (f"power spectrum stages, {n_environments} env", name, f"{seconds * 1e3:.1f} ms")
            )
    overall = total_flops / total_time / peak
    print(f"  values + gradients overall: {100 * overall:.1f} % of peak")
    rows.append(
        (
            f"power spectrum stages, {n_environments} env",
            "values+gradients overall",
            f"{100 * overall:.1f} % of peak",
        )
    )
    return rows


def write_readme(rows, header, threads: str):
    start, end = TABLE_MARKERS[threads]
    lines = [start, "", header, "", "| case | quantity | measured |", "|---|---|---|"]
    lines += [f"| {case} | {quantity} | {value} |" for case, quantity, value in rows]
    lines += ["", end]
    table = "\n".join(lines)
    text = README.read_text() if README.exists() else ""
    if start in text and end in text:
        pattern = re.escape(start) + ".*?" + re.escape(end)
        text = re.sub(pattern, lambda _: table, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + table + "\n"
    README.write_text(text)
    print(f"\nwrote the table into {README}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", default="1", choices=("1", "default"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small sizes; README untouched")
    parser.add_argument(
        "--sections",
        default="power,species,bispectrum,nu4,one,ch4,hardware",
        help="comma-separated subset of power,species,bispectrum,nu4,one,ch4,hardware",
    )
    args = parser.parse_args(argv)
    from completeness.threads import apply_thread_policy

    # "default": nothing applied, what a script that never touches threads gets
    threads = apply_thread_policy(1) if args.threads == "1" else None
    sections = set(args.sections.split(","))
    quick = args.quick
    header = (
        f"Measured by `python3 benchmarks/throughput.py` on {time.strftime('%Y-%m-%d')}: python "
        f"{platform.python_version()}, {os.cpu_count()} cores, threads "
        f"{threads if threads is not None else 'default'}, {load()} at the start; ratios are of "
        "CPU time, contenders interleaved in one run, best of "
        f"{args.repeats}."
    )
    print(f"# {header}")
    rows = []
    if "power" in sections:
        for n in (200,) if quick else (1000, 10000):
            rows += power_spectrum_section(n, (6,), args.repeats)
    if "species" in sections:
        rows += power_spectrum_section(
            200 if quick else 1000, FOUR_SPECIES, args.repeats, ("gradients",)
        )
    if "bispectrum" in sections:
        for n in (200,) if quick else (200, 1000, 4000, 10000):
            rows += bispectrum_section(n, args.repeats)
    if "nu4" in sections:
        rows += nu4_section(2 if quick else 8)
    if "one" in sections:
        rows += one_environment_section(args.repeats)
    if "ch4" in sections:
        rows += ch4_section(200 if quick else 20_000, 1)
    if "hardware" in sections:
        rows += hardware_section(200 if quick else 1000, args.repeats)
    if not quick and sections == set(parser.get_default("sections").split(",")):
        write_readme(rows, header, "1" if threads is not None else "default")
    return 0


if __name__ == "__main__":
    sys.exit(main())

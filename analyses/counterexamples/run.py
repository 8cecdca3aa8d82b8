"""The field's counterexamples: polyhedral 1-WL pairs, symmetric structures, complete references.

Run from the repository root::

    python3 analyses/counterexamples/run.py            # a few minutes
    python3 analyses/counterexamples/run.py --quick    # short manifold path (not for docs)

Reads ``analyses/counterexamples/config.json`` and writes into
``analyses/counterexamples/results/``:

* ``enumeration.json`` / ``enumeration.md``: for every built-in point set, the pairs of vertex
  subsets that geometric 1-WL never separates although they are not congruent
  (:func:`completeness.structures.polyhedra.enumerate_pairs`), per subset size, up to symmetry
  and complement, with the time taken on this machine;
* ``families.json`` / ``families.md``: the audit's verdicts of every built-in descriptor (and
  PDD/AMD when the ``amd`` extra is installed) summarised per counterexample family
  (:func:`completeness.analysis.counterexamples.family_table`);
* ``symmetry.json`` / ``symmetry.md``: surviving degrees on symmetric structures, measured vs
  predicted (:func:`completeness.analysis.symmetry.symmetry_table`);
* ``manifold.json`` / ``manifold.md``: the Parsaeifard-Goedecker path of the power spectrum on
  CH4, and how much the overlap-matrix fingerprint (and the bispectrum) change along it relative
  to random straight moves of the same length; then the fingerprint's own least sensitive path;
* ``cards.md``: report cards (no timings) of the overlap fingerprint and PDD/AMD.

``docs/counterexamples.md`` is rebuilt from these files: the text between the ``<!-- generated:
NAME -->`` and ``<!-- end: NAME -->`` markers is replaced by ``NAME.md``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import ase
import numpy as np

from completeness.analysis import sensitivity as S
from completeness.analysis import symmetry
from completeness.analysis.counterexamples import family_markdown, family_table
from completeness.analysis.report import report_card
from completeness.descriptors import Bispectrum, OverlapMatrixFingerprint, PowerSpectrum
from completeness.descriptors.defaults import builtin_descriptors, resolve_descriptors
from completeness.descriptors.wrappers import library_available
from completeness.io import fill_generated
from completeness.structures import polyhedra
from completeness.threads import apply_thread_policy

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def enumeration(config: dict) -> tuple[list, str]:
    records, lines = (
        [],
        [
            "| point set | points | group order | pairs per subset size (up to symmetry) | "
            "total | up to complement | time (s) |",
            "|---|---|---|---|---|---|---|",
        ],
    )
    for name in config["point_sets"]:
        result = polyhedra.enumerate_pairs(name)
        log("\n".join(result.table_lines()))
        sizes = {s.size: s.pairs_up_to_symmetry for s in result.sizes if s.pairs_up_to_symmetry}
        labelled = {s.size: s.pairs for s in result.sizes if s.pairs}
        records.append(
            {
                "name": name,
                "n_points": result.n_points,
                "group_order": result.group_order,
                "orbits": {s.size: s.orbits for s in result.sizes},
                "pairs_up_to_symmetry": sizes,
                "labelled_pairs": labelled,
                "pairs_up_to_complement": result.pairs_up_to_complement,
                "pairs": [list(p) for p in result.pairs],
                "seconds": result.seconds,
            }
        )
        per_size = ", ".join(f"{k}: {v} ({labelled[k]})" for k, v in sizes.items()) or "none"
        lines.append(
            f"| `{name}` | {result.n_points} | {result.group_order} | {per_size} | "
            f"{sum(sizes.values())} | {result.pairs_up_to_complement} | {result.seconds:.2f} |"
        )
    return records, "\n".join(lines) + "\n"


def families(config: dict) -> tuple[dict, str]:
    descriptors = builtin_descriptors()
    if library_available("amd"):
        descriptors.update(resolve_descriptors(config["reference_invariants"]))
    table = family_table(descriptors)
    return table, family_markdown(table)


def symmetric_structures() -> tuple[list, str]:
    rows = symmetry.symmetry_table()
    records = [
        {
            "name": row.name,
            "group_order": row.group_order,
            "counts": row.counts,
            "predicted": row.predicted,
            "expansion": row.expansion,
            "network": row.network,
            "network_max": row.network_max,
            "orientation_predicted": row.orientation_predicted,
            "orientation_measured": row.orientation_measured,
            "agrees": row.agrees,
        }
        for row in rows
    ]
    return records, symmetry.table_markdown(rows)


def _change(descriptor, path) -> dict:
    change = S.path_feature_change(descriptor, path, every=max((len(path.vectors) - 1) // 200, 1))
    return {
        "along": change.along,
        "maximum_along": change.maximum_along,
        "random_median": float(np.median(change.random)),
        "ratio": change.ratio,
    }


def manifold(config: dict, n_steps: int) -> tuple[dict, str]:
    ch4 = ase.Atoms("CH4", positions=np.vstack([[0, 0, 0], config["hydrogens"]]))
    follow = {
        "n_steps": n_steps,
        "step": config["step"],
        "target": S.ch4_four_body_target,
        "n_random": config["n_random"],
        "seed": config["seed"],
    }
    start = time.perf_counter()
    path = S.follow_insensitive_mode(PowerSpectrum(**config["power_spectrum"]), ch4, 0, **follow)
    log(f"  power-spectrum path: {n_steps} steps in {time.perf_counter() - start:.0f} s")
    summary = path.summary()
    rows = {"power spectrum (followed)": _change(PowerSpectrum(**config["power_spectrum"]), path)}
    rows["bispectrum"] = _change(Bispectrum(**config["bispectrum"]), path)
    for label, hypers in config["overlap"].items():
        rows[f"overlap fingerprint, {label}"] = _change(OverlapMatrixFingerprint(**hypers), path)
    own = {}
    for label in config["own_paths"]:
        fingerprint = OverlapMatrixFingerprint(**config["overlap"][label])
        start = time.perf_counter()
        own_path = S.follow_insensitive_mode(fingerprint, ch4, 0, **follow)
        own[label] = {
            **own_path.summary(),
            "seconds": time.perf_counter() - start,
            "smallest_singular_value_median": float(np.median(own_path.smallest_singular_value)),
        }
        log(f"  overlap fingerprint ({label}) own path: ratio {own[label]['ratio']:.3g}")
    record = {"power_spectrum_path": summary, "along_power_spectrum_path": rows, "own_paths": own}
    lines = [
        f"Power-spectrum path: {summary['n_steps']} steps of {summary['step']:g} Å, end-to-end "
        f"{summary['end_to_end']:.4f} Å, four-body target {summary['target_range'][0]:.3f} to "
        f"{summary['target_range'][1]:.3f}.",
        "",
        "| descriptor | change along the path | largest change on the path | median change, "
        "random moves of the same length | ratio |",
        "|---|---|---|---|---|",
    ]
    for label, row in rows.items():
        lines.append(
            f"| {label} | {row['along']:.3g} | {row['maximum_along']:.3g} | "
            f"{row['random_median']:.3g} | {row['ratio']:.3g} |"
        )
    lines += [
        "",
        "Each fingerprint's own least sensitive path from the same CH4 (same protocol):",
        "",
        "| overlap fingerprint | end-to-end (Å) | change along / random | four-body target range |"
        " median smallest singular value |",
        "|---|---|---|---|---|",
    ]
    for label, row in own.items():
        lines.append(
            f"| {label} | {row['end_to_end']:.4f} | {row['ratio']:.3g} | "
            f"{row['target_range'][0]:.3f} to {row['target_range'][1]:.3f} | "
            f"{row['smallest_singular_value_median']:.3g} |"
        )
    return record, "\n".join(lines) + "\n"


def cards(config: dict) -> str:
    chosen = resolve_descriptors(
        [n for n in config["cards"] if not n.startswith("amd:") or library_available("amd")]
    )
    parts = []
    for name, descriptor in chosen.items():
        card = report_card(descriptor, name=name, timings=False)
        parts.append(card.markdown(timings=False))
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short manifold path, no docs")
    args = parser.parse_args()
    apply_thread_policy()
    config = json.loads((HERE / "config.json").read_text())
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    start = time.perf_counter()
    sections = {}
    steps = config["quick"]["n_steps"] if args.quick else config["manifold"]["n_steps"]
    for name, (records, markdown) in (
        ("enumeration", enumeration(config)),
        ("families", families(config)),
        ("symmetry", symmetric_structures()),
        ("manifold", manifold(config["manifold"], steps)),
    ):
        (results / f"{name}.json").write_text(json.dumps(records, indent=1) + "\n")
        (results / f"{name}.md").write_text(markdown)
        sections[name] = markdown
        log(f"{name} done")
    sections["cards"] = cards(config)
    (results / "cards.md").write_text(sections["cards"])
    if not args.quick:
        fill_generated(ROOT / "docs" / "counterexamples.md", sections)
    log(f"done in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()

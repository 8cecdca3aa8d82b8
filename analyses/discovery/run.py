"""Discovery runs: search for degenerate pairs of the radial spectrum, power spectrum, bispectrum.

Run from the repository root::

    python3 analyses/discovery/run.py                 # every run of config.json
    python3 analyses/discovery/run.py --only power-spectrum-n4

Reads ``analyses/discovery/config.json``; for each run calls
:func:`completeness.analysis.discovery.discover` (random restarts through ``parallel_map`` on the
configured backend) and writes ``results/<run>/`` (the found pairs in the catalog's format:
``<name>.extxyz``, ``index.json``, ``README.md``, plus ``discovery.json`` with every candidate,
its distance, noise floor and status, and each pair's oracle classification and family
dimension). A run with a ``check`` descriptor (a larger basis of the same class) also records,
for every found pair, that descriptor's verdict and family dimension: a ``basis`` pair that the
larger basis resolves is a blind spot of the small basis only; a ``body-order`` pair stays
degenerate. ``results/summary.json`` and ``results/summary.md`` collect the numbers.

The PRL family of 3-body pairs with 4 neighbours has 7 free parameters (Pozdnyakov et al.,
Phys. Rev. Lett. 125, 166001 (2020), doi:10.1103/PhysRevLett.125.166001; 4 with equal bonds):
the family dimension measured around each rediscovered pair is compared with it.
"""

from __future__ import annotations

import os

# one thread per process: the machine has 2 cores and the restarts run in 2 processes
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import time
from pathlib import Path

from completeness.analysis.discovery import discover, family_dimension
from completeness.analysis.distance import verdict
from completeness.descriptors.base import registered_descriptors
from completeness.io import json_safe

HERE = Path(__file__).resolve().parent
PRL_FREE_PARAMETERS = 7
PRL_EQUAL_BOND_PARAMETERS = 4


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def build(spec: dict):
    return registered_descriptors()[spec["descriptor"]](**spec["hypers"])


def run_one(spec: dict, config: dict, out: Path, checkpoints: Path | None = None) -> dict:
    descriptor = build(spec)
    log(f"{spec['name']}: {descriptor!r}, {spec['neighbours']} neighbours")
    log(f"{spec['restarts']} restarts, seed {spec['seed']}, backend {config['backend']}")
    result = discover(
        descriptor,
        spec["neighbours"],
        restarts=spec["restarts"],
        seed=spec["seed"],
        backend=config["backend"],
        n_workers=config["n_workers"],
        max_body_order=config["max_body_order"],
        max_iterations=spec.get("max_iterations", 400),
        min_radial_spread=spec.get("min_radial_spread", 0.0),
        checkpoint=None if checkpoints is None else checkpoints / spec["name"],
    )
    for stale in (out / spec["name"]).glob("discovered-*.extxyz"):  # pairs of an earlier run
        stale.unlink()
    result.write(out / spec["name"])
    summary = result.summary()
    statuses: dict[str, int] = {}
    for candidate in result.candidates:
        key = candidate.status.split(" (")[0].split(" after")[0]
        statuses[key] = statuses.get(key, 0) + 1
    summary["candidate_statuses"] = statuses
    summary["restart_seconds"] = [round(c.seconds, 2) for c in result.candidates]
    pairs = []
    check = build(spec["check"]) if "check" in spec else None
    for found in result.pairs:
        record = {
            "name": found.pair.name,
            "kind": found.kind,
            "o3": int(found.order.o3),
            "so3": int(found.order.so3),
            "distance": found.candidate.distance,
            "noise_floor": found.candidate.floor,
            "margin": found.candidate.margin,
            "separation": found.candidate.separation,
            "family_dimension": found.family.dimension,
            "member_dimension": found.family.member_dimension,
            "gap_decades": found.family.gap,
            "restarts": list(found.restarts),
        }
        if check is not None:
            judged = verdict(check, found.pair)
            family = family_dimension(check, found.pair.plus, found.pair.minus)
            record["check"] = {
                "verdict": judged.verdict,
                "distance": judged.distance,
                "margin": judged.margin,
                "family_dimension": family.dimension,
                "member_dimension": family.member_dimension,
                "gap_decades": family.gap,
            }
        pairs.append(record)
    summary["pairs"] = pairs
    if "check" in spec:
        summary["check_descriptor"] = {
            "descriptor": spec["check"]["descriptor"],
            **spec["check"]["hypers"],
        }
    log(
        f"{spec['name']}: {summary['degenerate_candidates']}/{spec['restarts']} at the floor, "
        f"{summary['distinct_pairs']} distinct {summary['pairs_by_kind']}, family dimensions "
        f"{sorted({p['family_dimension'] for p in pairs})}, {result.seconds:.1f} s"
    )
    return summary


def prl_reference(config: dict) -> dict:
    """Family dimensions measured at catalog PRL pairs (generic and equal-bond), for comparison."""
    from completeness import structures

    spec = config["reference"]
    descriptor = build(spec)
    rows = []
    for seed in spec["seeds"]:
        for name, equal in (("prl-family", False), ("prl-equal-bond", True)):
            pair = structures.load(name, seed=seed).scaled(spec["scale_to"])
            family = family_dimension(descriptor, pair.plus, pair.minus, equal_radii=equal)
            rows.append(
                {
                    "pair": name,
                    "seed": seed,
                    "equal_radii": equal,
                    "family_dimension": family.dimension,
                    "gap_decades": family.gap,
                    "paper": PRL_EQUAL_BOND_PARAMETERS if equal else PRL_FREE_PARAMETERS,
                }
            )
    return {"descriptor": {"descriptor": spec["descriptor"], **spec["hypers"]}, "rows": rows}


def markdown(summaries: list[dict], reference: dict | None = None) -> str:
    lines = [
        "# Discovery runs",
        "",
        "Generated by `python3 analyses/discovery/run.py`; numbers from `summary.json`.",
        f"PRL family: {PRL_FREE_PARAMETERS} free parameters ({PRL_EQUAL_BOND_PARAMETERS} with "
        "equal bonds), doi:10.1103/PhysRevLett.125.166001.",
        "",
        "Kinds (oracle): `body-order` = the O(3) signatures agree up to the descriptor's body "
        "order (a blind spot of the whole class); `basis` = they differ already there (a blind "
        "spot of this finite basis; found on single shells, where the spectra see only the "
        "angular pattern up to `max_angular`). Family dimension = nullity of d(f(a) - f(b))/d(a, "
        "b) modulo the rotations of each member; member = its projection on one member.",
        "",
        "| run | restarts | at floor | distinct pairs | by kind | body-order family dims | "
        "basis family dims | seconds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in summaries:
        body = sorted({p["family_dimension"] for p in s["pairs"] if p["kind"] == "body-order"})
        basis = sorted({p["family_dimension"] for p in s["pairs"] if p["kind"] == "basis"})
        lines.append(
            f"| {s['name']} | {s['restarts']} | {s['degenerate_candidates']} | "
            f"{s['distinct_pairs']} | {s['pairs_by_kind']} | {body} | {basis} | "
            f"{s['seconds']:.0f} |"
        )
    for s in summaries:
        lines += ["", f"## {s['name']}", ""]
        lines.append(f"candidate statuses: {s['candidate_statuses']}")
        if s.get("check_descriptor"):
            lines.append(f"check descriptor (larger basis): {s['check_descriptor']}")
        if s["pairs"]:
            lines += [
                "",
                "| pair | kind | O(3) equal to | SO(3) | distance | floor | family dim (member, "
                "gap) | check: verdict, distance, family dim |",
                "|---|---|---|---|---|---|---|---|",
            ]
        for p in s["pairs"]:
            check = p.get("check")
            check_text = "-"
            if check:  # a family dimension means something only where the pair is degenerate
                dim = check["family_dimension"] if check["verdict"] == "degenerate" else "n/a"
                check_text = f"{check['verdict']}, {check['distance']:.1e}, {dim}"
            lines.append(
                f"| {p['name']} | {p['kind']} | {p['o3']} | {p['so3']} | {p['distance']:.1e} | "
                f"{p['noise_floor']:.1e} | {p['family_dimension']} ({p['member_dimension']}, "
                f"{p['gap_decades']:.1f}) | {check_text} |"
            )
        if not s["pairs"]:  # nothing at the floor: how close the search got
            lines += [
                "",
                f"no pair reached the noise floor; closest candidate: relative feature distance "
                f"{s['best_distance']:.2e}, {s['best_margin']:.1f} decades above its noise floor",
            ]
    if reference:
        lines += [
            "",
            "## Reference: family dimension at catalog PRL pairs",
            "",
            f"descriptor: {reference['descriptor']}",
            "",
            "| pair | seed | equal radii (fixed) | measured dimension | gap (decades) | paper |",
            "|---|---|---|---|---|---|",
        ]
        for row in reference["rows"]:
            lines.append(
                f"| {row['pair']} | {row['seed']} | {row['equal_radii']} | "
                f"{row['family_dimension']} | {row['gap_decades']:.1f} | {row['paper']} |"
            )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", default=None, help="run names")
    parser.add_argument(
        "--checkpoints", type=Path, default=None, help="directory: resume interrupted runs"
    )
    args = parser.parse_args(argv)
    config = json.loads((HERE / "config.json").read_text())
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    summary_path = out / "summary.json"
    previous = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    for spec in config["runs"]:
        if args.only and spec["name"] not in args.only:
            continue
        summary = run_one(spec, config, out, args.checkpoints)
        summary["name"] = spec["name"]
        previous[spec["name"]] = summary
        summary_path.write_text(json.dumps(json_safe(previous), indent=1, sort_keys=True) + "\n")
    reference = prl_reference(config)
    (out / "reference.json").write_text(
        json.dumps(json_safe(reference), indent=1, sort_keys=True) + "\n"
    )
    ordered = [previous[s["name"]] for s in config["runs"] if s["name"] in previous]
    (out / "summary.md").write_text(markdown(ordered, reference))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

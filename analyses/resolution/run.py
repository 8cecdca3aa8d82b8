"""Resolution of the power spectrum against its basis, over the whole catalog.

Run from the repository root::

    python3 analyses/resolution/run.py                 # the grid of config.toml, 2 processes
    python3 analyses/resolution/run.py --quick         # 8 grid points, into results/quick/
    python3 analyses/resolution/run.py --backend dask --scheduler tcp://host:8786

(equivalently ``completeness scan analyses/resolution/config.toml`` for the table and figure).

Reads ``config.toml`` (the power spectrum, cutoff 5 Å, n_radial x max_angular x density_width)
and judges every catalog pair at every grid point with the audit's verdict rule
(:mod:`completeness.analysis.distance`: relative feature distance against the noise floor of
random rotated/permuted/translated copies, margin in decades). Writes into ``results/``:

* ``resolution.csv``: the tidy table, one row per grid point and pair;
* ``summary.csv``: one row per grid point (pairs resolved, the weakest margin over the pairs the
  power spectrum's body order does not declare degenerate, and which pair it is);
* ``summary.md``: the findings in numbers;
* ``resolution.png``: heat maps of the weakest margin (generated, not committed).
"""

from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

from completeness.analysis import study

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 grid points into results/quick/")
    parser.add_argument("--backend", help="override the config's backend")
    parser.add_argument("--n-workers", type=int)
    parser.add_argument("--scheduler")
    args = parser.parse_args()

    config = study.load_config(HERE / "config.toml")
    out = HERE / "results"
    if args.quick:
        out = out / "quick"
        grid = {"n_radial": [1, 4], "max_angular": [0, 4], "density_width": [0.2, 1.0]}
        config = study.StudyConfig(**{**config.__dict__, "grid": grid})
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    result = study.run_study(
        config, backend=args.backend, n_workers=args.n_workers, scheduler=args.scheduler
    )
    seconds = time.perf_counter() - start
    study.write_outputs(result, table=out / "resolution.csv", figure=out / "resolution.png")
    summary = result.summary()
    study.write_table(summary, out / "summary.csv")
    backend = args.backend or config.backend
    (out / "summary.md").write_text(markdown(result, summary, seconds, backend))
    print((out / "summary.md").read_text())


def markdown(result: study.Study, summary: list[dict], seconds: float, backend: str) -> str:
    config = result.config
    names = list(config.grid)
    blind = [r for r in summary if r["n_resolvable_resolved"] < r["n_resolvable"]]
    sharp = [r for r in summary if r["n_resolvable_resolved"] == r["n_resolvable"]]
    missed = sorted(
        {
            row["pair"]
            for row in result.rows
            if row["expected"] != "degenerate" and row["verdict"] != "resolved"
        }
    )
    contradictions = sum(r["n_contradictions"] for r in summary)
    lines = [
        "# Resolution of the power spectrum against its basis",
        "",
        f"{config.descriptor}, fixed {config.fixed}, grid "
        + ", ".join(f"{k} {config.grid[k]}" for k in names)
        + f": {len(summary)} grid points x {summary[0]['n_pairs']} catalog pairs "
        f"({summary[0]['n_resolvable']} not declared degenerate for a 3-body O(3) descriptor), "
        f"seed {config.seed}, {config.n_transforms} random copies per member for the noise floor. "
        f"Wall time {seconds:.1f} s ({backend}).",
        "",
        f"- Grid points resolving every resolvable pair: {len(sharp)} of {len(summary)}.",
        f"- Grid points missing some: {len(blind)}, at "
        + (
            ", ".join(sorted({f"{names[1]} = {r[names[1]]}" for r in blind}))
            if blind and len(names) > 1
            else "-"
        )
        + f"; pairs missed there: {', '.join(missed) or '-'}.",
        f"- Contradictions (a pair declared degenerate but resolved): {contradictions}.",
    ]
    if sharp:
        weakest = min(sharp, key=lambda r: r["weakest_margin"])
        strongest = max(sharp, key=lambda r: r["weakest_margin"])
        lines.append(
            "- Where everything is resolved, the weakest margin ranges from "
            f"{weakest['weakest_margin']:.1f} decades ("
            + ", ".join(f"{k} {weakest[k]}" for k in names)
            + f"; pair {weakest['weakest_pair']}) to {strongest['weakest_margin']:.1f} ("
            + ", ".join(f"{k} {strongest[k]}" for k in names)
            + ")."
        )
    lines += [
        "",
        "| " + " | ".join(names) + " | resolved / resolvable | weakest margin | weakest pair |",
        "|" + "---|" * (len(names) + 3),
    ]
    for r in summary:
        margin = r["weakest_margin"]
        text = "-inf (distance 0)" if margin == -math.inf else f"{margin:.1f}"
        lines.append(
            "| "
            + " | ".join(str(r[k]) for k in names)
            + f" | {r['n_resolvable_resolved']}/{r['n_resolvable']} | {text}"
            + f" | {r['weakest_pair']} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()

"""The representation benchmark: does uniqueness predict learning?

Run from the repository root::

    python3 analyses/benchmark/run.py           # the full study (under 30 minutes on 2 cores)
    python3 analyses/benchmark/run.py --quick   # a smoke run (about a minute)

Reads ``analyses/benchmark/config.toml`` and writes into ``analyses/benchmark/results/``
(``results/quick/`` in quick mode, not committed): ``benchmark.json`` (every record: tuned
hyperparameters, learning curves per seed, force curves, audit measures, search coincidence,
rank correlations), ``summary.md`` (the tables) and ``learning_curves.png`` (not committed). The
run is resumable: finished (task, descriptor) units are kept in ``results/checkpoint/``.
The protocol is stated in :mod:`completeness.analysis.benchmark`.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from completeness.analysis import benchmark

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run (results/quick/)")
    args = parser.parse_args()
    config = benchmark.load_config(HERE / "config.toml", quick=args.quick)
    out = HERE / "results" / ("quick" if args.quick else "")
    if args.quick:
        from dataclasses import replace

        config = replace(config, checkpoint=str(out / "checkpoint"))
    start = time.time()
    result = benchmark.run_benchmark(config, progress=True)
    # the reproducible cost: CPU seconds of every unit (a resumed run's wall time counts only the
    # units it computed, so it is printed, not stored)
    result["unit_cpu_seconds"] = round(sum(r["cpu_seconds"] for r in result["records"]), 1)
    for path in benchmark.write_results(result, out):
        print(f"wrote {path}")
    print(f"{time.time() - start:.1f} s wall, {result['unit_cpu_seconds']} s CPU in the units")


if __name__ == "__main__":
    main()

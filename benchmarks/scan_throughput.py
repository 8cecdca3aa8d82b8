"""Throughput of a hyperparameter scan with 1 and 2 workers, on every parallel backend.

The scan is the resolution study of ``analyses/resolution/config.toml`` (the power spectrum over
n_radial x max_angular x density_width, every grid point judged on every catalog pair by
:func:`completeness.analysis.distance.verdicts`), run in one process with

* ``serial`` (1 worker, in this process),
* ``processes`` with 1 and 2 workers (joblib loky),
* ``dask`` LocalCluster with 1 and 2 single-threaded worker processes (started and closed by
  :func:`completeness.parallel.parallel_map`, start-up included in the time),

each repeated ``--repeats`` times round-robin (so a change of machine load hits all of them
alike); the first time (worker start-up included) and the best are printed. ``processes`` with 1
worker runs in this process (parallel_map does not start a pool for one worker). Printed: grid
points per second and the speed-up of 2 workers over 1 for each backend; the load average before
and after (the machine is shared). The results of every run are checked to be identical to the
serial ones.

Run::

    python3 benchmarks/scan_throughput.py            # the full grid (75 points x 22 pairs)
    python3 benchmarks/scan_throughput.py --quick    # 12 grid points
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from completeness.analysis import study
from completeness.threads import apply_thread_policy

CONFIG = Path(__file__).resolve().parents[1] / "analyses" / "resolution" / "config.toml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="12 grid points")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    apply_thread_policy()  # one thread per process and per worker: the workers parallelise

    config = study.load_config(CONFIG)
    if args.quick:
        grid = {"n_radial": [2, 4, 6], "max_angular": [2, 4], "density_width": [0.3, 0.6]}
        config = study.StudyConfig(**{**config.__dict__, "grid": grid})
    n_points = len(study.grid_points(config))
    runs = [
        ("serial", 1),
        ("processes", 1),
        ("processes", 2),
        ("dask", 1),
        ("dask", 2),
    ]
    print(f"scan: {config.descriptor}, {n_points} grid points x all catalog pairs")
    print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()}")
    reference = study.run_study(config, backend="serial", progress=False).rows  # warm-up
    best = {run: float("inf") for run in runs}
    first = {}
    for _ in range(args.repeats):
        for backend, workers in runs:
            start = time.perf_counter()
            rows = study.run_study(config, backend=backend, n_workers=workers, progress=False).rows
            seconds = time.perf_counter() - start
            first.setdefault((backend, workers), seconds)
            best[(backend, workers)] = min(best[(backend, workers)], seconds)
            if rows != reference:
                raise SystemExit(f"{backend} with {workers} workers gave different results")
    # "first" includes starting the workers (loky keeps its pool between calls, so later runs
    # reuse warm workers; a dask LocalCluster is started and closed by every call)
    print(f"{'backend':<10} {'workers':>7} {'first [s]':>10} {'best [s]':>9} {'points/s':>9}")
    for (backend, workers), seconds in best.items():
        print(
            f"{backend:<10} {workers:>7} {first[(backend, workers)]:10.2f} {seconds:9.2f} "
            f"{n_points / seconds:9.2f}"
        )
    for backend in ("processes", "dask"):
        ratio = best[(backend, 1)] / best[(backend, 2)]
        print(f"speed-up of 2 workers over 1 ({backend}): {ratio:.2f}x")
    print(
        f"speed-up of processes(2) over serial: {best[('serial', 1)] / best[('processes', 2)]:.2f}x"
    )
    print("all runs gave results identical to the serial run")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()

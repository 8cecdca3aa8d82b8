"""How the cost of ``completeness search`` grows with the number of environments.

Data: a Langevin trajectory of fcc Cu (4 x 4 x 4 conventional cells = 256 atoms) at 1000 K with
ase's own EMT potential, seeded, generated here (nothing is downloaded or committed): one frame
every 10 steps of 2 fs after 200 steps of equilibration. Data sets of 1,000, 10,000 and 100,000
environments are the first frames of the trajectory (the last frame truncated to its first
atoms is not used: whole frames only, so sizes are multiples of 256 close to the targets).

Descriptor: the power spectrum, cutoff 4.0 Å (between the second and third shells of Cu), 6
radial functions, l <= 4, density width 0.5 Å. The search: k = 5 nearest neighbours in feature
space, at most 2,000 alignments, the 20 best re-aligned thoroughly.

Printed per size: the time of each stage (neighbour lists, features, nearest neighbours, radial
bounds, alignments) and the total; then the exponent ``b`` of ``time ~ N^b`` fitted (least
squares in log-log) on the sizes, for each stage and the total. The alignments are bounded by
``max_alignments``, so their cost should not grow; the nearest-neighbour query is the only
super-linear stage.

Run::

    python3 benchmarks/search_scaling.py                       # 1k, 10k, 100k; 2 processes
    python3 benchmarks/search_scaling.py --quick               # 1k, 3k, 10k
    python3 benchmarks/search_scaling.py --backend serial
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from ase import units
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.md.langevin import Langevin

from completeness.analysis.search import search
from completeness.descriptors import PowerSpectrum
from completeness.threads import apply_thread_policy


def copper_trajectory(n_frames: int, seed: int = 0):
    atoms = bulk("Cu", "fcc", a=3.61, cubic=True) * (4, 4, 4)
    atoms.calc = EMT()
    rng = np.random.default_rng(seed)
    atoms.set_momenta(rng.normal(scale=0.05, size=(len(atoms), 3)))
    dynamics = Langevin(
        atoms, 2 * units.fs, temperature_K=1000, friction=0.02, rng=rng, fixcm=False
    )
    dynamics.run(200)
    frames = []
    for _ in range(n_frames):
        dynamics.run(10)
        frame = atoms.copy()
        frame.calc = None
        frames.append(frame)
    return frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1k, 3k and 10k environments")
    parser.add_argument("--backend", default="processes")
    parser.add_argument("--n-workers", type=int, default=2)
    args = parser.parse_args()
    apply_thread_policy()  # one thread per process and per worker: the workers parallelise
    targets = [1_000, 3_000, 10_000] if args.quick else [1_000, 10_000, 100_000]
    start = time.perf_counter()
    n_frames = -(-targets[-1] // 256)
    frames = copper_trajectory(n_frames)
    print(
        f"EMT Cu trajectory: {n_frames} frames x 256 atoms in {time.perf_counter() - start:.1f} s"
    )
    print(
        f"cores: {os.cpu_count()}, backend {args.backend}, {args.n_workers} workers, "
        f"load average: {os.getloadavg()}"
    )
    descriptor = PowerSpectrum(cutoff=4.0, n_radial=6, max_angular=4, density_width=0.5)
    sizes, stages = [], {}
    for target in targets:
        subset = frames[: max(1, round(target / 256))]
        start = time.perf_counter()
        result = search(
            subset,
            descriptor,
            k=5,
            backend=args.backend,
            n_workers=args.n_workers,
            progress=False,
        )
        total = time.perf_counter() - start
        sizes.append(result.n_environments)
        for stage, seconds in {**result.timings, "total": total}.items():
            stages.setdefault(stage, []).append(seconds)
        print(
            f"\nN = {result.n_environments}: {result.n_candidates} candidates, "
            f"{int(result.aligned.sum())} aligned, total {total:.1f} s"
        )
        print("  " + result.text(3).replace("\n", "\n  "))
    print(f"\n{'stage':<22}" + "".join(f"{n:>10d}" for n in sizes) + "   exponent b (t ~ N^b)")
    for stage, seconds in stages.items():
        slope = np.polyfit(np.log(sizes), np.log(np.maximum(seconds, 1e-6)), 1)[0]
        print(f"{stage:<22}" + "".join(f"{s:10.2f}" for s in seconds) + f"   {slope:6.2f}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()

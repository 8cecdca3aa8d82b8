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

With ``--million``: one search of about 1,000,000 environments (``--environments N``): 3,907
frames of the same 256-atom cell with every atom displaced by a seeded Gaussian of 0.1 Å per
coordinate (an Einstein crystal near 1000 K; generated here, nothing is committed), plus a
planted catalog pair (``prl-equal-bond``: equal 3-body correlations, different 4-body; scaled to
3 Å and made of Cu atoms, so its centres are compared with every Cu environment). Printed: the
wall time, the CPU time of the driver and its workers, the peak memory (resident set of the
driver and its workers summed, sampled every 0.2 s, and the driver's own peak), the rank of the
planted pair, and the recall of the search's nearest-neighbour index on 20,000 environments
drawn at random: the fraction of their exact ``k`` nearest neighbours in the full feature space
(double precision, brute force over every environment) that the index returns; the same for the
exact k-d tree on 16 principal components for comparison. Needs the ``search`` and ``parallel``
extras (faiss, joblib, psutil).

Run::

    python3 benchmarks/search_scaling.py                       # 1k, 10k, 100k; 2 processes
    python3 benchmarks/search_scaling.py --quick               # 1k, 3k, 10k
    python3 benchmarks/search_scaling.py --backend serial
    python3 benchmarks/search_scaling.py --million             # 1,000,000 environments
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time

import numpy as np
from ase import units
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.md.langevin import Langevin
from sklearn.base import clone
from sklearn.neighbors import NearestNeighbors

from completeness import structures
from completeness.analysis.search import search
from completeness.analysis.search.neighbours import nearest_neighbours, query_space
from completeness.descriptors import PowerSpectrum
from completeness.parallel import parallel_map
from completeness.threads import apply_thread_policy

DESCRIPTOR = PowerSpectrum(cutoff=4.0, n_radial=6, max_angular=4, density_width=0.5)


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


def einstein_crystal(n_environments: int, seed: int = 0):
    """Frames of 256 Cu atoms displaced by N(0, 0.1 Å) per coordinate, and the planted pair."""
    base = bulk("Cu", "fcc", a=3.61, cubic=True) * (4, 4, 4)
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(-(-n_environments // len(base))):
        frame = base.copy()
        frame.positions += rng.normal(scale=0.1, size=frame.positions.shape)
        frames.append(frame)
    pair = structures.load("prl-equal-bond").scaled(3.0)
    planted = [pair.plus.copy(), pair.minus.copy()]
    for member in planted:
        member.numbers[:] = 29
    return frames, planted


class MemorySampler:
    """Peak of the summed resident set of this process and its children (psutil, every 0.2 s)."""

    def __init__(self):
        import threading

        import psutil

        self.peak, self.process, self.done = 0, psutil.Process(), threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        import psutil

        while not self.done.wait(0.2):
            total = 0
            for process in [self.process, *self.process.children(recursive=True)]:
                try:
                    total += process.memory_info().rss
                except psutil.Error:  # a worker that just ended
                    pass
            self.peak = max(self.peak, total)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()


def cpu_seconds() -> float:
    """CPU time of this process, of its children that ended, and of the live ones (the loky
    workers stay alive between maps)."""
    import psutil

    own = resource.getrusage(resource.RUSAGE_SELF)
    ended = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = own.ru_utime + own.ru_stime + ended.ru_utime + ended.ru_stime
    for child in psutil.Process().children(recursive=True):
        try:
            times = child.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def exact_block(task, rng):
    """The ``k`` nearest rows of ``features`` (every row but the query itself) for one block of
    query rows, by brute force in double precision (a parallel_map task)."""
    del rng
    path, queries, k = task
    features = np.load(path, mmap_mode="r")
    query = np.asarray(features[queries])
    best = np.full((len(queries), k), np.inf)
    found = np.zeros((len(queries), k), dtype=np.int64)
    for start in range(0, len(features), 10_000):
        block = np.asarray(features[start : start + 10_000])
        squared = (
            np.sum(query**2, axis=1)[:, None] + np.sum(block**2, axis=1)[None] - 2 * query @ block.T
        )
        rows = np.arange(start, start + len(block))
        squared[queries[:, None] == rows[None]] = np.inf
        nearest = np.argpartition(squared, k, axis=1)[:, :k]
        candidates = np.hstack([best, np.take_along_axis(squared, nearest, axis=1)])
        indices = np.hstack([found, rows[nearest]])
        order = np.argsort(candidates, axis=1, kind="stable")[:, :k]
        best = np.take_along_axis(candidates, order, axis=1)
        found = np.take_along_axis(indices, order, axis=1)
    return found


def recall(found: np.ndarray, exact: np.ndarray, queries: np.ndarray) -> float:
    """Mean fraction of each query's exact neighbours among the ones found (self excluded)."""
    hits = [
        len(set(row[row != query].tolist()) & set(truth.tolist())) / len(truth)
        for row, truth, query in zip(found, exact, queries, strict=True)
    ]
    return float(np.mean(hits))


def million(args) -> None:
    start = time.perf_counter()
    frames, planted = einstein_crystal(args.environments)
    data = [*frames, *planted]
    n_environments = sum(len(atoms) for atoms in data)
    print(
        f"{len(frames)} Einstein-crystal frames x 256 Cu atoms + the planted pair: "
        f"{n_environments} environments, generated in {time.perf_counter() - start:.1f} s"
    )
    print(f"cores: {os.cpu_count()}, {args.n_workers} workers, load average {os.getloadavg()}")
    k = 5
    cpu = cpu_seconds()
    start = time.perf_counter()
    with MemorySampler() as memory:
        result = search(data, DESCRIPTOR, k=k, backend="processes", n_workers=args.n_workers)
    wall = time.perf_counter() - start
    cpu = cpu_seconds() - cpu
    driver = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(result.text(5))
    top = result.false_negatives(1)[0]
    n_frames_environments = n_environments - len(planted[0]) - len(planted[1])
    ranked_first = {
        (top["first_structure"], top["first_centre"]),
        (top["second_structure"], top["second_centre"]),
    } == {(len(frames), 0), (len(frames) + 1, 0)}
    print(
        f"search of {n_environments} environments: wall {wall:.1f} s, CPU {cpu:.1f} s "
        f"(driver and workers), peak memory {memory.peak / 2**30:.2f} GiB (driver + workers; "
        f"driver alone {driver:.2f} GiB); planted pair ranked first: {ranked_first}; "
        f"load average {os.getloadavg()}"
    )

    # recall of the index on 20,000 random environments, against brute force in the full space
    descriptor = clone(DESCRIPTOR).set_params(species=[29])  # as the search prepared it
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "features.npy")
        width = descriptor.compute(data[:1]).values.shape[1]
        features = np.lib.format.open_memmap(
            path, mode="w+", dtype=np.float64, shape=(n_environments, width)
        )
        row = 0
        for part in range(0, len(data), 40):
            values = descriptor.compute(data[part : part + 40]).values
            features[row : row + len(values)] = values
            row += len(values)
        features.flush()
        queries = np.sort(np.random.default_rng(1).choice(n_frames_environments, 20_000, False))
        start = time.perf_counter()
        exact = np.vstack(
            parallel_map(
                exact_block,
                [(path, block, k) for block in np.array_split(queries, 4 * args.n_workers)],
                backend="processes",
                n_workers=args.n_workers,
                progress=False,
            )
        )
        print(f"exact neighbours of 20,000 environments: {time.perf_counter() - start:.1f} s")
        members = np.arange(n_environments)
        start = time.perf_counter()
        found = nearest_neighbours(
            features, members, k + 1, index="hnsw", backend="processes", n_workers=args.n_workers,
            progress=False,
        )  # fmt: skip
        print(
            f"approximate index (hnsw, as in the search): recall of the {k} nearest neighbours "
            f"{recall(found[queries], exact, queries):.4f} ({time.perf_counter() - start:.1f} s)"
        )
        points = query_space(features, members, 16, 0)
        tree = NearestNeighbors(n_neighbors=k + 1, algorithm="kd_tree").fit(points)
        found = tree.kneighbors(points[queries], return_distance=False)
        print(
            "exact k-d tree on 16 principal components (the search's index below 200,000 "
            f"environments): recall {recall(found, exact, queries):.4f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1k, 3k and 10k environments")
    parser.add_argument("--million", action="store_true", help="one search of 10^6 environments")
    parser.add_argument("--environments", type=int, default=1_000_000, help="with --million")
    parser.add_argument("--backend", default="processes")
    parser.add_argument("--n-workers", type=int, default=2)
    args = parser.parse_args()
    apply_thread_policy()  # one thread per process and per worker: the workers parallelise
    if args.million:
        million(args)
        return
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
    descriptor = DESCRIPTOR
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

"""Neighbour lists of batches: the package's broadcasting paths against one vesin list per system.

For each batch, ``build_neighbourhoods`` is timed as the package runs it and with every periodic
system sent to vesin (``PERIODIC_BRUTE_FORCE_ENTRIES = 0``), round-robin in one process, best of
``--repeats``; reported in ms of CPU time (``time.process_time``) per batch and their ratio.
Also checks that both give the same pairs (bit for bit, as sets per sample).

Run::

    python3 benchmarks/neighbour_lists.py            # one thread (the package's default policy)
    python3 benchmarks/neighbour_lists.py --threads default
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def crystals(n_systems: int, n_atoms: int, seed: int = 0, density: float = 0.1):
    """Cubic cells holding ``n_atoms`` random atoms at ``density`` atoms per Å³."""
    import ase

    rng = np.random.default_rng(seed)
    side = (n_atoms / density) ** (1 / 3)
    return [
        ase.Atoms(
            numbers=rng.choice([1, 6], n_atoms),
            positions=rng.uniform(0, side, (n_atoms, 3)),
            cell=np.eye(3) * side,
            pbc=True,
        )
        for _ in range(n_systems)
    ]


def same_pairs(a, b) -> bool:
    for s in range(a.n_samples):
        rows = []
        for n in (a, b):
            pairs = slice(n.pair_offsets[s], n.pair_offsets[s + 1])
            vectors = n.pair_vectors[pairs]
            order = np.lexsort((*vectors.T[::-1], n.pair_neighbour[pairs]))
            rows.append((n.pair_neighbour[pairs][order], vectors[order]))
        if not all(np.array_equal(x, y) for x, y in zip(*rows, strict=True)):
            return False
    return np.array_equal(a.pair_offsets, b.pair_offsets)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1", help="1 (default) or 'default'")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    from completeness.threads import apply_thread_policy

    threads = apply_thread_policy(args.threads)
    from completeness.environments import build_neighbourhoods, images

    batches = [
        ("500 cubic cells x 8 atoms, cutoff 4", crystals(500, 8), 4.0),
        ("500 cubic cells x 4 atoms, cutoff 5", crystals(500, 4, seed=1), 5.0),
        ("200 cubic cells x 16 atoms, cutoff 3", crystals(200, 16, seed=2), 3.0),
    ]
    threshold = images.PERIODIC_BRUTE_FORCE_ENTRIES
    print(
        f"threads {threads if threads is not None else 'default'}, load average "
        f"{os.getloadavg()[0]:.1f}; ms of CPU per batch, best of {args.repeats}"
    )
    for label, systems, cutoff in batches:
        best = {"package": np.inf, "vesin per system": np.inf}
        built = {}
        for _ in range(args.repeats):
            for name, limit in (("package", threshold), ("vesin per system", 0)):
                images.PERIODIC_BRUTE_FORCE_ENTRIES = limit
                start = time.process_time()
                built[name] = build_neighbourhoods(systems, cutoff)
                best[name] = min(best[name], time.process_time() - start)
        images.PERIODIC_BRUTE_FORCE_ENTRIES = threshold
        equal = same_pairs(built["package"], built["vesin per system"])
        print(
            f"  {label:38s} package {best['package'] * 1e3:7.1f}   vesin per system "
            f"{best['vesin per system'] * 1e3:7.1f}   ratio "
            f"{best['vesin per system'] / best['package']:4.2f}x   "
            f"{built['package'].n_pairs} pairs, equal {equal}"
        )


if __name__ == "__main__":
    main()

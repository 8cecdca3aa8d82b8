"""CPU time to allocate, fill and free a large gradient output on ordinary (4 kB) pages and on
numpy's (transparent huge) pages, by size: the measurement behind
``completeness.descriptors.outputs.LARGE_OUTPUT_BYTES``.

    python3 benchmarks/output_pages.py [--sizes 64,128,256,512,1024] [--repeats 5]

Each size is run round-robin (one of each, repeated) in this process, the way a descriptor's
output is made: a fresh zeroed array, every page written, then dropped. Prints the median and the
best CPU time (user + system) per GB for each policy.
"""

from __future__ import annotations

import argparse
import os
import resource

import numpy as np

from completeness.descriptors import outputs


def fill_and_free(n_bytes: int, ordinary_pages: bool) -> float:
    """CPU seconds to allocate ``n_bytes`` of zeros, write one value per 512 B, and free them."""
    saved = outputs.LARGE_OUTPUT_BYTES
    outputs.LARGE_OUTPUT_BYTES = 0 if ordinary_pages else 2**62
    try:
        start = resource.getrusage(resource.RUSAGE_SELF)
        array = outputs.fresh_zeros((n_bytes // 8,))  # never recycled memory
        array[::64] = 1.0
        del array
        stop = resource.getrusage(resource.RUSAGE_SELF)
    finally:
        outputs.LARGE_OUTPUT_BYTES = saved
    return (stop.ru_utime - start.ru_utime) + (stop.ru_stime - start.ru_stime)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="64,128,256,512,1024", help="MB, comma-separated")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.1f}; CPU ms per GB, median / best of {args.repeats}")
    print(f"{'size MB':>8s} {'4 kB pages':>16s} {'huge pages':>16s}")
    for size in (int(s) for s in args.sizes.split(",")):
        n_bytes = size * 2**20
        times = {True: [], False: []}
        for _ in range(args.repeats):
            for ordinary in (True, False):
                times[ordinary].append(fill_and_free(n_bytes, ordinary) * 1e3 / (size / 1024))
        cells = [f"{np.median(times[o]):7.0f} / {min(times[o]):5.0f}" for o in (True, False)]
        print(f"{size:8d} {cells[0]:>16s} {cells[1]:>16s}")


if __name__ == "__main__":
    main()

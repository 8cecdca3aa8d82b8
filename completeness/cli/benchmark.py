"""``completeness benchmark``: learning curves of every descriptor beside its audit measures."""

from __future__ import annotations

from ..io import check_output
from . import _common


def run(args) -> int:
    from ..analysis import benchmark
    from ..analysis.plotting import quick_mode

    if args.out:
        check_output(args.out, "--out", directory=True)
    config = benchmark.load_config(args.config, quick=args.quick or quick_mode())
    overrides = {
        key: value
        for key, value in (
            ("backend", args.backend),
            ("n_workers", args.n_workers),
            ("checkpoint", args.checkpoint),
        )
        if value is not None
    }
    if overrides:
        from dataclasses import replace

        config = replace(config, **overrides)
    result = benchmark.run_benchmark(config, progress=not args.quiet)
    paths = benchmark.write_results(result, args.out)
    if not args.quiet:
        print(benchmark.markdown(result), end="")
        for path in paths:
            print(f"wrote {path}")
    return 0


def register(commands) -> None:
    parser = _common.add_command(
        commands,
        "benchmark",
        help="tuned learning curves of every descriptor beside its audit measures",
        description="Run a benchmark config (see completeness.analysis.benchmark): every "
        "(task, descriptor) pair is one task of completeness.parallel.parallel_map; writes "
        "benchmark.json, summary.md and learning_curves.png to --out.",
    )
    parser.add_argument("config", help="benchmark config (.json or .toml)")
    parser.add_argument("--out", default="benchmark-results", help="output directory")
    parser.add_argument("--quick", action="store_true", help="smoke run (COMPLETENESS_QUICK=1)")
    parser.add_argument(
        "--backend", choices=["serial", "processes", "dask"], help="override the config's backend"
    )
    parser.add_argument("--n-workers", type=int, help="processes or LocalCluster workers")
    parser.add_argument(
        "--checkpoint", metavar="DIR", help="write results as they arrive; rerun to resume"
    )
    _common.add_quiet(parser)
    parser.set_defaults(run=run)

"""``completeness scan``: verdicts over a grid of hyperparameters x catalog pairs."""

from __future__ import annotations


def run(args) -> int:
    from ..analysis import study

    config = study.load_config(args.config)
    result = study.run_study(
        config,
        backend=args.backend,
        n_workers=args.n_workers,
        scheduler=args.scheduler,
        checkpoint=args.checkpoint,
        progress=not args.quiet,
    )
    written = study.write_outputs(result, table=args.table, figure=args.figure)
    if not args.quiet:
        summary = result.summary()
        resolved = sum(r["n_resolvable_resolved"] for r in summary)
        resolvable = sum(r["n_resolvable"] for r in summary)
        print(
            f"{config.descriptor}: {len(summary)} grid points x {summary[0]['n_pairs']} pairs; "
            f"{resolved}/{resolvable} resolvable (grid point, pair) resolved"
        )
        for path in written:
            print(f"wrote {path}")
    return 0


def register(commands) -> None:
    parser = commands.add_parser(
        "scan",
        help="verdicts over a grid of hyperparameters x catalog pairs, from a JSON/TOML config",
        description="Run a study config (see completeness.analysis.study): every grid point is "
        "one task of completeness.parallel.parallel_map; writes a tidy CSV and a figure.",
    )
    parser.add_argument("config", help="study config (.json or .toml)")
    parser.add_argument(
        "--backend", choices=["serial", "processes", "dask"], help="override the config's backend"
    )
    parser.add_argument("--n-workers", type=int, help="processes or LocalCluster workers")
    parser.add_argument("--scheduler", help="dask scheduler address, e.g. tcp://host:8786")
    parser.add_argument(
        "--checkpoint", metavar="DIR", help="write results as they arrive; rerun to resume"
    )
    parser.add_argument("--table", metavar="CSV", help="override the config's output table")
    parser.add_argument("--figure", metavar="PNG", help="override the config's output figure")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.set_defaults(run=run)

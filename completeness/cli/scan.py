"""``completeness scan``: verdicts over a grid of hyperparameters x catalog pairs."""

from __future__ import annotations

import dataclasses
import sys

from ..io import json_text
from . import _common


def run(args) -> int:
    from ..analysis import study

    config = study.load_config(args.config)
    if args.descriptor:
        config = dataclasses.replace(config, descriptor=args.descriptor)
    files = _common.check_files(args)  # (the table and figure: study.output_paths, below)
    study.output_paths(config, table=args.table, figure=args.figure)
    result = study.run_study(
        config,
        backend=args.backend,
        n_workers=args.n_workers,
        scheduler=args.scheduler,
        checkpoint=args.checkpoint,
        progress=not args.quiet,
    )
    summary = result.summary()
    also = {path: json_text(summary) for path in files.values()}  # --json, with the others
    written = study.write_outputs(result, table=args.table, figure=args.figure, also=also)
    if args.json == "-":
        sys.stdout.write(json_text(summary))
    if not args.quiet and args.json != "-":
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
    parser = _common.add_command(
        commands,
        "scan",
        help="verdicts over a grid of hyperparameters x catalog pairs, from a JSON/TOML config",
        description="Run a study config (see completeness.analysis.study): every grid point is "
        "one task of completeness.parallel.parallel_map; writes a tidy CSV and a figure. "
        "--descriptor, --backend, --n-workers and --scheduler override the config's.",
    )
    parser.add_argument("config", help="study config (.json or .toml)")
    _common.add_descriptor(parser)
    _common.add_parallel(parser, help_backend="parallelism (default: the config's)")
    parser.add_argument(
        "--checkpoint", metavar="DIR", help="write results as they arrive; rerun to resume"
    )
    parser.add_argument("--table", metavar="CSV", help="override the config's output table")
    parser.add_argument("--figure", metavar="PNG", help="override the config's output figure")
    _common.add_json(parser, "the resolution summary (one record per grid point)")
    _common.add_quiet(parser)
    parser.set_defaults(run=run)

"""``completeness search``: environments of a data set that a descriptor nearly confuses."""

from __future__ import annotations

import sys

from . import _common


def run(args) -> int:
    from ..analysis.search import read_systems, search

    descriptor = _common.one_descriptor(args)
    systems = read_systems(args.data)
    result = search(
        systems,
        descriptor,
        cutoff=args.cutoff,
        k=args.k,
        n_components=args.components or None,
        max_alignments=args.max_alignments,
        min_structural=args.min_structural,
        backend=args.backend,
        n_workers=args.n_workers,
        scheduler=args.scheduler,
        progress=sys.stderr.isatty() and not args.quiet,
    )
    _common.write_json_output(args, result.to_dict(args.top))
    if not args.quiet and args.json != "-":
        sys.stdout.write(result.text(args.top))
    return 0


def register(commands) -> None:
    parser = _common.add_command(
        commands,
        "search",
        help="find environments of a data set that a descriptor nearly confuses",
        description="Pairs of environments close in feature space (k nearest neighbours) but "
        "far apart structurally (RMSD after optimal alignment; see "
        "completeness.analysis.search): the descriptor's false negatives in your data. "
        "--cutoff is also the cutoff of the structural comparison.",
    )
    parser.add_argument("data", help="structure file read with ase.io (every frame, every atom)")
    _common.add_descriptor(parser, default="power-spectrum")
    _common.add_hypers(parser)
    parser.add_argument("--k", type=int, default=5, help="nearest neighbours in feature space")
    parser.add_argument(
        "--components",
        type=int,
        default=16,
        help="principal components for the neighbour query (0: exact, full space)",
    )
    parser.add_argument(
        "--max-alignments", type=int, default=2000, help="candidates given the full alignment"
    )
    parser.add_argument(
        "--min-structural",
        type=float,
        default=0.05,
        help="smallest structural distance (Å) reported as a false negative",
    )
    parser.add_argument("--top", type=int, default=10, help="pairs to report")
    _common.add_json(parser)
    _common.add_parallel(parser, backend="serial")
    _common.add_quiet(parser)
    parser.set_defaults(run=run)

"""``completeness search``: environments of a data set that a descriptor nearly confuses."""

from __future__ import annotations

import sys

from . import _common


def run(args) -> int:
    from ..analysis import search_report
    from ..analysis.search import read_systems, search

    if args.chemiscope:  # fail before computing when the package is missing
        from ..chemiscope_export import require_chemiscope

        require_chemiscope()
    files = _common.check_files(args, **{"--hits": args.hits, "--chemiscope": args.chemiscope})
    descriptor = _common.one_descriptor(args)
    systems = read_systems(args.data)
    result = search(
        systems,
        descriptor,
        cutoff=args.cutoff,
        k=args.k,
        n_components=args.components or None,
        index=args.index,
        max_alignments=args.max_alignments,
        min_structural=args.min_structural,
        backend=args.backend,
        n_workers=args.n_workers,
        scheduler=args.scheduler,
        progress=not args.quiet,
    )
    records = search_report.hits(result, systems, args.data, args.top)
    data = result.to_dict(args.top)
    data["false_negatives"] = records  # the same rows, with names, elements and the outlier flag
    data["stands_out"] = search_report.stands_out(records)
    contents = {}
    if args.hits:
        contents["--hits"] = search_report.hits_writer(result, systems, records)
    if args.chemiscope:
        from ..chemiscope_export import dataset_bytes, search_dataset

        dataset = search_dataset(result, systems, records)
        contents["--chemiscope"] = dataset_bytes(args.chemiscope, dataset)
    _common.write_json_output(args, data, files, contents)
    if not args.quiet and args.json != "-":
        sys.stdout.write(search_report.hits_text(result, systems, args.data, args.top))
        timings = ", ".join(f"{k} {v:.2f}" for k, v in result.timings.items())
        sys.stdout.write(f"timings [s]: {timings}\n")
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
        "--index",
        choices=("auto", "exact", "hnsw"),  # analysis.search.INDEXES (not imported at start-up)
        default="auto",
        help="nearest-neighbour index: exact (k-d tree), hnsw (approximate, re-ranked in the full "
        "feature space; needs the search extra) or auto (hnsw above 200,000 environments of a "
        "centre species)",
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
    parser.add_argument(
        "--hits", metavar="PATH", help="write both environments of every reported pair (extxyz)"
    )
    parser.add_argument(
        "--chemiscope",
        metavar="PATH",
        help="write the reported pairs as a chemiscope dataset (.json or .json.gz; needs the "
        "chemiscope extra)",
    )
    _common.add_parallel(parser, backend="serial")
    _common.add_quiet(parser)
    parser.set_defaults(run=run)

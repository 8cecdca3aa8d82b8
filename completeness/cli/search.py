"""``completeness search``: environments of a data set that a descriptor nearly confuses."""

from __future__ import annotations

import sys

from ..errors import InputError
from ..io import write_json


def run(args) -> int:
    import json

    from ..analysis import search_report
    from ..analysis.search import read_systems, search
    from ..descriptors.defaults import resolve_descriptors

    if args.chemiscope:  # fail before computing when the package is missing
        from ..chemiscope_export import require_chemiscope

        require_chemiscope()
    descriptors = resolve_descriptors([args.descriptor])
    if len(descriptors) != 1:
        raise InputError(
            f"{args.descriptor!r} names {len(descriptors)} descriptors ({sorted(descriptors)}); "
            "give one of them"
        )
    (descriptor,) = descriptors.values()
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
        progress=not args.quiet,
    )
    records = search_report.hits(result, systems, args.data, args.top)
    data = result.to_dict(args.top)
    data["false_negatives"] = records  # the same rows, with names, elements and the outlier flag
    data["stands_out"] = search_report.stands_out(records)
    if args.json == "-":
        sys.stdout.write(json.dumps(data, indent=1) + "\n")
    elif args.json:
        write_json(args.json, data)
    if args.hits:
        search_report.write_hits(args.hits, result, systems, records)
    if args.chemiscope:
        from ..chemiscope_export import search_dataset, write_dataset

        write_dataset(args.chemiscope, search_dataset(result, systems, records))
    if not args.quiet and args.json != "-":
        sys.stdout.write(search_report.hits_text(result, systems, args.data, args.top))
        timings = ", ".join(f"{k} {v:.2f}" for k, v in result.timings.items())
        sys.stdout.write(f"timings [s]: {timings}\n")
    return 0


def register(commands) -> None:
    parser = commands.add_parser(
        "search",
        help="find environments of a data set that a descriptor nearly confuses",
        description="Pairs of environments close in feature space (k nearest neighbours) but "
        "far apart structurally (RMSD after optimal alignment; see "
        "completeness.analysis.search): the descriptor's false negatives in your data.",
    )
    parser.add_argument("data", help="structure file read with ase.io (every frame, every atom)")
    parser.add_argument(
        "--descriptor",
        default="power-spectrum",
        help="a built-in key, a class name or module:attr (default: power-spectrum)",
    )
    parser.add_argument(
        "--cutoff", type=float, help="cutoff in Å (descriptor and structural comparison)"
    )
    parser.add_argument("--k", type=int, default=5, help="nearest neighbours in feature space")
    parser.add_argument(
        "--components",
        type=int,
        default=16,
        help="principal components for the neighbour query (0: exact, full space; default 16)",
    )
    parser.add_argument(
        "--max-alignments", type=int, default=2000, help="candidates given the full alignment"
    )
    parser.add_argument(
        "--min-structural",
        type=float,
        default=0.05,
        help="smallest structural distance (Å) reported as a false negative (default 0.05)",
    )
    parser.add_argument("--top", type=int, default=10, help="pairs to report (default 10)")
    parser.add_argument("--json", metavar="PATH", help="write the result as JSON ('-': stdout)")
    parser.add_argument(
        "--hits", metavar="PATH", help="write both environments of every reported pair (extxyz)"
    )
    parser.add_argument(
        "--chemiscope",
        metavar="PATH",
        help="write the reported pairs as a chemiscope dataset (.json or .json.gz; needs the "
        "chemiscope extra)",
    )
    parser.add_argument(
        "--backend", choices=["serial", "processes", "dask"], default="serial", help="parallelism"
    )
    parser.add_argument("--n-workers", type=int, help="processes or LocalCluster workers")
    parser.add_argument("--scheduler", help="dask scheduler address, e.g. tcp://host:8786")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.set_defaults(run=run)

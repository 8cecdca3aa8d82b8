"""``completeness discover``: search for degenerate pairs of a descriptor."""

from __future__ import annotations

from ..io import check_output
from . import _common


def run(args) -> int:
    from ..analysis.discovery import discover

    say = _common.printer(args)
    if args.out:
        check_output(args.out, "--out", directory=True)
    if args.chemiscope:  # fail before computing when the package is missing
        from ..chemiscope_export import require_chemiscope

        require_chemiscope()
    files = _common.check_files(args, **{"--chemiscope": args.chemiscope})
    descriptor = _common.one_descriptor(args)
    result = discover(
        descriptor,
        args.neighbours,
        species=args.species,
        centre_species=args.centre_species,
        restarts=args.restarts,
        seed=args.seed,
        backend=args.backend,
        n_workers=args.n_workers,
        scheduler=args.scheduler,
        checkpoint=args.checkpoint,
        min_separation=args.min_separation,
        min_radial_spread=args.min_radial_spread,
        max_iterations=args.max_iterations,
        progress=False if args.quiet else None,
    )
    summary = result.summary()
    say(
        f"{result.descriptor} ({result.body_order}-body, {result.parity}), "
        f"{args.neighbours} neighbours: {summary['degenerate_candidates']}/{args.restarts} "
        f"restarts reached the noise floor, {summary['distinct_pairs']} distinct pairs "
        f"{summary['pairs_by_kind']} in {result.seconds:.1f} s"
    )
    for found in result.pairs:
        family = found.family
        say(
            f"  {found.pair.name}: {found.kind}; O(3) equal up to {found.order.o3}-body, SO(3) "
            f"{found.order.so3}-body; distance {found.candidate.distance:.1e} (floor "
            f"{found.candidate.floor:.1e}); family dimension {family.dimension} (member "
            f"{family.member_dimension}, gap {family.gap:.1f} decades)"
        )
    if not result.pairs and result.best is not None:
        best = result.best
        say(
            f"  closest: restart {best.restart}, distance {best.distance:.2e} = "
            f"{best.margin:.1f} decades above the noise floor {best.floor:.1e} ({best.status})"
        )
    if args.out:
        result.write(args.out)
        say(f"wrote {len(result.pairs)} pairs (catalog format) and discovery.json to {args.out}")
    contents = {}
    if args.chemiscope:
        from ..chemiscope_export import dataset_bytes, discovery_dataset

        contents["--chemiscope"] = dataset_bytes(args.chemiscope, discovery_dataset(result))
    _common.write_json_output(args, result.summary(), files, contents)
    return 0


def register(commands) -> None:
    parser = _common.add_command(
        commands,
        "discover",
        help="search for degenerate pairs of a descriptor (random restarts, oracle-classified)",
        description=(
            "Minimise the feature distance between two environments kept structurally apart, "
            "polish each candidate to the noise floor, classify it with the oracle, merge "
            "duplicates up to congruence and measure the dimension of the degenerate family."
        ),
    )
    _common.add_descriptor(parser, required=True)
    parser.add_argument("--neighbours", type=int, required=True, help="neighbours per member")
    parser.add_argument(
        "--species", nargs="+", default=None, help="one species for all, or one per neighbour"
    )
    parser.add_argument("--centre-species", default="C")
    parser.add_argument("--restarts", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0, help="seed of the random restarts")
    _common.add_parallel(parser, backend="serial")
    parser.add_argument("--checkpoint", metavar="DIR", help="resume an interrupted search")
    parser.add_argument("--min-separation", type=float, default=None, help="Å")
    parser.add_argument(
        "--min-radial-spread", type=float, default=0.0, help="Å; > 0 excludes single shells"
    )
    parser.add_argument("--max-iterations", type=int, default=400)
    _common.add_hypers(parser)
    parser.add_argument("--out", metavar="DIR", help="write the pairs in the catalog's format")
    _common.add_json(parser, "the summary")
    parser.add_argument(
        "--chemiscope",
        metavar="PATH",
        help="write the discovered pairs as a chemiscope dataset (.json or .json.gz; needs the "
        "chemiscope extra)",
    )
    _common.add_quiet(parser)
    parser.set_defaults(run=run)

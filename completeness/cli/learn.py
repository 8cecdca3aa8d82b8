"""``completeness learn``: learning curves and within-pair errors on degenerate pairs."""

from __future__ import annotations

from . import _common

#: Without --descriptor: these classes with these hyperparameters (flags given override them).
DEFAULT_DESCRIPTORS = ("PowerSpectrum", "Bispectrum")
DEFAULT_HYPERS = {"cutoff": 6.0, "n_radial": 4, "max_angular": 3}


def run(args) -> int:
    import numpy as np

    from ..analysis import learning, reconstruction
    from ..descriptors.defaults import resolve_descriptors

    quiet = args.quiet or args.json == "-"
    files = _common.check_files(args)
    pairs = learning.family_pairs(args.family, args.n_pairs, seed=args.seed)
    results, features = [], {}
    hypers = _common.hypers(args)
    if not args.descriptor:
        hypers = {**DEFAULT_HYPERS, **hypers}
    chosen = resolve_descriptors(args.descriptor or DEFAULT_DESCRIPTORS, hypers)
    for name, descriptor in chosen.items():
        dataset = learning.pair_dataset(pairs, descriptor, args.target, name=args.family)
        features[name] = np.vstack([dataset.features_plus, dataset.features_minus])
        curve = learning.pair_learning_curve(
            dataset, model=args.model, seeds=args.seeds, test_fraction=args.test_fraction
        )
        results.append(
            {
                "descriptor": name,
                "body_order": int(getattr(descriptor, "body_order", 0)),
                "pair_feature_distance_median": float(np.median(dataset.feature_distance())),
                "curve": curve.to_dict(),
            }
        )
        if not quiet:
            print(
                f"{name} (body order {results[-1]['body_order']}), {args.model}, "
                f"{args.family} pairs, target {args.target}:"
            )
            print("  train pairs  test RMSE  within-pair rel. RMSE test  train")
            for i, n in enumerate(curve.train_pairs):
                print(
                    f"  {n:11d}  {curve.test_rmse[i].mean():9.4g}  "
                    f"{curve.test_pair_rmse[i].mean():10.4f} ± {curve.test_pair_rmse[i].std():.4f}"
                    f"  {curve.train_pair_rmse[i].mean():12.4f}"
                )
            print(f"  degenerate error floor {curve.floor:.4g} (target std {curve.target_std:.4g})")
    output = {
        "family": args.family,
        "n_pairs": args.n_pairs,
        "target": args.target,
        "model": args.model,
        "results": results,
    }
    if args.gfre and len(features) > 1:
        table = reconstruction.reconstruction_table(features, measure="gfre")
        output["gfre"] = {f"{a} -> {b}": value for (a, b), value in table.items()}
        if not quiet:
            print("GFRE (source -> target) on both members of every pair:")
            for key, value in output["gfre"].items():
                print(f"  {key}: {value:.4f}")
    _common.write_json_output(args, output, files)
    return 0


def register(commands) -> None:
    from ..analysis.learning import FAMILIES, MODELS

    parser = _common.add_command(
        commands,
        "learn",
        help="learning curves and within-pair errors of descriptors on degenerate pairs",
        description=(
            "Fit kernel/linear ridge models on both members of degenerate pairs and report the "
            "within-pair relative RMSE of predicted y+ - y- (1.0 = blind). Targets are "
            "classical functions of the geometry: no quantum-chemistry data is used. Without "
            "--descriptor: PowerSpectrum and Bispectrum with cutoff 6 Å, n_radial 4, "
            "max_angular 3 (hyperparameter flags override these)."
        ),
    )
    parser.add_argument("--family", choices=FAMILIES, default="prl")
    parser.add_argument("--n-pairs", type=int, default=200)
    _common.add_descriptor(parser, multiple=True)
    _common.add_hypers(parser)
    parser.add_argument(
        "--target",
        default="squared_volumes",
        help="triangle_normals | squared_volumes | squared_volumes_neighbours | torsion",
    )
    parser.add_argument("--model", choices=MODELS, default="ridge")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--test-fraction", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0, help="seed of the pair sampling")
    parser.add_argument("--gfre", action="store_true", help="also print the GFRE table")
    _common.add_json(parser, "everything")
    _common.add_quiet(parser)
    parser.set_defaults(run=run)

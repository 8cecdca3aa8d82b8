"""``completeness learn``: learning curves and within-pair errors on degenerate pairs."""

from __future__ import annotations

from ..errors import InputError
from ..io import check_output, json_text, write_together


def _build_named_descriptor(name: str, args):
    """A registered descriptor from the shared ``learn`` options (only those it accepts)."""
    import inspect

    from ..descriptors import correlations, spectra  # noqa: F401  (registers the classes)
    from ..descriptors.base import registered_descriptors

    classes = registered_descriptors()
    if name not in classes:
        raise InputError(f"unknown descriptor {name!r}; use one of {sorted(classes)}")
    offered = {
        "cutoff": args.cutoff,
        "n_radial": args.n_radial,
        "max_angular": args.max_angular,
        "density_width": args.density_width,
        "correlation_order": args.correlation_order,
    }
    accepted = inspect.signature(classes[name]).parameters
    return classes[name](**{k: v for k, v in offered.items() if k in accepted and v is not None})


def run(args) -> int:
    if args.out:
        check_output(args.out, "--out")

    import numpy as np

    from ..analysis import learning, reconstruction

    pairs = learning.family_pairs(args.family, args.n_pairs, seed=args.seed)
    results, features = [], {}
    for name in args.descriptor or ["PowerSpectrum", "Bispectrum"]:
        descriptor = _build_named_descriptor(name, args)
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
        if not args.quiet:
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
        if not args.quiet:
            print("GFRE (source -> target) on both members of every pair:")
            for key, value in output["gfre"].items():
                print(f"  {key}: {value:.4f}")
    if args.out:
        write_together({args.out: json_text(output)})
    return 0


def register(commands) -> None:
    from ..analysis.learning import FAMILIES, MODELS

    parser = commands.add_parser(
        "learn",
        help="learning curves and within-pair errors of descriptors on degenerate pairs",
        description=(
            "Fit kernel/linear ridge models on both members of degenerate pairs and report the "
            "within-pair relative RMSE of predicted y+ - y- (1.0 = blind). Targets are "
            "classical functions of the geometry: no quantum-chemistry data is used."
        ),
    )
    parser.add_argument("--family", choices=FAMILIES, default="prl")
    parser.add_argument("--n-pairs", type=int, default=200)
    parser.add_argument(
        "--descriptor",
        action="append",
        default=None,
        help="descriptor class name (repeat for several; default PowerSpectrum and Bispectrum)",
    )
    parser.add_argument(
        "--target",
        default="squared_volumes",
        help="triangle_normals | squared_volumes | squared_volumes_neighbours | torsion",
    )
    parser.add_argument("--model", choices=MODELS, default="ridge")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--test-fraction", type=float, default=0.2)
    parser.add_argument("--cutoff", type=float, default=6.0, help="Å")
    parser.add_argument("--n-radial", type=int, default=4)
    parser.add_argument("--max-angular", type=int, default=3)
    parser.add_argument("--density-width", type=float, default=None, help="Å")
    parser.add_argument("--correlation-order", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0, help="seed of the pair sampling")
    parser.add_argument("--gfre", action="store_true", help="also print the GFRE table")
    parser.add_argument("--out", metavar="PATH", help="write everything as JSON")
    parser.add_argument("--quiet", action="store_true")
    parser.set_defaults(run=run)

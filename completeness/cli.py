"""The ``completeness`` command.

Each sub-command is a function ``_cmd_<name>(args)`` registered in :func:`build_parser`; the
logic lives in the package, this module only parses arguments, calls it and prints.
Exit status: 0 on success (whatever the verdicts), 2 for bad input, 1 for unexpected errors.
"""

from __future__ import annotations

import argparse
import sys

from .environments import InputError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="completeness",
        description="Measure how unique, sensitive and complete atomic descriptors are.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in _COMMANDS:
        register(commands)
    return parser


# ---- sub-commands (each registers itself in _COMMANDS) -------------------------------------

_COMMANDS: list = []


def _cmd_catalog(args) -> int:
    from .structures.catalog import write_catalog

    paths = write_catalog(args.out)
    print(f"wrote {len(paths) - 2} pairs, index.json and README.md to {args.out}")
    return 0


def _register_catalog(commands) -> None:
    parser = commands.add_parser(
        "catalog",
        help="verify every registered degenerate pair and write the catalog (extxyz + index)",
    )
    parser.add_argument(
        "--out", default="structures", help="output directory (default: structures)"
    )
    parser.set_defaults(run=_cmd_catalog)


_COMMANDS.append(_register_catalog)


def _read_structure(path: str):
    """One structure from a file (first frame), or InputError naming the file."""
    import os

    import ase.io

    if not os.path.isfile(path):
        raise InputError(f"structure file {path!r} does not exist; check the path")
    try:
        atoms = ase.io.read(path, index=0)
    except Exception as error:  # ase raises many types for unreadable files: one message
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise InputError(
            f"cannot read structure file {path!r} ({first}); give an extxyz/xyz file"
        ) from None
    if len(atoms) == 0:
        raise InputError(f"structure file {path!r} has no atoms; give the centre and neighbours")
    return atoms


def _write_atomically(path: str, write) -> None:
    """Write through a temporary file in the same directory, then rename (nothing half-written)."""
    import os
    import tempfile

    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise InputError(f"cannot write {path!r}: directory {directory!r} does not exist")
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".completeness-", suffix=".tmp")
    os.close(handle)
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def _cmd_audit(args) -> int:
    import json

    from .analysis.distance import user_pair
    from .analysis.report import catalog_pairs, run_audit
    from .descriptors.defaults import builtin_descriptors, resolve_descriptors

    # everything that can fail on bad input happens before any computation or output
    descriptors = resolve_descriptors(args.descriptor) if args.descriptor else builtin_descriptors()
    if getattr(args, "peers", False):
        from .descriptors.wrappers import peer_descriptors

        descriptors = resolve_descriptors(args.descriptor) if args.descriptor else {}
        descriptors.update(peer_descriptors())
    statement = None
    if args.pair:
        first, second = (_read_structure(path) for path in args.pair)
        pair = user_pair(first, second, name="user-pair")
        pairs = [pair]
        statement = pair.claim.statement
    else:
        pairs = catalog_pairs()
    _probe(descriptors, pairs[0].plus)
    audit = run_audit(
        descriptors,
        pairs,
        cards=not args.pair,
        timings=not args.no_timings,
        seed=args.seed,
        progress=sys.stderr.isatty() and not args.quiet,
        pair_statement=statement,
    )
    outputs = {}
    probes = None
    if getattr(args, "peers", False):
        from .descriptors.wrappers.probes import run_probes

        probes = run_probes()
    if args.json:
        data = audit.to_dict()
        if probes is not None:
            data["probes"] = probes
        outputs["json"] = json.dumps(data, indent=1, sort_keys=False) + "\n"
    if args.markdown:
        outputs["markdown"] = audit.markdown()
        if probes is not None:
            from .descriptors.wrappers.document import peers_markdown

            outputs["markdown"] = peers_markdown(audit.to_dict(), audit.markdown(), probes)
    figure = audit.figure() if args.figure else None
    for kind, target in (("json", args.json), ("markdown", args.markdown)):
        if kind in outputs and target != "-":
            _write_atomically(target, lambda tmp, text=outputs[kind]: _write_text(tmp, text))
    if figure is not None:
        _write_atomically(args.figure, lambda tmp: figure.savefig(tmp, format="png", dpi=120))
    stdout_outputs = [
        outputs[k] for k in ("json", "markdown") if k in outputs and getattr(args, k) == "-"
    ]
    if stdout_outputs:
        for text in stdout_outputs:
            sys.stdout.write(text)
    elif not args.quiet:
        sys.stdout.write(audit.text())
        for probe in probes or []:
            sys.stdout.write(
                f"probe {probe['descriptor']} ({probe['check']}): {probe['status']}: "
                f"{probe['evidence']}\n"
            )
    return 0


def _probe(descriptors: dict, atoms) -> None:
    """Compute every descriptor once on one structure: a wrong output shape (or any other
    InputError) stops the audit before anything is computed at length or written."""
    from .descriptors.user import as_descriptor

    for name, descriptor in descriptors.items():
        if _is_peer(descriptor):
            continue  # a wrapped library's failure is a finding of its card, not a usage error
        try:
            as_descriptor(descriptor, name=name).compute(atoms, centers=[0])
        except InputError:
            raise
        except Exception as error:  # the user's code failed: say so in one line
            first = (str(error).strip().splitlines() or [""])[0]
            raise InputError(
                f"descriptor {name!r} raised {type(error).__name__}: {first} (on {atoms})"
            ) from None


def _is_peer(descriptor) -> bool:
    """A wrapper of featomic/dscribe/quippy (checked without importing the wrappers)."""
    wrappers = sys.modules.get("completeness.descriptors.wrappers")
    return wrappers is not None and isinstance(descriptor, wrappers.PeerDescriptor)


def _write_text(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def _write_json(path: str, data) -> None:
    """``data`` as indented JSON at ``path``, written atomically."""
    import json

    text = json.dumps(data, indent=1) + "\n"
    _write_atomically(path, lambda tmp: _write_text(tmp, text))


def _register_audit(commands) -> None:
    parser = commands.add_parser(
        "audit",
        help="verdicts of descriptors on degenerate pairs, and a report card per descriptor",
        description=(
            "Audit descriptors: the verdict (degenerate / resolved / inconclusive) on every "
            "catalog pair, or on your own pair, and a report card on the six criteria. "
            "Exit status 0 whatever the verdicts; 2 for bad input."
        ),
    )
    parser.add_argument(
        "--descriptor",
        action="append",
        metavar="NAME",
        help="a built-in key (e.g. power-spectrum), a class name (e.g. PowerSpectrum) or "
        "module:attr for your own (object with compute() or callable (positions, numbers) -> "
        "vector); repeat for several (default: every built-in descriptor)",
    )
    parser.add_argument(
        "--peers",
        action="store_true",
        help="audit every wrapped descriptor of featomic, dscribe and quippy side by side "
        "(library:Name, see completeness.descriptors.wrappers; add --descriptor to include "
        "others); a library's failure is reported as a finding with its own message",
    )
    parser.add_argument(
        "--pair",
        nargs=2,
        metavar=("A.xyz", "B.xyz"),
        help="audit your own pair (centre = atom 0, every other atom a neighbour); the oracle "
        "first says whether it is congruent and up to which body order it coincides",
    )
    parser.add_argument(
        "--json", nargs="?", const="-", metavar="PATH", help="write JSON (to stdout without PATH)"
    )
    parser.add_argument(
        "--markdown", nargs="?", const="-", metavar="PATH", help="write Markdown (stdout: no PATH)"
    )
    parser.add_argument("--figure", metavar="PATH", help="write a verdict heat map (PNG)")
    parser.add_argument(
        "--no-timings",
        action="store_true",
        help="skip the efficiency timings (the only machine-dependent numbers)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of every random structure")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.set_defaults(run=_cmd_audit)


_COMMANDS.append(_register_audit)


def _build_named_descriptor(name: str, args):
    """A registered descriptor from the shared ``learn`` options (only those it accepts)."""
    import inspect

    from .descriptors import correlations, spectra  # noqa: F401  (registers the classes)
    from .descriptors.base import registered_descriptors

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


def _cmd_learn(args) -> int:

    import numpy as np

    from .analysis import learning, reconstruction

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
        _write_json(args.out, output)
    return 0


def _register_learn(commands) -> None:
    from .analysis.learning import FAMILIES, MODELS

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
    parser.set_defaults(run=_cmd_learn)


_COMMANDS.append(_register_learn)


def _sensitivity_descriptor(args):
    """The one descriptor named by ``--descriptor``, with the hyperparameters given on the line."""
    import inspect

    from sklearn.base import clone

    from .descriptors.defaults import resolve_descriptors

    chosen = resolve_descriptors([args.descriptor])
    if len(chosen) != 1:
        raise InputError(
            f"--descriptor {args.descriptor} names {len(chosen)} descriptors "
            f"({sorted(chosen)}); name one of them"
        )
    descriptor = next(iter(chosen.values()))
    offered = {
        "cutoff": args.cutoff,
        "n_radial": args.n_radial,
        "max_angular": args.max_angular,
        "density_width": args.density_width,
    }
    offered = {k: v for k, v in offered.items() if v is not None}
    if offered:
        accepted = inspect.signature(type(descriptor)).parameters
        unknown = sorted(set(offered) - set(accepted))
        if unknown:
            raise InputError(
                f"{type(descriptor).__name__} has no hyperparameter {unknown[0]}; drop "
                f"--{unknown[0].replace('_', '-')}"
            )
        descriptor = clone(descriptor).set_params(**offered)
    return descriptor


def _cmd_sensitivity(args) -> int:

    import numpy as np

    from .analysis import sensitivity

    descriptor = _sensitivity_descriptor(args)
    atoms = _read_structure(args.structure)
    if args.path == "none" and args.follow is None and not args.modes:
        args.path = "tangential"
    jac = sensitivity.jacobian(descriptor, atoms, args.centre, method=args.method)
    env = jac.environment
    s = jac.singular_values
    name = getattr(descriptor, "name", type(descriptor).__name__)
    out: dict = {
        "descriptor": name,
        "structure": args.structure,
        "centre": args.centre,
        "n_neighbours": env.n_neighbours,
        "n_features": int(jac.matrix.shape[0]),
        "method": jac.method,
        "singular_values": s.tolist(),
        "condition_number": jac.condition_number,
        "n_insensitive": jac.n_insensitive(args.rtol),
        "rotation_leak": jac.rotation_leak,
    }
    print(
        f"{name} at centre {args.centre} ({env.n_neighbours} neighbours, "
        f"{jac.matrix.shape[0]} features), Jacobian by {jac.method} (rotations projected out)"
    )
    relative = s / s[0] if s[0] > 0 else s
    shown = np.array2string(relative, precision=3, max_line_width=96)
    if s.size > 24:  # large environments: the head and the tail tell the story
        head = np.array2string(relative[:8], precision=3, max_line_width=96)
        tail = np.array2string(relative[-8:], precision=3, max_line_width=96)
        shown = f"{head}\n ... {s.size - 16} more ...\n{tail}"
    print(f"singular values / s_max ({s.size}, s_max = {s[0]:.4g}):\n{shown}")
    print(
        f"condition number {jac.condition_number:.4g}; {out['n_insensitive']} insensitive "
        f"mode(s) below {args.rtol:g} s_max; rotation leak {jac.rotation_leak:.1e}"
    )
    if args.modes:
        written = []

        def write(path):
            written.extend(jac.write_modes(path, count=args.n_modes))

        _write_atomically(args.modes, write)
        print(f"wrote modes {written} (least sensitive first) to {args.modes} (array 'mode')")
    if args.path != "none":
        neighbour = args.neighbour
        if neighbour is None:
            neighbour = int(np.argmin(env.distances))
        t_values = np.logspace(np.log10(args.t_min), np.log10(args.t_max), args.n_t)
        paths = ["radial", "tangential"] if args.path == "both" else [args.path]
        out["exponents"] = {}
        for path in paths:
            fit = sensitivity.scaling_exponent(
                descriptor,
                atoms,
                args.centre,
                t_values=t_values,
                path=path,
                neighbour=neighbour,
                seed=args.seed,
            )
            out["exponents"][path] = {
                "exponent": fit.exponent,
                "standard_error": fit.standard_error,
                "neighbour": neighbour,
                "points_used": int(fit.used.sum()),
                "roundoff": fit.roundoff,
            }
            print(
                f"{path} path of neighbour {neighbour} (|r| = {env.distances[neighbour]:.4f} Å), "
                f"t = {args.t_min:g}..{args.t_max:g} Å: exponent {fit.exponent:.4f} ± "
                f"{fit.standard_error:.1e} ({int(fit.used.sum())}/{fit.t.size} points above "
                f"round-off {fit.roundoff:.1e})"
            )
    if args.follow is not None:
        target = sensitivity.ch4_four_body_target if env.n_neighbours == 4 else None
        path = sensitivity.follow_insensitive_mode(
            descriptor,
            atoms,
            args.centre,
            n_steps=args.follow,
            step=args.step,
            target=target,
            method=args.method,
            seed=args.seed,
            progress=sys.stderr.isatty(),
        )
        out["follow"] = path.summary()
        summary = out["follow"]
        low, high = summary["distance_range"]
        print(
            f"followed the least sensitive mode for {args.follow} steps of {args.step:g} Å: "
            f"end-to-end {summary['end_to_end']:.4f} Å, neighbour distances {low:.4f}-{high:.4f} Å"
        )
        print(
            f"  feature change {summary['feature_change_end']:.3e} (max "
            f"{summary['feature_change_max']:.3e}) vs {summary['random_change_median']:.3e} for a "
            f"straight random displacement of the same length: ratio {summary['ratio']:.4f}"
        )
        if target is not None:
            low, high = summary["target_range"]
            print(
                f"  CH4 four-body target: {summary['target_start']:.4f} -> "
                f"{summary['target_end']:.4f}, range {low:.4f}-{high:.4f}"
            )
    if args.out:
        _write_json(args.out, out)
    return 0


def _register_sensitivity(commands) -> None:
    parser = commands.add_parser(
        "sensitivity",
        help="Jacobian singular values, insensitive modes and scaling exponents at one centre",
        description=(
            "Jacobian of a descriptor w.r.t. the neighbours of one centre (centre fixed, rigid "
            "rotations projected out): singular values, condition number, insensitive modes; "
            "scaling exponents along Onat et al.'s radial/tangential paths; optionally follow "
            "the least sensitive mode (Parsaeifard & Goedecker)."
        ),
    )
    parser.add_argument(
        "--descriptor",
        required=True,
        help="built-in key (e.g. power-spectrum), class name (PowerSpectrum) or module:attr",
    )
    parser.add_argument("--structure", required=True, help="extxyz/xyz file (first frame)")
    parser.add_argument("--centre", type=int, default=0)
    parser.add_argument("--cutoff", type=float, default=None, help="Å (overrides the default)")
    parser.add_argument("--n-radial", type=int, default=None)
    parser.add_argument("--max-angular", type=int, default=None)
    parser.add_argument("--density-width", type=float, default=None, help="Å")
    parser.add_argument(
        "--method", choices=["auto", "analytic", "finite-difference"], default="auto"
    )
    parser.add_argument("--rtol", type=float, default=1e-6, help="insensitive: s < rtol s_max")
    parser.add_argument("--modes", metavar="PATH", help="write insensitive modes (extxyz)")
    parser.add_argument("--n-modes", type=int, default=3)
    parser.add_argument(
        "--path",
        choices=["none", "radial", "tangential", "both"],
        default="none",
        help="scaling-exponent path of one neighbour (Onat et al. 2020)",
    )
    parser.add_argument("--neighbour", type=int, default=None, help="default: the nearest")
    parser.add_argument("--t-min", type=float, default=1e-6, help="Å")
    parser.add_argument("--t-max", type=float, default=1e-3, help="Å")
    parser.add_argument("--n-t", type=int, default=13)
    parser.add_argument("--follow", type=int, default=None, metavar="N_STEPS")
    parser.add_argument("--step", type=float, default=1e-4, help="Å per following step")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", metavar="PATH", help="write everything as JSON")
    parser.set_defaults(run=_cmd_sensitivity)


_COMMANDS.append(_register_sensitivity)


def _cmd_scan(args) -> int:
    from .analysis import study

    config = study.load_config(args.config)
    result = study.run_study(
        config,
        backend=args.backend,
        n_workers=args.n_workers,
        scheduler=args.scheduler,
        checkpoint=args.checkpoint,
        progress=sys.stderr.isatty() and not args.quiet,
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


def _register_scan(commands) -> None:
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
    parser.set_defaults(run=_cmd_scan)


_COMMANDS.append(_register_scan)


def _cmd_search(args) -> int:
    import json

    from .analysis.search import read_systems, search
    from .descriptors.defaults import resolve_descriptors

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
        progress=sys.stderr.isatty() and not args.quiet,
    )
    if args.json == "-":
        sys.stdout.write(json.dumps(result.to_dict(args.top), indent=1) + "\n")
    elif args.json:
        _write_json(args.json, result.to_dict(args.top))
    if not args.quiet and args.json != "-":
        sys.stdout.write(result.text(args.top))
    return 0


def _register_search(commands) -> None:
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
        "--backend", choices=["serial", "processes", "dask"], default="serial", help="parallelism"
    )
    parser.add_argument("--n-workers", type=int, help="processes or LocalCluster workers")
    parser.add_argument("--scheduler", help="dask scheduler address, e.g. tcp://host:8786")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.set_defaults(run=_cmd_search)


_COMMANDS.append(_register_search)


def _cmd_discover(args) -> int:

    from .discovery import discover

    descriptor = _sensitivity_descriptor(args)
    result = discover(
        descriptor,
        args.neighbours,
        species=args.species,
        centre_species=args.centre_species,
        restarts=args.restarts,
        seed=args.seed,
        backend=args.backend,
        n_workers=args.workers,
        checkpoint=args.checkpoint,
        min_separation=args.min_separation,
        min_radial_spread=args.min_radial_spread,
        max_iterations=args.max_iterations,
    )
    summary = result.summary()
    print(
        f"{result.descriptor} ({result.body_order}-body, {result.parity}), "
        f"{args.neighbours} neighbours: {summary['degenerate_candidates']}/{args.restarts} "
        f"restarts reached the noise floor, {summary['distinct_pairs']} distinct pairs "
        f"{summary['pairs_by_kind']} in {result.seconds:.1f} s"
    )
    for found in result.pairs:
        family = found.family
        print(
            f"  {found.pair.name}: {found.kind}; O(3) equal up to {found.order.o3}-body, SO(3) "
            f"{found.order.so3}-body; distance {found.candidate.distance:.1e} (floor "
            f"{found.candidate.floor:.1e}); family dimension {family.dimension} (member "
            f"{family.member_dimension}, gap {family.gap:.1f} decades)"
        )
    if not result.pairs and result.best is not None:
        best = result.best
        print(
            f"  closest: restart {best.restart}, distance {best.distance:.2e} = "
            f"{best.margin:.1f} decades above the noise floor {best.floor:.1e} ({best.status})"
        )
    if args.out:
        result.write(args.out)
        print(f"wrote {len(result.pairs)} pairs (catalog format) and discovery.json to {args.out}")
    if args.json:
        _write_json(args.json, result.summary())
    return 0


def _register_discover(commands) -> None:
    parser = commands.add_parser(
        "discover",
        help="search for degenerate pairs of a descriptor (random restarts, oracle-classified)",
        description=(
            "Minimise the feature distance between two environments kept structurally apart, "
            "polish each candidate to the noise floor, classify it with the oracle, merge "
            "duplicates up to congruence and measure the dimension of the degenerate family."
        ),
    )
    parser.add_argument(
        "--descriptor",
        required=True,
        help="built-in key (e.g. power-spectrum), class name (PowerSpectrum) or module:attr",
    )
    parser.add_argument("--neighbours", type=int, required=True, help="neighbours per member")
    parser.add_argument(
        "--species", nargs="+", default=None, help="one species for all, or one per neighbour"
    )
    parser.add_argument("--centre-species", default="C")
    parser.add_argument("--restarts", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backend", choices=["serial", "processes", "dask"], default="serial")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--checkpoint", metavar="DIR", help="resume an interrupted search")
    parser.add_argument("--min-separation", type=float, default=None, help="Å")
    parser.add_argument(
        "--min-radial-spread", type=float, default=0.0, help="Å; > 0 excludes single shells"
    )
    parser.add_argument("--max-iterations", type=int, default=400)
    parser.add_argument("--cutoff", type=float, default=None, help="Å (overrides the default)")
    parser.add_argument("--n-radial", type=int, default=None)
    parser.add_argument("--max-angular", type=int, default=None)
    parser.add_argument("--density-width", type=float, default=None, help="Å")
    parser.add_argument("--out", metavar="DIR", help="write the pairs in the catalog's format")
    parser.add_argument("--json", metavar="PATH", help="write the summary as JSON")
    parser.set_defaults(run=_cmd_discover)


_COMMANDS.append(_register_discover)


def _cmd_paper(args) -> int:
    from .analysis import paper

    report = None if args.quiet else (lambda line: print(line, file=sys.stderr))
    paper.build(args.out, quick=args.quick, analyses=args.analyses, progress=report)
    if not args.quiet:
        print(f"wrote {args.out}/paper.md and {len(paper.FIGURES)} figures in {args.out}/figures")
    return 0


def _register_paper(commands) -> None:
    parser = commands.add_parser(
        "paper",
        help="regenerate the paper's figures and paper.md (same as make -C paper)",
        description=(
            "Regenerate every figure of the paper from the package and the results in "
            "analyses/*/results, and write paper.md with the published numbers next to ours."
        ),
    )
    parser.add_argument("--out", default="paper", metavar="DIR", help="output directory")
    parser.add_argument("--quick", action="store_true", help="fewer scan points (for CI)")
    parser.add_argument(
        "--analyses", metavar="DIR", help="the analyses/ directory (default: the source tree's)"
    )
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.set_defaults(run=_cmd_paper)


_COMMANDS.append(_register_paper)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from . import __version__

        print(__version__)
        return 0
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(args.run(args) or 0)
    except InputError as error:
        print(f"completeness {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""``completeness sensitivity``: Jacobian, insensitive modes and scaling exponents at a centre."""

from __future__ import annotations

from . import _common
from ._common import read_structure


def run(args) -> int:
    import numpy as np

    from ..analysis import sensitivity

    say = _common.printer(args)
    files = _common.check_files(args, **{"--modes": args.modes})
    descriptor = _common.one_descriptor(args)
    atoms = read_structure(args.structure)
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
    say(
        f"{name} at centre {args.centre} ({env.n_neighbours} neighbours, "
        f"{jac.matrix.shape[0]} features), Jacobian by {jac.method} (rotations projected out)"
    )
    relative = s / s[0] if s[0] > 0 else s
    shown = np.array2string(relative, precision=3, max_line_width=96)
    if s.size > 24:  # large environments: the head and the tail tell the story
        head = np.array2string(relative[:8], precision=3, max_line_width=96)
        tail = np.array2string(relative[-8:], precision=3, max_line_width=96)
        shown = f"{head}\n ... {s.size - 16} more ...\n{tail}"
    say(f"singular values / s_max ({s.size}, s_max = {s[0]:.4g}):\n{shown}")
    say(
        f"condition number {jac.condition_number:.4g}; {out['n_insensitive']} insensitive "
        f"mode(s) below {args.rtol:g} s_max; rotation leak {jac.rotation_leak:.1e}"
    )
    modes = []  # indices of the modes written (every file is written together at the end)
    contents = {"--modes": lambda path: modes.extend(jac.write_modes(path, count=args.n_modes))}
    if args.path != "none":
        out["exponents"] = _exponents(args, descriptor, atoms, env, say)
    if args.follow is not None:
        out["follow"] = _follow(args, descriptor, atoms, env, say)
    _common.write_json_output(args, out, files, contents)
    if args.modes:
        say(f"wrote modes {modes} (least sensitive first) to {args.modes} (array 'mode')")
    return 0


def _exponents(args, descriptor, atoms, env, say) -> dict:
    """Scaling exponents along the radial and/or tangential path of one neighbour."""
    import numpy as np

    from ..analysis import sensitivity

    neighbour = args.neighbour
    if neighbour is None:
        neighbour = int(np.argmin(env.distances))
    t_values = np.logspace(np.log10(args.t_min), np.log10(args.t_max), args.n_t)
    paths = ["radial", "tangential"] if args.path == "both" else [args.path]
    exponents = {}
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
        exponents[path] = {
            "exponent": fit.exponent,
            "standard_error": fit.standard_error,
            "neighbour": neighbour,
            "points_used": int(fit.used.sum()),
            "roundoff": fit.roundoff,
        }
        say(
            f"{path} path of neighbour {neighbour} (|r| = {env.distances[neighbour]:.4f} Å), "
            f"t = {args.t_min:g}..{args.t_max:g} Å: exponent {fit.exponent:.4f} ± "
            f"{fit.standard_error:.1e} ({int(fit.used.sum())}/{fit.t.size} points above "
            f"round-off {fit.roundoff:.1e})"
        )
    return exponents


def _follow(args, descriptor, atoms, env, say) -> dict:
    """Follow the least sensitive mode for ``--follow`` steps."""
    from ..analysis import sensitivity

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
        progress=not args.quiet,
    )
    summary = path.summary()
    low, high = summary["distance_range"]
    say(
        f"followed the least sensitive mode for {args.follow} steps of {args.step:g} Å: "
        f"end-to-end {summary['end_to_end']:.4f} Å, neighbour distances {low:.4f}-{high:.4f} Å"
    )
    say(
        f"  feature change {summary['feature_change_end']:.3e} (max "
        f"{summary['feature_change_max']:.3e}) vs {summary['random_change_median']:.3e} for a "
        f"straight random displacement of the same length: ratio {summary['ratio']:.4f}"
    )
    if target is not None:
        low, high = summary["target_range"]
        say(
            f"  CH4 four-body target: {summary['target_start']:.4f} -> "
            f"{summary['target_end']:.4f}, range {low:.4f}-{high:.4f}"
        )
    return summary


def register(commands) -> None:
    parser = _common.add_command(
        commands,
        "sensitivity",
        help="Jacobian singular values, insensitive modes and scaling exponents at one centre",
        description=(
            "Jacobian of a descriptor w.r.t. the neighbours of one centre (centre fixed, rigid "
            "rotations projected out): singular values, condition number, insensitive modes; "
            "scaling exponents along Onat et al.'s radial/tangential paths; optionally follow "
            "the least sensitive mode (Parsaeifard & Goedecker)."
        ),
    )
    _common.add_descriptor(parser, required=True)
    parser.add_argument("--structure", required=True, help="extxyz/xyz file (first frame)")
    parser.add_argument("--centre", type=int, default=0)
    _common.add_hypers(parser)
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
    parser.add_argument("--seed", type=int, default=0, help="seed of the random directions")
    _common.add_json(parser, "everything")
    _common.add_quiet(parser)
    parser.set_defaults(run=run)

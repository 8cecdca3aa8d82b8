"""``completeness audit``: verdicts on degenerate pairs and a report card per descriptor."""

from __future__ import annotations

import sys

from ..errors import InputError, first_line
from ..io import check_outputs, write_together
from . import _common


def run(args) -> int:
    from ..analysis.report import catalog_pairs, run_audit
    from ..descriptors.defaults import builtin_descriptors, resolve_descriptors

    if args.chemiscope:  # fail before computing when the package is missing
        from ..chemiscope_export import require_chemiscope

        require_chemiscope()
    # everything that can fail on bad input happens before any computation or output
    files = check_outputs(
        {
            "--json": args.json,
            "--markdown": args.markdown,
            "--figure": args.figure,
            "--html": args.html,
            "--chemiscope": args.chemiscope,
        }
    )
    descriptors = resolve_descriptors(args.descriptor) if args.descriptor else builtin_descriptors()
    for flag, value in (("--model-type", args.model_type), ("--model-dtype", args.model_dtype)):
        if value and not args.model:
            raise InputError(f"{flag} needs --model PATH (the model file to audit)")
    if args.model or getattr(args, "peers", False):  # these replace the built-in descriptors
        descriptors = resolve_descriptors(args.descriptor) if args.descriptor else {}
    if args.model:
        descriptors.update(_model(args))
    if getattr(args, "peers", False):
        from ..descriptors.wrappers import peer_descriptors

        descriptors.update(peer_descriptors())
    statement = None
    if args.pair:
        pair = _user_pair(args, descriptors)
        pairs = [pair]
        statement = "; ".join([pair.claim.statement, *pair.notes])
    else:
        _refuse_pair_options(args)
        pairs = catalog_pairs()
    _probe(descriptors, pairs[0].plus, args.timeout)
    audit = run_audit(
        descriptors,
        pairs,
        cards=not args.pair,
        timings=not args.no_timings,
        seed=args.seed,
        progress=not args.quiet,
        pair_statement=statement,
        timeout=args.timeout,
    )
    probes = None
    if getattr(args, "peers", False):
        from ..descriptors.wrappers.probes import run_probes

        probes = run_probes()
    _report(args, audit, probes, files)
    return 0


def _user_pair(args, descriptors: dict):
    """The pair of ``--pair`` as the descriptors see it (see completeness.structures.user).

    The neighbourhood is the sphere of the smallest cutoff among the descriptors; atoms within
    the largest ``cutoff_width`` of the descriptors (else a tenth of the cutoff) of it are named.
    """
    from ..descriptors.user import as_descriptor
    from ..structures import read_pair, user_pair

    if len(args.pair) > 2:
        raise InputError(
            f"--pair takes one file with two frames or two files, got {len(args.pair)} paths"
        )
    first, second, resolution = read_pair(args.pair)
    if args.resolution is not None:
        resolution = args.resolution
    centres = args.centre or [0]
    if len(centres) > 2:
        raise InputError(f"--centre takes one or two atom indices, got {len(centres)}")
    cutoffs = [
        float(cutoff)
        for name, descriptor in descriptors.items()
        if (cutoff := as_descriptor(descriptor, name=name).cutoff) is not None
    ]
    cutoff = min(cutoffs) if cutoffs else None
    widths = [
        float(width)
        for descriptor in descriptors.values()
        if isinstance(width := getattr(descriptor, "cutoff_width", None), (int, float))
    ]
    shell = 0.0 if cutoff is None else max(widths, default=0.1 * cutoff)
    return user_pair(
        first,
        second,
        centres=(centres[0], centres[-1]),
        cutoff=cutoff,
        scope="global" if args.whole else "environment",
        resolution=resolution,
        allow_composition_change=args.allow_composition_change,
        shell=shell,
        name="user-pair",
    )


def _refuse_pair_options(args) -> None:
    given = [
        flag
        for flag, value in (
            ("--centre", args.centre),
            ("--global", args.whole),
            ("--resolution", args.resolution),
            ("--allow-composition-change", args.allow_composition_change),
        )
        if value
    ]
    if given:
        raise InputError(f"{given[0]} applies to a user pair; add --pair A.xyz B.xyz")


def _report(args, audit, probes, files) -> None:
    """Every requested output written together (all or nothing), then stdout."""
    import json

    outputs = {}
    if args.json:
        data = audit.to_dict()
        if probes is not None:
            data["probes"] = probes
        outputs["json"] = json.dumps(data, indent=1, sort_keys=False) + "\n"
    if args.markdown:
        outputs["markdown"] = audit.markdown()
        if probes is not None:
            from ..descriptors.wrappers.document import peers_markdown

            outputs["markdown"] = peers_markdown(audit.to_dict(), audit.markdown(), probes)
    figure = audit.figure() if args.figure else None
    contents = {
        "--json": outputs.get("json"),
        "--markdown": outputs.get("markdown"),
        "--figure": lambda tmp: figure.savefig(tmp, format="png", dpi=120),
        "--html": audit.html() if args.html else None,
        "--chemiscope": _chemiscope_bytes(args.chemiscope, audit),
    }
    write_together({path: contents[flag] for flag, path in files.items()})  # all or nothing
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


def _model(args) -> dict:
    """``{name: adapter}`` for ``--model PATH --model-type TYPE`` (one per ``--model-layer``)."""
    from ..descriptors.models import load_model

    if not args.model_type:
        raise InputError(
            f"--model {args.model} needs --model-type (mace, schnetpack, metatomic or nequip): "
            "the library that wrote the file"
        )
    options = {"read_out": args.model_read_out}
    if args.model_dtype:
        options["dtype"] = args.model_dtype
    out = {}
    for layer in args.model_layer or [None]:
        model = load_model(args.model, args.model_type, layer=layer, **options)
        out[model.name] = model
    return out


def _chemiscope_bytes(path, audit):
    if not path:
        return None
    from ..chemiscope_export import audit_dataset, dataset_bytes

    return dataset_bytes(path, audit_dataset(audit))


def _probe(descriptors: dict, atoms, timeout=None) -> None:
    """Compute every descriptor once on one structure: a wrong output shape (or any other
    InputError) stops the audit before anything is computed at length or written."""
    from ..descriptors.user import as_descriptor

    for name, descriptor in descriptors.items():
        if _is_peer(descriptor):
            continue  # a wrapped library's failure is a finding of its card, not a usage error
        user = as_descriptor(descriptor, name=name, timeout=timeout)
        descriptors[name] = user  # the audit goes on with it (and its child process, if any)
        try:
            user.compute(atoms, centers=[0])
        except InputError:
            raise
        except Exception as error:  # the user's code failed: say so in one line
            first = first_line(error, default="")
            raise InputError(
                f"descriptor {name!r} raised {type(error).__name__}: {first} (on {atoms})"
            ) from None


def _is_peer(descriptor) -> bool:
    """A wrapper of featomic/dscribe/quippy (checked without importing the wrappers)."""
    wrappers = sys.modules.get("completeness.descriptors.wrappers")
    return wrappers is not None and isinstance(descriptor, wrappers.PeerDescriptor)


def register(commands) -> None:
    parser = _common.add_command(
        commands,
        "audit",
        help="verdicts of descriptors on degenerate pairs, and a report card per descriptor",
        description=(
            "Audit descriptors: the verdict (degenerate / resolved / inconclusive) on every "
            "catalog pair, or on your own pair, and a report card on the six criteria (default: "
            "every built-in descriptor). "
            "Exit status 0 whatever the verdicts; 2 for bad input."
        ),
    )
    _common.add_descriptor(parser, multiple=True)
    _add_model(parser)
    parser.add_argument(
        "--peers",
        action="store_true",
        help="audit every wrapped descriptor of featomic, dscribe and quippy side by side "
        "(library:Name, see completeness.descriptors.wrappers; add --descriptor to include "
        "others); a library's failure is reported as a finding with its own message",
    )
    parser.add_argument(
        "--pair",
        nargs="+",
        metavar="FILE",
        help="audit your own pair: two structure files, or one file with two frames; the "
        "oracle first says, at the coordinates' resolution, whether the members are congruent "
        "and up to which body order they coincide. The environments compared are those of the "
        "--centre atoms: every atom inside the descriptors' (smallest) cutoff, periodic images "
        "included; the pair is never rescaled",
    )
    parser.add_argument(
        "--centre",
        nargs="+",
        type=int,
        metavar="I",
        help="centre atom of the first structure and, if given, of the second (default: 0 0)",
    )
    parser.add_argument(
        "--global",
        dest="whole",
        action="store_true",
        help="compare the whole (finite) structures of --pair: per-atom feature multisets "
        "against the oracle's distance-multiset and 1-WL tests",
    )
    parser.add_argument(
        "--resolution",
        type=float,
        metavar="Å",
        help="coordinate resolution of --pair (default: read from the file's digits; float64 "
        "round-off for full-precision files)",
    )
    parser.add_argument(
        "--allow-composition-change",
        action="store_true",
        help="compare --pair members with different species (refused by default)",
    )
    _add_outputs(parser)
    parser.add_argument(
        "--no-timings",
        action="store_true",
        help="skip the efficiency timings (the only machine-dependent numbers)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of every random structure")
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="give up on a call of your own descriptor (module:attr) after this long: it runs "
        "in a child process, killed when a call takes longer, and the audit reports it instead "
        "of hanging (default: no limit, in the audit's own process)",
    )
    _common.add_quiet(parser)
    parser.set_defaults(run=run)


def _add_model(parser) -> None:
    """``--model`` and its options (a trained model audited through its own read-out)."""
    parser.add_argument(
        "--model",
        metavar="PATH",
        help="a trained model file written by its library (torch.save of the model), audited "
        "through the library's own read-out; needs --model-type (same as --descriptor "
        "TYPE:PATH); replaces the built-in descriptors unless --descriptor is given too",
    )
    parser.add_argument(
        "--model-type",
        choices=("mace", "schnetpack", "metatomic", "nequip"),
        help="the library of --model: mace (mace-torch), schnetpack, metatomic "
        "(metatomic-torch) or nequip (a file of nequip-deploy build); extras of the same names",
    )
    parser.add_argument(
        "--model-layer",
        type=int,
        action="append",
        metavar="K",
        help="audit the invariant features of interaction layer K (1-based) alone; repeat for "
        "several layers (default: every layer's features concatenated)",
    )
    parser.add_argument(
        "--model-read-out",
        choices=("features", "energy"),
        default="features",
        help="per-atom invariant features (default) or the model's per-atom energies",
    )
    parser.add_argument(
        "--model-dtype",
        choices=("float64", "float32"),
        help="precision the model runs in (default: float64; a metatomic model runs in the "
        "dtype it declares); float32 raises the noise floor to ~1e-7 relative, so pairs closer "
        "than that read as degenerate or inconclusive",
    )


def _add_outputs(parser) -> None:
    """The files an audit can write (all together, or none)."""
    parser.add_argument(
        "--json", nargs="?", const="-", metavar="PATH", help="write JSON (to stdout without PATH)"
    )
    parser.add_argument(
        "--markdown", nargs="?", const="-", metavar="PATH", help="write Markdown (stdout: no PATH)"
    )
    parser.add_argument("--figure", metavar="PATH", help="write a verdict heat map (PNG)")
    parser.add_argument(
        "--html",
        metavar="PATH",
        help="write one self-contained HTML page (heat map, claims, 3D views, report cards)",
    )
    parser.add_argument(
        "--chemiscope",
        metavar="PATH",
        help="write both members of every pair as a chemiscope dataset, verdicts and features "
        "as properties (.json or .json.gz; needs the chemiscope extra)",
    )

"""``completeness paper``: regenerate the paper's figures and paper.md."""

from __future__ import annotations

import sys

from . import _common


def run(args) -> int:
    from ..analysis import paper

    report = None if args.quiet else (lambda line: print(line, file=sys.stderr))
    paper.build(args.out, quick=args.quick, analyses=args.analyses, progress=report)
    if not args.quiet:
        print(f"wrote {args.out}/paper.md and {len(paper.FIGURES)} figures in {args.out}/figures")
    return 0


def register(commands) -> None:
    parser = _common.add_command(
        commands,
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
    _common.add_quiet(parser)
    parser.set_defaults(run=run)

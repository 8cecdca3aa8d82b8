"""``completeness paper``: regenerate the paper's figures and paper.md."""

from __future__ import annotations

import sys

from . import _common


def run(args) -> int:
    from ..analysis import paper

    report = None if args.quiet else (lambda line: print(line, file=sys.stderr))
    _paper_build()(args.out, quick=args.quick, analyses=args.analyses, progress=report)
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


def _paper_build():
    """``build`` of ``paper/build_paper.py`` in the source tree (the paper owns its text)."""
    import importlib.util

    from ..analysis.paper import default_analyses
    from ..errors import InputError

    script = default_analyses().parent / "paper" / "build_paper.py"
    if not script.is_file():
        raise InputError(
            f"{script} does not exist (an installed wheel carries no paper): run "
            "`completeness paper` from a clone of the repository"
        )
    spec = importlib.util.spec_from_file_location("completeness_paper_build", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build

"""Regenerate every figure and paper.md (``make -C paper``; ``--quick`` for CI).

The figures come from :mod:`completeness.analysis.paper`, the text from ``paper_text.py`` next to
this file. ``completeness paper`` runs :func:`build` of this file.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import paper_text

from completeness.analysis import paper


def build(out_dir, *, quick: bool = False, analyses=None, progress=None) -> dict:
    """Every figure into ``out_dir/figures`` and ``out_dir/paper.md``; returns the numbers."""
    out_dir = Path(out_dir)
    analyses = Path(analyses) if analyses is not None else paper.default_analyses()
    numbers = paper.build_figures(out_dir, quick=quick, analyses=analyses, progress=progress)
    (out_dir / "paper.md").write_text(paper_text.markdown(numbers, analyses, quick))
    return numbers


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=".", help="output directory (figures/ and paper.md)")
    parser.add_argument("--quick", action="store_true", help="fewer scan points (for CI)")
    args = parser.parse_args()
    build(args.out, quick=args.quick, progress=lambda line: print(line, file=sys.stderr))
    print(f"wrote {args.out}/paper.md and {len(paper.FIGURES)} figures")

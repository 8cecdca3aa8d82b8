"""Regenerate every figure and paper.md (``make -C paper``; ``--quick`` for CI).

Only calls the package: the logic is in :mod:`completeness.analysis.paper`.
"""

import argparse
import sys

from completeness.analysis import paper

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", default=".", help="output directory (figures/ and paper.md)")
parser.add_argument("--quick", action="store_true", help="fewer scan points (for CI)")
args = parser.parse_args()
paper.build(args.out, quick=args.quick, progress=lambda line: print(line, file=sys.stderr))
print(f"wrote {args.out}/paper.md and {len(paper.FIGURES)} figures")

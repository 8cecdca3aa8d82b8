"""One figure of the paper alone: ``python figure.py fig3`` (``make -C paper fig3``).

The figures are drawn by :mod:`completeness.analysis.paper`; this script only picks one.
"""

import argparse
from pathlib import Path

from completeness.analysis import paper

#: name -> (file, how to draw it into a directory ``out``; ``quick``: fewer scan points)
FIGURES = {
    "fig1": ("fig1_prl.png", lambda out, quick: paper.figure_prl(out, quick=quick)),
    "fig2": ("fig2_b8.png", lambda out, quick: paper.figure_b8(out, quick=quick)),
    "fig3": ("fig3_fold.png", lambda out, quick: paper.figure_fold(out, quick=quick)),
    "fig4": (
        "fig4_learning.png",
        lambda out, quick: paper.figure_learning(out, paper.default_analyses()),
    ),
    "fig5": ("fig5_audit.png", lambda out, quick: paper.figure_audit(out)),
    "fig6": (
        "fig6_resolution.png",
        lambda out, quick: paper.figure_resolution(out, paper.default_analyses()),
    ),
    "fig7": ("fig7_onat.png", lambda out, quick: paper.figure_onat(out, paper.default_analyses())),
}

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("figure", choices=sorted(FIGURES), help="which figure")
parser.add_argument("--out", default="figures", help="directory of the PNG")
parser.add_argument("--quick", action="store_true", help="fewer scan points (figures 1-3)")
args = parser.parse_args()
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
name, draw = FIGURES[args.figure]
draw(out, args.quick)
print(out / name)

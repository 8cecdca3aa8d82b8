"""fig4_learning.png alone (``make -C paper fig4``); logic in completeness.analysis.paper."""

import argparse
from pathlib import Path

from completeness.analysis import paper

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--out", default="figures", help="directory of the PNG")
args = parser.parse_args()
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
paper.figure_learning(out, paper.default_analyses())
print(out / "fig4_learning.png")

"""fig3_fold.png alone (``make -C paper fig3``); logic in completeness.analysis.paper."""

import argparse
from pathlib import Path

from completeness.analysis import paper

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--out", default="figures", help="directory of the PNG")
parser.add_argument("--quick", action="store_true", help="fewer scan points")
args = parser.parse_args()
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
paper.figure_fold(out, quick=args.quick)
print(out / "fig3_fold.png")

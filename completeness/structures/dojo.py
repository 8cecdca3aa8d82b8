"""The two "4-body" counterexamples shipped with geometric-gnn-dojo, which are NOT degenerate.

The dojo (experiments/incompleteness.ipynb) labels them as 4-body chiral (after PRL Fig. 2(e))
and 4-body non-chiral (after Fig. 2(f)) counterexamples. In both, the members differ by
C = (0, +5, 0) versus (0, -5, 0) while the rest of the environment is symmetric under the
rotation by pi about z (chiral: the base triangle (3,0,-4), (0,0,5), (-3,0,-4) is mirror
symmetric under x -> -x) or under another rotation (non-chiral), so the two members are
congruent by a proper rotation: any descriptor *should* give identical features. These
builders exist so that tests can show :func:`completeness.structures.verify` refusing them;
they are not registered in the catalog.
"""

from __future__ import annotations

import numpy as np

from .pair import Claim, DegeneratePair, make_atoms
from .two_body import JOSHI_REFERENCE


def _matrix_y(angle: float) -> np.ndarray:
    """e3nn's ``o3.matrix_y``: rotation about y, [[c, 0, s], [0, 1, 0], [-s, 0, c]]."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _dojo_pair(name: str, common, label: str) -> DegeneratePair:
    """The dojo's members: ``common`` (centre first) plus C at (0, +5, 0) or (0, -5, 0)."""
    symbols = "C" + "H" * len(common)
    return DegeneratePair(
        name=name,
        plus=make_atoms(symbols, np.vstack([common, [0, 5, 0]])),
        minus=make_atoms(symbols, np.vstack([common, [0, -5, 0]])),
        claim=Claim.environment(
            4, f"as labelled by the dojo: indistinguishable by 4-body scalars ({label})"
        ),
        params={},
        reference=JOSHI_REFERENCE,
        family="dojo-congruent",
    )


def dojo_four_body_chiral() -> DegeneratePair:
    """The dojo's "4-body chiral" pair (congruent: rotation by pi about z)."""
    base = [[0, 0, 0], [3, 0, -4], [0, 0, 5], [-3, 0, -4]]
    return _dojo_pair("dojo-four-body-chiral", base, "chiral")


def dojo_four_body_nonchiral() -> DegeneratePair:
    """The dojo's "4-body non-chiral" pair (congruent by a rotation)."""
    a = np.array([[3, 2, -4], [0, 2, 5], [-3, 2, -4]], dtype=np.float64)
    b = np.array([[3, -2, -4], [0, -2, 5], [-3, -2, -4]], dtype=np.float64)
    rotation = _matrix_y(2 * np.pi / 10)
    common = np.vstack([np.zeros(3), a, b @ rotation])  # row vectors times Q, as in the dojo
    return _dojo_pair("dojo-four-body-nonchiral", common, "non-chiral")

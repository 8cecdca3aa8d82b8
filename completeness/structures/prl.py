"""3-body degenerate environments of Pozdnyakov et al., PRL 125, 166001 (2020).

Background: docs/science.md §2.2-3.

Construction (a continuous manifold of pairs). Let z be an axis, sigma_y the mirror y -> -y and
C2 the rotation by pi about z. Neighbours of the centre (at the origin):

* A = (x_A, 0, z_A), in the plane y = 0 (fixed by sigma_y and mapped to itself by nothing else);
* B+ = (b_x, b_y, b_z) arbitrary and B- = C2(B+) = (-b_x, -b_y, b_z);
* C = (0, y_C, z_C) in the plane x = 0; the two members differ only in C:
  X+ has C+ = (0, y_C, z_C), X- has C- = sigma_y(C+) = C2(C+) = (0, -y_C, z_C).

Every triangle (centre, j, k) of X+ is congruent to one of X-: triangles not through C are
shared; (0, C, A) is mapped by sigma_y (which fixes A); (0, C, B+/-) is mapped by C2 (which swaps
B+ and B-, so the *set* {B+, B-} is preserved). Hence all 3-body terms agree. A tetrahedron
(0, C, A, B) would need sigma_y and C2 at once, so 4-body terms differ. Seven free parameters
(x_A, z_A, b_x, b_y, b_z, y_C, z_C); with every centre-neighbour distance equal to r (a CH4-like
version, ``prl_equal_bond``) four angles remain.

Fold points (§2.3): at y_C = 0, C+ = C- and the members coincide. The pair at y_C = +-delta
(``prl_fold``) is a PRL pair for every delta > 0 (so still 3-body degenerate); at delta = 0 it
is one structure, not a pair.
"""

from __future__ import annotations

import numpy as np

from ..environments import InputError
from .pair import Claim, DegeneratePair, make_atoms, min_gap

PRL_REFERENCE = (
    "S. N. Pozdnyakov, M. J. Willatt, A. P. Bartok, C. Ortner, G. Csanyi, M. Ceriotti, "
    "'Incompleteness of Atomic Structure Representations', Phys. Rev. Lett. 125, 166001 "
    "(2020), doi:10.1103/PhysRevLett.125.166001"
)
COMMENT_REFERENCE = (
    "S. N. Pozdnyakov, M. J. Willatt, A. P. Bartok, C. Ortner, G. Csanyi, M. Ceriotti, "
    "'Comment on Manifolds of quasi-constant SOAP and ACSF fingerprints and the resulting "
    "failure to machine learn four-body interactions', J. Chem. Phys. 157, 177101 (2022), "
    "doi:10.1063/5.0088404"
)


def _prl_pair(name, members, statement, *, params, reference, family="prl-3-body"):
    """A pair of the PRL family: signatures equal up to 3-body (``statement`` says why)."""
    plus, minus = members
    return DegeneratePair(
        name=name,
        plus=plus,
        minus=minus,
        claim=Claim.environment(3, statement),
        params=params,
        reference=reference,
        family=family,
    )


def prl_members(x_a, z_a, b_plus, y_c, z_c, centre="C", neighbour="H"):
    """The two members of the PRL family for the given parameters (Å), centre first.

    Neighbour order in both members: A, B+, B-, C.
    """
    b_plus = np.asarray(b_plus, dtype=np.float64)
    b_minus = np.array([-b_plus[0], -b_plus[1], b_plus[2]])
    common = [[0.0, 0.0, 0.0], [x_a, 0.0, z_a], b_plus, b_minus]
    symbols = centre + neighbour * 4
    plus = make_atoms(symbols, [*common, [0.0, y_c, z_c]])
    minus = make_atoms(symbols, [*common, [0.0, -y_c, z_c]])
    return plus, minus


def pozdnyakov2020_fig1b() -> DegeneratePair:
    """PRL Fig. 1(b), exactly the published coordinates.

    Centre at 0; A = (5,0,5), B+ = (5,5,5), B- = (-5,-5,5), C+ = (0,5,5) (X+) or
    C- = (0,-5,5) (X-). All neighbours the same species (H here, centre C).
    """
    plus, minus = prl_members(5.0, 5.0, [5.0, 5.0, 5.0], 5.0, 5.0)
    return _prl_pair(
        "pozdnyakov2020-fig1b",
        (plus, minus),
        "PRL Fig. 1(b): every triangle through C is mapped by sigma_y or C2: equal 3-body "
        "(power spectrum), different 4-body (bispectrum)",
        params={"x_a": 5.0, "z_a": 5.0, "b_plus": [5.0, 5.0, 5.0], "y_c": 5.0, "z_c": 5.0},
        reference=PRL_REFERENCE + ", Fig. 1(b)",
    )


def prl_family(
    seed: int = 0,
    x_a: float | None = None,
    z_a: float | None = None,
    b_plus=None,
    y_c: float | None = None,
    z_c: float | None = None,
    extent: float = 2.0,
    min_separation: float = 0.7,
) -> DegeneratePair:
    """A member of the continuous PRL family (7 free parameters, seeded sampling).

    Parameters left as None are drawn from ``U(-extent, extent)`` with
    ``np.random.default_rng(seed)`` (in the order x_a, z_a, b_plus (3), y_c, z_c), redrawing
    until every pair of atoms is at least ``min_separation`` Å apart and ``|y_c| >=
    min_separation / 2`` (so C+ and C- are distinct: away from the fold, see :func:`prl_fold`).
    """
    rng = np.random.default_rng(seed)
    given = {"x_a": x_a, "z_a": z_a, "b_plus": b_plus, "y_c": y_c, "z_c": z_c}
    for _attempt in range(10000):
        drawn = rng.uniform(-extent, extent, size=7)
        values = {
            "x_a": drawn[0] if x_a is None else float(x_a),
            "z_a": drawn[1] if z_a is None else float(z_a),
            "b_plus": drawn[2:5] if b_plus is None else np.asarray(b_plus, dtype=np.float64),
            "y_c": drawn[5] if y_c is None else float(y_c),
            "z_c": drawn[6] if z_c is None else float(z_c),
        }
        plus, minus = prl_members(**values)
        if abs(values["y_c"]) >= min_separation / 2 and min_gap(plus.positions) >= min_separation:
            break
        if all(v is not None for v in given.values()):
            raise InputError(
                f"PRL family parameters {given} put two atoms closer than {min_separation} Å "
                "or C on the axis (y_c = 0); change them"
            )
    else:
        raise InputError("could not sample a valid PRL pair; increase extent")
    params = {key: np.asarray(value).tolist() for key, value in values.items()}
    params.update(seed=seed, extent=extent, min_separation=min_separation)
    return _prl_pair(
        "prl-family",
        (plus, minus),
        "PRL family (7 parameters, seeded): equal 3-body, different 4-body",
        params=params,
        reference=PRL_REFERENCE + " (general construction)",
    )


def prl_equal_bond(
    seed: int = 0,
    bond: float = 1.09,
    angles=None,
    min_separation: float = 0.7,
) -> DegeneratePair:
    """The CH4-like PRL family: every centre-neighbour distance equal to ``bond`` (4 free angles).

    A = bond (sin a, 0, cos a); B+ = bond (sin b cos phi, sin b sin phi, cos b);
    C = bond (0, sin c, cos c). ``angles = (a, b, phi, c)`` in radians, or None to draw
    a, b, c ~ U(0, pi) and phi ~ U(0, 2 pi) from ``np.random.default_rng(seed)``, redrawing
    until all atoms are ``min_separation`` Å apart and C is off the axis.
    """
    rng = np.random.default_rng(seed)
    for _attempt in range(10000):
        if angles is None:
            a, b, c = rng.uniform(0, np.pi, size=3)
            phi = rng.uniform(0, 2 * np.pi)
        else:
            a, b, phi, c = (float(v) for v in angles)
        plus, minus = prl_members(
            bond * np.sin(a),
            bond * np.cos(a),
            bond * np.array([np.sin(b) * np.cos(phi), np.sin(b) * np.sin(phi), np.cos(b)]),
            bond * np.sin(c),
            bond * np.cos(c),
        )
        ok = (
            abs(bond * np.sin(c)) >= min_separation / 2
            and min_gap(plus.positions) >= min_separation
        )
        if ok:
            break
        if angles is not None:
            raise InputError(
                f"angles {angles} put two atoms closer than {min_separation} Å or C on the "
                "axis; change them"
            )
    else:
        raise InputError("could not sample a valid equal-bond PRL pair")
    return _prl_pair(
        "prl-equal-bond",
        (plus, minus),
        "CH4-like PRL pair, all C-H distances equal: equal 3-body, different 4-body",
        params={
            "seed": seed,
            "bond": bond,
            "angles": [float(a), float(b), float(phi), float(c)],
            "min_separation": min_separation,
        },
        reference=PRL_REFERENCE + " (equal-bond version of the general construction)",
    )


def prl_fold(delta: float = 0.25, z_c: float = 5.0) -> DegeneratePair:
    """Both sides of a fold point of the PRL family: Fig. 1(b) with C = (0, +-delta, z_c).

    At ``delta = 0`` C sits on the axis and the two members coincide (a fold point: features
    move as delta**2 away from it); for every ``delta > 0`` the members are PRL partners, so
    equal 3-body and different 4-body. ``delta`` must therefore be positive (and small compared
    with 5 Å to probe the fold).
    """
    delta = float(delta)
    if not delta > 0:
        raise InputError(
            f"delta must be > 0, got {delta}: at delta = 0 the two members coincide (the fold "
            "point itself is one structure, not a pair)"
        )
    plus, minus = prl_members(5.0, 5.0, [5.0, 5.0, 5.0], delta, z_c)
    return _prl_pair(
        "prl-fold",
        (plus, minus),
        "fold point of the PRL family moved by +-delta: the members are PRL partners, "
        "equal 3-body, different 4-body; they coincide at delta = 0",
        params={"delta": delta, "z_c": z_c},
        reference=PRL_REFERENCE + "; " + COMMENT_REFERENCE,
        family="prl-fold",
    )

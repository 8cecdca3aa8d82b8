"""Manifold scans: the feature distance of a pair along a family's parameters.

A degenerate family is a continuous manifold of pairs (docs/science.md §2): the PRL family (seven
parameters), the B8 two-ring family (r, z1, z2, psi, phi) and the fold points of the PRL family
(C moved off the axis by delta). A scan builds every pair of the sweep, computes all structures
of all pairs in **one** ``compute`` call (through :func:`completeness.analysis.distance.verdicts`,
with the same rescaling, noise floor and verdict rule as a single pair) and returns the distance,
the floor and the verdict at each parameter value.

:func:`fold_scan` also measures the *response* at a fold point: the distance of X+(delta) from
the on-axis structure X(0), which grows as delta**2 there (the Jacobian has an extra zero
singular value; Pozdnyakov et al., JCP 157, 177101 (2022), doi:10.1063/5.0088404) while the pair
distance d(X+(delta), X-(delta)) stays at the noise floor for every descriptor of body order <= 3.
All fold structures share one scale factor, so that rescaling adds no difference of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..descriptors.user import as_descriptor
from ..environments import InputError
from ..structures import Claim
from .calibration import fold_structure
from .distance import (
    N_TRANSFORMS,
    RESOLVED_DECADES,
    classify,
    unclaimed_pair,
    verdicts,
)

__all__ = ["Scan", "b8_scan", "fold_scan", "power_law_exponent", "prl_scan", "scan"]


@dataclass(frozen=True)
class Scan:
    """Distances along one parameter of a family.

    Attributes
    ----------
    descriptor, family, parameter : str
    values : (n,) float array
        The parameter values.
    distance : (n,) float array
        Relative feature distance of the pair at each value.
    noise_floor : (n,) float array
    verdicts : tuple of str
    response : (n,) float array or None
        :func:`fold_scan` only: distance of X+(delta) from the fold point X(0).
    response_floor : float or None
        Noise floor of the fold structure X(0) (fold scans).
    exponent : float or None
        Fitted ``k`` of ``response ~ delta**k`` (fold scans; points above the floor only).
    """

    descriptor: str
    family: str
    parameter: str
    values: np.ndarray
    distance: np.ndarray
    noise_floor: np.ndarray
    verdicts: tuple
    response: np.ndarray | None = None
    response_floor: float | None = None
    exponent: float | None = None

    def to_dict(self) -> dict:
        def clean(array):
            return None if array is None else [float(v) for v in np.asarray(array)]

        return {
            "descriptor": self.descriptor,
            "family": self.family,
            "parameter": self.parameter,
            "values": clean(self.values),
            "distance": clean(self.distance),
            "noise_floor": clean(self.noise_floor),
            "verdicts": list(self.verdicts),
            "response": clean(self.response),
            "response_floor": self.response_floor,
            "exponent": self.exponent,
        }


def scan(descriptor, make_pair, parameter: str, values, *, family=None, seed=0, **fixed) -> Scan:
    """Verdicts of ``descriptor`` on ``make_pair(**{parameter: v}, **fixed)`` for each value.

    ``make_pair`` is any callable returning a pair (e.g. ``structures.prl.prl_family``); every
    pair is computed in one batch.
    """
    user = as_descriptor(descriptor)
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise InputError(f"scan values must be a non-empty 1-D sequence, got shape {values.shape}")
    pairs = []
    for value in values:
        pair = make_pair(**{parameter: float(value)}, **fixed)
        pairs.append(pair)
    results = verdicts(user, pairs, seed=seed)
    errors = [r for r in results if r.error is not None]
    if errors:
        raise InputError(f"scan of {user.name} failed at {parameter}: {errors[0].error}")
    return Scan(
        descriptor=user.name,
        family=family or getattr(make_pair, "__name__", "family"),
        parameter=parameter,
        values=values,
        distance=np.array([r.distance for r in results]),
        noise_floor=np.array([r.noise_floor for r in results]),
        verdicts=tuple(r.verdict for r in results),
    )


def prl_scan(descriptor, parameter="y_c", values=None, *, seed=0, **fixed) -> Scan:
    """Scan the PRL family (:func:`completeness.structures.prl.prl_family`) along ``parameter``.

    The other parameters are drawn once from ``seed`` (or given in ``fixed``) and held fixed.
    Default values: from the drawn value outward by up to 1 Å in 5 steps. Values that put two
    atoms too close raise the generator's InputError.
    """
    from ..structures.prl import prl_family

    reference = prl_family(seed=seed, **fixed).params
    held = {key: reference[key] for key in ("x_a", "z_a", "b_plus", "y_c", "z_c")}
    held.pop(parameter, None)
    if values is None:
        # move the parameter outward from its drawn value (away from the fold at y_c = 0)
        start = float(np.ravel(reference[parameter])[0])
        values = start + np.sign(start or 1.0) * np.linspace(0.0, 1.0, 5)
    return scan(descriptor, prl_family, parameter, values, family="prl", seed=seed, **held)


def b8_scan(descriptor, parameter="psi", values=None, *, seed=0, **fixed) -> Scan:
    """Scan the B8 two-ring family (:func:`completeness.structures.b8.two_ring_pair`)."""
    from ..structures.b8 import two_ring_pair

    if values is None:
        values = np.linspace(0.3, 2.8, 6)
    return scan(descriptor, two_ring_pair, parameter, values, family="b8", seed=seed, **fixed)


def power_law_exponent(x, y, floor: float = 0.0) -> float | None:
    """Least-squares slope of ``log y`` against ``log x`` over points with ``y`` at least
    ``10**RESOLVED_DECADES * floor`` (None with fewer than two such points)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    keep = (x > 0) & (y > 10.0**RESOLVED_DECADES * floor) & (y > 0)
    if keep.sum() < 2:
        return None
    slope, _ = np.polyfit(np.log(x[keep]), np.log(y[keep]), 1)
    return float(slope)


def fold_scan(descriptor, deltas=None, *, seed=0, n_transforms=N_TRANSFORMS) -> Scan:
    """Fold point of the PRL family: pair distance and response from X(0) against delta (Å).

    The PRL Fig. 1(b) structure is scaled so that its farthest neighbour sits at 0.8 cutoff, and
    C is then moved to y = +-delta (in the scaled Å). One ``compute`` call covers X(0), every
    X+(delta), X-(delta) and the noise-floor copies.
    """
    user = as_descriptor(descriptor)
    if deltas is None:
        deltas = np.logspace(-4, -1, 7)
    deltas = np.asarray(deltas, dtype=np.float64)
    if deltas.ndim != 1 or deltas.size == 0 or np.any(deltas <= 0):
        raise InputError("fold deltas must be a non-empty 1-D sequence of positive numbers (Å)")
    unknown = Claim(scope="environment", equal_up_to_o3=3, equal_up_to_so3=3, statement="")
    on_axis = fold_structure(0.0, user.cutoff)
    pairs = []
    for delta in deltas:
        plus = fold_structure(float(delta), user.cutoff)
        minus = fold_structure(-float(delta), user.cutoff)
        pairs.append(unclaimed_pair(f"fold pair {delta:g}", plus, minus, claim=unknown))
        pairs.append(
            unclaimed_pair(f"fold response {delta:g}", on_axis, plus.copy(), claim=unknown)
        )
    results = verdicts(user, pairs, seed=seed, n_transforms=n_transforms)
    errors = [r for r in results if r.error is not None]
    if errors:
        raise InputError(f"fold scan of {user.name} failed: {errors[0].error}")
    pair_results = results[0::2]
    response_results = results[1::2]
    response = np.array([r.distance for r in response_results])
    response_floor = float(max(r.noise_floor for r in response_results))
    return Scan(
        descriptor=user.name,
        family="prl-fold",
        parameter="delta",
        values=deltas,
        distance=np.array([r.distance for r in pair_results]),
        noise_floor=np.array([r.noise_floor for r in pair_results]),
        verdicts=tuple(classify(r.distance, r.noise_floor)[0] for r in pair_results),
        response=response,
        response_floor=response_floor,
        exponent=power_law_exponent(deltas, response, response_floor),
    )

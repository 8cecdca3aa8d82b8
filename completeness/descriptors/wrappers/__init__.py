"""Wrappers of the descriptors people use: featomic, dscribe and quippy (optional extras).

Each wrapper is a :class:`~completeness.descriptors.Descriptor` with the package's vocabulary
(``cutoff``, ``n_radial``, ``max_angular``, ``density_width``, ``cutoff_width``, ``species``) and
a translation table to the library's own names in its module docstring. The libraries are
imported inside ``compute``, never when ``completeness`` or this package is imported; quippy runs
in a child process (:mod:`._runner`). Whatever a library raises reaches the caller unchanged, and
a library that ends its process raises :class:`PeerCrash` with its stderr (an exception
raised in the child comes back as :class:`PeerError` with the library's type and message).

``PEERS`` maps ``"library:Name"`` to the wrapper class; :func:`peer_descriptors` gives every
wrapper with the small audit bases (``completeness audit --peers``), :func:`load_peer` one of
them (``completeness audit --descriptor featomic:SoapPowerSpectrum``).

Install the libraries with ``pip install "completeness[peers]"`` (or one of the extras
``featomic``, ``dscribe``, ``quippy``).
"""

from __future__ import annotations

from ...environments import InputError
from ._base import PeerDescriptor
from ._runner import PeerCrash, PeerError
from .amd_invariants import AmdAMD, AmdPDD
from .dscribe import DscribeACSF, DscribeLMBTR, DscribeMBTR, DscribeSOAP
from .featomic import (
    FeatomicDensityCorrelations,
    FeatomicSoapPowerSpectrum,
    FeatomicSoapRadialSpectrum,
)
from .quippy import QuippyBispectrumSO3, QuippyBispectrumSO4, QuippyPowerSO3, QuippySoap

__all__ = [
    "COMPLETE_INVARIANTS",
    "PEERS",
    "PeerCrash",
    "PeerDescriptor",
    "PeerError",
    "library_available",
    "load_peer",
    "peer_descriptors",
]

#: ``"library:Name"`` (the library's own class or descriptor name) -> wrapper class.
PEERS: dict[str, type[PeerDescriptor]] = {
    f"{cls.library}:{cls.peer_name}": cls
    for cls in (
        FeatomicSoapRadialSpectrum,
        FeatomicSoapPowerSpectrum,
        FeatomicDensityCorrelations,
        DscribeSOAP,
        DscribeACSF,
        DscribeMBTR,
        DscribeLMBTR,
        QuippySoap,
        QuippyPowerSO3,
        QuippyBispectrumSO3,
        QuippyBispectrumSO4,
    )
}

#: Complete (or near-complete) invariants of reference packages, audited like the peers but not
#: part of ``--peers`` (``completeness audit --descriptor amd:PDD``; extra ``amd``).
COMPLETE_INVARIANTS: dict[str, type[PeerDescriptor]] = {
    f"{cls.library}:{cls.peer_name}": cls for cls in (AmdPDD, AmdAMD)
}

_AUDIT_CUTOFF = 5.0
# Behler-Parrinello parameters of the built-in "acsf-g2-g4" (the same functions for dscribe)
_G2 = [[eta, shift] for shift in (1.0, 2.0, 3.0, 4.0) for eta in (1.0, 4.0)]
_G4 = [[0.05, zeta, sign] for zeta in (1.0, 2.0, 4.0) for sign in (1.0, -1.0)]
_WEIGHT = {"function": "exp", "scale": 0.5, "threshold": 1e-3}

# Small bases (the audit computes every catalog pair and a report card for each): the same
# sizes as the package's own defaults (completeness.descriptors.defaults).
_AUDIT_HYPERS = {
    "featomic:SoapRadialSpectrum": {"cutoff": _AUDIT_CUTOFF, "n_radial": 6, "density_width": 0.5},
    "featomic:SoapPowerSpectrum": {
        "cutoff": _AUDIT_CUTOFF,
        "n_radial": 6,
        "max_angular": 4,
        "density_width": 0.5,
    },
    "featomic:DensityCorrelations": {
        "cutoff": _AUDIT_CUTOFF,
        "n_radial": 2,
        "max_angular": 2,
        "density_width": 0.5,
        "correlation_order": 3,
    },
    "dscribe:SOAP": {
        "cutoff": _AUDIT_CUTOFF,
        "n_radial": 6,
        "max_angular": 4,
        "density_width": 0.5,
    },
    "dscribe:ACSF": {"cutoff": _AUDIT_CUTOFF, "g2_params": _G2, "g4_params": _G4},
    "dscribe:MBTR": {
        "geometry": {"function": "inverse_distance"},
        "grid": {"min": 0.0, "max": 1.0, "n": 50, "sigma": 0.02},
        "weighting": _WEIGHT,
    },
    "dscribe:LMBTR": {
        "geometry": {"function": "distance"},
        "grid": {"min": 0.0, "max": _AUDIT_CUTOFF, "n": 50, "sigma": 0.1},
        "weighting": _WEIGHT,
    },
    "quippy:soap": {"cutoff": _AUDIT_CUTOFF, "n_radial": 6, "max_angular": 4, "density_width": 0.5},
    "quippy:power_so3": {"cutoff": _AUDIT_CUTOFF, "n_radial": 6, "max_angular": 4},
    "quippy:bispectrum_so3": {"cutoff": _AUDIT_CUTOFF, "n_radial": 3, "max_angular": 3},
    "quippy:bispectrum_so4": {"cutoff": _AUDIT_CUTOFF, "max_angular": 3},
}


def load_peer(spec: str, **hypers) -> PeerDescriptor:
    """The wrapper named ``"library:Name"`` with the audit's hyperparameters (overridden by
    ``hypers``). Raises :class:`InputError` for an unknown name."""
    if spec in COMPLETE_INVARIANTS:
        return COMPLETE_INVARIANTS[spec](**hypers)
    if spec not in PEERS:
        known = sorted(PEERS) + sorted(COMPLETE_INVARIANTS)
        raise InputError(f"unknown peer descriptor {spec!r}; use one of {known}")
    return PEERS[spec](**{**_AUDIT_HYPERS[spec], **hypers})


def peer_descriptors() -> dict[str, PeerDescriptor]:
    """Every wrapper with the audit's hyperparameters, ``{"library:Name": descriptor}``."""
    return {spec: load_peer(spec) for spec in PEERS}


def library_available(library: str) -> bool:
    """Whether ``library`` (``"featomic"``, ``"dscribe"`` or ``"quippy"``) can be imported,
    checked without importing it."""
    import importlib.util

    return importlib.util.find_spec(library) is not None

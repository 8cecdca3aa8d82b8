"""Analyses of descriptors: verdicts on degenerate pairs, scans, report cards, and more.

The audit's entry points are imported here::

    from completeness import analysis
    analysis.verdict(descriptor, pair)      # degenerate / resolved / inconclusive + numbers
    analysis.report_card(descriptor)        # the six criteria, every catalog pair

Other analysis modules (``sensitivity``, ``learning``, ``reconstruction``, ``targets``,
``search``, ``study``) are imported on first access (``analysis.sensitivity``), so importing
this package stays cheap.
"""

from __future__ import annotations

import importlib

from .calibration import Calibration, calibrate
from .distance import (
    Verdict,
    classify,
    expected_verdict,
    feature_distance,
    noise_floor,
    verdict,
    verdicts,
)
from .report import ReportCard, catalog_pairs, report_card
from .scan import Scan, b8_scan, fold_scan, power_law_exponent, prl_scan, scan

_SUBMODULES = (
    "calibration",
    "distance",
    "scan",
    "report",
    "sensitivity",
    "learning",
    "reconstruction",
    "targets",
    "search",
    "study",
)

__all__ = [
    "Calibration",
    "ReportCard",
    "Scan",
    "Verdict",
    "b8_scan",
    "calibrate",
    "catalog_pairs",
    "classify",
    "expected_verdict",
    "feature_distance",
    "fold_scan",
    "noise_floor",
    "power_law_exponent",
    "prl_scan",
    "report_card",
    "scan",
    "verdict",
    "verdicts",
]


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

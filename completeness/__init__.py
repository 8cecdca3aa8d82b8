"""completeness: measure how unique, sensitive and complete atomic-environment descriptors are.

The package is organised in floors (see ``docs/architecture.md``):
:mod:`completeness.environments` turns ``ase.Atoms`` into centred environments;
:mod:`completeness.oracle` is the basis-free ground truth; :mod:`completeness.structures`
generates degenerate pairs; :mod:`completeness.descriptors` computes features;
:mod:`completeness.analysis` measures them.

Sub-packages are imported lazily so that ``import completeness`` stays cheap.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = (
    "environments",
    "oracle",
    "structures",
    "descriptors",
    "analysis",
    "testing",
    "parallel",
)

__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'completeness' has no attribute {name!r}")

"""Figures and small helpers for the notebooks (``notebooks/``) and anyone reading results.

Everything here is presentation: it draws what the analyses computed and reads the JSON files the
studies in ``analyses/`` write. The matplotlib 3D view of a pair is the view that always works
(tests and the paper use it); chemiscope or py3Dmol are used by the notebooks only where installed.

``quick_mode()`` reads the ``COMPLETENESS_QUICK`` environment variable (``1`` shrinks the scans
and step counts of the notebooks so that CI runs each of them in seconds).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..environments import InputError

__all__ = [
    "interactive_viewer",
    "learning_curve_figure",
    "live_kernel",
    "pair_figure",
    "quick_mode",
    "read_config",
    "read_results",
    "results_dir",
    "scan_figure",
]

#: Colour of each chemical element in the 3D views (others: grey).
_ELEMENT_COLOURS = {1: "#bbbbbb", 6: "#333333", 7: "#3050f8", 8: "#ff0d0d", 14: "#f0c8a0"}

#: Where :func:`scan_figure` draws distances that are exactly zero (a log axis has no zero).
ZERO_DISPLAY = 1e-20


def quick_mode() -> bool:
    """Whether ``COMPLETENESS_QUICK`` asks for the quick (CI) variant: ``1``/``true``/``yes``."""
    value = os.environ.get("COMPLETENESS_QUICK", "").strip().lower()
    if value in ("", "0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    raise InputError(f"COMPLETENESS_QUICK={value!r} is not understood; set it to 1 or 0")


def live_kernel() -> bool:
    """Whether the code runs in a live Jupyter kernel (where ipywidgets can be displayed)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def interactive_viewer() -> str | None:
    """``"chemiscope"`` or ``"py3Dmol"`` when importable (checked without importing), else None."""
    import importlib.util

    for name in ("chemiscope", "py3Dmol"):
        if importlib.util.find_spec(name) is not None:
            return name
    return None


def results_dir(study: str) -> Path:
    """``analyses/<study>/results`` of the repository this package is installed from."""
    root = Path(__file__).resolve().parents[2]
    path = root / "analyses" / study / "results"
    if not path.is_dir():
        raise InputError(
            f"no results directory {path}; run `python analyses/{study}/run.py` from a clone "
            "of the repository (an installed wheel carries no results)"
        )
    return path


def read_results(study: str, name: str):
    """The JSON file ``analyses/<study>/results/<name>`` (``.json`` added when missing)."""
    if not name.endswith(".json"):
        name += ".json"
    path = results_dir(study) / name
    if not path.is_file():
        available = sorted(p.name for p in results_dir(study).glob("*.json"))
        raise InputError(f"no result file {path}; available: {available}")
    return json.loads(path.read_text())


def read_config(study: str) -> dict:
    """The configuration ``analyses/<study>/config.json`` the study ran with."""
    path = results_dir(study).parent / "config.json"
    if not path.is_file():
        raise InputError(f"no JSON configuration {path}; read the study's run.py for its inputs")
    return json.loads(path.read_text())


def _draw_atoms(ax, atoms, title: str, centre: int = 0) -> None:
    positions = atoms.get_positions() - atoms.get_positions()[centre]
    numbers = atoms.get_atomic_numbers()
    colours = [_ELEMENT_COLOURS.get(int(z), "#888888") for z in numbers]
    sizes = np.full(len(atoms), 120.0)
    sizes[centre] = 260.0
    for position in positions:
        ax.plot(*np.transpose([positions[centre], position]), color="#999999", lw=0.8)
    ax.scatter(*positions.T, c=colours, s=sizes, edgecolors="k", depthshade=False)
    for index, position in enumerate(positions):
        ax.text(*position, f" {index}", fontsize=7)
    extent = max(float(np.abs(positions).max()), 1e-6)
    ax.set_xlim(-extent, extent)
    ax.set_ylim(-extent, extent)
    ax.set_zlim(-extent, extent)
    ax.set_box_aspect((1, 1, 1), zoom=0.85)
    ax.set_xlabel("x (Å)", fontsize=7)
    ax.set_ylabel("y (Å)", fontsize=7)
    ax.set_zlabel("z (Å)", fontsize=7)
    ax.tick_params(labelsize=6)
    ax.set_title(title, fontsize=9)


def pair_figure(pair, *, elevation: float = 20.0, azimuth: float = -60.0):
    """Both members of a degenerate pair side by side in 3D (matplotlib Figure).

    The centre (atom 0) is drawn larger, bonds to the centre in grey, atoms numbered.
    """
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(8.0, 4.2))
    for k, (label, atoms) in enumerate((("plus", pair.plus), ("minus", pair.minus))):
        ax = fig.add_subplot(1, 2, k + 1, projection="3d")
        _draw_atoms(ax, atoms, f"{getattr(pair, 'name', 'pair')}: {label}")
        ax.view_init(elev=elevation, azim=azimuth)
    # 3D axes are not handled by constrained layout: leave room for the axis labels by hand
    fig.subplots_adjust(left=0.0, right=0.95, bottom=0.08, top=0.92, wspace=0.1)
    return fig


def scan_figure(scans, *, ax=None, title: str | None = None):
    """Relative feature distance of the pair members along a family, one line per scan.

    ``scans``: :class:`completeness.analysis.scan.Scan` objects over the same parameter; the
    dotted line of each colour is its noise floor (distances below it are round-off).
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.5), layout="constrained")
    for index, result in enumerate(scans):
        colour = f"C{index}"
        distance = np.asarray(result.distance, dtype=np.float64)
        label = result.descriptor
        if np.any(distance == 0.0):
            # a log axis cannot show an exact zero: draw it at ZERO_DISPLAY and say so
            distance = np.where(distance == 0.0, ZERO_DISPLAY, distance)
            label += f" (exact 0 drawn at {ZERO_DISPLAY:g})"
        ax.semilogy(result.values, distance, "o-", color=colour, label=label)
        ax.semilogy(result.values, result.noise_floor, ":", color=colour)
    ax.set_xlabel(f"{scans[0].parameter} ({'rad' if scans[0].parameter == 'psi' else 'Å'})")
    ax.set_ylabel("relative feature distance d(X+, X-)")
    ax.set_title(title or f"{scans[0].family} family (dotted: noise floors)", fontsize=9)
    ax.legend(fontsize=8)
    return ax.figure


def learning_curve_figure(curves: dict, *, ax=None, key: str = "test_rmse"):
    """Learning curves read from ``analyses/learning/results/curve_*.json``.

    ``curves``: ``{label: curve dict}`` with ``train_pairs`` and ``key`` (one row per training
    size, one column per seed); plots the mean over seeds with the min-max range as error bars.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.5), layout="constrained")
    for label, curve in curves.items():
        values = np.asarray(curve[key], dtype=np.float64)
        mean = values.mean(axis=1)
        # min-max over seeds (never below zero on the log axis, unlike mean - std)
        spread = [mean - values.min(axis=1), values.max(axis=1) - mean]
        ax.errorbar(curve["train_pairs"], mean, yerr=spread, marker="o", capsize=2, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training pairs")
    units = "relative" if "pair" in key else "target units"
    ax.set_ylabel(f"{key.replace('_', ' ')} ({units})")
    ax.legend(fontsize=7)
    return ax.figure

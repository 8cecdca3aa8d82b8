"""Config-driven hyperparameter studies: verdicts over a grid of hyperparameters x catalog pairs.

A *study* takes one descriptor, a grid of hyperparameters (every combination is one task of
:func:`completeness.parallel.parallel_map`) and a list of catalog pairs, and records the verdict of
:func:`completeness.analysis.distance.verdicts` (relative feature distance, noise floor, margin
``log10(distance / floor)`` in decades, verdict and expected verdict) for every grid point and
pair. The result is a tidy table (one row per grid point and pair) and a figure of the
*resolution* at each grid point: the smallest margin over the pairs the descriptor's body order
and parity do not declare degenerate (the weakest pair it should be able to separate), and how
many of them are resolved.

Config (JSON or TOML; paths relative to the config file)::

    descriptor = "PowerSpectrum"        # any spelling of --descriptor (class name, key...)
    pairs = "all"                       # or a list of catalog names
    seed = 0                            # seed of the noise floors (same for every grid point)
    n_transforms = 4                    # copies per member for the noise floor
    backend = "processes"               # serial | processes | dask
    n_workers = 2                       # optional
    scheduler = "tcp://host:8786"       # optional, dask only
    [fixed]                             # hyperparameters common to every grid point
    cutoff = 5.0
    [grid]                              # every combination is one task, in this order
    n_radial = [2, 4, 6, 8]
    max_angular = [0, 2, 4, 6]
    density_width = [0.2, 0.5, 1.0]
    [output]
    table = "results/resolution.csv"
    figure = "results/resolution.png"

Every grid point uses the same seed, so that differences between grid points come from the
hyperparameters, not from different random copies. The results are identical whatever the backend
(:mod:`completeness.parallel`).
"""

from __future__ import annotations

import csv
import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import parallel
from ..environments import InputError
from ..io import check_outputs, write_atomically, write_together
from .distance import N_TRANSFORMS, verdicts

__all__ = [
    "COLUMNS",
    "Study",
    "StudyConfig",
    "grid_points",
    "load_config",
    "resolution_summary",
    "run_study",
    "study_figure",
    "write_table",
]

#: Columns of the tidy table after the hyperparameter columns.
COLUMNS = (
    "pair",
    "scope",
    "equal_up_to_o3",
    "equal_up_to_so3",
    "distance",
    "noise_floor",
    "margin",
    "verdict",
    "expected",
    "status",
    "error",
)

_KEYS = {
    "descriptor",
    "pairs",
    "seed",
    "n_transforms",
    "backend",
    "n_workers",
    "scheduler",
    "fixed",
    "grid",
    "output",
    "checkpoint",
    "reference",
    "description",
}


@dataclass(frozen=True)
class StudyConfig:
    """A study, as read by :func:`load_config` (see the module docstring for the fields)."""

    descriptor: str
    grid: dict
    fixed: dict = field(default_factory=dict)
    pairs: str | tuple = "all"
    seed: int = 0
    n_transforms: int = N_TRANSFORMS
    backend: str = "serial"
    n_workers: int | None = None
    scheduler: str | None = None
    table: str | None = None
    figure: str | None = None
    checkpoint: str | None = None
    description: str = ""


def load_config(path) -> StudyConfig:
    """Read and check a study config (``.json`` or ``.toml``); relative output paths are taken
    relative to the config file's directory."""
    from ..io import read_config

    path = Path(path)
    data = read_config(path, "study config")
    return config_from_dict(data, base=path.parent)


def config_from_dict(data: dict, base=".") -> StudyConfig:
    """A :class:`StudyConfig` from a dict (as in a config file), checked."""
    if not isinstance(data, dict):
        raise InputError("a study config must be a table/object at the top level")
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise InputError(f"unknown study config key(s) {unknown}; known: {sorted(_KEYS)}")
    if "descriptor" not in data or "grid" not in data:
        raise InputError("a study config needs 'descriptor' (a class name) and a 'grid' table")
    grid = data["grid"]
    if not isinstance(grid, dict) or not grid:
        raise InputError("'grid' must map hyperparameter names to lists of values")
    for name, values in grid.items():
        if not isinstance(values, list) or not values:
            raise InputError(f"grid entry {name!r} must be a non-empty list, got {values!r}")
    fixed = data.get("fixed", {})
    if not isinstance(fixed, dict):
        raise InputError("'fixed' must map hyperparameter names to values")
    both = sorted(set(fixed) & set(grid))
    if both:
        raise InputError(f"hyperparameter(s) {both} appear in both 'fixed' and 'grid'; keep one")
    pairs = data.get("pairs", "all")
    if pairs != "all":
        if not isinstance(pairs, list) or not all(isinstance(p, str) for p in pairs) or not pairs:
            raise InputError("'pairs' must be \"all\" or a list of catalog pair names")
        pairs = tuple(pairs)
    backend = data.get("backend", "serial")
    if backend not in parallel.BACKENDS:
        raise InputError(f"unknown backend {backend!r}; use one of {list(parallel.BACKENDS)}")
    for key in ("seed", "n_transforms", "n_workers"):
        value = data.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise InputError(f"{key!r} must be an integer, got {value!r}")
    output = data.get("output", {})
    if not isinstance(output, dict) or set(output) - {"table", "figure"}:
        raise InputError("'output' may hold only 'table' and 'figure' paths")

    def resolved(value):
        return None if value is None else str(Path(base) / value)

    return StudyConfig(
        descriptor=str(data["descriptor"]),
        grid=dict(grid),
        fixed=dict(fixed),
        pairs=pairs,
        seed=int(data.get("seed", 0)),
        n_transforms=int(data.get("n_transforms", N_TRANSFORMS)),
        backend=backend,
        n_workers=data.get("n_workers"),
        scheduler=data.get("scheduler"),
        table=resolved(output.get("table")),
        figure=resolved(output.get("figure")),
        checkpoint=resolved(data.get("checkpoint")),
        description=str(data.get("description", "")),
    )


def grid_points(config: StudyConfig) -> list[dict]:
    """Every combination of the grid (the last key varies fastest), with the fixed values."""
    names = list(config.grid)
    return [
        {**config.fixed, **dict(zip(names, values, strict=True))}
        for values in itertools.product(*(config.grid[name] for name in names))
    ]


def _descriptor(spec: str, hypers: dict):
    """The descriptor ``spec`` names (any spelling of
    :func:`~completeness.descriptors.defaults.resolve_descriptor`) at one grid point."""
    from ..descriptors.defaults import resolve_descriptor

    return resolve_descriptor(spec, hypers)


_PAIRS: dict = {}


def _load_pairs(names) -> list:
    """Catalog pairs by name (cached per process: workers load them once)."""
    from .. import structures

    key = tuple(names)
    if key not in _PAIRS:
        _PAIRS[key] = [structures.load(name) for name in names]
    return _PAIRS[key]


def _pair_names(config: StudyConfig) -> list[str]:
    from .. import structures

    known = structures.names()
    if config.pairs == "all":
        return list(known)
    missing = [name for name in config.pairs if name not in known]
    if missing:
        raise InputError(f"unknown catalog pair(s) {missing}; see `completeness catalog`")
    return list(config.pairs)


def _grid_task(task: dict, rng) -> list[dict]:
    """One grid point: the verdict on every pair (``rng`` unused: the study seed is shared)."""
    del rng
    descriptor = _descriptor(task["descriptor"], task["hypers"])
    pairs = _load_pairs(task["pairs"])
    rows = []
    for result in verdicts(descriptor, pairs, n_transforms=task["n_transforms"], seed=task["seed"]):
        rows.append(
            {
                **task["hypers"],
                "pair": result.pair,
                "scope": result.scope,
                "equal_up_to_o3": result.equal_up_to_o3,
                "equal_up_to_so3": result.equal_up_to_so3,
                "distance": result.distance,
                "noise_floor": result.noise_floor,
                "margin": result.margin,
                "verdict": result.verdict,
                "expected": result.expected,
                "status": result.status,
                "error": result.error or "",
            }
        )
    return rows


@dataclass(frozen=True)
class Study:
    """Result of :func:`run_study`: ``rows`` is the tidy table (list of dicts)."""

    config: StudyConfig
    rows: list
    hyper_columns: tuple

    def summary(self) -> list[dict]:
        return resolution_summary(self.rows, self.hyper_columns)


def _probe(config: StudyConfig, points: list[dict], pairs: list) -> None:
    """Build every grid point and compute it once on one structure: bad hyperparameters fail
    here, with the descriptor's own message, before the study runs."""
    for point in points:
        try:
            _descriptor(config.descriptor, point).compute(pairs[0].plus, centers=[0])
        except InputError as error:
            raise InputError(f"grid point {point}: {error}") from None


def run_study(
    config: StudyConfig,
    *,
    backend: str | None = None,
    n_workers: int | None = None,
    scheduler=None,
    checkpoint=None,
    progress: bool | None = None,
) -> Study:
    """Run every grid point of ``config`` through :func:`completeness.parallel.parallel_map`.

    Keyword arguments override the config's backend, n_workers, scheduler and checkpoint.
    """
    names = _pair_names(config)
    points = grid_points(config)
    _probe(config, points, _load_pairs(names))
    tasks = [
        {
            "descriptor": config.descriptor,
            "hypers": point,
            "pairs": names,
            "seed": config.seed,
            "n_transforms": config.n_transforms,
        }
        for point in points
    ]
    try:
        results = parallel.parallel_map(
            _grid_task,
            tasks,
            seed=config.seed,
            backend=backend or config.backend,
            n_workers=n_workers if n_workers is not None else config.n_workers,
            scheduler=scheduler if scheduler is not None else config.scheduler,
            checkpoint=checkpoint if checkpoint is not None else config.checkpoint,
            progress=progress,
        )
    except parallel.ParallelInputError as error:
        raise InputError(str(error)) from None
    rows = [row for block in results for row in block]
    hyper_columns = tuple(dict.fromkeys(name for point in points for name in point))
    return Study(config=config, rows=rows, hyper_columns=hyper_columns)


# --------------------------------------------------------------------------------------------
# reductions, table, figure
# --------------------------------------------------------------------------------------------


def resolution_summary(rows: list[dict], hyper_columns) -> list[dict]:
    """One record per grid point: pairs resolved / degenerate / inconclusive, and the weakest
    margin over the *resolvable* pairs (expected verdict not "degenerate")."""
    groups: dict = {}
    for row in rows:
        key = tuple(row[name] for name in hyper_columns)
        groups.setdefault(key, []).append(row)
    summary = []
    for key, group in groups.items():
        resolvable = [r for r in group if r["expected"] != "degenerate"]
        margins = [r["margin"] for r in resolvable]
        record = dict(zip(hyper_columns, key, strict=True))
        record.update(
            n_pairs=len(group),
            n_resolvable=len(resolvable),
            n_resolvable_resolved=sum(r["verdict"] == "resolved" for r in resolvable),
            n_contradictions=sum(r["status"] == "contradiction" for r in group),
            n_errors=sum(r["verdict"] == "error" for r in group),
            weakest_margin=min(margins) if margins else math.nan,
            weakest_pair=min(resolvable, key=lambda r: r["margin"])["pair"] if margins else "",
        )
        summary.append(record)
    return summary


def _cell(value) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return str(value)


def write_table(rows: list[dict], path, columns=None) -> None:
    """Write ``rows`` as CSV (atomically: a temporary file renamed into place)."""
    path = Path(path)
    if not path.parent.is_dir():
        raise InputError(f"cannot write {str(path)!r}: directory {str(path.parent)!r} is missing")
    write_atomically(path, _csv_writer(rows, columns))


def _csv_writer(rows: list[dict], columns=None):
    """``write(path)`` of the CSV of ``rows`` (for the atomic writers of :mod:`completeness.io`)."""
    columns = list(columns or (rows[0].keys() if rows else []))

    def write(temporary):
        with open(temporary, "w", newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow(columns)
            for row in rows:
                writer.writerow([_cell(row.get(name, "")) for name in columns])

    return write


_MARGIN_FLOOR = -3.0  # a distance of exactly 0 (margin -inf) is drawn at this many decades


def study_figure(study: Study):
    """Heat maps of the weakest resolvable margin (decades above the noise floor).

    Axes: the first two grid hyperparameters; one panel per value of the third (further ones are
    reduced by the minimum). Each cell is annotated ``resolved/resolvable``. One grid
    hyperparameter gives a line plot.
    """
    import matplotlib.pyplot as plt

    grid = study.config.grid
    names = list(grid)
    summary = study.summary()
    title = (
        f"{study.config.descriptor}: weakest margin over the pairs it should resolve\n"
        f"({summary[0]['n_resolvable']} of {summary[0]['n_pairs']} catalog pairs)"
    )
    if len(names) == 1:
        figure, axis = plt.subplots(figsize=(6, 4), constrained_layout=True)
        x = [r[names[0]] for r in summary]
        y = [max(r["weakest_margin"], _MARGIN_FLOOR) for r in summary]
        axis.plot(x, y, "o-")
        axis.axhline(2.0, color="grey", ls="--", lw=1, label="resolved (2 decades)")
        axis.set_xlabel(_label(names[0]))
        axis.set_ylabel("weakest margin log10(d / floor) [decades]")
        axis.legend()
        figure.suptitle(title, fontsize=10)
        return figure
    row_name, column_name = names[0], names[1]
    panel_name = names[2] if len(names) > 2 else None
    panels = grid[panel_name] if panel_name else [None]
    finite = [r["weakest_margin"] for r in summary if np.isfinite(r["weakest_margin"])]
    vmax = max(finite) if finite else 1.0
    figure, axes = plt.subplots(
        1,
        len(panels),
        figsize=(max(6.0, 3.6 * len(panels) + 1.2), 4.2),
        squeeze=False,
        constrained_layout=True,
    )
    image = None
    for axis, panel in zip(axes[0], panels, strict=True):
        margin = np.full((len(grid[row_name]), len(grid[column_name])), np.inf)
        counts = {}
        for r in summary:
            if panel_name is not None and r[panel_name] != panel:
                continue
            i, j = grid[row_name].index(r[row_name]), grid[column_name].index(r[column_name])
            margin[i, j] = min(margin[i, j], r["weakest_margin"])
            got, of = counts.get((i, j), (0, 0))
            counts[(i, j)] = (got + r["n_resolvable_resolved"], of + r["n_resolvable"])
        shown = np.clip(margin, _MARGIN_FLOOR, None)  # -inf (distance exactly 0) at the floor
        image = axis.imshow(
            shown, origin="lower", aspect="auto", cmap="viridis", vmin=_MARGIN_FLOOR, vmax=vmax
        )
        for (i, j), (got, of) in counts.items():
            colour = "white" if shown[i, j] < (vmax + _MARGIN_FLOOR) / 2 else "black"
            axis.text(
                j,
                i,
                f"{got}/{of}\n{margin[i, j]:.1f}",
                ha="center",
                va="center",
                fontsize=8,
                color=colour,
            )
        axis.set_xticks(range(len(grid[column_name])), [str(v) for v in grid[column_name]])
        axis.set_yticks(range(len(grid[row_name])), [str(v) for v in grid[row_name]])
        axis.set_xlabel(_label(column_name))
        axis.set_ylabel(_label(row_name))
        if panel_name is not None:
            axis.set_title(f"{_label(panel_name)} = {panel}", fontsize=10)
    colourbar = figure.colorbar(image, ax=axes[0].tolist(), shrink=0.9)
    colourbar.set_label("weakest margin log10(d / floor) [decades]")
    figure.suptitle(title + "; cells: resolved/resolvable pairs, weakest margin", fontsize=10)
    return figure


def _label(name: str) -> str:
    units = {"density_width": " [Å]", "cutoff": " [Å]", "cutoff_width": " [Å]"}
    return name.replace("_", " ") + units.get(name, "")


def output_paths(config: StudyConfig, table=None, figure=None) -> dict:
    """``{"table": path, "figure": path}`` of a study (arguments override the config), each
    checked before any work (:func:`completeness.io.check_outputs`); unset outputs left out."""
    chosen = {"table": table or config.table, "figure": figure or config.figure}
    return check_outputs({name: path for name, path in chosen.items()}, stdout=None)


def write_outputs(study: Study, table=None, figure=None, also: dict | None = None) -> list[str]:
    """Write the tidy table and the figure (paths default to the config's ``output``), and the
    files of ``also`` (``{path: text}``), together: all of them or none
    (:func:`completeness.io.write_together`)."""
    paths = output_paths(study.config, table, figure)
    contents = {}
    if "table" in paths:
        columns = [*study.hyper_columns, *COLUMNS]
        contents[paths["table"]] = _csv_writer(study.rows, columns)
    if "figure" in paths:
        drawing = study_figure(study)
        contents[paths["figure"]] = lambda tmp: drawing.savefig(tmp, format="png", dpi=130)
    return write_together({**contents, **(also or {})})

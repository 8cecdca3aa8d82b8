"""Run the representation benchmark: every descriptor on every task, its audit measures beside its
learning curves, and whether the measures predict the learning (module docstring of
:mod:`completeness.analysis.benchmark`)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np

from ... import parallel
from ...environments import InputError
from .curves import (
    energy_learning_curve,
    force_learning_curve,
    pooled_features,
    split_indices,
    tune_descriptor,
)
from .tasks import TASKS, make_task

__all__ = [
    "QUICK",
    "BenchmarkConfig",
    "audit_measures",
    "config_from_dict",
    "load_config",
    "run_benchmark",
    "write_results",
]

#: What quick mode (``--quick``, ``COMPLETENESS_QUICK=1``) overrides: a smoke run for CI.
QUICK = {
    "n_structures": 40,
    "descriptors": ("radial-spectrum", "power-spectrum", "acsf-g2-g4", "bispectrum"),
    "seeds": (0,),
    "n_sizes": 3,
    "smallest": 8,
    "tune": False,
    "checkpoint": None,  # a smoke run never resumes (or clobbers) the full study's checkpoint
}


@dataclass(frozen=True)
class BenchmarkConfig:
    """What :func:`run_benchmark` runs (every field can be set in a JSON/TOML config).

    ``descriptors``: keys of :func:`completeness.descriptors.defaults.builtin_descriptors` (empty:
    all of them). Forces are learned for a descriptor with analytic gradients when it has at most
    ``max_force_features`` features and its gradients of the whole task are estimated (from
    two structures) to take at most ``force_budget`` seconds; otherwise the record says why not.
    """

    tasks: tuple = ("alloy", "molecules")
    n_structures: int = 400
    descriptors: tuple = ()
    seeds: tuple = (0, 1, 2)
    n_sizes: int = 5
    smallest: int = 20
    tune: bool = True
    max_force_features: int = 2000
    force_budget: float = 120.0
    audit: bool = True
    search: bool = True
    seed: int = 0
    backend: str = "serial"
    n_workers: int | None = None
    checkpoint: str | None = None
    description: str = ""


def config_from_dict(data: dict) -> BenchmarkConfig:
    """A checked :class:`BenchmarkConfig` from a plain dict (unknown keys are an error)."""
    known = set(BenchmarkConfig.__dataclass_fields__)
    unknown = sorted(set(data) - known)
    if unknown:
        raise InputError(f"unknown benchmark config keys {unknown}; known: {sorted(known)}")
    config = BenchmarkConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})
    bad_tasks = sorted(set(config.tasks) - set(TASKS))
    if bad_tasks or not config.tasks:
        raise InputError(f"unknown or no benchmark tasks {bad_tasks}; use some of {sorted(TASKS)}")
    if config.n_structures < 20 or config.n_sizes < 2 or config.smallest < 5:
        raise InputError("need n_structures >= 20, n_sizes >= 2 and smallest >= 5")
    if not config.seeds:
        raise InputError("give at least one seed")
    return config


def load_config(path, *, quick: bool = False) -> BenchmarkConfig:
    """Read a benchmark config (``.json``/``.toml``); a relative ``checkpoint`` is taken relative
    to the config's directory. ``quick=True`` applies :data:`QUICK` on top."""
    from ...io import read_config

    data = read_config(path, "benchmark config")
    if quick:
        data.update(QUICK)
    if data.get("checkpoint"):
        data["checkpoint"] = str(Path(path).parent / data["checkpoint"])
    return config_from_dict(data)


def write_results(result: dict, out) -> list[str]:
    """``benchmark.json``, ``summary.md`` and ``learning_curves.png`` in directory ``out``,
    each written atomically, the figure last (the JSON alone is enough to redraw it)."""
    import matplotlib.pyplot as plt

    from ...io import write_atomically, write_json, write_text
    from .summary import figure, markdown

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {str(out)!r} is a file; give a directory")
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "benchmark.json", out / "summary.md", out / "learning_curves.png"]
    write_json(paths[0], result)
    write_text(paths[1], markdown(result))
    fig = figure(result)
    try:
        write_atomically(
            paths[2], lambda p: fig.savefig(p, format="png", dpi=150, bbox_inches="tight")
        )
    finally:
        plt.close(fig)
    return [str(p) for p in paths]


def _descriptors(config: BenchmarkConfig) -> dict:
    from ...descriptors.defaults import builtin_descriptors

    builtin = builtin_descriptors()
    keys = list(config.descriptors) or list(builtin)
    unknown = [k for k in keys if k not in builtin]
    if unknown:
        raise InputError(f"unknown benchmark descriptors {unknown}; use keys of {sorted(builtin)}")
    return {k: builtin[k] for k in keys}


def _with_species(descriptor, species):
    if "species" in descriptor.get_params():
        descriptor.set_params(species=species)
    return descriptor


def audit_measures(descriptor, task, *, seed: int = 0) -> dict:
    """The report card's numbers for ``descriptor`` (its tuned hyperparameters, default species):
    catalog verdict counts, median noise floor, fold exponent, and the sensitivity on the task's
    own structures (median over three environments of the smallest relative singular value of the
    rotation-projected Jacobian, and the fraction of internal modes above 1e-6 of the largest).
    """
    from sklearn.base import clone

    from ..distance import verdicts
    from ..report import catalog_pairs
    from ..scan import fold_scan
    from ..sensitivity import jacobian

    audit = _with_species(clone(descriptor), None)
    results = verdicts(audit, catalog_pairs(), seed=seed)
    counts = {v: sum(r.verdict == v for r in results) for v in ("degenerate", "resolved")}
    floors = [r.noise_floor for r in results if r.error is None]
    fold = fold_scan(audit, np.logspace(-4, -1, 4), n_transforms=2)
    smallest, ranks = [], []
    rng = np.random.default_rng([seed, 11])
    for index in rng.choice(len(task.systems), size=3, replace=False):
        atoms = task.systems[int(index)]
        sensitivity = jacobian(descriptor, atoms, int(rng.integers(len(atoms))))
        s = sensitivity.singular_values
        smallest.append(float(s[-1] / s[0]) if s.size and s[0] > 0 else 0.0)
        ranks.append(float(np.mean(s > 1e-6 * s[0])) if s.size and s[0] > 0 else 0.0)
    return {
        "resolved": counts["resolved"],
        "degenerate": counts["degenerate"],
        "noise_floor": float(np.median(floors)) if floors else None,
        "fold_exponent": None if fold.exponent is None else float(fold.exponent),
        "smallest_relative_singular_value": float(np.median(smallest)),
        "sensitive_mode_fraction": float(np.median(ranks)),
    }


def _search_coincidence(descriptor, task, residuals: dict) -> dict:
    """Do the descriptor's false negatives in the task fall on its worst-predicted structures?

    The search (:func:`completeness.analysis.search.search`) aligns the 200 candidate pairs
    closest in feature space. The structures of its ten strongest false negatives that lie in
    the test set are ranked by their absolute energy error among all test
    structures; ``mean_error_percentile`` is their mean percentile (0.5 is what chance gives,
    1.0 would mean they are the worst predicted).
    """
    from ..search import search

    # only the ten strongest hits are used: 200 alignments of the closest candidates suffice
    result = search(task.systems, descriptor, max_alignments=200, progress=False)
    hits = result.false_negatives(10)
    involved = {h[k] for h in hits for k in ("first_structure", "second_structure")}
    errors = np.array(list(residuals.values()))
    percentiles = [
        float(np.mean(errors <= residuals[s])) for s in sorted(involved) if s in residuals
    ]
    return {
        "false_negatives": len(hits),
        "largest_score_over_typical": hits[0]["times_typical"] if hits else None,
        "test_structures_involved": len(percentiles),
        "mean_error_percentile": float(np.mean(percentiles)) if percentiles else None,
    }


def _forces(descriptor, task, split, config: BenchmarkConfig, X) -> dict:
    if not getattr(descriptor, "has_gradients", True) or not hasattr(descriptor, "compute"):
        return {"skipped": "no analytic gradients"}
    if X.shape[1] > config.max_force_features:
        return {"skipped": f"{X.shape[1]} features > max_force_features"}
    start = time.process_time()
    pooled_features(descriptor, task.systems[:2], gradients=True)
    estimate = (time.process_time() - start) / 2 * len(task.systems)
    if estimate > config.force_budget:
        return {"skipped": f"gradients estimated at {estimate:.0f} s > force_budget"}
    X, derivatives = pooled_features(descriptor, task.systems, gradients=True)
    return force_learning_curve(
        X,
        derivatives,
        task,
        split,
        seeds=config.seeds,
        smallest=config.smallest,
        n_sizes=config.n_sizes,
    )


def _run_unit(unit, rng, *, config: BenchmarkConfig) -> dict:
    """One descriptor on one task: tuning, energy and force curves, measures, search."""
    task, key, descriptor = unit
    descriptor = _with_species(descriptor, task.species)
    split = split_indices(len(task.systems), config.seed)
    start = time.process_time()
    tuning = tune_descriptor(descriptor, task, split, seed=config.seed) if config.tune else None
    X = pooled_features(descriptor, task.systems)
    energy = energy_learning_curve(
        X,
        task.energies,
        split,
        seeds=config.seeds,
        smallest=config.smallest,
        n_sizes=config.n_sizes,
    )
    record = {
        "task": task.name,
        "descriptor": key,
        "hypers": {k: v for k, v in descriptor.get_params().items() if k != "species"},
        "n_features": int(X.shape[1]),
        "tuning": tuning,
        "energy": energy,
        "forces": _forces(descriptor, task, split, config, X),
    }
    if config.audit:
        record["measures"] = audit_measures(descriptor, task, seed=config.seed)
    if config.search:
        record["search"] = _search_coincidence(descriptor, task, energy["test_abs_errors"])
    record["cpu_seconds"] = time.process_time() - start
    return record


def run_benchmark(config: BenchmarkConfig, *, progress: bool | None = None) -> dict:
    """Every (task, descriptor) unit through :func:`completeness.parallel.parallel_map`
    (resumable with ``config.checkpoint``), then the rank correlations of
    :func:`completeness.analysis.benchmark.correlations`."""
    from .summary import correlations

    descriptors = _descriptors(config)
    tasks = [make_task(name, config.n_structures, seed=config.seed) for name in config.tasks]
    units = [(task, key, d) for task in tasks for key, d in descriptors.items()]
    records = parallel.parallel_map(
        partial(_run_unit, config=config),
        units,
        seed=config.seed,
        backend=config.backend,
        n_workers=config.n_workers,
        checkpoint=config.checkpoint,
        progress=progress,
    )
    return {
        "config": asdict(replace(config, checkpoint=None)),
        "tasks": {t.name: t.description for t in tasks},
        "records": records,
        "correlations": correlations(records) if config.audit else {},
    }

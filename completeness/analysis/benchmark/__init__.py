"""A representation benchmark in the manner of Langer, Goeßmann & Rupp: does uniqueness predict
learning?

Langer, Goeßmann and Rupp (npj Comput. Mater. 8, 41 (2022), doi:10.1038/s41524-022-00721-x)
compared representations by learning curves of kernel ridge regression with tuned
hyperparameters on the same tasks. This benchmark runs every built-in descriptor through that
protocol on tasks generated at run time (:mod:`.tasks`; :mod:`.curves` states the protocol), puts
the descriptor's audit measures beside its curves (catalog verdicts, fold exponent, sensitivity on
the task's own structures, the dataset search's false negatives) and asks, by rank correlation
over descriptors, whether those measures predict the learning-curve offset and slope
(:mod:`.summary`).

Entry points: :func:`run_benchmark` with a :class:`BenchmarkConfig`, or
``completeness benchmark CONFIG`` from the shell.
"""

from .runner import (
    QUICK,
    BenchmarkConfig,
    audit_measures,
    config_from_dict,
    load_config,
    run_benchmark,
    write_results,
)
from .summary import correlations, figure, markdown
from .tasks import TASKS, Task, make_task

__all__ = [
    "QUICK",
    "TASKS",
    "BenchmarkConfig",
    "Task",
    "audit_measures",
    "config_from_dict",
    "correlations",
    "figure",
    "load_config",
    "make_task",
    "markdown",
    "run_benchmark",
    "write_results",
]

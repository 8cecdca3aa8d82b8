"""completeness.threads: one thread policy per process, overridable, followed by workers."""

from __future__ import annotations

import os

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from completeness import threads
from completeness.parallel import parallel_map


@pytest.fixture
def restore_policy(monkeypatch):
    """Run the test with a clean policy and give the process its libraries' defaults back."""
    monkeypatch.delenv(threads.ENVIRONMENT_VARIABLE, raising=False)
    yield
    threads.apply_thread_policy("default")


def library_threads(api="blas"):
    return {info["num_threads"] for info in threadpool_info() if info["user_api"] == api}


def report_threads(task, rng):
    """What a worker process sees: its environment and its BLAS pools."""
    return (os.environ.get("OMP_NUM_THREADS"), sorted(library_threads()))


def test_default_is_one_thread(monkeypatch):
    monkeypatch.delenv(threads.ENVIRONMENT_VARIABLE, raising=False)
    assert threads.decide_threads() == 1


@pytest.mark.parametrize(
    ("argument", "environment", "expected"),
    [
        (3, "2", 3),
        (None, "2", 2),
        (None, " default ", None),
        ("4", None, 4),
        ("default", "2", None),
    ],
)
def test_precedence_argument_then_environment(monkeypatch, argument, environment, expected):
    if environment is None:
        monkeypatch.delenv(threads.ENVIRONMENT_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(threads.ENVIRONMENT_VARIABLE, environment)
    assert threads.decide_threads(argument) == expected


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "many", "2.0", ""])
def test_bad_counts_fail_with_the_accepted_forms(bad):
    with pytest.raises(threads.ThreadPolicyError, match="positive integer or 'default'"):
        threads.decide_threads(bad)


def test_bad_environment_names_the_variable(monkeypatch):
    monkeypatch.setenv(threads.ENVIRONMENT_VARIABLE, "lots")
    with pytest.raises(threads.ThreadPolicyError, match="COMPLETENESS_THREADS must be"):
        threads.decide_threads()


def test_apply_limits_loaded_pools_and_sets_the_environment(restore_policy):
    np.ones((4, 4)) @ np.ones((4, 4))  # BLAS is loaded
    assert threads.apply_thread_policy(1) == 1
    assert library_threads() == {1}
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "RAYON_NUM_THREADS"):
        assert os.environ[name] == "1"
    assert os.environ[threads.ENVIRONMENT_VARIABLE] == "1"
    assert threads.worker_setting() == 1


def test_default_restores_the_environment(restore_policy, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    threads.apply_thread_policy(1)
    assert os.environ["OMP_NUM_THREADS"] == "1"
    assert threads.apply_thread_policy("default") is None
    assert os.environ["OMP_NUM_THREADS"] == "7"
    assert threads.worker_setting() == "default"


def test_worker_processes_follow_the_driver(restore_policy, monkeypatch):
    threads.apply_thread_policy(1)
    # a worker started with another environment still applies the driver's decision
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    results = parallel_map(report_threads, range(4), backend="processes", n_workers=2)
    assert {environment for environment, _ in results} == {"1"}
    assert all(pools in ([1], []) for _, pools in results)


def test_command_line_rejects_a_bad_thread_count_in_one_line(tmp_path, capsys):
    from completeness.cli import main

    assert main(["--threads", "0", "catalog", "--out", str(tmp_path / "never")]) == 2
    message = capsys.readouterr().err.strip()
    assert message == (
        "completeness catalog: error: threads must be a positive integer or 'default', got "
        "'0'; e.g. COMPLETENESS_THREADS=2"
    )
    assert not (tmp_path / "never").exists()


def test_a_run_applies_the_decided_count_only_when_nothing_was_applied(monkeypatch):
    from threadpoolctl import threadpool_limits

    monkeypatch.delenv(threads.ENVIRONMENT_VARIABLE, raising=False)
    np.ones((4, 4)) @ np.ones((4, 4))  # BLAS is loaded
    with threadpool_limits(limits=2):
        monkeypatch.setattr(threads, "_applied", [])  # a script that never chose
        with threads.thread_policy_for_run():
            assert library_threads() == {1}
        assert library_threads() == {2}
        monkeypatch.setattr(threads, "_applied", [None])  # chose the libraries' defaults
        with threads.thread_policy_for_run():
            assert library_threads() == {2}
        monkeypatch.setattr(threads, "_applied", [])
        monkeypatch.setenv(threads.ENVIRONMENT_VARIABLE, "default")
        with threads.thread_policy_for_run():
            assert library_threads() == {2}


def test_a_descriptor_call_holds_blas_at_the_decided_count(monkeypatch):
    """In a script that applied no policy, a bulk descriptor call runs with BLAS at one thread
    and gives the pools back; one small environment without gradients is left alone."""
    import ase
    from threadpoolctl import threadpool_limits

    from completeness.descriptors import PowerSpectrum

    seen = []

    class Recording(PowerSpectrum):
        def _compute_with_centres(self, neighbourhoods, species, gradients):
            seen.append(library_threads())
            return super()._compute_with_centres(neighbourhoods, species, gradients)

    monkeypatch.delenv(threads.ENVIRONMENT_VARIABLE, raising=False)
    rng = np.random.default_rng(0)
    small = ase.Atoms("C4", positions=rng.uniform(-1.5, 1.5, size=(4, 3)))
    descriptor = Recording(cutoff=4.0, n_radial=2, max_angular=2)
    with threadpool_limits(limits=2):
        monkeypatch.setattr(threads, "_applied", [])  # a script that never chose
        descriptor.compute(small, centers=[0], gradients=True)
        descriptor.compute([small] * 12)  # 12 x 12 pairs
        descriptor.compute(small, centers=[0])  # 3 pairs, no gradients
        assert seen == [{1}, {1}, {2}]
        assert library_threads() == {2}
        monkeypatch.setattr(threads, "_applied", [None])  # chose the libraries' defaults
        descriptor.compute(small, centers=[0], gradients=True)
        assert seen[-1] == {2}

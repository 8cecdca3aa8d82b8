"""completeness.parallel: same results on every backend, seeds, checkpoints, errors."""

from __future__ import annotations

import functools
import json
import os
import threading

import numpy as np
import pytest

from completeness.parallel import ParallelInputError, TaskFailed, parallel_map


def noisy_square(task, rng):
    """A task result that depends on the task and on its random stream."""
    return {"task": task, "square": task * task, "draws": rng.normal(size=3)}


def expected_results(tasks, seed):
    """Built independently of parallel_map: SeedSequence children, one per task, in order."""
    children = np.random.SeedSequence(seed).spawn(len(tasks))
    return [
        {"task": t, "square": t * t, "draws": np.random.default_rng(c).normal(size=3)}
        for t, c in zip(tasks, children, strict=True)
    ]


def assert_same(results, expected):
    assert len(results) == len(expected)
    for got, want in zip(results, expected, strict=True):
        assert got["task"] == want["task"] and got["square"] == want["square"]
        np.testing.assert_array_equal(got["draws"], want["draws"])


def flaky(task, rng, marker):
    """Raises on task 5 the first time it is called (the marker file records the first call)."""
    if task == 5 and not os.path.exists(marker):
        open(marker, "w").close()
        raise RuntimeError("simulated interruption")
    return noisy_square(task, rng)


TASKS = list(range(11))


def test_serial_matches_independent_seeding():
    assert_same(parallel_map(noisy_square, TASKS, seed=7), expected_results(TASKS, 7))


def test_different_seed_gives_different_draws():
    a = parallel_map(noisy_square, TASKS, seed=1)
    b = parallel_map(noisy_square, TASKS, seed=2)
    assert not np.array_equal(a[0]["draws"], b[0]["draws"])


def test_processes_identical_to_serial():
    results = parallel_map(noisy_square, TASKS, seed=7, backend="processes", n_workers=2)
    assert_same(results, expected_results(TASKS, 7))


def test_dask_local_cluster_identical_to_serial():
    pytest.importorskip("distributed")
    results = parallel_map(noisy_square, TASKS, seed=7, backend="dask", n_workers=2)
    assert_same(results, expected_results(TASKS, 7))


def test_dask_scheduler_address_identical_to_serial():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        results = parallel_map(
            noisy_square, TASKS, seed=7, backend="dask", scheduler=cluster.scheduler_address
        )
    assert_same(results, expected_results(TASKS, 7))


def test_empty_task_list():
    assert parallel_map(noisy_square, [], backend="processes") == []


@pytest.mark.parametrize("backend", ["serial", "processes"])
def test_task_error_names_the_index(backend):
    with pytest.raises(TaskFailed, match=r"^task 5 of 11 failed: RuntimeError: simulated"):
        parallel_map(_always_fails_on_5, TASKS, backend=backend, n_workers=2)


def _always_fails_on_5(task, rng):
    if task == 5:
        raise RuntimeError("simulated failure")
    return task


def test_resume_after_interruption(tmp_path):
    marker, log = tmp_path / "marker", tmp_path / "log"
    store = tmp_path / "checkpoint"

    def run():
        function = functools.partial(_flaky_logged, marker=str(marker), log=str(log))
        return parallel_map(function, TASKS, seed=3, checkpoint=store)

    with pytest.raises(TaskFailed, match=r"task 5 of 11 failed.*rerun to resume"):
        run()
    finished = sorted(p.name for p in store.glob("task-*.pkl"))
    assert finished == [f"task-{i:06d}.pkl" for i in range(5)]  # serial: 0..4 done before 5
    log.unlink()
    results = run()
    assert_same(results, expected_results(TASKS, 3))
    # only the unfinished tasks ran the second time
    assert [int(x) for x in log.read_text().split()] == list(range(5, 11))
    manifest = json.loads((store / "manifest.json").read_text())
    assert manifest["n_tasks"] == 11


def _flaky_logged(task, rng, marker, log):
    with open(log, "a") as stream:
        stream.write(f"{task}\n")
    return flaky(task, rng, marker)


def test_resume_after_deleted_results_with_processes(tmp_path):
    store = tmp_path / "checkpoint"
    first = parallel_map(
        noisy_square, TASKS, seed=4, backend="processes", n_workers=2, checkpoint=store
    )
    for index in (2, 7):
        (store / f"task-{index:06d}.pkl").unlink()
    # same function, tasks and seed: the other results are loaded, the two missing recomputed
    second = parallel_map(noisy_square, TASKS, seed=4, backend="serial", checkpoint=store)
    assert_same(second, expected_results(TASKS, 4))
    assert_same(first, expected_results(TASKS, 4))
    assert sorted(p.name for p in store.glob("task-*.pkl")) == [
        f"task-{i:06d}.pkl" for i in range(11)
    ]


def test_checkpoint_of_other_tasks_is_refused(tmp_path):
    store = tmp_path / "checkpoint"
    parallel_map(noisy_square, TASKS, seed=0, checkpoint=store)
    with pytest.raises(ParallelInputError, match="holds results of other tasks"):
        parallel_map(noisy_square, TASKS[:-1], seed=0, checkpoint=store)
    with pytest.raises(ParallelInputError, match="holds results of other tasks"):
        parallel_map(noisy_square, TASKS, seed=1, checkpoint=store)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"backend": "threads"}, r"unknown backend 'threads'; use one of 'serial', 'processes'"),
        ({"backend": "processes", "n_workers": 0}, "n_workers must be at least 1"),
        ({"n_workers": 1.5}, "n_workers must be a positive integer"),
        ({"scheduler": "tcp://127.0.0.1:1"}, "use backend='dask'"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ParallelInputError, match=message):
        parallel_map(noisy_square, TASKS, **kwargs)


def test_not_callable():
    with pytest.raises(ParallelInputError, match="function must be callable"):
        parallel_map("noisy_square", TASKS)


def test_a_running_map_owns_its_checkpoint_directory(tmp_path):
    """A second map on a directory in use is refused before it reads or writes anything."""
    store = tmp_path / "checkpoint"
    started, release = threading.Event(), threading.Event()

    def held(task, rng):
        started.set()
        assert release.wait(timeout=60)
        return noisy_square(task, rng)

    outcome = {}
    first = threading.Thread(
        target=lambda: outcome.update(results=parallel_map(held, TASKS, seed=3, checkpoint=store))
    )
    first.start()
    try:
        assert started.wait(timeout=60)
        for tasks, seed in ((TASKS, 3), (TASKS[:4], 9)):  # the same map too: one owner at a time
            with pytest.raises(ParallelInputError, match="in use by another running map"):
                parallel_map(noisy_square, tasks, seed=seed, checkpoint=store)
    finally:
        release.set()
        first.join()
    assert_same(outcome["results"], expected_results(TASKS, 3))
    # once the first map returned, the lock is free: the other tasks are refused by the manifest
    with pytest.raises(ParallelInputError, match="holds results of other tasks"):
        parallel_map(noisy_square, TASKS[:4], seed=9, checkpoint=store)
    assert_same(parallel_map(held, TASKS, seed=3, checkpoint=store), expected_results(TASKS, 3))


def test_the_manifest_is_never_overwritten(tmp_path):
    """Created exclusively: a manifest appearing between check and write is kept, not replaced."""
    from completeness import parallel

    store = tmp_path / "checkpoint"
    store.mkdir()
    theirs = b'{"n_tasks": 2, "function": "theirs", "tasks_sha256": "0"}\n'
    assert parallel._create_exclusively(str(store / "manifest.json"), theirs)
    assert not parallel._create_exclusively(str(store / "manifest.json"), b"{}")
    assert (store / "manifest.json").read_bytes() == theirs
    assert sorted(p.name for p in store.iterdir()) == ["manifest.json"]  # no temporary left
    with pytest.raises(ParallelInputError, match="2 tasks of theirs"):
        parallel_map(noisy_square, TASKS, checkpoint=store)

"""Stopping and sharing a scan: SIGTERM leaves no worker behind and a resumable checkpoint; two
scans on one checkpoint directory never mix their results."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from completeness.cli import main

pytest.importorskip("joblib")  # the processes backend (the `parallel` extra)

ROOT = Path(__file__).resolve().parents[1]
PAIRS = '["joshi2023-two-body", "pozdnyakov2020-fig1b"]'


def write_config(path: Path, n_radial: list[int]) -> Path:
    path.write_text(
        'descriptor = "PowerSpectrum"\n'
        f"pairs = {PAIRS}\n"
        "[fixed]\ncutoff = 5.0\ndensity_width = 0.5\n"
        f"[grid]\nn_radial = {n_radial}\nmax_angular = [1, 2, 3, 4]\n"
    )
    return path


def scan_arguments(config: Path, table: Path, *options: str) -> list[str]:
    """``completeness scan CONFIG --table TABLE --figure TABLE.png --quiet OPTIONS``."""
    figure = str(table.with_suffix(".png"))
    return ["scan", str(config), "--table", str(table), "--figure", figure, "--quiet", *options]


def scan(config: Path, table: Path, *options: str) -> subprocess.Popen:
    environment = dict(
        os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    )
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from completeness.cli import main; sys.exit(main(sys.argv[1:]))",
            *scan_arguments(config, table, *options),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
        start_new_session=True,  # its own process group: every worker it starts stays in it
    )


def scan_here(config: Path, table: Path, *options: str) -> int:
    """The same scan in this process (serial, no checkpoint unless given)."""
    return main(scan_arguments(config, table, *options))


def group_members(group: int) -> list[int]:
    """PIDs of the live processes of a process group (from /proc, zombies excluded)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # state, ppid, pgrp, ...
        if int(fields[2]) == group and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def wait_until(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
def test_sigterm_stops_every_worker_and_leaves_a_resumable_checkpoint(tmp_path):
    config = write_config(tmp_path / "study.toml", [2, 3, 4, 5, 6, 7])  # 24 tasks
    checkpoint = tmp_path / "checkpoint"
    running = scan(
        config,
        tmp_path / "t.csv",
        "--backend",
        "processes",
        "--n-workers",
        "2",
        "--checkpoint",
        str(checkpoint),
    )
    group = running.pid
    # wait for the first results, and for the workers (the process group grows beyond the scan)
    assert wait_until(
        lambda: list(checkpoint.glob("task-*.pkl")) or running.poll() is not None, 300
    )
    assert running.poll() is None, running.communicate()
    workers = [pid for pid in group_members(group) if pid != running.pid]
    assert workers, "the processes backend started no worker"
    n_done = len(list(checkpoint.glob("task-*.pkl")))
    assert n_done < 24, "every task finished before the signal: nothing was interrupted"

    running.send_signal(signal.SIGTERM)
    _, stderr = running.communicate(timeout=120)
    assert running.returncode == 128 + signal.SIGTERM
    # loky's resource tracker, a process of its own, sometimes warns (two lines) that a
    # semaphore of the killed workers was already removed; everything else is the scan's
    ours = [line for line in stderr.strip().splitlines() if "resource_tracker" not in line]
    assert len(ours) == 1 and "Traceback" not in stderr, stderr
    assert "rerun to resume" in ours[0]
    survivors = group_members(group)
    assert wait_until(lambda: not group_members(group), 30), f"orphaned workers: {survivors}"
    assert not (tmp_path / "t.csv").exists()  # the table of an unfinished scan is not written

    # the checkpoint resumes: the same scan finishes, and its table equals a fresh serial run's
    assert scan_here(config, tmp_path / "t.csv", "--checkpoint", str(checkpoint)) == 0
    assert scan_here(config, tmp_path / "reference.csv") == 0
    assert (tmp_path / "t.csv").read_text() == (tmp_path / "reference.csv").read_text()


def test_two_scans_on_one_checkpoint_never_mix_their_results(tmp_path):
    """Started together on one directory: each either is refused or writes its own table."""
    configs = [
        write_config(tmp_path / f"{name}.toml", grid)
        for name, grid in (("a", [2, 3, 4]), ("b", [5, 6, 7]))
    ]
    checkpoint = tmp_path / "checkpoint"
    runs = [
        scan(
            config,
            tmp_path / f"{config.stem}.csv",
            "--checkpoint",
            str(checkpoint),
            "--backend",
            "processes",
            "--n-workers",
            "1",
        )
        for config in configs
    ]
    outcomes = [(run.wait(timeout=600), run.communicate()[1]) for run in runs]
    finished = [config for config, (code, _) in zip(configs, outcomes, strict=True) if code == 0]
    for code, stderr in outcomes:
        if code != 0:
            assert code == 2 and len(stderr.strip().splitlines()) == 1, stderr
            assert "in use by another running map" in stderr or "results of other tasks" in stderr
    assert len(finished) >= 1  # the first owner of the directory always finishes
    for config in finished:
        assert scan_here(config, tmp_path / f"{config.stem}-reference.csv") == 0
        assert (tmp_path / f"{config.stem}.csv").read_text() == (
            tmp_path / f"{config.stem}-reference.csv"
        ).read_text()
    for config, (code, _) in zip(configs, outcomes, strict=True):
        if code != 0:
            assert not (tmp_path / f"{config.stem}.csv").exists()


_SLOW_MAP = """
import sys, time
from completeness.parallel import parallel_map

def slow(task, rng):
    time.sleep(0.2)
    return task

parallel_map(slow, range(400), backend=sys.argv[1], n_workers=2, checkpoint=sys.argv[2])
"""


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
@pytest.mark.parametrize("backend", ["processes", "dask"])
def test_sigterm_during_a_map_leaves_no_worker_on_either_backend(tmp_path, backend):
    if backend == "dask":
        pytest.importorskip("distributed")
    checkpoint = tmp_path / "checkpoint"
    environment = dict(os.environ, PYTHONPATH=str(ROOT))
    running = subprocess.Popen(
        [sys.executable, "-c", _SLOW_MAP, backend, str(checkpoint)],
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
        start_new_session=True,
    )
    assert wait_until(lambda: list(checkpoint.glob("task-*.pkl")), 300), running.communicate()
    assert [pid for pid in group_members(running.pid) if pid != running.pid]
    running.send_signal(signal.SIGTERM)
    _, stderr = running.communicate(timeout=120)
    assert "stopped by SIGTERM" in stderr and "rerun to resume" in stderr, stderr
    assert wait_until(lambda: not group_members(running.pid), 30), group_members(running.pid)
    assert 0 < len(list(checkpoint.glob("task-*.pkl"))) < 400

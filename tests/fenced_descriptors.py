"""Misbehaving user descriptors of the fence and CLI tests, in a module of their own: a child
process that runs one under a timeout imports only this (numpy), not a test module."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np


def distances(positions, numbers):
    return np.sort(np.linalg.norm(positions[1:] - positions[0], axis=1))[:1]


def printing(positions, numbers):
    print("python print")
    os.write(1, b"raw write to fd 1\n")
    return distances(positions, numbers)


def exiting(positions, numbers):
    sys.exit(3)


def interrupted(positions, numbers):
    raise KeyboardInterrupt


def sleeping(positions, numbers):
    time.sleep(600)
    return distances(positions, numbers)


def raising(positions, numbers):
    raise ValueError("no features for this one")


def one_per_atom(positions, numbers):
    return np.ones(len(positions))


def stubborn(positions, numbers):
    """Starts a process of its own, writes both process ids to pids.txt, then ignores every
    exception (no signal handler can stop it)."""
    helper = subprocess.Popen(["sleep", "600"])
    with open("pids.txt", "w") as stream:
        stream.write(f"{os.getpid()} {helper.pid}")
    while True:
        try:
            time.sleep(600)
        except BaseException:  # (the point of this descriptor)
            pass

"""Misbehaving descriptors of tests/test_user_descriptor_fence.py, in a module of their own: a
child process that runs one under a timeout imports only this (numpy), not the test module."""

from __future__ import annotations

import os
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

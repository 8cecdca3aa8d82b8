"""A user's descriptor runs fenced in: prints go to stderr, sys.exit becomes an error, a hang
times out, KeyboardInterrupt stops; a length that follows the atom count is flagged."""

from __future__ import annotations

import os
import sys
import threading
import time

import ase
import numpy as np
import pytest

from completeness.analysis.report import catalog_pairs, report_card
from completeness.descriptors.user import DescriptorError, DescriptorTimeout, as_descriptor
from completeness.environments import InputError

ATOMS = ase.Atoms("CH2", positions=[[0, 0, 0], [1.0, 0, 0], [0, 1.2, 0]])


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


def one_per_atom(positions, numbers):
    return np.ones(len(positions))


def test_what_a_descriptor_prints_goes_to_stderr(capfd):
    values = as_descriptor(printing).compute(ATOMS, centers=[0]).values
    np.testing.assert_allclose(values, [[1.0]])
    out, err = capfd.readouterr()
    assert out == ""
    assert "python print" in err and "raw write to fd 1" in err
    print("after")  # stdout is restored
    assert capfd.readouterr().out == "after\n"


def test_sys_exit_in_a_descriptor_is_an_error_and_a_finding():
    with pytest.raises(DescriptorError, match=r"called sys\.exit\(3\)"):
        as_descriptor(exiting).compute(ATOMS, centers=[0])
    card = report_card(exiting, pairs=catalog_pairs()[:2], timings=False)
    assert [v.verdict for v in card.verdicts] == ["error", "error"]
    assert any("sys.exit(3)" in message for _, message in card.findings)


def test_keyboard_interrupt_in_a_descriptor_stops():
    with pytest.raises(KeyboardInterrupt):
        as_descriptor(interrupted).compute(ATOMS, centers=[0])


def test_a_hanging_descriptor_times_out_once():
    user = as_descriptor(sleeping, timeout=0.2)
    start = time.monotonic()
    with pytest.raises(DescriptorTimeout, match=r"did not return within 0\.2 s"):
        user.compute(ATOMS, centers=[0])
    # later calls, also through re-wrappings, fail at once with the same message
    with pytest.raises(DescriptorTimeout, match="did not return"):
        as_descriptor(user).compute(ATOMS, centers=[0])
    card = report_card(user, pairs=catalog_pairs()[:2], timings=False)
    assert time.monotonic() - start < 60  # (not 600 s: the sleep was interrupted)
    assert all(v.verdict == "error" for v in card.verdicts)
    assert as_descriptor(distances, timeout=5).compute(ATOMS, centers=[0]).values.shape == (1, 1)


def test_the_timeout_works_outside_the_main_thread():
    caught = []

    def run():
        try:
            as_descriptor(sleeping, timeout=0.2).compute(ATOMS, centers=[0])
        except DescriptorTimeout as error:
            caught.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    assert not thread.is_alive() and len(caught) == 1


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), "soon", True])
def test_bad_timeouts_are_refused(timeout):
    with pytest.raises(InputError, match="timeout must be a positive number of seconds"):
        as_descriptor(distances, timeout=timeout)


def test_a_length_that_follows_the_atom_count_is_flagged_on_the_card():
    card = report_card(one_per_atom, pairs=catalog_pairs()[:2], timings=False)
    assert card.sections["structure"]["fixed_length"] is False
    assert card.sections["structure"]["n_features_by_neighbours"] == {"2": 3, "6": 7, "20": 21}
    assert ("structure", "n_features changes with the neighbours: [3, 7, 21]") in card.findings

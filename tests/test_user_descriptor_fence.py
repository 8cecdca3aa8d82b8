"""A user's descriptor runs fenced in: prints go to stderr, sys.exit becomes an error, a hang
times out (the code runs in a child process that is killed), KeyboardInterrupt stops; a length
that follows the atom count is flagged."""

from __future__ import annotations

import threading
import time

import ase
import numpy as np
import pytest
from fenced_descriptors import (
    distances,
    exiting,
    interrupted,
    one_per_atom,
    printing,
    raising,
    sleeping,
)

from completeness.analysis.report import catalog_pairs, report_card
from completeness.descriptors.user import DescriptorError, DescriptorTimeout, as_descriptor
from completeness.environments import InputError

ATOMS = ase.Atoms("CH2", positions=[[0, 0, 0], [1.0, 0, 0], [0, 1.2, 0]])


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


def test_under_a_timeout_the_child_answers_as_the_function_would(capfd):
    """With a timeout the code runs in a child process: values, prints, exceptions, sys.exit and
    KeyboardInterrupt come back as they do without one."""
    values = as_descriptor(printing, timeout=60).compute([ATOMS, ATOMS], centers=[0]).values
    np.testing.assert_allclose(values, [[1.0], [1.0]])
    out, err = capfd.readouterr()
    assert out == "" and err.count("python print") == 2 and "raw write to fd 1" in err
    with pytest.raises(ValueError, match="no features for this one"):
        as_descriptor(raising, timeout=60).compute(ATOMS, centers=[0])
    with pytest.raises(DescriptorError, match=r"called sys\.exit\(3\)"):
        as_descriptor(exiting, timeout=60).compute(ATOMS, centers=[0])
    with pytest.raises(KeyboardInterrupt):
        as_descriptor(interrupted, timeout=60).compute(ATOMS, centers=[0])


def test_a_descriptor_that_cannot_reach_a_child_process_is_refused_in_one_line():
    def local(positions, numbers):
        return positions[1]

    for descriptor in (lambda positions, numbers: positions[1], local):
        with pytest.raises(DescriptorError, match="cannot be sent to the child process") as error:
            as_descriptor(descriptor, timeout=5).compute(ATOMS, centers=[0])
        assert "define it at the top level" in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), "soon", True])
def test_bad_timeouts_are_refused(timeout):
    with pytest.raises(InputError, match="timeout must be a positive number of seconds"):
        as_descriptor(distances, timeout=timeout)


def test_a_length_that_follows_the_atom_count_is_flagged_on_the_card():
    card = report_card(one_per_atom, pairs=catalog_pairs()[:2], timings=False)
    assert card.sections["structure"]["fixed_length"] is False
    assert card.sections["structure"]["n_features_by_neighbours"] == {"2": 3, "6": 7, "20": 21}
    assert ("structure", "n_features changes with the neighbours: [3, 7, 21]") in card.findings

"""Run one library call in a child Python process and bring its arrays back.

Some libraries cannot be trusted with the caller's process: quippy (Fortran) keeps global
state between calls, and a fatal error in compiled code (a Fortran stop, an abort, a
segmentation fault) would take the session down with it. :func:`run_isolated` runs
``function(**inputs)`` from a
standalone worker file in a fresh interpreter:

- the inputs go in as a pickle in a private temporary directory, the result (a dict of numpy
  arrays) comes back through ``numpy.savez`` in the same directory (no pickle on the way back);
- an exception raised by the library becomes :class:`PeerError` with the exception's type and
  message (quippy's include its Fortran traceback);
- a non-zero exit status or a signal becomes :class:`PeerCrash`, whose message carries the exit
  status (or the signal's name) and the last lines of the child's stderr and stdout: the
  library's own words;
- the worker file is run as a script (``python _runner.py WORKER FUNCTION DIR``), so the child
  imports only numpy, ase and the library, not ``completeness``.

This module imports nothing of the package but its error base when imported (not when run as a
script): it is both the parent's helper and the child's
entry point.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import tempfile

if __package__:  # imported by the parent: its errors are the package's errors
    from ...errors import CompletenessError

    _ERROR_BASES: tuple = (CompletenessError, RuntimeError)
else:  # run as the child's script: never raises these, imports nothing of the package
    _ERROR_BASES = (RuntimeError,)

__all__ = ["PeerCrash", "PeerError", "run_isolated"]

_TAIL_LINES = 6
#: Exit status of a child whose library raised an exception (reported as PeerError).
_RAISED = 3


class PeerError(*_ERROR_BASES):
    """A wrapped library raised an exception in the child process (its type and message are
    in this exception's message)."""


class PeerCrash(*_ERROR_BASES):
    """A wrapped library ended its process (non-zero exit status or signal)."""

    def __init__(self, message: str, *, returncode: int, stderr: str, stdout: str):
        super().__init__(message)
        self.returncode = returncode
        self.stderr = stderr
        self.stdout = stdout


def _tail(text: str) -> str:
    """The library's message: from the last exception line of a Python traceback on (quippy
    appends its Fortran traceback there), else the last lines; non-printable bytes dropped."""
    import re

    # lines of one or two characters are stray bytes after Fortran's padded messages
    lines = [line for line in (clean_line(raw) for raw in text.splitlines()) if len(line) > 2]
    starts = [
        k for k, line in enumerate(lines) if re.match(r"^[A-Za-z_.]+(Error|Exception|Exit)\b", line)
    ]
    if starts:
        lines = lines[starts[-1] :]
        return " | ".join(lines[:_TAIL_LINES])
    return " | ".join(lines[-_TAIL_LINES:])


def clean_line(line: str) -> str:
    """One line without non-printable characters (Fortran pads its messages) and runs of blanks."""
    import re

    line = "".join(ch for ch in line if ch.isprintable() and ch != "\ufffd")
    line = re.split(r"\s{20,}", line)[0]  # Fortran's fixed-length padding, then stray bytes
    return re.sub(r"\s+", " ", line).strip()


def run_isolated(worker_file: str, function: str, inputs: dict, *, label: str, timeout=600):
    """``function(**inputs)`` from ``worker_file`` in a child interpreter; returns its dict.

    Parameters
    ----------
    worker_file : str
        Path of a standalone Python file defining ``function``; the function returns a dict of
        numpy arrays (strings as arrays of ``str``).
    function : str
    inputs : dict
        Picklable keyword arguments (plain numbers, lists and numpy arrays).
    label : str
        Names the library call in error messages, e.g. ``"quippy soap"``.
    timeout : float
        Seconds before the child is killed (a hung library becomes a :class:`PeerCrash`).

    Raises
    ------
    PeerCrash
        The child exited with a non-zero status, was killed by a signal, or timed out.
    """
    import numpy as np

    with tempfile.TemporaryDirectory(prefix="completeness-peer-") as directory:
        with open(os.path.join(directory, "inputs.pkl"), "wb") as handle:
            pickle.dump(inputs, handle)
        command = [sys.executable, os.path.abspath(__file__), worker_file, function, directory]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired as error:
            raise PeerCrash(
                f"{label} did not finish within {timeout} s (killed)",
                returncode=-9,
                stderr=str(error.stderr or ""),
                stdout=str(error.stdout or ""),
            ) from None
        raised = os.path.join(directory, "raised.txt")
        if done.returncode == _RAISED and os.path.exists(raised):
            with open(raised, encoding="utf-8") as handle:
                message = _tail(handle.read())
            raise PeerError(f"{label} raised {message}")
        if done.returncode != 0:
            if done.returncode < 0:
                try:
                    how = f"was killed by signal {signal.Signals(-done.returncode).name}"
                except ValueError:
                    how = f"was killed by signal {-done.returncode}"
            else:
                how = f"ended the process with exit status {done.returncode}"
            said = _tail(done.stderr) or _tail(done.stdout) or "(nothing on stderr or stdout)"
            raise PeerCrash(
                f"{label} {how}: {said}",
                returncode=done.returncode,
                stderr=done.stderr,
                stdout=done.stdout,
            )
        with np.load(os.path.join(directory, "outputs.npz"), allow_pickle=False) as data:
            return {key: data[key] for key in data.files}


def _child(worker_file: str, function: str, directory: str) -> None:
    import importlib.util

    import numpy as np

    spec = importlib.util.spec_from_file_location("_completeness_peer_worker", worker_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with open(os.path.join(directory, "inputs.pkl"), "rb") as handle:
        inputs = pickle.load(handle)
    try:
        result = getattr(module, function)(**inputs)
    except Exception as error:  # the library raised: pass its type and message to the parent
        with open(os.path.join(directory, "raised.txt"), "w", encoding="utf-8") as handle:
            handle.write(f"{type(error).__name__}: {error}")
        sys.exit(_RAISED)
    np.savez(os.path.join(directory, "outputs.npz"), **result)


if __name__ == "__main__":
    # Python put this file's directory first on sys.path: it holds featomic.py, dscribe.py and
    # quippy.py (the wrappers), which would shadow the libraries themselves
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]
    _child(*sys.argv[1:4])

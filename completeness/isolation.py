"""Calls of one object in a child process that a time limit can stop for real.

:class:`Isolated` keeps a child Python process that holds the object (started at the first call,
reused by later ones). Each call sends the method's name and arguments (pickled) and waits at
most ``timeout`` seconds for the answer; when the time is up, the child and everything it
started (its own process group) are killed with SIGKILL. A call stuck anywhere — a sleep, a loop
inside a C extension that never returns to Python, code that swallows every exception — stops,
and nothing keeps running behind the caller. The child also dies with its caller: on Linux the
kernel kills it when the caller exits (``PR_SET_PDEATHSIG``), elsewhere a watcher thread ends it.
The caller's own exit and a Ctrl-C while it waits kill the child as well.

What the child prints goes to the caller's stderr, never to its stdout. ``SystemExit`` and
``KeyboardInterrupt`` raised by the object come back as themselves; other exceptions come back
as themselves when they pickle, else as :class:`IsolationError` with their text.

The object travels by pickle, into an interpreter prepared like a ``multiprocessing`` "spawn"
child (the caller's ``sys.path``, working directory and main script): a function or instance
defined at the top of a module or script works; a lambda or a function defined inside another
one does not (:class:`IsolationError` says so at the first call).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
import threading
import weakref
from multiprocessing import spawn
from pathlib import Path

from .errors import CompletenessError, one_line

__all__ = ["Isolated", "IsolationError", "TimeLimit"]

#: seconds the child may take to start and load the object (imports), beside the call's limit
START_SECONDS = 120.0
_HEADER = struct.Struct("!Q")
_RUNNING: weakref.WeakSet = weakref.WeakSet()


class IsolationError(CompletenessError):
    """The child could not load the object, died, or returned something that does not pickle."""


class TimeLimit(CompletenessError):
    """A call did not return within its time limit (the child was killed)."""


class Isolated:
    """``target``'s methods called in a child process (module docstring).

    Parameters
    ----------
    target : object
        Picklable (by reference or value); a plain function is called with ``method=None``.
    label : str
        Names the object in error messages.
    """

    def __init__(self, target, *, label: str):
        self.label = label
        self._target = target
        self._process: subprocess.Popen | None = None
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()  # one call at a time through the one socket

    def __getstate__(self):  # a copy (e.g. in a worker process) starts a child of its own
        return {"target": self._target, "label": self.label}

    def __setstate__(self, state):
        self.__init__(state["target"], label=state["label"])

    @property
    def pid(self) -> int | None:
        """The child's process id (None while no child runs)."""
        return None if self._process is None else self._process.pid

    def call(self, method: str | None, args=(), kwargs=None, *, timeout: float):
        """``target.method(*args, **kwargs)`` (``target(...)`` when ``method`` is None) in the
        child; :class:`TimeLimit` after ``timeout`` seconds (the child is killed first)."""
        with self._lock:
            try:
                if self._process is None:
                    self._start()
                _send(self._socket, (method, args, kwargs or {}))
                kind, value = self._receive(timeout)
            except BaseException:  # a time limit, a dead child or a Ctrl-C: no child left
                self.close()
                raise
        if kind == "value":
            return value
        if kind == "exit":
            raise SystemExit(value)
        if kind == "interrupt":
            raise KeyboardInterrupt
        raise value

    def close(self) -> None:
        """Kill the child and its process group (a later call starts a new child)."""
        process, self._process = self._process, None
        if process is not None:
            _kill(process)
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def _start(self) -> None:
        try:
            payload = pickle.dumps(self._target)
        except Exception as error:
            raise IsolationError(
                f"{self.label} cannot be sent to the child process that enforces its time limit "
                f"({one_line(error)}); define it at the top level of a module or script"
            ) from None
        ours, theirs = socket.socketpair()
        # this package importable in the child (then it takes the caller's whole sys.path)
        path = [str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, path))}
        command = "import sys, completeness.isolation as m; m._serve(*map(int, sys.argv[1:]))"
        with theirs:
            self._process = subprocess.Popen(
                [sys.executable, "-c", command, str(theirs.fileno()), str(os.getpid())],
                stdin=subprocess.DEVNULL,
                stdout=2 if _is_open(2) else subprocess.DEVNULL,  # prints: the caller's stderr
                pass_fds=[theirs.fileno()],
                start_new_session=True,  # its own process group: killed as a whole
                env=env,
            )
        self._socket = ours
        _RUNNING.add(self)
        preparation = spawn.get_preparation_data(self.label)
        preparation.pop("authkey", None)  # (multiprocessing's secret: not needed, not picklable)
        _send(ours, (preparation, payload))
        kind, value = self._receive(START_SECONDS)
        if kind != "ready":
            raise IsolationError(
                f"{self.label} could not be loaded in the child process that enforces its time "
                f"limit ({value}); define it at the top level of an importable module or script"
            )

    def _receive(self, timeout: float):
        self._socket.settimeout(timeout)
        try:
            return _recv(self._socket)
        except TimeoutError:
            raise TimeLimit(f"{self.label} did not return within {timeout:g} s") from None
        except (EOFError, ConnectionError, OSError):
            try:
                code = self._process.wait(5)
            except subprocess.TimeoutExpired:
                code = "still running"
            raise IsolationError(
                f"the child process running {self.label} ended (exit status {code}) without "
                "an answer; see its message above"
            ) from None
        except Exception as error:  # a returned value or exception that does not unpickle here
            message = f"{self.label} returned something unreadable here: {one_line(error)}"
            raise IsolationError(message) from None


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def _kill(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@atexit.register
def _close_all() -> None:
    for isolated in list(_RUNNING):
        isolated.close()


def _send(sock: socket.socket, message) -> None:
    data = pickle.dumps(message)
    sock.sendall(_HEADER.pack(len(data)) + data)


def _recv(sock: socket.socket):
    (size,) = _HEADER.unpack(_read(sock, _HEADER.size))
    sock.settimeout(None)  # the answer is on its way: read it whole
    return pickle.loads(_read(sock, size))


def _read(sock: socket.socket, size: int) -> bytes:
    chunks, remaining = [], size
    while remaining:
        chunk = sock.recv(min(remaining, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


# ---- the child ----------------------------------------------------------------------------------


def _serve(fd: int, parent: int) -> None:
    """The child's loop: load the object, then answer calls until the caller goes away."""
    _die_with(parent)
    sock = socket.socket(fileno=fd)
    preparation, payload = _recv(sock)
    try:
        spawn.prepare(preparation)
        target = pickle.loads(payload)
    except BaseException as error:  # reported to the caller in one line
        _send(sock, ("error", one_line(error)))
        return
    _send(sock, ("ready", None))
    while True:
        try:
            method, args, kwargs = _recv(sock)
        except (EOFError, OSError):
            return
        function = target if method is None else getattr(target, method)
        try:
            reply = ("value", function(*args, **kwargs))
        except SystemExit as stop:
            reply = ("exit", stop.code)
        except KeyboardInterrupt:
            reply = ("interrupt", None)
        except BaseException as error:  # handed to the caller
            reply = ("error", error)
        try:
            _send(sock, reply)
        except Exception as error:  # an answer that does not pickle
            text = one_line(reply[1]) if reply[0] == "error" else one_line(error)
            _send(sock, ("error", IsolationError(f"unpicklable answer: {text}")))


def _die_with(parent: int) -> None:
    """End this process when ``parent`` exits (Linux: by the kernel; elsewhere: a watcher)."""
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(1)

    def watch():
        while os.getppid() == parent:
            threading.Event().wait(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="completeness-parent-watch").start()

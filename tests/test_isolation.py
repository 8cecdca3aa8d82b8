"""The child process of completeness.isolation: stopped by its time limit, gone with its caller."""

from __future__ import annotations

import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from completeness.isolation import Isolated, IsolationError, TimeLimit

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie waiting to be reaped does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def gone(pid: int, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


def test_a_call_past_its_limit_kills_the_child_and_the_next_call_starts_a_new_one():
    isolated = Isolated(time.sleep, label="time.sleep")
    assert isolated.call(None, (0,), timeout=60) is None
    first = isolated.pid
    with pytest.raises(TimeLimit, match=r"time\.sleep did not return within 0\.5 s"):
        isolated.call(None, (600,), timeout=0.5)
    assert isolated.pid is None and gone(first)
    assert isolated.call(None, (0,), timeout=60) is None and isolated.pid != first
    isolated.close()


def test_errors_come_back_as_themselves_and_a_copy_has_no_child():
    isolated = Isolated(int, label="int")
    with pytest.raises(ValueError, match="invalid literal"):
        isolated.call(None, ("x",), timeout=60)
    copy = pickle.loads(pickle.dumps(isolated))
    assert copy.pid is None and copy.call(None, ("7",), timeout=60) == 7
    isolated.close()
    copy.close()
    with pytest.raises(IsolationError, match="cannot be sent to the child process"):
        Isolated(lambda: 0, label="a lambda").call(None, timeout=60)


CALLER = """
import threading, time
from completeness.isolation import Isolated
isolated = Isolated(time.sleep, label="sleep")
threading.Thread(target=isolated.call, args=(None, (600,)), kwargs={"timeout": 600},
                 daemon=True).start()
while isolated.pid is None:
    time.sleep(0.01)
print(isolated.pid, flush=True)
time.sleep(600)
"""


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_the_child_ends_with_its_caller(how):
    """Killed (SIGKILL: no clean-up runs in the caller) or terminated, the caller takes its
    child along: nothing is left sleeping."""
    caller = subprocess.Popen([sys.executable, "-c", CALLER], stdout=subprocess.PIPE, text=True)
    try:
        child = int(caller.stdout.readline())
        assert alive(child)
        caller.send_signal(how)
        caller.wait(60)
        assert gone(child), f"child {child} survived its caller"
    finally:
        caller.kill()
        caller.wait()

"""Progress bars for every step that can take more than a couple of seconds.

:func:`progress_bar` is ``tqdm.auto``: a widget in Jupyter, a bar on a terminal, and in a log
file (stderr redirected) a line at most every :data:`LOG_INTERVAL` seconds rather than a
redraw every 0.1 s. Functions of the package take ``progress=True``/``False``; the command line
turns every bar off with ``--quiet``.
"""

from __future__ import annotations

import sys

__all__ = ["LOG_INTERVAL", "progress_bar"]

#: Seconds between two lines of a bar written to a file (not a terminal, not a notebook).
LOG_INTERVAL = 10.0


def _interactive() -> bool:
    if sys.stderr.isatty():
        return True
    shell = sys.modules.get("IPython")
    return shell is not None and getattr(shell, "get_ipython", lambda: None)() is not None


def progress_bar(iterable=None, *, enabled: bool = True, **options):
    """A ``tqdm.auto`` bar over ``iterable`` (``options`` go to tqdm: ``total``, ``desc``,
    ``unit``, ``initial``...); ``enabled=False`` returns a silent one."""
    from tqdm.auto import tqdm

    options.setdefault("mininterval", 0.1 if _interactive() else LOG_INTERVAL)
    options.setdefault("leave", False)
    return tqdm(iterable, disable=not enabled, **options)

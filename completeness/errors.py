"""The package's error types and their one-line formatting.

Every error a user can cause (bad input, a failed task, a wrapped library that raised or
crashed) is a :class:`CompletenessError`; the command line catches exactly this type and prints
one line with exit status 2. Anything else is a bug and keeps its traceback.

This module imports nothing from the package: every layer may raise these errors.
"""

from __future__ import annotations

__all__ = ["CompletenessError", "InputError", "first_line", "one_line"]


class CompletenessError(Exception):
    """Base of every error the package raises on purpose (message: one line, names the fix)."""


class InputError(CompletenessError, ValueError):
    """Bad input: the message names the problem and how to fix it (one line)."""


def first_line(error: BaseException, default: str | None = None) -> str:
    """The first non-empty line of ``str(error)``; ``default`` (the type's name if not given)
    for an error without a message. Used wherever a foreign exception becomes one line."""
    lines = str(error).strip().splitlines()
    if lines:
        return lines[0]
    return type(error).__name__ if default is None else default


def one_line(error: BaseException) -> str:
    """``"Type: first line"`` of ``error`` (just the type's name when it has no message): how a
    foreign exception is reported in a finding or a table cell."""
    message = first_line(error, default="")
    return f"{type(error).__name__}: {message}" if message else type(error).__name__

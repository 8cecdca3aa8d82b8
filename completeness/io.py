"""One home for writing files: atomic writes with normal permissions and JSON-safe conversion.

:func:`write_atomically` writes through a temporary file in the target's directory and renames
it into place, so a reader never sees a half-written file and a failed write leaves nothing
behind. The temporary file is created with mode 0666 filtered by the process umask, i.e. the
permissions any ``open(path, "w")`` would give (``tempfile.mkstemp`` would give 0600).
"""

from __future__ import annotations

import json
import math
import os
import secrets

import numpy as np

from .errors import InputError, first_line

__all__ = [
    "check_output",
    "check_outputs",
    "fill_generated",
    "json_safe",
    "json_text",
    "read_config",
    "write_atomically",
    "write_bytes",
    "write_json",
    "write_text",
    "write_together",
]


def json_safe(value):
    """``value`` with numpy scalars/arrays as Python numbers/lists, tuples as lists, keys as
    strings and non-finite floats as ``None`` (strict JSON has no NaN or infinity)."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.generic):
        return value.item()
    return value


def json_text(data, indent: int = 1, **options) -> str:
    """``data`` as JSON text ending in a newline (``options`` go to :func:`json.dumps`)."""
    return json.dumps(data, indent=indent, **options) + "\n"


def _temporary_beside(path: str) -> str:
    """Create an empty temporary file next to ``path`` (umask-respecting mode) and name it."""
    directory, name = os.path.split(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise InputError(f"cannot write {path!r}: directory {directory!r} does not exist")
    for _ in range(100):
        temporary = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.tmp")
        try:
            handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(handle)
        return temporary
    raise FileExistsError(f"cannot create a temporary file beside {path!r}")  # pragma: no cover


def write_atomically(path, write) -> None:
    """Call ``write(temporary_path)``, then rename the temporary file to ``path``.

    ``write`` may be any writer that takes a path (``figure.savefig``, ``ase.io.write``...). If it
    raises, the temporary file is removed and ``path`` is left as it was.
    """
    path = os.fspath(path)
    temporary = _temporary_beside(path)
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def write_text(path, text: str, *, sync: bool = False) -> None:
    """``text`` (UTF-8) at ``path``, atomically; ``sync`` also flushes it to the disk first."""

    def write(temporary):
        with open(temporary, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
            if sync:
                stream.flush()
                os.fsync(stream.fileno())

    write_atomically(path, write)


def write_bytes(path, data: bytes, *, sync: bool = False) -> None:
    """``data`` at ``path``, atomically; ``sync`` also flushes it to the disk first."""

    def write(temporary):
        with open(temporary, "wb") as stream:
            stream.write(data)
            if sync:
                stream.flush()
                os.fsync(stream.fileno())

    write_atomically(path, write)


def write_json(path, data, indent: int = 1, **options) -> None:
    """``data`` as JSON at ``path``, written atomically."""
    write_text(path, json_text(data, indent=indent, **options))


# --------------------------------------------------------------------------------------------
# the outputs of one command: checked before any work, written together at the end
# --------------------------------------------------------------------------------------------


def check_output(path, flag: str = "output", *, directory: bool = False) -> str:
    """``path`` as a string once it is known to be writable; :class:`InputError` otherwise.

    Checked before any work starts: the path is not an existing directory (or, with
    ``directory=True``, not an existing file), its parent directory exists, and a file can be
    created there (a probe file is created and removed: this catches read-only and virtual file
    systems such as ``/proc`` that permission bits do not).
    """
    path = os.fspath(path)
    absolute = os.path.abspath(path)
    if directory and os.path.exists(absolute) and not os.path.isdir(absolute):
        raise InputError(f"{flag} {path}: is a file, not a directory; give a directory")
    if not directory and os.path.isdir(absolute):
        raise InputError(f"{flag} {path}: is a directory; give a file name inside it")
    parent = os.path.dirname(absolute)
    if not os.path.isdir(parent):
        raise InputError(f"{flag} {path}: directory {parent!r} does not exist; create it first")
    try:
        os.remove(_temporary_beside(absolute))
    except OSError as error:
        raise InputError(
            f"{flag} {path}: cannot create files in {parent!r} ({error.strerror or error}); "
            "choose a writable directory"
        ) from None
    return path


def check_outputs(outputs: dict, *, stdout: str | None = "-") -> dict:
    """Check every ``{flag: path}`` (``None`` and ``stdout`` are skipped) and that no two flags
    name the same file; return the checked ``{flag: path}``."""
    checked = {}
    seen = {}
    for flag, path in outputs.items():
        if path is None or (stdout is not None and path == stdout):
            continue
        checked[flag] = check_output(path, flag)
        key = os.path.realpath(path)
        if key in seen:
            raise InputError(f"{seen[key]} and {flag} both name {path}; give different files")
        seen[key] = flag
    return checked


def write_together(outputs: dict) -> list[str]:
    """Write ``{path: content}`` all or nothing; return the paths.

    ``content`` is text, bytes, or a callable ``write(temporary_path)``. Every file is first
    written to a temporary file beside its target; only when all of them succeeded are they
    renamed into place. A failing write removes every temporary file, leaves every target as it
    was, and raises a one-line :class:`InputError` naming the file.
    """
    temporaries = {}
    try:
        for path, content in outputs.items():
            try:
                temporary = temporaries[path] = _temporary_beside(os.fspath(path))
                _write_content(temporary, content)
            except OSError as error:
                raise InputError(
                    f"cannot write {os.fspath(path)}: {error.strerror or error}; nothing was "
                    "written"
                ) from None
        for path, temporary in temporaries.items():
            os.replace(temporary, path)
    finally:
        for temporary in temporaries.values():
            if os.path.exists(temporary):
                os.remove(temporary)
    return [os.fspath(path) for path in outputs]


def _write_content(temporary: str, content) -> None:
    if callable(content):
        content(temporary)
        return
    mode, options = ("wb", {}) if isinstance(content, bytes) else ("w", {"encoding": "utf-8"})
    with open(temporary, mode, **options) as stream:
        stream.write(content)


def read_config(path, what: str = "config") -> dict:
    """The contents of a ``.json`` or ``.toml`` file as a dict; one-line errors otherwise.

    ``what`` names the file in messages ("study config", "benchmark config"). TOML needs
    ``tomllib`` (Python >= 3.11) or the ``tomli`` package.
    """
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} {str(path)!r} does not exist; check the path")
    if path.suffix not in (".json", ".toml"):
        raise InputError(f"{what} {str(path)!r} must end in .json or .toml (got {path.suffix!r})")
    text = path.read_text()
    try:
        if path.suffix == ".json":
            data = json.loads(text)
        else:
            try:
                import tomllib
            except ImportError:  # Python 3.10
                import tomli as tomllib
            data = tomllib.loads(text)
    except ValueError as error:  # JSONDecodeError and TOMLDecodeError are ValueErrors
        raise InputError(f"cannot parse {what} {str(path)!r}: {first_line(error, '')}") from None
    if not isinstance(data, dict):
        raise InputError(f"{what} {str(path)!r} must hold a table/object at the top level")
    return data


def fill_generated(path, sections: dict) -> None:
    """Replace the text between ``<!-- generated: NAME -->`` and ``<!-- end: NAME -->`` in the
    file ``path`` by ``sections[NAME]`` for every NAME (generated documentation pages).

    Raises :class:`InputError` when a marker pair is missing; the file is rewritten atomically.
    """
    import re

    text = open(path, encoding="utf-8").read()
    for name, body in sections.items():
        pattern = re.compile(
            rf"(<!-- generated: {re.escape(name)} -->\n).*?(<!-- end: {re.escape(name)} -->)",
            flags=re.DOTALL,
        )
        if not pattern.search(text):
            raise InputError(f"{path} has no '<!-- generated: {name} -->' ... end markers")
        text = pattern.sub(lambda match, body=body: match.group(1) + body + match.group(2), text)
    write_text(path, text)

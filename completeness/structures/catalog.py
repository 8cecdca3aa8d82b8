"""Write the catalog of degenerate pairs: extxyz files, ``index.json`` and a README table.

Layout of the output directory (``structures/`` at the top of the repository)::

    <name>.extxyz    both members of one pair: frame 0 is "+", frame 1 is "-"
    index.json       every pair: name, class, file, atom count, claim, parameters, reference
    README.md        a table (name, class, number of atoms, claim, source with DOI)

``ase.io.read(path, index=":")`` returns the two members with their ``info``: ``family``,
``pair``, ``member`` ("+" or "-"), ``claim_*`` fields, ``params`` (JSON) and ``reference``.

The output is byte-for-byte reproducible: positions are written by ase's extxyz writer with a
fixed format (8 decimals; negative zeros removed), JSON with sorted keys and a fixed indent,
and nothing depends on time or the machine. Every pair is checked with
:func:`completeness.structures.verify` before anything is written, the files are written to a
staging directory next to the destination, and the destination is replaced only once everything
succeeded (no half-written catalog).

Replacing a directory: the staging directory and the destination are exchanged in one atomic
``renameat2(RENAME_EXCHANGE)`` (Linux), so the destination is never missing, not even for an
instant; where the kernel or file system cannot exchange, two renames are used and a run killed
between them is repaired by the next run (the previous catalog is moved back). Staging and
retired directories carry the writer's process id and are removed by the next run once that
process is gone. Concurrent writers into one parent directory take turns (an ``flock`` on the
parent directory). A destination that is the working directory (``--out .``) or contains it is
updated file by file instead (renaming it would strand the shell in a deleted directory).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from urllib.parse import quote

import ase.io
import numpy as np

from ..environments import InputError
from . import load, names, verify

__all__ = [
    "CATALOG_FORMAT",
    "catalog_entries",
    "pair_entry",
    "write_catalog",
    "write_catalog_files",
]

CATALOG_FORMAT = "completeness-catalog/1"
_CATALOG_FILES = re.compile(r"^(index\.json|README\.md|[a-z0-9][a-z0-9.-]*\.extxyz)$")


def _claim_text(claim) -> str:
    if claim.scope == "environment":
        if claim.equal_up_to_o3 >= claim.max_checked:
            o3 = f"O(3) equal at every order <= {claim.max_checked}"
        else:
            o3 = f"O(3) equal to {claim.equal_up_to_o3}-body, differs at {claim.equal_up_to_o3 + 1}"
        if claim.equal_up_to_so3 >= claim.max_checked:
            so3 = f"SO(3) equal at every order <= {claim.max_checked}"
        else:
            so3 = (
                f"SO(3) equal to {claim.equal_up_to_so3}-body, differs at "
                f"{claim.equal_up_to_so3 + 1}"
            )
        return f"{o3}; {so3}"
    distances = "equal" if claim.equal_up_to_o3 >= 2 else "different"
    graph = "complete graph" if claim.wl_cutoff is None else f"cutoff {claim.wl_cutoff:g} Å"
    if claim.wl_iteration is None:
        wl = f"never separates within {claim.wl_max_iterations} iterations"
    else:
        wl = f"separates at iteration {claim.wl_iteration}"
    text = f"global: distance multisets {distances}; 1-WL ({graph}) {wl}"
    if claim.equivariant_hops is not None:
        text += f"; equivariant: {claim.equivariant_hops} hops (source)"
    return text


def _dois(reference: str) -> list[str]:
    dois = []
    for doi in re.findall(r"doi:\s*(10\.[^\s;,]+)", reference):
        doi = doi.rstrip(".")
        while doi.endswith(")") and doi.count(")") > doi.count("("):
            doi = doi[:-1]  # a closing parenthesis of the surrounding text
        dois.append(doi)
    return list(dict.fromkeys(dois))


def catalog_entries(pair_names=None, *, check: bool = True) -> list[tuple[dict, object]]:
    """``(index entry, DegeneratePair)`` for each registered pair (verified when ``check``)."""
    entries = []
    for name in names() if pair_names is None else pair_names:
        pair = load(name)
        if pair.name != name:
            raise InputError(f"registry entry {name!r} builds a pair named {pair.name!r}")
        if check:
            verify(pair)
        entries.append((pair_entry(pair), pair))
    return entries


def pair_entry(pair) -> dict:
    """The ``index.json`` entry of one pair (name, class, file, claim, parameters, source)."""
    return {
        "name": pair.name,
        "class": pair.family,
        "file": f"{pair.name}.extxyz",
        "n_atoms": len(pair.plus),
        "claim": pair.claim.as_dict(),
        "claim_text": _claim_text(pair.claim),
        "params": pair.params,
        "reference": pair.reference,
        "dois": _dois(pair.reference),
    }


def write_catalog_files(directory, entries) -> list[Path]:
    """The pair files, ``index.json`` and ``README.md`` of ``entries`` (``(entry, pair)`` from
    :func:`pair_entry`) into the existing ``directory``; returns the written paths."""
    directory = Path(directory)
    paths = []
    for entry, pair in entries:
        paths.append(directory / entry["file"])
        ase.io.write(paths[-1], [_clean(pair.plus), _clean(pair.minus)], format="extxyz")
    index = {"format": CATALOG_FORMAT, "pairs": [entry for entry, _pair in entries]}
    (directory / "index.json").write_text(
        json.dumps(index, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (directory / "README.md").write_text(_readme(entries), encoding="utf-8")
    return [*paths, directory / "index.json", directory / "README.md"]


def _clean(atoms):
    copy = atoms.copy()
    # round away representation noise below the written precision and remove negative zeros,
    # so the text is identical on every machine
    copy.positions = np.round(atoms.positions, 10) + 0.0
    copy.info = dict(atoms.info)
    return copy


def _readme(entries) -> str:
    lines = [
        "# Catalog of degenerate pairs",
        "",
        "Generated by `completeness catalog` from `completeness/structures/`; do not edit by hand.",
        "Each `<name>.extxyz` holds the two members (frame 0: `+`, frame 1: `-`); read them with",
        "`ase.io.read(path, index=':')`. The centre of environment-scope pairs is atom 0 and",
        "every other atom is a neighbour; global pairs are whole clouds. Claims are checked by",
        "`completeness.structures.verify` (the basis-free oracle) when the catalog is written.",
        "",
        "| name | class | atoms | claim | source |",
        "|---|---|---|---|---|",
    ]
    for entry, _pair in entries:
        source = ", ".join(
            f"[doi:{doi}](https://doi.org/{quote(doi, safe='/')})" for doi in entry["dois"]
        )
        lines.append(
            f"| `{entry['name']}` | {entry['class']} | {entry['n_atoms']} | "
            f"{entry['claim_text']} | {source} |"
        )
    lines += ["", "## Claims in words", ""]
    for entry, pair in entries:
        lines.append(f"- `{entry['name']}`: {pair.claim.statement}.")
    lines += ["", "## References", ""]
    for entry, _pair in entries:
        lines.append(f"- `{entry['name']}`: {entry['reference']}")
    return "\n".join(lines) + "\n"


def _check_destination(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} exists and is not a directory; choose another --out")
    if out.is_dir():
        foreign = sorted(p.name for p in out.iterdir() if not _CATALOG_FILES.match(p.name))
        if foreign:
            raise InputError(
                f"{out} contains files that are not part of a catalog ({', '.join(foreign[:3])}"
                "); refusing to replace it: choose an empty or catalog directory for --out"
            )


def write_catalog(out="structures", pair_names=None) -> list[Path]:
    """Verify every pair and write the catalog to ``out``; return the written paths.

    The files are first written to a staging directory next to ``out``, which then replaces
    ``out`` (module docstring: never edited in place, never missing).
    """
    out = Path(os.path.abspath(out))
    _check_destination(out)
    entries = catalog_entries(pair_names)
    out.parent.mkdir(parents=True, exist_ok=True)
    with _parent_locked(out.parent):
        _clean_stale(out)
        _check_destination(out)  # (again: another writer may have run meanwhile)
        staging = Path(tempfile.mkdtemp(prefix=_prefix(out, "staging"), dir=out.parent))
        try:
            write_catalog_files(staging, entries)
            os.chmod(staging, 0o755)
            _install(staging, out)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return [out / entry["file"] for entry, _pair in entries] + [
        out / "index.json",
        out / "README.md",
    ]


def _prefix(out: Path, kind: str) -> str:
    """``.<name>-<kind>-<pid>-``: the pid tells a later run whether the writer is still alive."""
    return f".{out.name}-{kind}-{os.getpid()}-"


@contextlib.contextmanager
def _parent_locked(parent: Path):
    """An exclusive ``flock`` on the parent directory itself (nothing is left behind)."""
    import fcntl

    descriptor = os.open(parent, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clean_stale(out: Path) -> None:
    """Remove staging/retired directories of writers that are gone; restore a stranded catalog."""
    pattern = re.compile(rf"^\.{re.escape(out.name)}-(staging|old)-(\d+)-")
    for path in sorted(out.parent.iterdir()):
        match = pattern.match(path.name)
        if not match or not path.is_dir() or _alive(int(match.group(2))):
            continue
        retired = path / out.name
        if match.group(1) == "old" and retired.is_dir() and not out.exists():
            os.rename(retired, out)  # killed between the two renames: put the catalog back
        shutil.rmtree(path, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2``); False where unsupported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _install(staging: Path, out: Path) -> None:
    """Make ``staging``'s files the content of ``out``; ``staging`` is left for removal."""
    if not out.exists():
        os.rename(staging, out)
        return
    cwd = Path(os.getcwd())
    if cwd == out or out in cwd.parents:
        _install_in_place(staging, out)
    elif not _exchange(staging, out):
        retired = Path(tempfile.mkdtemp(prefix=_prefix(out, "old"), dir=out.parent))
        os.rename(out, retired / out.name)
        try:
            os.rename(staging, out)
        except BaseException:
            os.rename(retired / out.name, out)  # put the previous catalog back
            raise
        finally:
            shutil.rmtree(retired, ignore_errors=True)


def _install_in_place(staging: Path, out: Path) -> None:
    """File by file (each rename atomic), then the previous catalog's leftovers are removed."""
    new = {path.name for path in staging.iterdir()}
    for name in sorted(new):
        os.replace(staging / name, out / name)
    for path in out.iterdir():
        if path.name not in new and _CATALOG_FILES.match(path.name):
            path.unlink()

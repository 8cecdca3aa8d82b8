"""The rules of docs/architecture.md that a test can check: no private names imported across
modules, no module over 600 lines and no function over 80 lines in ``completeness/`` unless its
docstring says why (a line starting with ``Size:``). The floors themselves are checked by
``lint-imports`` (``.ci/run``)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "completeness"
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80

#: Over the limits today, each waiting for its owner's split; the test fails when one of them
#: grows or is fixed without being removed from here, and for anything new.
PENDING = {}


def _modules(root=PACKAGE):
    for path in sorted(root.rglob("*.py")):
        yield path.relative_to(root).as_posix(), path.read_text(encoding="utf-8")


def _says_why(docstring) -> bool:
    return any(line.strip().startswith("Size:") for line in (docstring or "").splitlines())


def _oversized(root=PACKAGE) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, text in _modules(root):
        tree = ast.parse(text)
        n_lines = len(text.splitlines())
        if n_lines > MAX_MODULE_LINES and not _says_why(ast.get_docstring(tree)):
            found.setdefault(name, []).append(f"module ({n_lines} lines)")
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES and not _says_why(ast.get_docstring(node)):
                    found.setdefault(name, []).append(f"{node.name} ({length} lines)")
    return found


def test_no_module_or_function_over_the_size_limits():
    found = _oversized()
    new = {name: items for name, items in found.items() if name not in PENDING}
    assert not new, (
        f"over {MAX_MODULE_LINES} lines per module / {MAX_FUNCTION_LINES} per function: {new}"
    )
    fixed = sorted(set(PENDING) - set(found))
    assert not fixed, f"within the limits now: remove {fixed} from PENDING"


def test_no_private_name_is_imported_from_another_module():
    offences = []
    for name, text in _modules():
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, ast.ImportFrom):
                continue
            for alias in node.names:
                private = alias.name.startswith("_") and not alias.name.startswith("__")
                if not private:
                    continue
                # a private module of the importing package (e.g. cli/_common.py) is its own
                base = (PACKAGE / name).parent
                for _ in range(node.level - 1):
                    base = base.parent
                target = base.joinpath(*(node.module or "").split("."))
                if node.level and (target / f"{alias.name}.py").exists():
                    continue
                offences.append(f"{name}:{node.lineno} imports {alias.name}")
    assert not offences, offences


def test_the_size_check_finds_a_long_function(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES + 1))
    (tmp_path / "long.py").write_text(f'"""A module."""\n\n\ndef f():\n{body}\n')
    (tmp_path / "excused.py").write_text(
        f'"""A module."""\n\n\ndef g():\n    """Size: one table."""\n{body}\n'
    )
    assert _oversized(tmp_path) == {"long.py": [f"f ({MAX_FUNCTION_LINES + 2} lines)"]}

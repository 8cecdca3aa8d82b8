"""Packaging: the licence, citation and changelog files, and Python 3.10 support.

No Python 3.10 interpreter can be installed here, so 3.10 is simulated: every source file is
parsed with the 3.10 grammar, and every module is imported in a fresh interpreter in which
``tomllib`` (new in 3.11) does not exist; a TOML study config is then read through the
``tomli`` fallback.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import completeness

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "completeness").rglob("*.py"))
#: Modules an import would run (``python -m`` entry points): parsed, not imported.
ENTRY_POINTS = [p for p in SOURCES if p.name == "__main__.py"]


def _pyproject() -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:
        import tomli as tomllib
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_license_file_is_the_declared_bsd_3_clause():
    assert _pyproject()["project"]["license"]["text"] == "BSD-3-Clause"
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("BSD 3-Clause License")
    assert "Neither the name of the copyright holder" in text


def test_citation_and_changelog_name_the_package_version():
    yaml = pytest.importorskip("yaml")
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert citation["cff-version"] == "1.2.0"
    assert str(citation["version"]) == completeness.__version__
    assert citation["license"] == "BSD-3-Clause"
    assert f"## [{completeness.__version__}]" in (ROOT / "CHANGELOG.md").read_text()


def test_tomli_is_a_dependency_below_python_3_11_only():
    dependencies = _pyproject()["project"]["dependencies"]
    assert "tomli>=1.1; python_version < '3.11'" in dependencies


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(ROOT)) for p in SOURCES])
def test_source_parses_with_the_python_3_10_grammar(path):
    ast.parse(path.read_text(), filename=str(path), feature_version=(3, 10))


def test_every_module_imports_without_tomllib(tmp_path):
    pytest.importorskip("tomli")  # what pip installs on 3.10 (see pyproject.toml)
    config = tmp_path / "study.toml"
    config.write_text(
        textwrap.dedent(
            """
            descriptor = "power-spectrum"
            [grid]
            n_radial = [2, 3]
            """
        )
    )
    script = textwrap.dedent(
        f"""
        import importlib, importlib.abc, pkgutil, sys

        class NoTomllib(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name == "tomllib":
                    raise ModuleNotFoundError("No module named 'tomllib'", name=name)

        sys.modules.pop("tomllib", None)
        sys.meta_path.insert(0, NoTomllib())
        import completeness
        from completeness.analysis.study import load_config

        names = [
            m.name
            for m in pkgutil.walk_packages(completeness.__path__, "completeness.")
            if not m.name.endswith(".__main__")
        ]
        optional = []  # modules of an extra whose own dependency is not installed here
        for name in names:
            try:
                importlib.import_module(name)
            except ImportError as error:
                missing = getattr(error, "name", None) or ""
                if "tomllib" in str(error) or missing.startswith("completeness"):
                    raise
                optional.append(name)
        assert len(optional) < len(names) // 4, optional
        config = load_config({str(config)!r})
        assert "tomllib" not in sys.modules and "tomli" in sys.modules
        print(len(names), config.descriptor, config.grid)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    count, descriptor, grid = result.stdout.split(maxsplit=2)
    # every module but completeness/__init__.py itself and the entry points
    assert int(count) == len(SOURCES) - 1 - len(ENTRY_POINTS)
    assert descriptor == "power-spectrum"
    assert grid.strip() == "{'n_radial': [2, 3]}"

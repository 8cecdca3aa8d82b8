"""The documentation site: every shell example of docs/ runs as written and the nav lists every
page (``.ci/run`` builds the site with ``mkdocs build --strict``: warnings are errors).

Each page's ``bash`` blocks run in order in a fresh directory (a page's later blocks use the files
its earlier ones wrote), with ``COMPLETENESS_REPOSITORY`` set to the clone. Installation blocks
(``pip install ...``) are not run: ``.ci/run`` installs every extra itself, and the two of the
getting-started page are checked to be the README's. Commands that cannot run in CI (a full study
of hours, a model file the reader brings) are shown in ``console`` blocks, which are not run.
Python blocks of docs/ are executed by tests/test_readme.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
README_BLOCKS = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


def _bash_blocks(path: Path) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", path.read_text(), flags=re.S)


def _installs(block: str) -> bool:
    return block.lstrip().startswith(("python3 -m pip install", "pip install"))


def test_getting_started_shows_the_readme_commands():
    blocks = _bash_blocks(DOCS / "getting-started.md")
    assert blocks[:2] == README_BLOCKS[:2]


def test_every_page_is_in_the_nav():
    yaml = pytest.importorskip("yaml")
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)

    def entries(nav):
        for item in nav:
            for value in item.values() if isinstance(item, dict) else [item]:
                yield from entries(value) if isinstance(value, list) else [value]

    listed = set(entries(config["nav"]))
    pages = {str(p.relative_to(DOCS)) for p in PAGES} | {
        str(p.relative_to(DOCS)) for p in (DOCS / "tutorials").glob("*.ipynb")
    }
    assert pages - listed == set(), "add these pages to the nav of mkdocs.yml"
    assert listed - pages == set(), "the nav lists pages that do not exist"


def test_every_sub_command_has_a_page_with_an_example():
    from completeness.cli import COMMANDS

    for command in COMMANDS:
        name = command.__name__.rsplit(".", 1)[-1]
        page = DOCS / "commands" / f"{name}.md"
        assert page.is_file(), f"no docs/commands/{name}.md"
        assert any(f"completeness {name}" in b for b in _bash_blocks(page)), page.name


EXAMPLES = [page for page in PAGES if any(not _installs(b) for b in _bash_blocks(page))]


@pytest.mark.slow  # .ci/run runs them in its docs step
@pytest.mark.parametrize("page", EXAMPLES, ids=[str(p.relative_to(DOCS)) for p in EXAMPLES])
def test_shell_examples_run(page, tmp_path):
    env = {**os.environ, "COMPLETENESS_REPOSITORY": str(ROOT), "MPLBACKEND": "Agg"}
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    for block in _bash_blocks(page):
        if _installs(block):
            continue
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert result.returncode == 0, f"{page.name}:\n{block}\n{result.stderr[-3000:]}"

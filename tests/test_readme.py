"""The Python snippets of the README and docs/ run as written (no README code that no test
runs)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").rglob("*.md"))
# pages with Python snippets (a page without any has nothing to run: no test that cannot fail)
SNIPPET_DOCS = [path for path in DOCS if "```python\n" in path.read_text()]


def test_readme_opens_with_the_two_setup_commands():
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.S)
    assert "completeness audit" in blocks[0]
    assert "pytest" in blocks[1]


def test_readme_python_snippets_run():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README has no Python snippet"
    for block in blocks:
        exec(compile(block, str(README), "exec"), {})


@pytest.mark.parametrize("path", SNIPPET_DOCS, ids=[str(p.relative_to(ROOT)) for p in SNIPPET_DOCS])
def test_docs_python_snippets_run(path):
    blocks = re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)
    assert blocks, f"{path.name} has no complete Python snippet"
    for block in blocks:
        exec(compile(block, str(path), "exec"), {})

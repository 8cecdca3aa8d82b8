"""The Python snippets of the README and docs/ run as written (DESIGN.md: no README code that no
test runs)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").rglob("*.md"))


def test_readme_opens_with_the_two_setup_commands():
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.S)
    assert "completeness audit" in blocks[0]
    assert "pytest" in blocks[1]


def test_readme_python_snippets_run():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README has no Python snippet"
    for block in blocks:
        exec(compile(block, str(README), "exec"), {})


@pytest.mark.parametrize("path", DOCS, ids=[str(p.relative_to(ROOT)) for p in DOCS])
def test_docs_python_snippets_run(path):
    for block in re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S):
        exec(compile(block, str(path), "exec"), {})

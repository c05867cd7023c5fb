"""The documentation's code runs: every ```python block of docs/*.md is executed, so the docs never rot.

Blocks of one page run in order in one namespace (a later block may use what an earlier one defined), from a
temporary working directory. A block whose first line is ``# skip`` is not run.
"""
import pathlib
import re
import textwrap

import pytest

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"
_FENCE = re.compile(r"^([ \t]*)```python[ \t]*\n(.*?)^\1```[ \t]*$", re.M | re.S)


def python_blocks(text):
    """``[(line number, code)]`` of the fenced python blocks in markdown ``text`` (indented fences included)."""
    blocks = []
    for m in _FENCE.finditer(text):
        code = textwrap.dedent(m.group(2))
        line = text.count("\n", 0, m.start()) + 2      # the block's first code line
        blocks.append((line, code))
    return blocks


PAGES = sorted(DOCS.glob("*.md"))


def test_block_extraction():
    text = "intro\n```python\nx = 1\n```\n\n  ```python\n  # skip\n  y = 2\n  ```\n```bash\nls\n```\n"
    assert python_blocks(text) == [(3, "x = 1\n"), (7, "# skip\ny = 2\n")]


def test_the_guides_exist():
    names = {p.name for p in PAGES}
    for page in ("index.md", "numpy-face.md", "transforms.md", "tensor-face.md", "sharp-bits.md", "migration.md"):
        assert page in names


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_page_code_runs(page, monkeypatch, tmp_path):
    text = page.read_text(encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    for line, code in python_blocks(text):
        if code.lstrip().startswith("# skip"):
            continue
        try:
            exec(compile(code, f"{page}:{line}", "exec"), namespace)
        except Exception as e:  # name the page and line: the traceback points into the markdown file
            raise AssertionError(f"the python block at {page.name}:{line} failed: {type(e).__name__}: {e}") from e


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_page_links_resolve(page):
    text = page.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#\s]+\.md)(?:#[^)]*)?\)", text):
        if "://" in target:
            continue
        assert (page.parent / target).exists(), f"{page.name} links to {target}, which does not exist"

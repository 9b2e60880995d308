"""Every ``python`` code block in docs/ and the README runs: the blocks of one page share a namespace, in order."""

from __future__ import annotations

import pathlib
import re

import pytest

DOCS = pathlib.Path(__file__).parent.parent / "docs"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
PAGES = [DOCS.parent / "README.md", *sorted(p for p in DOCS.glob("*.md") if BLOCK.search(p.read_text()))]


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_code_blocks_run(page: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Each python block of the page runs without error, after the blocks before it."""
    text = page.read_text()
    namespace: dict[str, object] = {"__name__": f"docs.{page.stem}"}
    for match in BLOCK.finditer(text):
        line = text.count("\n", 0, match.start()) + 2
        code = compile("\n" * (line - 1) + match.group(1), str(page), "exec")
        exec(code, namespace)
    capsys.readouterr()

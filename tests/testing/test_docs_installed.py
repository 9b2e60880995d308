"""docs/testing.md and the tutorial run against jido as an install gives it: ``jido`` and ``dsl`` importable,
this repository's ``examples`` and ``tests`` not.

An editable install of this repository puts its root on ``sys.path``, which hides a page that imports from
``examples``; each page here runs in a fresh interpreter whose path has every folder that exposes them
replaced by one holding only the two packages a wheel installs.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).parent.parent.parent

RUN_PAGE = """
import pathlib, re, sys
packages, page = sys.argv[1:3]
def exposes_repository(entry):
    folder = pathlib.Path(entry or ".")
    return any((folder / name / "__init__.py").exists() for name in ("examples", "tests"))
sys.path[:] = [p for p in sys.path if not exposes_repository(p)]
sys.path.insert(0, packages)
for name in ("examples", "tests"):
    try:
        __import__(name)
    except ImportError:
        pass
    else:
        raise SystemExit(f"{name} is importable: the check would prove nothing")
text = pathlib.Path(page).read_text()
namespace = {"__name__": "page"}
for match in re.finditer(r"^```python\\n(.*?)^```", text, re.DOTALL | re.MULTILINE):
    line = text.count("\\n", 0, match.start()) + 2
    exec(compile("\\n" * (line - 1) + match.group(1), page, "exec"), namespace)
"""


@pytest.mark.parametrize("page", ["testing.md", "tutorial.md"])
def test_page_runs_without_the_repository(page: str, tmp_path: pathlib.Path) -> None:
    """Every python block of the page runs, in order, with only jido and dsl importable from this checkout."""
    packages = tmp_path / "site"
    packages.mkdir()
    for name in ("jido", "dsl"):
        (packages / name).symlink_to(ROOT / name, target_is_directory=True)
    run = subprocess.run(
        [sys.executable, "-c", RUN_PAGE, str(packages), str(ROOT / "docs" / page)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]

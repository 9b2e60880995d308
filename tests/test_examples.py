"""Every program in examples/ runs, as a user would run it, and exits cleanly."""

from __future__ import annotations

import pathlib
import runpy

import pytest

EXAMPLES = pathlib.Path(__file__).parent.parent / "examples"
PROGRAMS = sorted(p for p in EXAMPLES.glob("*.py") if not p.name.startswith(("_", "test_")))


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.name for p in PROGRAMS])
def test_example_runs(program: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The example runs as __main__ and prints something."""
    runpy.run_path(str(program), run_name="__main__")
    assert capsys.readouterr().out.strip()

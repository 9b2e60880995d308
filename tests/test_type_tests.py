"""Types survive the decorators: mypy --strict accepts a user's correct code and reports each planted mistake.

The planted mistakes sit in ``type_tests/*_bad.py``, each line ending with ``# expect: <error code>``; mypy
must report exactly those lines, with those codes, so a mistake reported on the wrong line (or one the checker
stops seeing) fails here.
"""

from __future__ import annotations

import json
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

api = pytest.importorskip("mypy.api", reason="mypy is a dev dependency")

ROOT = pathlib.Path(__file__).parent.parent
HERE = pathlib.Path(__file__).parent / "type_tests"
EXPECT = re.compile(r"#\s*expect:\s*([\w-]+)\s*$")
REPORTED = re.compile(r"^[^:]+:(\d+): error: .*\[([\w-]+)\]$")
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def run_mypy(path: pathlib.Path) -> tuple[str, int]:
    out, err, status = api.run(
        ["--strict", "--no-incremental", "--no-error-summary", "--hide-error-context", str(path)]
    )
    return out + err, status


def expected_errors(path: pathlib.Path) -> dict[int, str]:
    found = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        match = EXPECT.search(line)
        if match:
            found[number] = match.group(1)
    return found


def reported_errors(output: str) -> dict[int, str]:
    return {int(m.group(1)): m.group(2) for m in map(REPORTED.match, output.splitlines()) if m}


def tutorial_module(directory: pathlib.Path) -> pathlib.Path:
    """The tutorial's code blocks as one module, in order."""
    text = (ROOT / "docs" / "tutorial.md").read_text()
    module = directory / "tutorial.py"
    module.write_text("\n\n".join(m.group(1) for m in BLOCK.finditer(text)))
    return module


class TestCorrectCode:
    @pytest.mark.parametrize("name", ["dsl_fields_ok.py", "user_code_ok.py"])
    def test_type_checks_clean(self, name: str) -> None:
        """A module of correct user code passes mypy --strict, its assert_type lines included."""
        output, status = run_mypy(HERE / name)
        assert (output, status) == ("", 0)

    def test_tutorial_type_checks_clean(self, tmp_path: pathlib.Path) -> None:
        """The tutorial's code blocks, as one module, pass mypy --strict: a user copying them gets no error."""
        output, status = run_mypy(tutorial_module(tmp_path))
        assert (output, status) == ("", 0)

    def test_examples_type_check_clean(self) -> None:
        """The example programs pass mypy --strict, without a ``# type: ignore``: they are code users copy."""
        examples = ROOT / "examples"
        assert not [p for p in examples.rglob("*.py") if "type: ignore" in p.read_text()]
        output, status = run_mypy(examples)
        assert (output, status) == ("", 0)

    def test_user_code_runs(self) -> None:
        """The correct module also runs: what the checker is told matches what the decorators do."""
        namespace: dict[str, object] = {"__name__": "user_code_ok"}
        path = HERE / "user_code_ok.py"
        exec(compile(path.read_text(), str(path), "exec"), namespace)


class TestMistakes:
    @pytest.mark.parametrize("name", ["dsl_fields_bad.py", "user_code_bad.py"])
    def test_each_mistake_is_reported_on_its_line(self, name: str) -> None:
        """mypy reports exactly the lines marked ``# expect: code``, each with that error code."""
        path = HERE / name
        output, status = run_mypy(path)
        assert status == 1, output
        assert reported_errors(output) == expected_errors(path), output

    def test_a_marker_is_needed_for_each_mistake(self) -> None:
        """The bad modules are not vacuous: each plants several mistakes."""
        for name in ("dsl_fields_bad.py", "user_code_bad.py"):
            assert len(expected_errors(HERE / name)) >= 4, name


PYRIGHT = shutil.which("basedpyright", path=str(pathlib.Path(sys.executable).parent)) or shutil.which(
    "basedpyright"
)


@pytest.mark.skipif(PYRIGHT is None, reason="basedpyright is not installed")
class TestPyright:
    """The same modules under pyright's strict mode (basedpyright, which installs from PyPI with its own node):
    users of editors built on pyright get the same types as mypy's users."""

    def test_correct_code_and_mistakes(self, tmp_path: pathlib.Path) -> None:
        """Correct modules and the tutorial check clean; each planted mistake is reported on its line."""
        assert PYRIGHT is not None
        config = tmp_path / "pyrightconfig.json"
        config.write_text(json.dumps({"typeCheckingMode": "strict", "pythonVersion": "3.11"}))
        ok = [HERE / "dsl_fields_ok.py", HERE / "user_code_ok.py", tutorial_module(tmp_path)]
        bad = [HERE / "dsl_fields_bad.py", HERE / "user_code_bad.py"]
        run = subprocess.run(
            [PYRIGHT, "--pythonpath", sys.executable, "-p", str(config), "--outputjson", *map(str, ok + bad)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=300,
            check=False,
        )
        diagnostics = json.loads(run.stdout)["generalDiagnostics"]
        lines: dict[str, set[int]] = {str(path): set() for path in ok + bad}
        for diagnostic in diagnostics:
            if diagnostic["severity"] == "error":
                lines[diagnostic["file"]].add(diagnostic["range"]["start"]["line"] + 1)
        assert {str(path): set(expected_errors(path)) for path in ok + bad} == lines, run.stdout

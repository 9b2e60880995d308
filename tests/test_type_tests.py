"""The DSL's classes are typed: mypy sees their fields, accepts right usage and reports wrong usage."""

from __future__ import annotations

import pathlib

import pytest

api = pytest.importorskip("mypy.api", reason="mypy is a dev dependency")

HERE = pathlib.Path(__file__).parent / "type_tests"


def run_mypy(path: pathlib.Path) -> tuple[str, int]:
    out, err, status = api.run(
        ["--strict", "--no-incremental", "--no-error-summary", "--hide-error-context", str(path)]
    )
    return out + err, status


class TestDslTypes:
    def test_correct_usage_type_checks(self) -> None:
        """Constructing and reading DSL classes with the right types passes mypy --strict."""
        output, status = run_mypy(HERE / "dsl_fields_ok.py")
        assert (output, status) == ("", 0)

    def test_wrong_usage_is_reported(self) -> None:
        """Wrong field types, unknown fields and assignment to a frozen field are mypy errors."""
        output, status = run_mypy(HERE / "dsl_fields_bad.py")
        assert status == 1
        lines = {line.split(":")[1] for line in output.splitlines() if ": error:" in line}
        assert lines == {"24", "25", "26", "27"}, output

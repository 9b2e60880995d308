"""A definition error in the module `jido run` loads names the user's file and line, not ours."""

from __future__ import annotations

import pathlib
import sys
import textwrap

import pytest
from click.testing import CliRunner

from jido.cli import cli
from jido.cli.errors import EXIT_USAGE


def test_run_names_the_users_line(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`jido run app:Counter` on a bad class: one line with app.py's line, and no frame of the DSL."""
    (tmp_path / "jido_bad_app.py").write_text(
        textwrap.dedent(
            """\
            from dsl import agent


            @agent
            class Counter:
                count: int = "zero"
            """
        )
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "jido_bad_app", raising=False)
    result = CliRunner().invoke(cli, ["run", "jido_bad_app:Counter", "--port", "0"], prog_name="jido")
    assert result.exit_code == EXIT_USAGE
    assert result.stderr.splitlines() == [
        "Error: cannot import module 'jido_bad_app': DefinitionError: "
        'jido_bad_app.py:4: Counter.count: default "zero" is not an int'
    ]

"""``jido init NAME``: a new project whose tests pass and whose agent the other commands load; bad names and
existing folders are refused with nothing written."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest
from click.testing import CliRunner

from jido.cli import cli
from jido.cli.errors import EXIT_USAGE


def init(tmp_path: pathlib.Path, name: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["init", name, "--path", str(tmp_path)], prog_name="jido")
    return result.exit_code, result.stdout, result.stderr


def in_project(project: pathlib.Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "HYPOTHESIS", "COV"))}
    return subprocess.run(
        [sys.executable, *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_new_project_runs_its_tests(tmp_path: pathlib.Path) -> None:
    code, out, _ = init(tmp_path, "shop")
    assert code == 0, out
    project = tmp_path / "shop"
    assert {p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()} == {
        "shop/__init__.py",
        "shop/agents.py",
        "tests/__init__.py",
        "tests/conftest.py",
        "tests/test_agents.py",
        "jido.toml",
        "pyproject.toml",
        "README.md",
    }
    assert "jido run shop.agents:Counter" in out and "python -m pytest" in out
    tested = in_project(project, "-m", "pytest", "-q", "-p", "no:cacheprovider")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "2 passed" in tested.stdout
    routes = in_project(project, "-m", "jido", "routes", "shop.agents:Counter")
    assert routes.returncode == 0 and "counter.increment" in routes.stdout, routes.stderr
    readme = (project / "README.md").read_text()
    assert "jido run shop.agents:Counter" in readme and "python -m pytest" in readme


@pytest.mark.parametrize(
    "name", ["", "Shop", "1shop", "../shop", "shop-x", "class", "jido", "tests", "a" * 65]
)
def test_bad_names(tmp_path: pathlib.Path, name: str) -> None:
    code, _, err = init(tmp_path, name)
    assert code == EXIT_USAGE and "project name" in err
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_left_alone(tmp_path: pathlib.Path) -> None:
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "mine.txt").write_text("keep")
    code, _, err = init(tmp_path, "shop")
    assert code == EXIT_USAGE and "exists already" in err
    assert [p.name for p in (tmp_path / "shop").iterdir()] == ["mine.txt"]

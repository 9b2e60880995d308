"""``jido init NAME``: a new project to start from: an agent, its tests (one a property test), a serve config
and a README whose two commands run it and test it."""

from __future__ import annotations

import keyword
import pathlib
import re
from typing import Final

import click

from .errors import EXIT_USAGE, CliError

__all__ = ["init"]

_NAME: Final = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

_AGENTS: Final = '''"""The agents of {name}. Run one with `jido run {name}.agents:Counter`."""

from __future__ import annotations

import jido
from dsl import AgentState, action, agent, route


@action(description="Add `by` to the count")
class Increment:
    by: int = 1

    def run(self, ctx: jido.ActionContext["Counter"]) -> dict[str, int]:
        return {{"count": ctx.state.count + self.by}}


@action(description="Set the count back to zero")
class Reset:
    def run(self, ctx: jido.ActionContext["Counter"]) -> dict[str, int]:
        return {{"count": 0}}


@agent(description="A counter")
@route("counter.increment", Increment)
@route("counter.reset", Reset)
class Counter(AgentState):
    count: int = 0
'''

_TESTS: Final = '''"""Tests of {name}'s agents: one example, and one property that holds for any sequence of signals."""

from __future__ import annotations

import jido
from hypothesis import given
from hypothesis import strategies as st

from {name}.agents import Counter


def increment(by: int) -> jido.Signal:
    return jido.Signal(type="counter.increment", source="/tests", data={{"by": by}})


async def test_counts(jido_runtime: jido.Runtime) -> None:
    ref = await jido_runtime.start_agent(Counter, id="counter")
    await ref.call(increment(2))
    assert (await ref.call(increment(3))).state.count == 5


@given(st.lists(st.integers(min_value=-1000, max_value=1000), max_size=20))
def test_the_count_is_the_sum(steps: list[int]) -> None:
    counter = Counter.new(id="counter")
    for by in steps:
        counter, _ = jido.handle(counter, increment(by))
    assert counter.state.count == sum(steps)
'''

_CONFTEST: Final = '''"""Makes the project's folder importable in its tests."""
'''

_CONFIG: Final = """# `jido serve` reads this file (see the jido docs: docs/cli.md).
host = "127.0.0.1"
port = 8765
start = ["{name}.agents:Counter"]

[journal]            # keep the bus (and, with it, the agents' state) on disk
sqlite = "{name}.db"
"""

_PYPROJECT: Final = """[project]
name = "{name}"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["jido"]

[tool.pytest.ini_options]
testpaths = ["tests"]
trio_mode = true
"""

_README: Final = """# {name}

An agent system on jido. Run the counter behind a gateway (and a dashboard, with `jido[ops]`):

```bash
jido run {name}.agents:Counter
```

Run its tests (one of them a property test):

```bash
python -m pytest
```

Then, from another terminal: `jido send counter.increment --data '{{"by": 2}}'` and
`jido call counter counter.increment --data '{{"by": 1}}'` (the agent's id is `counter`, as `jido run` says).
`jido serve` runs what `jido.toml` describes, with the bus and the agents' state kept in `{name}.db`.
"""


def _files(name: str) -> dict[str, str]:
    return {
        f"{name}/__init__.py": f'"""{name}: an agent system on jido."""\n',
        f"{name}/agents.py": _AGENTS.format(name=name),
        "tests/__init__.py": "",
        "tests/conftest.py": _CONFTEST,
        "tests/test_agents.py": _TESTS.format(name=name),
        "jido.toml": _CONFIG.format(name=name),
        "pyproject.toml": _PYPROJECT.format(name=name),
        "README.md": _README.format(name=name),
    }


@click.command(short_help="Create a new project: an agent, its tests, a config.")
@click.argument("name")
@click.option(
    "--path",
    "parent",
    type=click.Path(file_okay=False, path_type=pathlib.Path),
    default=".",
    show_default=True,
    help="Folder to create the project's folder in.",
)
def init(name: str, parent: pathlib.Path) -> None:
    """Create the folder NAME with a package NAME (an agent), tests (an example and a property test), a
    jido.toml for `jido serve`, a pyproject.toml and a README. Then, in it: `jido run NAME.agents:Counter`
    and `python -m pytest`.

    NAME is a Python package name: lowercase letters, digits and underscores, starting with a letter.
    """
    if not _NAME.match(name) or keyword.iskeyword(name) or name in ("jido", "dsl", "tests", "test"):
        raise CliError(
            f"project name {name!r}: expected a Python package name of lowercase letters, digits and "
            "underscores starting with a letter (not jido, dsl or tests)",
            EXIT_USAGE,
        )
    root = parent / name
    if root.exists():
        raise CliError(f"{str(root)!r} exists already: nothing was written", EXIT_USAGE)
    try:
        for relative, text in _files(name).items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot create {str(root)!r}: {exc.strerror or exc}") from None
    click.echo(f"jido: created {root}")
    click.echo(f"jido: run it:  cd {root} && jido run {name}.agents:Counter")
    click.echo(f"jido: test it: cd {root} && python -m pytest")

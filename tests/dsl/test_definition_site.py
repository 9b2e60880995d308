"""A definition error names where the user wrote the bad definition: file:line, and the class."""

from __future__ import annotations

import importlib
import inspect
import os
import pathlib
import sys
import textwrap

import pytest

from dsl import action, agent, plugin, route, sensor
from dsl._build import locate
from jido.action.spec import ActionContext
from jido.errors import DefinitionError

HERE = os.path.relpath(__file__)


def here() -> int:
    """The line of the caller."""
    return inspect.currentframe().f_back.f_lineno  # type: ignore[union-attr]


@action
class Ping:
    def run(self, ctx: ActionContext) -> None:
        return None


def import_module(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, name: str, source: str) -> None:
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    importlib.import_module(name)


class TestInAFunction:
    def test_agent_field(self) -> None:
        """A bad state field: this file, the @agent line, then the class and member."""
        with pytest.raises(DefinitionError) as caught:
            line = here() + 2

            @agent
            class Counter:
                count: int = "zero"  # type: ignore[assignment]

        assert str(caught.value) == f'{HERE}:{line}: Counter.count: default "zero" is not an int'

    def test_stacked_route(self) -> None:
        """Among stacked decorators, the line of the one that refused the class."""
        with pytest.raises(DefinitionError) as caught:
            line = here() + 3

            @agent
            @route("a.b", Ping, priority=500)
            class Counter:
                count: int = 0

        assert str(caught.value) == (
            f"{HERE}:{line}: @route('a.b', ...): priority must be an int within -100..100, got 500"
        )

    def test_option_before_the_class(self) -> None:
        """An option refused when the decorator is called (no class yet): the decorator's line."""
        with pytest.raises(DefinitionError) as caught:
            line = here() + 2

            @agent(nme="x")  # type: ignore[call-overload]
            class Counter:
                count: int = 0

        assert str(caught.value) == (
            f"{HERE}:{line}: @agent(nme=...): unknown option 'nme'; did you mean 'name'? "
            "(options: description, idle_timeout, migrations, name, plugins, schedules, strategy, subscribe, "
            "version)"
        )

    @pytest.mark.parametrize("decorator", ["action", "sensor", "plugin"])
    def test_every_decorator(self, decorator: str) -> None:
        """@action, @sensor and @plugin name the site as @agent does."""
        with pytest.raises(DefinitionError, match=rf"^{HERE}:\d+: "):
            if decorator == "action":

                @action
                class NoRun:
                    pass

            elif decorator == "sensor":

                @sensor(every=1.0)
                class Quiet:
                    pass

            else:

                @plugin(stat=1)  # type: ignore[call-overload]
                class Log:
                    pass


class TestInAModule:
    SOURCE = """\
        from dsl import agent


        @agent
        class Counter:
            count: int
        """

    def test_module_level_class(self, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A class at the top of a module outside the current folder: the module's full path and line."""
        with pytest.raises(DefinitionError) as caught:
            import_module(tmp_path, monkeypatch, "jido_site_abs", self.SOURCE)
        assert str(caught.value) == (
            f"{tmp_path / 'jido_site_abs.py'}:4: "
            "Counter.count: state field has no default: every state field needs one"
        )

    def test_relative_to_the_current_folder(
        self, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A module inside the current folder is shown by its relative path, as pytest shows paths."""
        (tmp_path / "app").mkdir()
        monkeypatch.chdir(tmp_path)
        with pytest.raises(DefinitionError, match=r"^app/jido_site_rel\.py:4: Counter\.count: "):
            import_module(tmp_path / "app", monkeypatch, "jido_site_rel", self.SOURCE)


class TestLocate:
    def test_class_named_when_the_message_does_not(self) -> None:
        """A message that does not name the class gets `in class X: ` after the place."""
        error = DefinitionError("agent 'x': version must be an int >= 1, got 0")
        line = here() + 1
        locate(error, inspect.currentframe(), Ping)
        assert str(error) == f"{HERE}:{line}: in class Ping: agent 'x': version must be an int >= 1, got 0"

    def test_once(self) -> None:
        """An error passing through several decorators keeps the first place it was given."""
        error = DefinitionError("Ping: bad")
        locate(error, inspect.currentframe(), Ping)
        first = str(error)
        locate(error, inspect.currentframe(), Ping)
        assert str(error) == first

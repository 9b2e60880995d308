"""@agent and @route: compiling state and routes into an AgentSpec, in any decorator order."""

from __future__ import annotations

import datetime as dt
import inspect
import os
import pathlib
import traceback
from collections.abc import Callable, Mapping
from typing import Any
from unittest import mock

import attrs
import pytest

from dsl import AgentState, NotDecoratedError, action, agent, cron, route, spec_of
from jido.action.spec import ActionContext, ActionSpec
from jido.agent.spec import Agent, AgentSpec, CronSchedule, RouteSpec
from jido.agent.state import StateMapping
from jido.agent.strategy import Direct
from jido.errors import DefinitionError


@action
class Ping:
    def run(self, ctx: ActionContext) -> None:
        return None


@action
class Pong:
    def run(self, ctx: ActionContext) -> None:
        return None


Decorate = Callable[[type], type]


def agent_above(*routes: Decorate, **options: Any) -> Decorate:
    """@agent written above the routes (routes apply first)."""

    def apply(cls: type) -> type:
        for r in reversed(routes):
            cls = r(cls)
        return agent(**options)(cls)

    return apply


def agent_below(*routes: Decorate, **options: Any) -> Decorate:
    """@agent written below the routes (the agent compiles first, then each route is added)."""

    def apply(cls: type) -> type:
        cls = agent(**options)(cls)
        for r in reversed(routes):
            cls = r(cls)
        return cls

    return apply


ORDERS = pytest.mark.parametrize("order", [agent_above, agent_below], ids=["agent-above", "agent-below"])


class TestAgentHappyPath:
    @ORDERS
    def test_routes_in_written_order(self, order: Callable[..., Decorate]) -> None:
        """Routes keep the order they are written in, whichever side @agent is on."""

        class Thing:
            count: int = 0

        compiled = order(route("a.ping", Ping), route("a.pong", Pong, priority=5))(Thing)
        spec = spec_of(compiled)
        assert isinstance(spec, AgentSpec)
        assert [(r.pattern, r.action.name, r.priority) for r in spec.routes] == [
            ("a.ping", "ping", 0),
            ("a.pong", "pong", 5),
        ]

    def test_state_class_and_new(self) -> None:
        """The class becomes the state class; new() builds an agent value."""

        @agent(description="things")
        class Thing:
            count: int = 0
            tags: list[str] = attrs.field(factory=list)

        agent_value = Thing.new(id="t1", count=2)  # type: ignore[attr-defined]
        assert isinstance(agent_value, Agent)
        assert agent_value.state == Thing(count=2)  # type: ignore[call-arg]
        assert isinstance(agent_value.state, Mapping)
        assert agent_value.spec.name == "thing"
        assert agent_value.spec.description == "things"

    def test_options(self) -> None:
        """Options compile into the spec."""

        @agent(
            name="tracker",
            strategy=Direct(),
            schedules=[cron("*/5 * * * *", "heartbeat.tick", job_id="heartbeat"), ("@daily", "cleanup.run")],
            subscribe=["listing.**"],
        )
        class Tracker:
            demand: int = 50

        spec = spec_of(Tracker)
        assert isinstance(spec, AgentSpec)
        assert spec.schedules == (
            CronSchedule("*/5 * * * *", "heartbeat.tick", "heartbeat"),
            CronSchedule("@daily", "cleanup.run", "cleanup.run"),
        )
        assert spec.subscriptions == ("listing.**",)

    def test_equals_hand_built_spec(self) -> None:
        """The compiled spec equals one written by hand through jido."""

        @agent(description="Simple counter")
        @route("counter.ping", Ping, priority=3, params={"x": 1})
        class Counter:
            count: int = 0

        ping = spec_of(Ping)
        assert isinstance(ping, ActionSpec)
        by_hand = AgentSpec(
            name="counter",
            state=Counter,
            description="Simple counter",
            routes=[RouteSpec("counter.ping", ping, 3, {"x": 1})],
        )
        assert spec_of(Counter) == by_hand

    def test_route_to_hand_built_action_spec(self) -> None:
        """A route may target an ActionSpec written by hand."""
        spec = ActionSpec(name="noop", run=lambda params, ctx: None)

        @agent
        @route("x.y", spec)
        class Thing:
            count: int = 0

        compiled = spec_of(Thing)
        assert isinstance(compiled, AgentSpec)
        assert compiled.routes[0].action is spec


class TestAgentDefinitionErrors:
    def test_field_without_default(self) -> None:
        """A state field without a default is refused."""
        with pytest.raises(
            DefinitionError,
            match=r"^\S+:\d+: Thing\.count: state field has no default: every state field needs one$",
        ):

            @agent
            class Thing:
                count: int

    def test_field_with_attrs_field_but_no_default(self) -> None:
        """attrs.field() without a default is refused too."""
        with pytest.raises(DefinitionError, match=r"^\S+:\d+: Thing\.count: state field has no default"):

            @agent
            class Thing:
                count: int = attrs.field()

    def test_non_json_type(self) -> None:
        """A state field whose type cannot go to JSON is refused."""
        with pytest.raises(
            DefinitionError,
            match=r"^\S+:\d+: Thing\.day: type <class 'datetime\.date'> cannot be serialized to JSON$",
        ):

            @agent
            class Thing:
                day: dt.date = dt.date(2020, 1, 1)

    def test_reserved_name(self) -> None:
        """A state field may not take a reserved name."""
        with pytest.raises(DefinitionError, match=r"^\S+:\d+: Thing\.keys: 'keys' is a reserved name"):

            @agent
            class Thing:
                keys: int = 0

    def test_problems_listed_together(self) -> None:
        """Several problems across members come out in one error."""
        with pytest.raises(
            DefinitionError,
            match=r"^\S+:\d+: Thing is not a valid agent \(3 problems\):\n- Thing\.items: .*\n- Thing\.count: .*\n- Thing: two routes",
        ):

            @agent
            @route("a.b", Ping)
            @route("a.b", Pong)
            class Thing:
                items: int = 0
                count: int

    @ORDERS
    def test_duplicate_route(self, order: Callable[..., Decorate]) -> None:
        """Two routes with equal pattern and priority are refused in either decorator order."""

        class Thing:
            count: int = 0

        with pytest.raises(
            DefinitionError,
            match=r"Thing: two routes for 'a\.b' at priority 0 \((ping and pong|pong and ping)\): give one a different priority$",
        ):
            order(route("a.b", Ping), route("a.b", Pong))(Thing)

    @ORDERS
    def test_same_pattern_other_priority_is_fine(self, order: Callable[..., Decorate]) -> None:
        """The same pattern at two priorities is allowed."""

        class Thing:
            count: int = 0

        compiled = order(route("a.b", Ping), route("a.b", Pong, priority=1))(Thing)
        spec = spec_of(compiled)
        assert isinstance(spec, AgentSpec) and len(spec.routes) == 2

    @ORDERS
    @pytest.mark.parametrize(
        ("field", "message"),
        [
            ("count: int", r"Thing\.count: state field has no default: every state field needs one"),
            ("values: int = 0", r"Thing\.values: 'values' is a reserved name"),
            (
                "day: dt.date = dt.date(2020, 1, 1)",
                r"Thing\.day: type <class 'datetime\.date'> cannot be serialized to JSON",
            ),
        ],
    )
    def test_field_errors_in_either_order(
        self, order: Callable[..., Decorate], field: str, message: str
    ) -> None:
        """State field errors are raised the same whichever side of the routes @agent is written."""
        namespace: dict[str, Any] = {"dt": dt, "__name__": __name__}
        exec(f"class Thing:\n    {field}\n", namespace)
        with pytest.raises(DefinitionError, match=rf"^\S+:\d+: {message}"):
            order(route("a.ping", Ping))(namespace["Thing"])

    def test_route_to_non_action(self) -> None:
        """A route to something that is not an action is refused at once."""
        with pytest.raises(
            DefinitionError,
            match=r"^\S+:\d+: @route\('a\.b', \.\.\.\): dict is not an action: decorate it with @action or pass an ActionSpec$",
        ):
            route("a.b", dict)

    def test_route_invalid_pattern(self) -> None:
        """An invalid pattern is refused at once with the router's reason."""
        with pytest.raises(DefinitionError, match=r"^\S+:\d+: @route\('a\.\.b', \.\.\.\): invalid pattern: "):
            route("a..b", Ping)

    def test_route_bad_priority(self) -> None:
        """A priority outside -100..100 is refused."""
        with pytest.raises(
            DefinitionError,
            match=r"^\S+:\d+: @route\('a\.b', \.\.\.\): priority must be an int within -100\.\.100, got 101$",
        ):
            route("a.b", Ping, priority=101)

    def test_route_bad_params(self) -> None:
        """params must be a mapping or a function."""
        with pytest.raises(
            DefinitionError,
            match=r"^\S+:\d+: @route\('a\.b', \.\.\.\): params must be a mapping or a function of the signal, got 3$",
        ):
            route("a.b", Ping, params=3)  # type: ignore[arg-type]

    def test_route_on_action_class(self) -> None:
        """A route added to an @action class is refused."""
        with pytest.raises(
            DefinitionError, match=r"^\S+:\d+: @route\('a\.b', \.\.\.\): Pong is not an @agent class$"
        ):
            route("a.b", Ping)(Pong)

    def test_unknown_option(self) -> None:
        """An unknown option is named with a hint."""
        with pytest.raises(
            DefinitionError,
            match=r"^\S+:\d+: @agent\(subscribes=\.\.\.\): unknown option 'subscribes'; did you mean 'subscribe'\?",
        ):
            agent(subscribes=["a"])  # type: ignore[call-overload]

    def test_bad_subscription_pattern(self) -> None:
        """A subscription pattern must be valid."""
        with pytest.raises(
            DefinitionError, match=r"^\S+:\d+: @agent\(subscribe=\.\.\.\): invalid pattern 'a\.\.b': "
        ):
            agent(subscribe=["a..b"])

    def test_subscribe_single_string(self) -> None:
        """A single string for subscribe is a mistake the DSL names."""
        with pytest.raises(
            DefinitionError,
            match=r"^\S+:\d+: @agent\(subscribe=\.\.\.\): expected a list of patterns, got a single string$",
        ):
            agent(subscribe="a.b")

    def test_bad_strategy(self) -> None:
        """strategy must be a strategy object."""
        with pytest.raises(
            DefinitionError,
            match=r"^\S+:\d+: @agent\(strategy=\.\.\.\): expected a strategy such as jido\.Direct\(\), got 'fsm'$",
        ):
            agent(strategy="fsm")  # type: ignore[arg-type]

    def test_bad_schedule(self) -> None:
        """A schedule must be cron(...) or a pair."""
        with pytest.raises(
            DefinitionError,
            match=r"^\S+:\d+: @agent\(schedules=\.\.\.\): expected cron\(expr, signal_type, \.\.\.\) or \(expr, signal_type\), got 'x'$",
        ):
            agent(schedules=["x"])  # type: ignore[list-item]

    def test_bad_time_zone(self) -> None:
        """cron() refuses an unknown time zone."""
        with pytest.raises(
            DefinitionError,
            match=r"^\S+:\d+: cron\('@daily', 'a\.b'\): tz 'Mars/Base' is not a known IANA time zone$",
        ):
            cron("@daily", "a.b", tz="Mars/Base")

    def test_action_and_agent(self) -> None:
        """A class cannot be both an action and an agent."""
        with pytest.raises(
            DefinitionError, match=r"^\S+:\d+: Ping: a class cannot be both an @action and an @agent$"
        ):
            agent(Ping)


class TestAgentState:
    def test_base_changes_nothing_at_run_time(self) -> None:
        """A class deriving from AgentState compiles as a bare one: same fields, new(), mapping view."""

        @agent
        @route("a.ping", Ping)
        class Typed(AgentState):
            count: int = 0

        value = Typed.new(id="t1", count=2)
        assert isinstance(value, Agent)
        assert value.id == "t1" and value.state == Typed(count=2)
        assert dict(value.state) == {"count": 2}
        assert [r.pattern for r in value.spec.routes] == ["a.ping"]

    def test_state_mapping_is_not_mixed_in_twice(self) -> None:
        """The compiled class keeps AgentState as its base, and StateMapping once in its MRO."""

        @agent
        class Typed(AgentState):
            count: int = 0

        assert Typed.__bases__ == (AgentState,)
        assert Typed.__mro__.count(StateMapping) == 1

    def test_new_without_the_decorator(self) -> None:
        """new() on an AgentState class @agent never compiled says what is missing."""

        class Plain(AgentState):
            pass

        with pytest.raises(
            NotDecoratedError, match=r"^Plain is not an @agent class: decorate it with @agent$"
        ):
            Plain.new()


def _frames_from(exc: BaseException, test_file: str) -> list[tuple[str, int]]:
    """(file name, line) of the traceback's frames from the first one in ``test_file`` on."""
    frames = [(pathlib.Path(f.filename).name, f.lineno or 0) for f in traceback.extract_tb(exc.__traceback__)]
    first = next(i for i, (name, _) in enumerate(frames) if name == pathlib.Path(test_file).name)
    return frames[first:]


class TestDefinitionErrorTraceback:
    """A definition error's traceback ends at the user's line, then one frame of ours."""

    def test_bare_decorator(self) -> None:
        """@agent on a bad class: the decorator's line, then the frame that re-raised it."""
        line = inspect.currentframe().f_lineno + 3  # type: ignore[union-attr]  # the @agent line
        with pytest.raises(DefinitionError) as caught:

            @agent
            class Broken:
                count: int

        assert _frames_from(caught.value, __file__)[0] == ("test_agent.py", line)
        assert [name for name, _ in _frames_from(caught.value, __file__)] == ["test_agent.py", "_build.py"]

    def test_called_decorator_and_route(self) -> None:
        """@agent(...) and @route(...) errors end the same way, at the line of the decorator that failed."""
        line = inspect.currentframe().f_lineno + 4  # type: ignore[union-attr]  # the @route line
        with pytest.raises(DefinitionError) as caught:

            @agent(description="x")
            @route("a.b", Ping, priority=500)
            class Broken:
                count: int = 0

        assert _frames_from(caught.value, __file__) == [("test_agent.py", line), ("_build.py", mock.ANY)]
        with pytest.raises(DefinitionError) as caught:

            @agent(description="x")
            class AlsoBroken:
                count: int

        assert [name for name, _ in _frames_from(caught.value, __file__)] == ["test_agent.py", "_build.py"]

    def test_message_names_the_site(self) -> None:
        """The message starts with the user's file:line; the rule's own words follow unchanged, and no note."""
        line = inspect.currentframe().f_lineno + 3  # type: ignore[union-attr]  # the @agent line
        with pytest.raises(DefinitionError) as caught:

            @agent
            class Broken:
                count: int

        assert str(caught.value) == (
            f"{os.path.relpath(__file__)}:{line}: "
            "Broken.count: state field has no default: every state field needs one"
        )
        assert not getattr(caught.value, "__notes__", None)

"""``@plugin``: config fields validated strictly, hook methods checked, routes, and the compiled PluginSpec."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

import jido
from dsl import action, agent, route, spec_of
from dsl.plugin import plugin, plugin_spec
from jido.agent.plugin import CmdOutcome, PluginContext, PluginSpec, Reject
from jido.agent.routes import RouteSpec
from jido.agent.spec import AgentSpec
from jido.errors import DefinitionError
from jido.signal import Signal


@attrs.frozen
class LogState:
    lines: tuple[str, ...] = ()
    seen: int = 0
    children: int = 0


@action
class Write:
    text: str

    def run(self, ctx: PluginContext[LogState, Log]) -> dict[str, Any]:
        return {"lines": [*ctx.state.lines, ctx.config.prefix + self.text][-ctx.config.limit :]}


@plugin(state=LogState, routes=[("log.write", Write)])
class Log:
    """Keeps the last lines written."""

    limit: int = 3
    prefix: str = ""

    def on_mount(self, state: LogState) -> LogState:
        return attrs.evolve(state, lines=(f"limit {self.limit}",))

    def before_route(self, signal: Signal) -> Signal | Reject | None:
        return Reject("muted") if signal.type == "log.mute" else None

    def after_cmd(self, state: LogState, outcome: CmdOutcome) -> LogState:
        return attrs.evolve(state, seen=state.seen + 1)

    def on_child(self, state: LogState, signal: Signal) -> LogState:
        return attrs.evolve(state, children=state.children + 1)


@action
class Inc:
    def run(self, ctx: Any) -> dict[str, Any]:
        return {"count": ctx.state.count + 1}


@agent
@route("c.inc", Inc)
class C:
    count: int = 0


def mounted(*plugins: object) -> AgentSpec[Any]:
    base = spec_of(C)
    assert isinstance(base, AgentSpec)
    return attrs.evolve(base, plugins=[plugin_spec(p) for p in plugins])


def sig(type: str, data: Any = None) -> Signal:
    return Signal(type=type, source="/test", data=data)


class TestCompiled:
    def test_spec_from_class_and_instance(self) -> None:
        """The class gives the default config, an instance its own; name, key, description come from the class."""
        spec = plugin_spec(Log)
        assert isinstance(spec, PluginSpec) and spec.config == Log()
        assert (spec.name, spec.key, spec.description) == ("log", "log", "Keeps the last lines written.")
        assert plugin_spec(Log(limit=1)).config.limit == 1

    def test_every_hook_runs(self) -> None:
        """on_mount, before_route, the routed action (with config), after_cmd and on_child, mounted into an agent."""
        agent = mounted(Log(limit=2, prefix="> ")).new()
        assert agent.state.log.lines == ("limit 2",)
        for text in ("a", "b"):
            agent, _ = jido.handle(agent, sig("log.write", {"text": text}))
        agent, _ = jido.handle(agent, sig("jido.agent.child.started", {"tag": "w"}))
        assert agent.state.log == LogState(lines=("> a", "> b"), seen=3, children=1)
        with pytest.raises(jido.RoutingError, match=r"^plugin 'log' rejected signal 'log\.mute': muted$"):
            jido.handle(agent, sig("log.mute"))

    def test_options(self) -> None:
        """name, key, priority in routes, and a RouteSpec as a route."""
        from jido.action.spec import action_spec_of

        write = action_spec_of(Write)
        assert write is not None

        @plugin(name="audit.lite", key="lite", routes=[("a.b", Write, 5), RouteSpec("a.c", write)])
        class Lite:
            pass

        spec = plugin_spec(Lite)
        assert (spec.name, spec.key, [r.priority for r in spec.routes]) == ("audit.lite", "lite", [5, 0])

    def test_bare_decorator(self) -> None:
        """@plugin works bare: a plugin without state or routes."""

        @plugin
        class Quiet:
            level: int = 0

        assert plugin_spec(Quiet).state is None


class TestAgentOption:
    def test_agent_mounts_plugins(self) -> None:
        """@agent(plugins=[...]) takes @plugin classes (default config) and instances (their config)."""

        @plugin
        class Tally:
            step: int = 1

        @agent(plugins=[Log(limit=1), Tally])
        @route("c.inc", Inc)
        class Chat:
            count: int = 0

        spec = spec_of(Chat)
        assert isinstance(spec, AgentSpec)
        assert [(p.key, p.config) for p in spec.plugins] == [("log", Log(limit=1)), ("tally", Tally())]
        agent_value, _ = jido.handle(spec.new(), sig("log.write", {"text": "x"}))
        assert agent_value.state.log.lines == ("x",)

    def test_not_a_plugin(self) -> None:
        """An item that is not a plugin is named by its index."""
        with pytest.raises(
            DefinitionError, match=r"^\S+:\d+: @agent\(plugins=\.\.\.\)\[1\]: C is not a plugin"
        ):

            @agent(plugins=[Log, C])
            class Chat:
                count: int = 0

    def test_not_a_list(self) -> None:
        """plugins= takes a list."""
        with pytest.raises(
            DefinitionError, match=r"^\S+:\d+: @agent\(plugins=\.\.\.\): expected a list of plugins"
        ):

            @agent(plugins=Log)  # type: ignore[call-overload]
            class Chat:
                count: int = 0

    def test_conflict_names_the_class(self) -> None:
        """A conflict found when mounting names the agent class, the agent and both sides."""
        with pytest.raises(
            DefinitionError, match=r"^\S+:\d+: Chat: agent 'chat': plugin 'log' claims the state key 'log'"
        ):

            @agent(plugins=[Log])
            class Chat:
                log: int = 0


class TestOnSignals:
    def test_methods_hook_patterns(self) -> None:
        """on_signals maps patterns to methods taking (self, state, signal), run as the plugin's routes."""

        @plugin(state=LogState, on_signals={"jido.workflow.*": "on_workflow"})
        class Outcomes:
            def on_workflow(self, state: LogState, signal: Signal) -> LogState:
                return attrs.evolve(state, lines=(*state.lines, signal.type))

        agent_value, _ = jido.handle(mounted(Outcomes).new(), sig("jido.workflow.completed"))
        assert agent_value.state.outcomes.lines == ("jido.workflow.completed",)

    def test_bad_method(self) -> None:
        """A missing method or one with the wrong parameters is named."""
        with pytest.raises(
            DefinitionError,
            match=r"^\S+:\d+: Bad\.nope: on_signals\['a\.b'\] names 'nope', which is not a method",
        ):

            @plugin(on_signals={"a.b": "nope"})
            class Bad:
                pass

        with pytest.raises(
            DefinitionError, match=r"^\S+:\d+: Bad2\.on_x: must take \(self, state, signal\), got \(self\)$"
        ):

            @plugin(on_signals={"a.b": "on_x"})
            class Bad2:
                def on_x(self) -> None: ...

    def test_bad_mapping(self) -> None:
        """on_signals is a mapping of patterns to method names."""
        with pytest.raises(DefinitionError, match=r"expected \{pattern: method name\}"):
            plugin(on_signals=["a.b"])  # type: ignore[call-overload]


class TestConfig:
    def test_wrong_type(self) -> None:
        """A config value of the wrong type is a definition error naming the plugin and the field."""
        with pytest.raises(
            DefinitionError, match=r"^invalid plugin 'log' config: \$\.limit: expected int, got \"3\"$"
        ):
            Log(limit="3")  # type: ignore[arg-type]

    def test_unknown_field(self) -> None:
        """An unknown config field names the plugin too."""
        with pytest.raises(DefinitionError, match=r"^invalid plugin 'log' config: .*'limt'"):
            Log(limt=3)  # type: ignore[call-arg]

    def test_required_config(self) -> None:
        """A plugin whose config has a required field cannot be mounted as a bare class."""

        @plugin
        class Keyed:
            token: str

        with pytest.raises(
            DefinitionError, match=r"^plugin Keyed needs a config \(token\): mount Keyed\(\.\.\.\)$"
        ):
            plugin_spec(Keyed)
        assert plugin_spec(Keyed(token="t")).config.token == "t"

    def test_bad_default(self) -> None:
        """A default that does not fit its annotation is refused at definition."""
        with pytest.raises(DefinitionError, match=r"Bad\.limit: default \"x\" is not an int"):

            @plugin
            class Bad:
                limit: int = "x"  # type: ignore[assignment]


class TestDefinitionErrors:
    def test_hook_signature(self) -> None:
        """A hook method with the wrong parameters: Class.member and the expected signature."""
        with pytest.raises(
            DefinitionError,
            match=r"^\S+:\d+: Bad\.after_cmd: must take \(self, state, outcome\), got \(self, state\)$",
        ):

            @plugin
            class Bad:
                def after_cmd(self, state: Any) -> None: ...

    def test_several_problems_listed(self) -> None:
        """Problems across members are listed together."""
        with pytest.raises(
            DefinitionError,
            match=r"^\S+:\d+: Bad is not a valid plugin \(2 problems\):\n- Bad\.on_mount: .*\n- Bad\.on_child: ",
        ):

            @plugin
            class Bad:
                def on_mount(self) -> None: ...

                def on_child(self, state: Any) -> None: ...

    def test_field_named_like_a_hook(self) -> None:
        """A config field may not take a hook's name."""
        with pytest.raises(
            DefinitionError, match=r"^\S+:\d+: Bad\.after_cmd: a config field may not be named 'after_cmd'"
        ):

            @plugin
            class Bad:
                after_cmd: int = 0

    def test_route_to_non_action(self) -> None:
        """A route's target must be an action."""
        with pytest.raises(
            DefinitionError, match=r"^\S+:\d+: @plugin\(routes=\[0\]\): print is not an action"
        ):
            plugin(routes=[("a.b", print)])

    def test_route_bad_priority(self) -> None:
        """A route's priority is within -100..100."""
        with pytest.raises(DefinitionError, match=r"priority must be an int within -100\.\.100, got 101"):
            plugin(routes=[("a.b", Write, 101)])

    def test_route_shape(self) -> None:
        """A route is a tuple of 2 or 3, or a RouteSpec."""
        with pytest.raises(DefinitionError, match=r"expected \(pattern, action\)"):
            plugin(routes=["a.b"])  # type: ignore[list-item]

    def test_routes_not_a_string(self) -> None:
        """routes= takes a list."""
        with pytest.raises(
            DefinitionError, match=r"^\S+:\d+: @plugin\(routes=\.\.\.\): expected a list, got 'a\.b'$"
        ):
            plugin(routes="a.b")  # type: ignore[arg-type]

    def test_unknown_option(self) -> None:
        """An unknown option gets a did-you-mean."""
        with pytest.raises(
            DefinitionError,
            match=r"^\S+:\d+: @plugin\(stat=\.\.\.\): unknown option 'stat'; did you mean 'state'\?",
        ):
            plugin(stat=LogState)  # type: ignore[call-overload]

    def test_bad_state(self) -> None:
        """The state must be an attrs class with defaults, named with the plugin."""
        with pytest.raises(
            DefinitionError,
            match=r"^\S+:\d+: @plugin on Bad: plugin 'bad' state must be an attrs class, got <class 'dict'>$",
        ):

            @plugin(state=dict)
            class Bad:
                pass

    def test_not_a_plugin(self) -> None:
        """plugin_spec of something else says so."""
        with pytest.raises(DefinitionError, match=r"^C is not a plugin: decorate it with @plugin$"):
            plugin_spec(C)

    def test_action_and_plugin(self) -> None:
        """A class cannot be both an @action and a @plugin."""
        with pytest.raises(DefinitionError, match=r"both an @action and a @plugin"):
            plugin(Write)

    def test_collision_with_agent_route(self) -> None:
        """Mounted into an agent whose route takes the same pattern and priority, both sides are named."""

        @plugin(routes=[("c.inc", Write)])
        class Clash:
            pass

        with pytest.raises(
            DefinitionError, match=r"the agent's route \(action 'inc'\) and plugin 'clash''s route"
        ):
            mounted(Clash)

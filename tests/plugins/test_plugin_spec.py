"""PluginSpec and mounting: config, hook signatures, conflicts named on both sides, each hook, scoped actions."""

from __future__ import annotations

import math
from typing import Any

import attrs
import pytest

import jido
from jido.action.spec import ActionContext, ActionSpec
from jido.agent.directives import Emit, Error, Stop
from jido.agent.mount import PluginStrategy
from jido.agent.plugin import (
    CmdOutcome,
    PluginContext,
    PluginHookError,
    PluginRejectedError,
    PluginSpec,
    SignalHook,
)
from jido.agent.routes import CronSchedule, RouteSpec
from jido.agent.spec import AgentSpec
from jido.agent.state_ops import DeleteKeys, ReplaceState, SetPath
from jido.agent.strategy import Direct, RecoversFromCrash
from jido.errors import DefinitionError, NoRouteError
from jido.signal import Signal

from .kit import INC, NOTE, Counter, Notes, NotesConfig, counter, counting_after, notes, reject_spam, sig


class TestConfig:
    def test_default_config(self) -> None:
        """A plugin with a config schema and no config gets the schema's defaults."""
        assert notes().config == NotesConfig()

    def test_configure_with_keywords(self) -> None:
        """configure(**values) validates the values into the schema."""
        assert notes().configure(limit=5).config == NotesConfig(limit=5)

    def test_configure_with_mapping_or_instance(self) -> None:
        """A mapping or an instance of the schema is accepted too."""
        assert notes().configure({"prefix": "> "}).config.prefix == "> "
        assert notes().configure(NotesConfig(limit=1)).config.limit == 1

    def test_bad_config_names_plugin_and_path(self) -> None:
        """A value of the wrong type is refused at definition, naming the plugin and the field."""
        with pytest.raises(
            DefinitionError, match=r"^invalid plugin 'notes' config: \$\.limit: expected int, got \"3\"$"
        ):
            notes().configure(limit="3")

    def test_bool_is_not_an_int(self) -> None:
        """True is not taken for 1 (strict, like action params)."""
        with pytest.raises(DefinitionError, match=r"\$\.limit: expected int, got true$"):
            notes().configure(limit=True)

    def test_unknown_config_key(self) -> None:
        """An unknown config key is refused."""
        with pytest.raises(DefinitionError, match=r"^invalid plugin 'notes' config: .*limt"):
            notes().configure(limt=3)

    def test_instance_with_wrong_types_is_revalidated(self) -> None:
        """An instance built around the schema's (unchecked) types is validated as data."""
        with pytest.raises(DefinitionError, match=r"\$\.limit: expected int"):
            notes().configure(NotesConfig(limit="x"))  # type: ignore[arg-type]

    def test_config_without_schema(self) -> None:
        """A plugin without a config schema takes no config."""
        with pytest.raises(DefinitionError, match=r"^plugin 'bare' takes no config, got \{'a': 1\}$"):
            PluginSpec("bare", config={"a": 1})

    def test_config_of_another_type(self) -> None:
        """A config that is neither the schema nor a mapping is refused."""
        with pytest.raises(
            DefinitionError, match=r"expected a NotesConfig or a mapping of its fields, got 3"
        ):
            notes(config=3)

    def test_both_config_and_keywords(self) -> None:
        """configure() takes one or the other."""
        with pytest.raises(DefinitionError, match=r"not both"):
            notes().configure({"limit": 1}, prefix="x")

    @pytest.mark.parametrize("name", ["", "Thread", "a-b", "1x", "a..b", None, 3])
    def test_bad_names(self, name: Any) -> None:
        """A plugin name is lowercase dotted segments."""
        with pytest.raises(DefinitionError, match=r"^plugin name .* is invalid"):
            PluginSpec(name)

    @pytest.mark.parametrize("key", ["", "Key", "a.b", "_x", "state", "spec", "id", "keys", "new"])
    def test_bad_keys(self, key: str) -> None:
        """A key names a state field: lowercase, not reserved."""
        with pytest.raises(
            DefinitionError, match=r"^plugin 'notes' \(key .*\): key .* (is invalid|is a reserved)"
        ):
            notes(key=key)

    def test_state_must_be_a_state_schema(self) -> None:
        """The slice follows the rules of agent state: attrs, defaults, JSON types."""

        @attrs.frozen
        class NoDefault:
            x: int

        with pytest.raises(DefinitionError, match=r"NoDefault\.x: state field has no default"):
            PluginSpec("p", state=NoDefault)
        with pytest.raises(
            DefinitionError, match=r"^plugin 'p' state must be an attrs class, got <class 'dict'>$"
        ):
            PluginSpec("p", state=dict)

    def test_config_schema_must_be_attrs(self) -> None:
        """The config schema is an attrs class."""
        with pytest.raises(DefinitionError, match=r"config schema must be an attrs class"):
            PluginSpec("p", config_schema=dict)

    def test_members_are_checked(self) -> None:
        """Routes, schedules and signal hooks are of the right kinds, with valid patterns."""
        with pytest.raises(DefinitionError, match=r"routes\[0\] must be a RouteSpec"):
            PluginSpec("p", routes=["x"])
        with pytest.raises(DefinitionError, match=r"route 'a\.\*\*\*'"):
            PluginSpec("p", routes=[RouteSpec("a.***", INC)])
        with pytest.raises(DefinitionError, match=r"schedules\[0\] must be a CronSchedule"):
            PluginSpec("p", schedules=[("* * * * *", "x")])
        with pytest.raises(DefinitionError, match=r"signal_hooks\[0\] must be a SignalHook"):
            PluginSpec("p", signal_hooks=[print])
        with pytest.raises(DefinitionError, match=r"expected a list, got str"):
            PluginSpec("p", subscriptions="a.*")


class TestHookSignatures:
    @pytest.mark.parametrize(
        ("hook", "fn", "shown"),
        [
            ("on_mount", lambda config: None, "(config, state)"),
            ("before_route", lambda config, signal, extra: None, "(config, signal)"),
            ("after_cmd", lambda config, state: None, "(config, state, outcome)"),
            ("after_cmd", lambda config, state, outcome, *, strict: None, "(config, state, outcome)"),
        ],
    )
    def test_wrong_arity(self, hook: str, fn: Any, shown: str) -> None:
        """A hook that cannot take its arguments is refused, naming the plugin, the hook and both signatures."""
        with pytest.raises(
            DefinitionError, match=rf"^plugin 'notes': {hook} must take \({shown[1:-1]}\), got \("
        ):
            notes(**{hook: fn})

    def test_async_hook(self) -> None:
        """Hooks run inside cmd and return data: an async one is refused."""

        async def after(config: Any, state: Any, outcome: Any) -> None:
            return None

        with pytest.raises(DefinitionError, match=r"after_cmd must be a plain function .* not async"):
            notes(after_cmd=after)

    def test_not_callable(self) -> None:
        """A hook that is not a function is refused."""
        with pytest.raises(
            DefinitionError,
            match=r"^plugin 'notes': before_route must be a function taking \(config, signal\), got int$",
        ):
            notes(before_route=3)

    def test_defaults_and_varargs_fit(self) -> None:
        """Extra optional parameters, or *args, still fit."""
        notes(after_cmd=lambda config, state, outcome, extra=None: None)
        notes(before_route=lambda *args: None)

    def test_signal_hook_signature(self) -> None:
        """A signal hook takes (config, state, signal)."""
        with pytest.raises(
            DefinitionError, match=r"on_child must take \(config, state, signal\), got \(config\)"
        ):
            notes(signal_hooks=[SignalHook("jido.agent.child.*", print_one, name="on_child")])  # type: ignore[arg-type]


def print_one(config: Any) -> None:
    """A signal hook with one parameter too few."""


class TestConflicts:
    def test_two_plugins_one_key(self) -> None:
        """Two plugins claiming one state key: both named, with the way out."""
        other: PluginSpec[None, Notes] = PluginSpec("other", state=Notes, key="notes")
        with pytest.raises(
            DefinitionError,
            match=r"^agent 'counter': plugin 'notes' and plugin 'other' \(key 'notes'\) both claim the state key "
            r"'notes': mount one under another key with \.mounted_as\(\.\.\.\)$",
        ):
            counter(notes(), other)

    def test_key_is_an_agent_field(self) -> None:
        """A plugin key that is an agent state field: the plugin and the field named."""
        with pytest.raises(
            DefinitionError,
            match=r"^agent 'counter': plugin 'notes' \(key 'count'\) claims the state key 'count', which is the "
            r"agent's own state field Counter\.count: rename the field or mount the plugin with \.mounted_as",
        ):
            counter(notes(key="count"))

    def test_route_collides_with_agent_route(self) -> None:
        """A plugin route on an agent route's pattern at the same priority: both routes named."""
        clash = notes(routes=[RouteSpec("counter.inc", NOTE)])
        with pytest.raises(
            DefinitionError,
            match=r"^agent 'counter': the agent's route \(action 'inc'\) and plugin 'notes''s route \(action "
            r"'notes\.note'\) both route 'counter\.inc' at priority 0: give one a different priority$",
        ):
            counter(clash)

    def test_other_priority_is_no_conflict(self) -> None:
        """At another priority both routes run, in priority order."""
        spec = counter(notes(routes=[RouteSpec("counter.inc", NOTE, priority=-10)]))
        names = [i.action.name for i in spec.instructions_for(sig("counter.inc"))]
        assert names == ["inc", "notes.note"]

    def test_two_plugins_collide(self) -> None:
        """Two plugins routing one pattern at one priority: both plugins named."""
        with pytest.raises(
            DefinitionError,
            match=r"^agent 'counter': plugin 'notes''s route \(action 'notes\.note'\) and plugin 'notes' \(key "
            r"'more'\)'s route \(action 'more\.note'\) both route 'notes\.add' at priority 0",
        ):
            counter(notes(), notes().mounted_as("more"))

    def test_cron_job_collision(self) -> None:
        """Two cron jobs with one id: both owners named."""
        job = CronSchedule("* * * * *", "notes.tick", "tick")
        agent_job = CronSchedule("* * * * *", "x", "notes.tick")
        with pytest.raises(
            DefinitionError,
            match=r"^agent 'counter': the agent and plugin 'notes' both declare the cron job 'notes\.tick'$",
        ):
            counter(notes(schedules=[job]), schedules=[agent_job])

    def test_not_a_plugin(self) -> None:
        """Something else among the plugins is refused with its position."""
        with pytest.raises(
            DefinitionError, match=r"^agent 'counter': plugins\[1\] is not a plugin: 'thread'$"
        ):
            counter(notes(), "thread")  # type: ignore[arg-type]

    def test_single_plugin_not_in_a_list(self) -> None:
        """plugins=Thread (not a list) says so."""
        with pytest.raises(DefinitionError, match=r"wrap it in \[\.\.\.\]"):
            AgentSpec("c", Counter, plugins=notes())  # type: ignore[arg-type]


class TestMount:
    def test_slice_is_a_state_field(self) -> None:
        """The slice is a field of the agent's state, with its defaults; the class keeps the agent's name."""
        spec = counter(notes())
        agent = spec.new()
        assert agent.state.notes == Notes()  # type: ignore[attr-defined]
        assert isinstance(agent.state, Counter) and type(agent.state).__qualname__ == "Counter"

    def test_state_of(self) -> None:
        """state_of reads the slice; a plugin not mounted is a LookupError."""
        plugin = notes()
        agent = counter(plugin).new(notes={"items": ["a"]})
        assert plugin.state_of(agent) == Notes(items=("a",))
        with pytest.raises(LookupError, match=r"^plugin 'notes' is not mounted in agent 'counter'$"):
            plugin.state_of(counter().new())

    def test_on_mount(self) -> None:
        """on_mount shapes the slice of a new agent, with the config."""

        def mount(config: NotesConfig, state: Notes) -> Notes:
            return attrs.evolve(state, items=(f"limit {config.limit}",))

        agent = counter(notes(on_mount=mount).configure(limit=7)).new()
        assert agent.state.notes.items == ("limit 7",)  # type: ignore[attr-defined]

    def test_on_mount_bad_return(self) -> None:
        """An on_mount returning something else than the slice names the plugin."""
        spec = counter(notes(on_mount=lambda config, state: {"items": []}))
        with pytest.raises(
            PluginHookError, match=r"^plugin 'notes': on_mount returned dict as the state: expected Notes$"
        ):
            spec.new()

    def test_rebuilt_spec_mounts_once(self) -> None:
        """attrs.evolve of a mounted spec mounts the plugins again, not twice; the state class is the same."""
        spec = counter(notes(after_cmd=counting_after))
        again = attrs.evolve(spec, description="again")
        assert again.state is spec.state
        assert [r.pattern for r in again.routes] == [r.pattern for r in spec.routes]
        assert isinstance(again.strategy, PluginStrategy) and isinstance(again.strategy.inner, Direct)

    def test_with_plugins(self) -> None:
        """with_plugins mounts more plugins after the spec's own, leaving the spec as it was."""
        base = counter(notes())
        more = base.with_plugins(PluginSpec("tally", after_cmd=counting_after))
        assert [p.key for p in more.plugins] == ["notes", "tally"] and [p.key for p in base.plugins] == [
            "notes"
        ]

    def test_unmounting(self) -> None:
        """Evolving to no plugins gives back the agent's own state class, routes and strategy."""
        spec = attrs.evolve(counter(notes(after_cmd=counting_after)), plugins=())
        assert spec.state is Counter and all(r.plugin is None for r in spec.routes)
        assert isinstance(spec.strategy, Direct)

    def test_routes_name_their_plugin(self) -> None:
        """Mounted routes carry the plugin's key; their actions are named <key>.<action>."""
        spec = counter(notes().mounted_as("log"))
        [route] = [r for r in spec.routes if r.plugin is not None]
        assert (route.plugin, route.action.name) == ("log", "log.note")
        assert spec.plugin("log").name == "notes"
        with pytest.raises(LookupError, match=r"has no plugin mounted under 'nope' \(mounted: 'log'\)"):
            spec.plugin("nope")

    def test_subscriptions_and_schedules_merged(self) -> None:
        """The plugin's subscriptions and schedules join the agent's; job ids get the key as prefix."""
        plugin = notes(
            subscriptions=["notes.*", "shared.*"], schedules=[CronSchedule("@daily", "notes.tick", "tick")]
        )
        spec = counter(plugin, subscriptions=["shared.*"])
        assert spec.subscriptions == ("shared.*", "notes.*")
        assert [(s.job_id, s.plugin) for s in spec.schedules] == [("notes.tick", "notes")]

    def test_two_mounts_of_one_plugin(self) -> None:
        """One plugin mounted under two keys has two slices (routes under another pattern)."""
        second: PluginSpec[NotesConfig, Notes] = notes(routes=[RouteSpec("notes.other", NOTE)]).mounted_as(
            "second"
        )
        agent = counter(notes(), second).new()
        agent, _ = jido.handle(agent, sig("notes.other", {"text": "x"}))
        assert agent.state.second.items == ("x",) and agent.state.notes.items == ()  # type: ignore[attr-defined]


class TestNoPluginCost:
    def test_plain_agent_is_untouched(self) -> None:
        """Without plugins: no route gate, no mount hook, the strategy as given, the state class as given."""
        spec = counter()
        assert spec.route_gate is None and spec.on_new is None
        assert type(spec.strategy) is Direct and spec.state is Counter

    def test_plugin_without_hooks_wraps_nothing(self) -> None:
        """A plugin with routes only adds no gate and no strategy wrapper."""
        spec = counter(notes())
        assert spec.route_gate is None and type(spec.strategy) is Direct


class TestBeforeRoute:
    def test_reject(self) -> None:
        """A Reject refuses the signal before anything runs, naming the plugin and the reason."""
        agent = counter(notes(before_route=reject_spam)).new()
        with pytest.raises(
            PluginRejectedError, match=r"^plugin 'notes' rejected signal 'spam\.x': spam$"
        ) as info:
            jido.handle(agent, sig("spam.x"))
        assert (info.value.plugin, info.value.reason, info.value.signal_type) == ("notes", "spam", "spam.x")

    def test_transform(self) -> None:
        """A returned signal is routed instead: its type and data decide the instructions."""

        def double(config: Any, signal: Signal) -> Signal | None:
            if signal.type != "counter.inc":
                return None
            return attrs.evolve(signal, data={"by": signal.data["by"] * 2})

        agent, _ = jido.handle(counter(notes(before_route=double)).new(), sig("counter.inc", {"by": 2}))
        assert agent.state.count == 4

    def test_hooks_chain_in_mount_order(self) -> None:
        """Each hook sees the signal as the previous one left it."""
        seen: list[str] = []

        def retype(config: Any, signal: Signal) -> Signal:
            return attrs.evolve(signal, type="counter.inc")

        def look(config: Any, signal: Signal) -> None:
            seen.append(signal.type)

        first = notes(before_route=retype)
        second: PluginSpec[None, None] = PluginSpec("look", before_route=look)
        agent, _ = jido.handle(counter(first, second).new(), sig("anything", {"by": 1}))
        assert seen == ["counter.inc"] and agent.state.count == 1

    def test_raising_hook_is_a_rejection(self) -> None:
        """A hook that raises refuses the signal (the agent is not crashed), the cause attached."""

        def broken(config: Any, signal: Signal) -> None:
            raise KeyError("x")

        agent = counter(notes(before_route=broken)).new()
        with pytest.raises(
            PluginRejectedError, match=r"^plugin 'notes': before_route raised KeyError: 'x'$"
        ) as info:
            jido.handle(agent, sig("counter.inc"))
        assert isinstance(info.value.__cause__, KeyError)

    def test_wrong_return(self) -> None:
        """A hook that returns something else refuses the signal, saying what it returned."""
        agent = counter(notes(before_route=lambda config, signal: "yes")).new()
        with pytest.raises(
            PluginRejectedError, match=r"before_route returned str: expected a Signal, a Reject or None"
        ):
            jido.handle(agent, sig("counter.inc"))

    def test_rejection_is_a_routing_error(self) -> None:
        """PluginRejectedError is a RoutingError, which the runtime answers as a rejection (not a crash)."""
        assert issubclass(PluginRejectedError, jido.RoutingError)


class TestAfterCmd:
    def test_changes_its_slice(self) -> None:
        """after_cmd's returned slice is committed with the agent's state."""
        agent, directives = jido.handle(counter(notes(after_cmd=counting_after)).new(), sig("counter.inc"))
        assert agent.state.notes.after == 1 and agent.state.count == 1 and directives == []  # type: ignore[attr-defined]

    def test_sees_the_outcome(self) -> None:
        """The outcome names the agent, the signal, the actions and the directives, errors included."""
        seen: list[CmdOutcome] = []

        def look(config: Any, state: Any, outcome: CmdOutcome) -> None:
            seen.append(outcome)

        agent = counter(notes(after_cmd=look)).new(id="a1")
        signal = sig("counter.boom")
        jido.handle(agent, signal)
        [outcome] = seen
        assert (outcome.agent_id, outcome.signal, outcome.actions) == ("a1", signal, ("boom",))
        assert not outcome.ok and len(outcome.errors) == 1

    def test_adds_directives(self) -> None:
        """Returning (state, directives) replaces the directives: here one is added."""

        def add(config: Any, state: Notes, outcome: CmdOutcome) -> tuple[Notes, list[Any]]:
            return state, [*outcome.directives, Stop("enough")]

        _, directives = jido.handle(counter(notes(after_cmd=add)).new(), sig("counter.shout"))
        assert [type(d) for d in directives] == [Emit, Stop]

    def test_filters_directives(self) -> None:
        """... and here the Emit is filtered out."""

        def mute(config: Any, state: Notes, outcome: CmdOutcome) -> tuple[Notes, list[Any]]:
            return state, [d for d in outcome.directives if not isinstance(d, Emit)]

        _, directives = jido.handle(counter(notes(after_cmd=mute)).new(), sig("counter.shout"))
        assert directives == []

    def test_runs_on_direct_cmd(self) -> None:
        """cmd without a signal runs after_cmd too, with signal None."""
        agent, _ = jido.cmd(counter(notes(after_cmd=counting_after)).new(), (INC, {"by": 2}))
        assert agent.state.count == 2 and agent.state.notes.after == 1  # type: ignore[attr-defined]

    async def test_runs_under_cmd_async(self) -> None:
        """cmd_async runs it as cmd does."""
        agent, _ = await jido.handle_async(counter(notes(after_cmd=counting_after)).new(), sig("counter.inc"))
        assert agent.state.notes.after == 1  # type: ignore[attr-defined]

    def test_raising_hook_is_an_error_directive(self) -> None:
        """A hook that raises adds an Error (context "plugin", action "<key>.after_cmd"); its slice is kept."""

        def broken(config: Any, state: Any, outcome: Any) -> None:
            raise ValueError("nope")

        agent, directives = jido.handle(counter(notes(after_cmd=broken)).new(), sig("counter.inc"))
        [error] = directives
        assert isinstance(error, Error) and (error.context, error.action) == ("plugin", "notes.after_cmd")
        assert str(error.error) == "plugin 'notes': after_cmd raised ValueError: nope"
        assert agent.state.count == 1

    @pytest.mark.parametrize(
        ("returned", "message"),
        [
            ({"after": 1}, r"after_cmd returned dict as the state: expected Notes"),
            ((Notes(), [1]), r"after_cmd returned int among its directives"),
            ((Notes(), Stop()), r"after_cmd returned Stop where a list of directives was expected"),
            ((Notes(), [], 3), r"after_cmd returned a tuple of 3: expected \(state, directives\)"),
            (Notes(after="x"), r"after_cmd returned a state that does not fit: \$\.after: expected int"),  # type: ignore[arg-type]
        ],
    )
    def test_wrong_returns(self, returned: Any, message: str) -> None:
        """What a hook returns is checked, the slice validated as data; a misfit is an Error naming the plugin."""
        agent, directives = jido.handle(
            counter(notes(after_cmd=lambda config, state, outcome: returned)).new(), sig("counter.inc")
        )
        [error] = directives
        assert isinstance(error, Error) and isinstance(error.error, PluginHookError)
        assert str(error.error).startswith("plugin 'notes': ")
        import re

        assert re.search(message, str(error.error))
        assert agent.state.notes == Notes()  # type: ignore[attr-defined]

    def test_hooks_run_in_mount_order(self) -> None:
        """Each after_cmd sees the directives the previous one left."""
        seen: list[int] = []

        def first(config: Any, state: Any, outcome: CmdOutcome) -> tuple[Any, list[Any]]:
            return state, [*outcome.directives, Stop()]

        def second(config: Any, state: Any, outcome: CmdOutcome) -> None:
            seen.append(len(outcome.directives))

        jido.handle(
            counter(notes(after_cmd=first), PluginSpec("two", after_cmd=second)).new(), sig("counter.inc")
        )
        assert seen == [1]

    def test_wrapper_keeps_crash_recovery(self) -> None:
        """A strategy with its own crash recovery (Workflow) keeps it when an after_cmd hook wraps it."""
        from tests.agent.test_strategies import plan

        workflow = jido.Workflow(plan(), trigger="calc.run", name="calc")
        spec = counter(notes(after_cmd=counting_after), strategy=workflow)
        assert isinstance(spec.strategy, PluginStrategy) and isinstance(spec.strategy, RecoversFromCrash)
        signal = sig("jido.workflow.completed", {"workflow": "calc", "run_id": "r1"})
        error = RuntimeError("x")
        ours, theirs = spec.strategy.after_crash("a", signal, error), workflow.after_crash("a", signal, error)
        assert ours is not None and theirs is not None
        assert (ours.type, ours.data) == (theirs.type, theirs.data)

    def test_wrapper_delegates(self) -> None:
        """The wrapped strategy answers for the inner one's attributes; crash recovery stays the inner one's."""
        spec = counter(notes(after_cmd=counting_after))
        assert not isinstance(spec.strategy, RecoversFromCrash)
        with pytest.raises(AttributeError):
            getattr(spec.strategy, "nothing")  # noqa: B009


class TestSignalHooks:
    def test_hook_changes_slice(self) -> None:
        """A signal hook routes its pattern and its returned slice is committed."""

        def on_child(config: Any, state: Notes, signal: Signal) -> Notes:
            return attrs.evolve(state, items=(*state.items, signal.type))

        spec = counter(notes(signal_hooks=[SignalHook("jido.agent.child.*", on_child, name="on_child")]))
        agent, _ = jido.handle(spec.new(), sig("jido.agent.child.started", {"tag": "w"}))
        assert agent.state.notes.items == ("jido.agent.child.started",)  # type: ignore[attr-defined]
        assert [r.action.name for r in spec.routes if r.plugin] == ["notes.note", "notes.on_child"]

    def test_hook_returns_directives(self) -> None:
        """(state, directives) adds directives; None changes nothing."""

        def on(config: Any, state: Notes, signal: Signal) -> tuple[Notes, list[Any]]:
            return state, [Stop("child gone")]

        spec = counter(notes(signal_hooks=[SignalHook("jido.agent.child.exit", on)]))
        _, directives = jido.handle(spec.new(), sig("jido.agent.child.exit", [1, 2]))
        assert directives == [Stop("child gone")]

    def test_raising_hook(self) -> None:
        """A signal hook that raises is an Error naming the plugin and the hook."""

        def on(config: Any, state: Any, signal: Signal) -> None:
            raise RuntimeError("bad")

        spec = counter(notes(signal_hooks=[SignalHook("x.y", on, name="on_x")]))
        _, [error] = jido.handle(spec.new(), sig("x.y"))
        assert isinstance(error, Error) and "plugin 'notes': on_x raised RuntimeError: bad" in str(
            error.error
        )


class TestScopedActions:
    def test_action_sees_slice_and_config(self) -> None:
        """A plugin action's ctx.state is its slice and ctx.config its config; its result changes the slice."""
        agent = counter(notes().configure(prefix="> ", limit=2)).new()
        for text in ("a", "b", "c"):
            agent, _ = jido.handle(agent, sig("notes.add", {"text": text}))
        assert agent.state.notes.items == ("> b", "> c") and agent.state.count == 0  # type: ignore[attr-defined]

    def test_state_ops_are_rescoped(self) -> None:
        """State operations of a plugin action apply inside its slice."""

        def ops(params: Any, ctx: PluginContext[Notes, Any]) -> list[Any]:
            return [
                SetPath("items", ["x"]),
                ReplaceState({"after": 3}),
                DeleteKeys(["after"]),
                SetPath(("after",), 5),
            ]

        plugin = notes(routes=[RouteSpec("notes.ops", ActionSpec("ops", ops))])
        agent, directives = jido.handle(counter(plugin).new(notes={"items": ["a"]}), sig("notes.ops"))
        assert directives == [] and agent.state.notes == Notes(items=(), after=5)  # type: ignore[attr-defined]

    def test_unknown_delete_key(self) -> None:
        """DeleteKeys of an unknown slice field fails naming the plugin."""
        plugin = notes(routes=[RouteSpec("notes.x", ActionSpec("x", lambda p, ctx: DeleteKeys(["nope"])))])
        _, [error] = jido.handle(counter(plugin).new(), sig("notes.x"))
        assert isinstance(error, Error) and "unknown field(s) of plugin 'notes': nope" in str(error.error)

    def test_output_schema_checked_on_slice_result(self) -> None:
        """An action's output schema applies to what it returned, before it is re-rooted."""

        @attrs.frozen
        class Out:
            items: list[str]

        bad = ActionSpec("bad", lambda p, ctx: {"items": [1]}, output=Out)
        _, [error] = jido.handle(counter(notes(routes=[RouteSpec("notes.bad", bad)])).new(), sig("notes.bad"))
        assert isinstance(error, Error) and "output of action 'bad' does not fit its schema" in str(
            error.error
        )

    def test_stateless_plugin_cannot_change_state(self) -> None:
        """A plugin without state whose action returns changes fails, naming it."""
        plugin: PluginSpec[None, None] = PluginSpec(
            "bare", routes=[RouteSpec("bare.x", ActionSpec("x", lambda p, ctx: {"a": 1}))]
        )
        _, [error] = jido.handle(counter(plugin).new(), sig("bare.x"))
        assert isinstance(error, Error) and "changed state, but the plugin has none" in str(error.error)

    async def test_async_plugin_action(self) -> None:
        """An async plugin action runs under cmd_async, scoped the same way."""

        async def run(params: Any, ctx: PluginContext[Notes, NotesConfig]) -> dict[str, Any]:
            return {"items": [str(ctx.config.limit)]}

        plugin = notes(routes=[RouteSpec("notes.async", ActionSpec("later", run))])
        agent, _ = await jido.handle_async(counter(plugin).new(), sig("notes.async"))
        assert agent.state.notes.items == ("3",)  # type: ignore[attr-defined]

    async def test_compensation_is_scoped(self) -> None:
        """A plugin action's compensate sees the slice too."""
        seen: list[Any] = []

        def fail(params: Any, ctx: Any) -> None:
            raise RuntimeError("x")

        def undo(params: Any, ctx: PluginContext[Notes, NotesConfig], error: BaseException) -> None:
            seen.append((ctx.state, ctx.config.limit))

        action = ActionSpec("fail", fail, compensate=undo)
        jido.handle(counter(notes(routes=[RouteSpec("notes.fail", action)])).new(), sig("notes.fail"))
        assert seen == [(Notes(), 3)]

    def test_no_route_still_raises(self) -> None:
        """Signals nobody routes still raise NoRouteError."""
        with pytest.raises(NoRouteError):
            jido.handle(counter(notes()).new(), sig("nothing.here"))

    def test_timeout_of_action_kept(self) -> None:
        """Scoping keeps the action's own options."""
        slow = ActionSpec("slow", lambda p, ctx: None, timeout=math.inf)
        spec = counter(notes(routes=[RouteSpec("notes.slow", slow)]))
        [route] = [r for r in spec.routes if r.pattern == "notes.slow"]
        assert route.action.timeout == math.inf and route.action.name == "notes.slow"


def test_plugin_context_is_an_action_context() -> None:
    """PluginContext is an ActionContext with a config."""
    ctx = PluginContext(state=Notes(), config=NotesConfig())
    assert isinstance(ctx, ActionContext) and ctx.config.limit == 3


def test_counter_unchanged_without_plugins() -> None:
    """The kit's counter without plugins works as before."""
    agent, _ = jido.handle(counter().new(), sig("counter.inc", {"by": 3}))
    assert agent.state == Counter(count=3)


class TestReplaceField:
    def test_alone_it_sets_the_field_as_given(self) -> None:
        """Alone, ReplaceField sets the (already validated) value without a round trip: the same object."""
        from jido.agent.state import ReplaceField, apply_changes

        state = counter(notes()).new().state
        slice_ = Notes(items=("a",))
        new = apply_changes(state, {}, [ReplaceField("notes", slice_)], subject="s")
        assert new.notes is slice_ and new.count == 0  # type: ignore[attr-defined]

    def test_with_other_changes_it_is_validated(self) -> None:
        """Beside other changes it goes through the converter like any change, and an unknown field fails."""
        from jido.agent.state import ReplaceField, apply_changes
        from jido.errors import ValidationError

        state = counter(notes()).new().state
        new = apply_changes(state, {"count": 2}, [ReplaceField("notes", Notes(after=1))], subject="s")
        assert new.notes == Notes(after=1) and new.count == 2  # type: ignore[attr-defined]
        with pytest.raises(ValidationError, match=r"ReplaceField: unknown field\(s\): nope"):
            apply_changes(state, {"count": 2}, [ReplaceField("nope", 1)], subject="s")


class TestQuickSlicePath:
    def test_dict_field_set_and_delete(self) -> None:
        """Setting and deleting one key of a dict slice field keeps the other values as they were."""
        from jido.plugins import Memory

        agent = counter(Memory).new()
        for index in range(3):
            agent, _ = jido.handle(agent, sig("memory.put", {"key": f"k{index}", "value": [index]}))
        before = Memory.state_of(agent).entries
        agent, _ = jido.handle(agent, sig("memory.delete", {"key": "k1"}))
        after = Memory.state_of(agent).entries
        assert sorted(after) == ["k0", "k2"] and after["k0"] is before["k0"]

    def test_invalid_change_reports_like_the_full_path(self) -> None:
        """A change that does not fit falls back to the whole state's path and its messages."""
        bad = ActionSpec("bad", lambda p, ctx: {"after": "x"})
        _, [error] = jido.handle(counter(notes(routes=[RouteSpec("notes.bad", bad)])).new(), sig("notes.bad"))
        assert isinstance(error, Error) and "$.notes.after: expected int" in str(error.error)


def test_partial_change_of_a_nested_value_merges() -> None:
    """A mapping returned for a dict entry holding an attrs value merges into it (as the converter's path
    does), not replaces it: the entry keeps the fields the change leaves out."""
    from jido.plugins import Memory

    spec = counter(Memory)
    agent, _ = jido.handle(spec.new(), sig("memory.put", {"key": "k", "value": 1, "ttl": 5}))
    touch = ActionSpec("touch", lambda p, ctx: {"entries": {"k": {"value": 2}}})
    plugin = spec.plugin("memory")
    [route] = counter(attrs.evolve(plugin, routes=[RouteSpec("memory.touch", touch)])).routes[-1:]
    agent, _ = jido.cmd(agent, (route.action, {}))
    entry = Memory.state_of(agent).entries["k"]
    assert (entry.value, entry.version, entry.ttl) == (2, 1, 5.0)

"""Property: mounting a plugin never changes how the agent handles the signals the plugin does not route.

The same signals go through the bare agent and the agent with one plugin mounted: the agent's own fields, the
directives and the errors come out the same, whatever the plugin does with its own slice."""

from __future__ import annotations

from typing import Any

import attrs
import hypothesis.strategies as st
from hypothesis import given, settings

import jido
from jido.agent.directives import Emit, Error
from jido.agent.plugin import PluginSpec
from jido.agent.spec import AgentSpec
from jido.errors import JidoError
from jido.plugins import Audit, Memory, Thread
from jido.signal.router import Router

from .kit import Counter, counter, counting_after, notes, reject_spam

PLUGINS: list[PluginSpec[Any, Any]] = [
    Thread.configure(limit=2),
    Memory.configure(max_keys=2),
    Audit.configure(limit=3, include_system=True),
    notes(after_cmd=counting_after, before_route=reject_spam),
]
TYPES = [
    "counter.inc",
    "counter.boom",
    "counter.shout",
    "counter.unknown",
    "thread.append",
    "memory.put",
    "notes.add",
    "spam.x",
    "jido.agent.child.started",
    "other.thing",
]
DATA = st.one_of(
    st.none(),
    st.fixed_dictionaries({"by": st.integers(-5, 5)}),
    st.dictionaries(
        st.sampled_from(["by", "key", "text", "role"]), st.integers(-3, 3) | st.text(max_size=3), max_size=3
    ),
    st.lists(st.integers(), max_size=2),
)


def routed_by(plugin: PluginSpec[Any, Any], signal_type: str) -> bool:
    """Whether the plugin routes (or rejects) signals of this type once mounted."""
    router = Router()
    mounted = counter(plugin)
    for route in mounted.routes:
        if route.plugin is not None:
            router.add(route.pattern, route)
    if router.route(jido.Signal(type=signal_type, source="/p")):
        return True
    return plugin.before_route is not None and signal_type.startswith("spam.")


def observe(spec: AgentSpec[Any], signals: list[jido.Signal]) -> list[Any]:
    """What the agent does with each signal, as comparable data (own fields, directives, errors)."""
    agent = spec.new(id="p")
    seen: list[Any] = []
    for signal in signals:
        try:
            agent, directives = jido.handle(agent, signal)
        except JidoError as exc:
            seen.append(("raised", type(exc).__name__, str(exc)))
            continue
        shown: list[Any] = []
        for d in directives:
            if isinstance(d, Emit):
                shown.append(("emit", d.signal.type, d.signal.data))
            elif isinstance(d, Error):
                shown.append(("error", d.context, d.action, type(d.error).__name__, str(d.error)))
            else:
                shown.append(d)
        own = {f.name: getattr(agent.state, f.name) for f in attrs.fields(Counter)}
        seen.append((own, shown))
    return seen


@settings(max_examples=60, deadline=None)
@given(
    plugin=st.sampled_from(PLUGINS),
    draws=st.lists(st.tuples(st.sampled_from(TYPES), DATA), max_size=8),
)
def test_unrouted_signals_behave_the_same(plugin: PluginSpec[Any, Any], draws: list[tuple[str, Any]]) -> None:
    """Signals the plugin does not route: same own state, same directives, same errors, with or without it."""
    signals = [jido.Signal(type=t, source="/p", data=d) for t, d in draws if not routed_by(plugin, t)]
    assert observe(counter(plugin), signals) == observe(counter(), signals)

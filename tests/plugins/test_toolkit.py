"""The testing toolkit over agents with plugins: invariants across plugins, strategies for plugin state."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings

import jido
from jido.agent.directives import Stop
from jido.agent.plugin import PluginSpec
from jido.plugins import Audit, Memory, Thread
from jido.testing import check_invariant
from jido.testing.strategies import from_schema, signals_for

from .kit import counter, sig
from .test_properties import observe

SPEC = counter(Thread.configure(limit=3), Memory.configure(max_keys=2), Audit.configure(limit=4))


def bounded(state: Any) -> bool:
    """Every plugin keeps within its bound, whatever runs."""
    return (
        len(state.thread.messages) <= 3 and len(state.memory.entries) <= 2 and len(state.audit.entries) <= 4
    )


def test_check_invariant_across_plugins() -> None:
    """check_invariant drives the agent's and the plugins' actions, faults included, and the bounds hold."""
    check_invariant(SPEC, bounded, max_steps=12, settings=settings(max_examples=25, deadline=None))


@settings(max_examples=25, deadline=None)
@given(state=from_schema(SPEC.state))
def test_from_schema_draws_plugin_slices(state: Any) -> None:
    """from_schema of the mounted state class draws every slice; a drawn state is a valid agent state."""
    agent = SPEC.new(**{name: getattr(state, name) for name in ("count", "last")})
    assert isinstance(state.thread, type(Thread.state_of(agent)))


@settings(max_examples=25, deadline=None)
@given(signal=signals_for(SPEC))
def test_signals_for_covers_plugin_routes(signal: jido.Signal) -> None:
    """signals_for draws signals the agent routes, the plugins' routes included."""
    assert SPEC.instructions_for(signal)


def test_property_detects_a_plugin_that_changes_behaviour() -> None:
    """The mounting property is not vacuous: a plugin that adds a directive everywhere is told apart."""

    def loud(config: Any, state: Any, outcome: Any) -> tuple[Any, list[Any]]:
        return state, [*outcome.directives, Stop()]

    signals = [sig("counter.inc")]
    assert observe(counter(PluginSpec("loud", after_cmd=loud)), signals) != observe(counter(), signals)

"""AgentSpec: definition rules, new(), routing to instructions."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest

from jido.action.spec import ActionSpec
from jido.agent.spec import Agent, AgentSpec, RouteSpec, agent_spec_of
from jido.errors import DefinitionError, ValidationError
from jido.signal import Signal

from .counter_specs import CounterState, counter, increment, reset


class TestAgentSpecDefinition:
    def test_state_must_be_attrs(self) -> None:
        """A state schema that is not an attrs class is refused."""
        with pytest.raises(
            DefinitionError, match=r"^agent state schema must be an attrs class, got <class 'dict'>$"
        ):
            AgentSpec(name="a", state=dict)

    def test_state_field_needs_default(self) -> None:
        """Every state field needs a default."""

        @attrs.frozen
        class NoDefault:
            count: int

        with pytest.raises(DefinitionError, match=r"NoDefault.count: state field has no default"):
            AgentSpec(name="a", state=NoDefault)

    def test_state_field_must_be_json(self) -> None:
        """A state field whose type cannot go to JSON is refused."""

        @attrs.frozen
        class Bad:
            when: dt.date = dt.date(2020, 1, 1)

        with pytest.raises(
            DefinitionError, match=r"Bad.when: type <class 'datetime.date'> cannot be serialized to JSON$"
        ):
            AgentSpec(name="a", state=Bad)

    def test_bad_name(self) -> None:
        """An agent name with spaces is refused."""
        with pytest.raises(DefinitionError, match=r"^agent name 'my agent' is invalid"):
            AgentSpec(name="my agent", state=CounterState)

    def test_bad_route_pattern(self) -> None:
        """An invalid route pattern is a definition error naming the agent and route."""
        with pytest.raises(DefinitionError, match=r"^agent 'a': route 'a\.\.b': "):
            AgentSpec(name="a", state=CounterState, routes=[RouteSpec("a..b", reset)])


class TestAgentValue:
    def test_new_with_state(self) -> None:
        """new() takes state overrides, validated strictly."""
        agent = counter.new(id="c1", count=10)
        assert agent == Agent(id="c1", state=CounterState(count=10), spec=counter)

    def test_new_invalid_state(self) -> None:
        """new() rejects a state value of the wrong type with its path."""
        with pytest.raises(
            ValidationError, match=r'^invalid counter state:\n\$\.count: expected int, got "1"$'
        ):
            counter.new(count="1")

    def test_generated_ids_are_unique(self) -> None:
        """Agents built without an id get distinct ones."""
        assert counter.new().id != counter.new().id

    def test_spec_of(self) -> None:
        """agent_spec_of finds the spec of a spec or an agent, None otherwise."""
        assert agent_spec_of(counter) is counter
        assert agent_spec_of(counter.new()) is counter
        assert agent_spec_of(object()) is None


class TestRouting:
    def test_all_matching_routes_in_order(self) -> None:
        """Every matching route yields an instruction, higher priority first."""
        spec = AgentSpec(
            name="multi",
            state=CounterState,
            routes=[RouteSpec("counter.*", reset), RouteSpec("counter.increment", increment, priority=5)],
        )
        signal = Signal(type="counter.increment", source="/t", data={"by": 2})
        assert [i.action.name for i in spec.instructions_for(signal)] == ["increment", "reset"]

    def test_params_callable(self) -> None:
        """A route's params may be computed from the signal."""
        route = RouteSpec("x.y", increment, params=lambda s: {"by": len(s.source)})
        instruction = route.instruction_for(Signal(type="x.y", source="/abc"))
        assert instruction.params == {"by": 4}

    def test_action_spec_is_reachable(self) -> None:
        """A route keeps the action spec it was given."""
        assert isinstance(counter.routes[0].action, ActionSpec)

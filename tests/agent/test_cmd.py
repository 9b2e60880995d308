"""The pure core: cmd, handle and their async variants."""

from __future__ import annotations

import pytest

import jido.agent.cmd as core
from jido.action.instruction import Instruction
from jido.agent.directives import Emit, Error
from jido.errors import ActionError, NoRouteError, ValidationError
from jido.signal import Signal

from .counter_specs import (
    CounterState,
    announce,
    async_increment,
    bad_state,
    boom,
    counter,
    decrement,
    increment,
    label,
    reset,
)


class TestCmd:
    def test_new_agent_has_defaults(self) -> None:
        """A new agent starts from the schema defaults."""
        assert counter.new(id="c").state == CounterState()

    def test_increment(self) -> None:
        """A successful instruction merges its result and yields no directives."""
        agent, directives = core.cmd(counter.new(), (increment, {"by": 5}))
        assert agent.state.count == 5
        assert directives == []

    def test_default_params(self) -> None:
        """An action given without params runs with its defaults."""
        agent, _ = core.cmd(counter.new(count=10), increment)
        assert agent.state.count == 11

    def test_list_runs_in_order(self) -> None:
        """A list of instructions runs in order against the evolving state."""
        agent, directives = core.cmd(
            counter.new(), [(increment, {"by": 10}), (increment, {"by": 5}), (decrement, {"by": 2})]
        )
        assert agent.state.count == 13
        assert directives == []

    def test_original_agent_unchanged(self) -> None:
        """cmd never changes the agent it was given."""
        before = counter.new(id="c")
        core.cmd(before, (increment, {"by": 3}))
        assert before.state.count == 0

    def test_invalid_params_keep_state_and_yield_error(self) -> None:
        """Invalid params leave state as it was and yield an Error naming the field path."""
        agent, directives = core.cmd(counter.new(count=7), (increment, {"by": "not_a_number"}))
        assert agent.state.count == 7
        [directive] = directives
        assert isinstance(directive, Error)
        assert isinstance(directive.error, ValidationError)
        assert '$.by: expected int, got "not_a_number"' in str(directive.error)
        assert directive.action == "increment"

    def test_failure_does_not_stop_later_instructions(self) -> None:
        """After a failed instruction the next ones still run."""
        agent, directives = core.cmd(counter.new(), [boom, (increment, {"by": 2})])
        assert agent.state.count == 2
        [directive] = directives
        assert isinstance(directive, Error)
        assert isinstance(directive.error, ActionError)

    def test_result_that_breaks_schema_is_rejected(self) -> None:
        """A result that would make the state invalid is an Error, and state stays valid."""
        agent, directives = core.cmd(counter.new(count=1), bad_state)
        assert agent.state.count == 1
        [directive] = directives
        assert isinstance(directive.error, ValidationError)
        assert str(directive.error) == 'invalid counter state:\n$.count: expected int, got "many"'

    def test_directives_returned_beside_state(self) -> None:
        """An action's directives come out of cmd, in order."""
        agent, directives = core.cmd(counter.new(count=1), (announce, {"by": 2}))
        assert agent.state.count == 3
        [directive] = directives
        assert isinstance(directive, Emit)
        assert directive.signal.data == {"count": 3}

    def test_state_ops_apply(self) -> None:
        """State operations returned by an action are applied in order."""
        start = counter.new(labels={"old": 1, "keep": 2})
        agent, directives = core.cmd(start, (label, {"by": 4}))
        assert agent.state.labels == {"keep": 2, "last": 4}
        assert directives == []

    def test_instruction_object(self) -> None:
        """An Instruction is accepted as is."""
        agent, _ = core.cmd(counter.new(), Instruction(increment, {"by": 4}))
        assert agent.state.count == 4

    def test_async_action_rejected_by_sync_cmd(self) -> None:
        """The sync cmd refuses an async action and says what to use instead."""
        with pytest.raises(
            TypeError, match=r"^action 'async_increment' is async: run it with `await jido.cmd_async\(...\)`$"
        ):
            core.cmd(counter.new(), async_increment)

    def test_not_an_agent(self) -> None:
        """cmd names the wrong type it was given instead of an agent."""
        with pytest.raises(TypeError, match=r"^cmd expects a jido Agent value, got dict$"):
            core.cmd({"count": 0}, increment)  # type: ignore[arg-type]

    def test_not_an_instruction(self) -> None:
        """cmd names the position of an item that is not an instruction."""
        with pytest.raises(TypeError, match=r"^instruction \[1\]: 42 is not an action"):
            core.cmd(counter.new(), [increment, 42])

    def test_reset(self) -> None:
        """Reset brings the count back to zero."""
        agent, _ = core.cmd(counter.new(count=42), reset)
        assert agent.state.count == 0


class TestCmdAsync:
    async def test_async_action(self) -> None:
        """cmd_async runs async actions."""
        agent, directives = await core.cmd_async(counter.new(), [(async_increment, {"by": 2}), increment])
        assert agent.state.count == 3
        assert directives == []

    async def test_async_failure_yields_error(self) -> None:
        """A failure under cmd_async keeps state and yields an Error."""
        agent, directives = await core.cmd_async(counter.new(count=1), [boom])
        assert agent.state.count == 1
        assert isinstance(directives[0], Error)


class TestHandle:
    def test_routes_signal_data_to_params(self) -> None:
        """handle routes a signal and uses its data as the action's params."""
        signal = Signal(type="counter.increment", source="/test", data={"by": 2})
        agent, directives = core.handle(counter.new(), signal)
        assert agent.state.count == 2
        assert directives == []

    def test_route_params_win_over_data(self) -> None:
        """Params fixed on a route override the same keys in the signal's data."""
        signal = Signal(type="counter.bump", source="/test", data={"by": 1})
        agent, _ = core.handle(counter.new(), signal)
        assert agent.state.count == 10

    def test_no_data_means_default_params(self) -> None:
        """A signal without data runs the action with default params."""
        agent, _ = core.handle(counter.new(), Signal(type="counter.increment", source="/test"))
        assert agent.state.count == 1

    def test_unrouted_signal(self) -> None:
        """A signal no route matches raises NoRouteError naming the type and agent."""
        with pytest.raises(
            NoRouteError, match=r"^no route for signal type 'counter.explode' in agent 'counter'$"
        ):
            core.handle(counter.new(), Signal(type="counter.explode", source="/test"))

    async def test_handle_async(self) -> None:
        """handle_async routes and runs under trio."""
        signal = Signal(type="counter.decrement", source="/test", data={"by": 3})
        agent, _ = await core.handle_async(counter.new(), signal)
        assert agent.state.count == -3
